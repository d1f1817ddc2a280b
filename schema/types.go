package schema

import (
	"fmt"
	"slices"
	"time"
)

// Source types and roles, as spelled in the CUE schema.
const (
	SourcePull  = "pull"
	SourceBuild = "build"
	RoleUI      = "ui"
)

// Health-check types, as spelled in the CUE schema.
const (
	HealthHTTP = "http"
	HealthTCP  = "tcp"
	HealthExec = "exec"
)

// Network policies, as spelled in the CUE schema.
const (
	NetworkBridge = "bridge"
	NetworkHost   = "host"
	NetworkNone   = "none"
)

// KeptSuffix ends the name of an app's previous container while an
// upgrade proves the new one (it comes back if the new one fails): plans
// leave such a container alone, and no container name may end so.
const KeptSuffix = "-archy-previous"

// App is one evaluated app: every default filled in, the legacy image
// shorthand turned into Container.Source, and build contexts resolved.
type App struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Version       string       `json:"version"`
	Description   string       `json:"description"`
	Role          string       `json:"role"`
	Container     Container    `json:"container"`
	ContainerName string       `json:"container_name"`
	Dependencies  []Dependency `json:"dependencies"`
	ContainerConfig
	HealthCheck *HealthCheck `json:"health_check,omitempty"`
	// Jobs run to completion around the container; they do not shape it
	// (they are outside ContainerConfig, so not in the spec hash).
	Jobs       []Job          `json:"jobs,omitempty"`
	Upgrade    Upgrade        `json:"upgrade"`
	Extensions map[string]any `json:"extensions"`

	// Pos is where the app is declared; positions of its fields are kept
	// by path (see PosOf) so that later checks can point at them.
	Pos       Pos            `json:"-"`
	positions map[string]Pos `json:"-"`
}

// ContainerConfig is what shapes an app's container, written once: it is
// hashed into the archy.spec-hash label (plan.SpecJSON), saved in the
// archy.spec label to make an earlier generation again, and mapped by the
// Podman adapter and the Kubernetes export. The JSON tags and the field
// order are the label's: a new field needs omitempty (its zero value then
// leaves every existing hash alone, so no container is recreated for it).
type ContainerConfig struct {
	Command     []string          `json:"command,omitempty"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	Ports       []Port            `json:"ports,omitempty"`
	Volumes     []Volume          `json:"volumes,omitempty"`
	Secrets     []Secret          `json:"secrets,omitempty"`
	Tmpfs       []Tmpfs           `json:"tmpfs,omitempty"`
	// Networks are app networks the container joins (its container name
	// is its DNS name there).
	Networks  []string  `json:"networks,omitempty"`
	Resources Resources `json:"resources"`
	Security  Security  `json:"security"`
	// Stop is left out of the JSON while it is the default, so that the
	// containers made before it existed keep their hash.
	Stop Stop `json:"stop,omitzero"`
}

// Container is where the image comes from. After loading Source is always
// set; Image, ImageSignature and PullPolicy are the legacy shorthand as
// written.
type Container struct {
	Source         *Source `json:"source,omitempty"`
	Image          string  `json:"image,omitempty"`
	ImageSignature string  `json:"image_signature,omitempty"`
	PullPolicy     string  `json:"pull_policy,omitempty"`
}

// Source is a pull or a build source; Type says which fields apply.
type Source struct {
	Type string `json:"type"`

	// Pull.
	Image          string `json:"image,omitempty"`
	ImageSignature string `json:"image_signature,omitempty"`
	PullPolicy     string `json:"pull_policy,omitempty"`

	// Build.
	Context       string            `json:"context,omitempty"`
	Dockerfile    string            `json:"dockerfile,omitempty"`
	Tag           string            `json:"tag,omitempty"`
	BuildArgs     map[string]string `json:"build_args,omitempty"`
	AlwaysRebuild bool              `json:"always_rebuild,omitempty"`

	// ContextDir is Context made absolute against the directory of the file
	// that set it.
	ContextDir string `json:"-"`
}

// ImageRef is the image the container runs: the pulled image or the tag a
// build produces.
func (s *Source) ImageRef() string {
	if s.Type == SourceBuild {
		return s.Tag
	}
	return s.Image
}

type Dependency struct {
	AppID               string `json:"app_id"`
	Condition           string `json:"condition"`
	OnDependencyRestart string `json:"on_dependency_restart"`
}

type Resources struct {
	MemoryLimit string  `json:"memory_limit,omitempty"`
	CPUs        float64 `json:"cpus,omitempty"`
}

type Security struct {
	NetworkPolicy string   `json:"network_policy"`
	ReadonlyRoot  bool     `json:"readonly_root"`
	Privileged    bool     `json:"privileged"`
	CapAdd        []string `json:"cap_add"`
	User          string   `json:"user,omitempty"`
}

type Port struct {
	Container int    `json:"container"`
	Host      int    `json:"host,omitempty"`
	Protocol  string `json:"protocol"`
	HostIP    string `json:"host_ip,omitempty"`
}

type Volume struct {
	Name     string `json:"name,omitempty"`
	HostPath string `json:"host_path,omitempty"`
	Target   string `json:"target"`
	Readonly bool   `json:"readonly"`
	// MinFree is watched by the daemon; it does not shape the container
	// (plan.SpecJSON leaves it out).
	MinFree string `json:"min_free,omitempty"`
	// Owner ("UID:GID") and Mode ("0750") shape the volume's first
	// creation only, not the container (plan.SpecJSON leaves them out;
	// the plan reports a live volume that differs).
	Owner string `json:"owner,omitempty"`
	Mode  string `json:"mode,omitempty"`
}

// Job is a one-shot container of an app (#Job): Image, or the app's own
// image when SameAsApp.
type Job struct {
	Name       string            `json:"name"`
	Image      string            `json:"image,omitempty"`
	SameAsApp  bool              `json:"same_as_app,omitempty"`
	Command    []string          `json:"command"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Secrets    []Secret          `json:"secrets,omitempty"`
	Volumes    []Volume          `json:"volumes,omitempty"`
	When       string            `json:"when"`  // JobFirstCreate, JobEveryStart or JobEveryUpgrade
	Phase      string            `json:"phase"` // JobBefore or JobAfterHealthy
	Timeout    Duration          `json:"timeout"`
}

// Job.When and Job.Phase values, as spelled in the CUE schema.
const (
	JobFirstCreate  = "first-create"
	JobEveryStart   = "every-start"
	JobEveryUpgrade = "every-upgrade"
	JobBefore       = "before"
	JobAfterHealthy = "after-healthy"
)

// Tmpfs is a memory-backed mount; Size is a #Size, empty for Podman's
// default.
type Tmpfs struct {
	Target string `json:"target"`
	Size   string `json:"size,omitempty"`
}

type Secret struct {
	Name   string `json:"name"`
	Env    string `json:"env,omitempty"`
	Target string `json:"target,omitempty"`
}

// HealthCheck is an http, tcp or exec probe; Type says which fields apply.
type HealthCheck struct {
	Type        string   `json:"type"`
	Endpoint    string   `json:"endpoint,omitempty"`
	Path        string   `json:"path,omitempty"`
	Host        string   `json:"host,omitempty"`
	Port        int      `json:"port,omitempty"`
	Command     []string `json:"command,omitempty"`
	Interval    Duration `json:"interval"`
	Timeout     Duration `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod Duration `json:"start_period"`
	// StartTimeout bounds a warm-up (answers matching Starting) after
	// StartPeriod.
	StartTimeout Duration  `json:"start_timeout"`
	Starting     *Starting `json:"starting,omitempty"`
}

// Starting is what a warm-up answer looks like: an exec check's exit code,
// an http check's status, or output (a regular expression) matched
// against the exec output or the http body.
type Starting struct {
	ExitCodes  []int  `json:"exit_codes,omitempty"`
	HTTPStatus []int  `json:"http_status,omitempty"`
	Output     string `json:"output,omitempty"`
}

// Upgrade is how archy proves a replaced container, and goes back.
type Upgrade struct {
	HealthTimeout   Duration `json:"health_timeout"`
	GracePeriod     Duration `json:"grace_period"`
	SnapshotVolumes bool     `json:"snapshot_volumes"`
	Rollback        string   `json:"rollback"` // RollbackAuto or RollbackForwardOnly
}

// Upgrade.Rollback values, as spelled in the CUE schema.
const (
	RollbackAuto        = "auto"
	RollbackForwardOnly = "forward-only"
)

// ForwardOnly reports whether a failed upgrade must not start the previous
// generation on data the new one may have migrated.
func (u Upgrade) ForwardOnly() bool { return u.Rollback == RollbackForwardOnly }

// Stop is how an app's container is stopped: Signal, then SIGKILL after
// Timeout. The zero value means the defaults.
type Stop struct {
	Signal  string   `json:"signal,omitempty"`
	Timeout Duration `json:"timeout,omitempty"`
}

// The stop settings of an app that sets none (Podman's own defaults too).
const (
	DefaultStopSignal  = "SIGTERM"
	DefaultStopTimeout = 10 * time.Second
)

// SignalName is the stop signal, SIGTERM unless set.
func (s Stop) SignalName() string {
	if s.Signal == "" {
		return DefaultStopSignal
	}
	return s.Signal
}

// TimeoutOrDefault is how long the container gets to stop, 10 s unless
// set.
func (s Stop) TimeoutOrDefault() time.Duration {
	if s.Timeout <= 0 {
		return DefaultStopTimeout
	}
	return time.Duration(s.Timeout)
}

// IsZero reports whether s amounts to the defaults; the spec JSON leaves
// such a Stop out (see ContainerConfig.Stop).
func (s Stop) IsZero() bool {
	return s.SignalName() == DefaultStopSignal && s.TimeoutOrDefault() == DefaultStopTimeout
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// Pos is a position in a source file.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) IsValid() bool { return p.File != "" }

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// SetPositions records where the app's fields are, keyed by path such as
// "dependencies[0].app_id" or "container.source.context".
func (a *App) SetPositions(m map[string]Pos) { a.positions = m }

// PosOf returns the position of the field at path, or of its nearest
// enclosing field that has one, or of the app.
func (a *App) PosOf(path string) Pos {
	for p := path; p != ""; p = ParentPath(p) {
		if pos, ok := a.positions[p]; ok {
			return pos
		}
	}
	return a.Pos
}

// ParentPath strips the last element of a path: "a.b[2]" -> "a.b" -> "a".
func ParentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.', '[':
			return p[:i]
		}
	}
	return ""
}

// Generator types and random alphabets, as spelled in the CUE schema.
const (
	GenRandom, GenRPCAuth, GenTLS                 = "random", "rpcauth", "tls"
	AlphabetHex, AlphabetBase64URL, AlphabetAlnum = "hex", "base64url", "alnum"
)

// SecretGen is a generated secret declared in the catalogue
// (secrets: <name>: generate: {...}); Type says which fields apply.
type SecretGen struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Length   int    `json:"length,omitempty"`   // random
	Alphabet string `json:"alphabet,omitempty"` // random
	User     string `json:"user,omitempty"`     // rpcauth
	// tls
	CommonName string   `json:"common_name,omitempty"`
	Hosts      []string `json:"hosts,omitempty"`
	Days       int      `json:"days,omitempty"`

	// Pos is where the secret is declared.
	Pos Pos `json:"-"`
}

// RPCAuthSuffix ends the name of the secret holding an rpcauth
// generator's line; the secret named after the generator holds the
// password.
const RPCAuthSuffix = "-rpcauth"

// CertSuffix ends the name of the secret holding a tls generator's
// certificate; the secret named after the generator holds the key.
const CertSuffix = "-cert"

// SecretNames are the Podman secrets the generator makes: its name, and
// for rpcauth also <name>-rpcauth, for tls <name>-cert.
func (g SecretGen) SecretNames() []string {
	switch g.Type {
	case GenRPCAuth:
		return []string{g.Name, g.Name + RPCAuthSuffix}
	case GenTLS:
		return []string{g.Name, g.Name + CertSuffix}
	}
	return []string{g.Name}
}

// AllSecrets are the secrets the app's container and its jobs consume,
// each once: what must exist before the app can be brought up.
func (a *App) AllSecrets() []Secret {
	out := a.Secrets
	for _, j := range a.Jobs {
		for _, s := range j.Secrets {
			if !slices.ContainsFunc(out, func(o Secret) bool { return o.Name == s.Name }) {
				out = append(slices.Clip(out), s)
			}
		}
	}
	return out
}

// NamedVolumes are the names of the named volumes of the app and its
// jobs, each once, in declaration order.
func (a *App) NamedVolumes() []string {
	var out []string
	add := func(vs []Volume) {
		for _, v := range vs {
			if v.Name != "" && !slices.Contains(out, v.Name) {
				out = append(out, v.Name)
			}
		}
	}
	add(a.Volumes)
	for _, j := range a.Jobs {
		add(j.Volumes)
	}
	return out
}
