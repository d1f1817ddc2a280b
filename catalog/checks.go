package catalog

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"archy.dev/archy/graph"
	"archy.dev/archy/internal/buildctx"
	"archy.dev/archy/schema"
)

// check runs the checks that need more than one app or the file system,
// and normalises what they inspect. known holds every declared id,
// including apps that failed to decode, so that their dependents do not
// get knock-on errors.
func (l *loader) check(cat *Catalog, known map[string]bool) {
	for _, id := range cat.IDs() {
		app := cat.Apps[id]
		l.checkSource(app)
		l.checkDependencies(app, cat, known)
		l.checkContainer(app)
		l.checkUpgrade(app)
		l.checkHealthCheck(app)
	}
	l.checkCycles(cat)
	l.checkContainerNames(cat)
	l.checkHostPorts(cat)
}

// checkContainer runs the checks of what shapes an app's containers
// (the app's and its jobs'), the operator's opt-ins included: the ones
// Refusals runs on an earlier generation too.
func (l *loader) checkContainer(app *schema.App) {
	l.checkSecurity(app)
	l.checkVolumes(app)
	l.checkSecrets(app)
	l.checkJobs(app)
	l.checkValues(app)
}

// Refusals are the errors archy vet would report, with the options the
// catalogue was loaded with (--allow-privileged, --allow-host-path, the
// data dir), were app declared in place of the app of its id: app is a
// declared app with the container of an earlier generation
// (plan.AppFromSpec), which an upgrade must not go back to when today's
// rules refuse it. The checks are vet's own: those of the container
// (checkContainer) and the host ports it shares with the other apps.
// Positions are the declared app's; a catalogue not made by Load has no
// options: no opt-in, and no root a host path may be below.
func (c *Catalog) Refusals(app *schema.App) Diagnostics {
	l := &loader{dir: c.Dir, display: c.Dir, opts: c.opts}
	l.checkContainer(app)
	swapped := &Catalog{Apps: maps.Clone(c.Apps)}
	swapped.Apps[app.ID] = app
	l.checkHostPorts(swapped)
	return l.diags.Errors()
}

func (l *loader) errorf(app *schema.App, path, format string, args ...any) {
	l.add(app.PosOf(path), app.ID, path, fmt.Sprintf(format, args...))
}

func (l *loader) warnf(app *schema.App, path, format string, args ...any) {
	l.warn(app.PosOf(path), app.ID, path, fmt.Sprintf(format, args...))
}

// checkSource turns the legacy image shorthand into a pull source and
// checks a build source's context on disk.
func (l *loader) checkSource(app *schema.App) {
	c := &app.Container
	legacy := c.Image != "" || c.PullPolicy != "" || c.ImageSignature != ""
	switch {
	case c.Source != nil && legacy:
		l.warnf(app, legacyPath(c), "ignored: both the legacy shorthand and container.source are set, and container.source wins")
	case c.Source == nil && c.Image == "":
		l.errorf(app, "container", "no image: set container.source ({type: \"pull\", image: ...} or {type: \"build\", ...}) or container.image")
		return
	case c.Source == nil:
		policy := c.PullPolicy
		if policy == "" {
			policy = "missing"
		}
		c.Source = &schema.Source{Type: schema.SourcePull, Image: c.Image, ImageSignature: c.ImageSignature, PullPolicy: policy}
	}
	if c.Source.Type == schema.SourceBuild {
		l.checkBuildContext(app)
	}
}

// legacyPath names the first legacy shorthand field that is set.
func legacyPath(c *schema.Container) string {
	switch {
	case c.Image != "":
		return "container.image"
	case c.PullPolicy != "":
		return "container.pull_policy"
	}
	return "container.image_signature"
}

func (l *loader) checkBuildContext(app *schema.App) {
	src := app.Container.Source
	dir := src.Context
	if !filepath.IsAbs(dir) {
		// Relative to the directory of the file that sets it.
		file := app.PosOf("container.source.context").File
		if abs, err := filepath.Abs(file); err == nil && file != "" {
			dir = filepath.Join(filepath.Dir(abs), dir)
		} else {
			dir = filepath.Join(l.dir, dir)
		}
	}
	dir = filepath.Clean(dir)
	src.ContextDir = dir

	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		l.errorf(app, "container.source.context", "build context %s does not exist", l.rel(dir))
		return
	case !fi.IsDir():
		l.errorf(app, "container.source.context", "build context %s is a file, not a directory", l.rel(dir))
		return
	}
	real, err := buildctx.Context(dir)
	if err != nil {
		if cause := errors.Unwrap(err); cause != nil {
			err = cause // the directory is named here, relative
		}
		l.errorf(app, "container.source.context", "build context %s: %v", l.rel(dir), err)
		return
	}
	if !underAny(real, l.opts.ContextRoots, true) {
		l.errorf(app, "container.source.context", "build context %s resolves to %s, outside the allowed roots (%s); pass --context-root to allow it",
			src.Context, real, strings.Join(l.opts.ContextRoots, ", "))
		return
	}
	// The file vetted here is the one hashed and built: all three resolve
	// it with buildctx.
	_, err = buildctx.Dockerfile(real, src.Dockerfile)
	const path = "container.source.dockerfile"
	switch {
	case err == nil:
	case errors.Is(err, buildctx.ErrAbsolute):
		l.errorf(app, path, "dockerfile %s is an absolute path; write it relative to the build context %s", src.Dockerfile, l.rel(dir))
	case errors.Is(err, buildctx.ErrEscapes):
		l.errorf(app, path, "dockerfile %s escapes the build context", src.Dockerfile)
	case errors.Is(err, buildctx.ErrSymlinkOut):
		l.errorf(app, path, "dockerfile %s is a symlink out of the build context", src.Dockerfile)
	case errors.Is(err, buildctx.ErrNotFound):
		l.errorf(app, path, "dockerfile %s not found in build context %s", src.Dockerfile, l.rel(dir))
	case errors.Is(err, buildctx.ErrNotRegular):
		l.errorf(app, path, "dockerfile %s in build context %s is not a regular file", src.Dockerfile, l.rel(dir))
	default:
		l.errorf(app, path, "%v", err)
	}
}

func (l *loader) checkDependencies(app *schema.App, cat *Catalog, known map[string]bool) {
	seen := map[string]bool{}
	for i, dep := range app.Dependencies {
		path := fmt.Sprintf("dependencies[%d].app_id", i)
		switch {
		case dep.AppID == app.ID:
			l.errorf(app, path, "app depends on itself")
		case !known[dep.AppID]:
			l.errorf(app, path, "unknown dependency %q%s", dep.AppID, suggest(dep.AppID, known))
		case seen[dep.AppID]:
			l.errorf(app, path, "dependency %q is listed twice", dep.AppID)
		default:
			if d := cat.Apps[dep.AppID]; d != nil && dep.Condition == "healthy" && d.HealthCheck == nil {
				l.warnf(app, path, "waits for %q to be healthy, but %q has no health_check: it counts as healthy once running", dep.AppID, dep.AppID)
			}
		}
		seen[dep.AppID] = true
	}
}

func (l *loader) checkSecurity(app *schema.App) {
	allowed := slices.Contains(l.opts.AllowPrivileged, app.ID)
	if app.Security.Privileged && !allowed {
		l.errorf(app, "security.privileged", "privileged needs the operator's opt-in: --allow-privileged %s", app.ID)
	}
	for i, c := range app.Security.CapAdd {
		if allowed || !rootCapability(c, app.Security.NetworkPolicy) {
			continue
		}
		how := ""
		if !rootCapability(c, schema.NetworkBridge) {
			how = fmt.Sprintf(" with network_policy %q", app.Security.NetworkPolicy)
		}
		l.errorf(app, fmt.Sprintf("security.cap_add[%d]", i), "cap_add %q%s amounts to root on the host; allow it with --allow-privileged %s", c, how, app.ID)
	}
	for i, p := range app.Ports {
		path := fmt.Sprintf("ports[%d]", i)
		switch app.Security.NetworkPolicy {
		case schema.NetworkNone:
			l.errorf(app, path, "ports cannot be published with network_policy \"none\"")
		case schema.NetworkHost:
			if p.Host != 0 && p.Host != p.Container {
				l.errorf(app, path+".host", "with network_policy \"host\" the host port is the container port (%d), not %d", p.Container, p.Host)
			}
		}
	}
	seen := map[string]bool{}
	for i, n := range app.Networks {
		path := fmt.Sprintf("networks[%d]", i)
		if p := app.Security.NetworkPolicy; p != schema.NetworkBridge {
			l.errorf(app, path, "network %s needs network_policy \"bridge\" (it is %q)", n, p)
		}
		if seen[n] {
			l.errorf(app, path, "network %s is listed twice", n)
		}
		seen[n] = true
	}
}

// rootCapabilities amount to root on the host: a process holding one can
// leave the container or take the host's kernel over, so each needs the
// operator's opt-in as privileged does (docs/security.md says why, one by
// one). hostNetwork are those that do so only on the host's network.
var (
	rootCapabilities = []string{
		"ALL",             // every capability, those below included
		"SYS_ADMIN",       // mount, namespaces, cgroups, BPF: the classic escapes
		"SYS_MODULE",      // load a kernel module: code in the host's kernel
		"SYS_PTRACE",      // trace and inject into processes it can see
		"SYS_RAWIO",       // raw I/O ports and /dev/mem: read and write host memory and disks
		"DAC_READ_SEARCH", // open_by_handle_at: read any file of a mounted host file system (shocker)
		"SYS_BOOT",        // reboot the host or kexec another kernel
	}
	hostNetworkRootCapabilities = []string{
		"NET_ADMIN", // on the host's network: its firewall, routes and interfaces
	}
)

// rootCapability reports whether capability c (NET_ADMIN or CAP_NET_ADMIN,
// in any case) amounts to root on the host for a container with network
// policy.
func rootCapability(c, policy string) bool {
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
	if slices.Contains(rootCapabilities, name) {
		return true
	}
	return policy == schema.NetworkHost && slices.Contains(hostNetworkRootCapabilities, name)
}

func (l *loader) checkVolumes(app *schema.App) {
	l.checkVolumeList(app, "", app.Volumes)
	l.checkMounts(app, "", app.Volumes, app.Tmpfs, app.Secrets)
}

// checkVolumeList checks the volumes of the app's container or of a job
// (at prefix "jobs[i]."); checkMounts checks their targets.
func (l *loader) checkVolumeList(app *schema.App, prefix string, volumes []schema.Volume) {
	for i, v := range volumes {
		path := fmt.Sprintf("%svolumes[%d]", prefix, i)
		switch {
		case v.Name == "" && v.HostPath == "":
			l.errorf(app, path, "a volume needs name (a named volume) or host_path")
		case v.Name != "" && v.HostPath != "":
			l.errorf(app, path, "a volume has either name or host_path, not both")
		case v.HostPath != "":
			l.checkHostPath(app, path+".host_path", v.HostPath)
		}
	}
}

func (l *loader) checkSecrets(app *schema.App) {
	l.checkSecretList(app, "", "", app.Secrets, app.Environment)
}

// checkSecretList checks the secrets of the app's container or of the job
// named job (at prefix "jobs[i]."), whose plain variables are env.
func (l *loader) checkSecretList(app *schema.App, prefix, job string, secrets []schema.Secret, env map[string]string) {
	seen := map[schema.Secret]bool{}
	envs := map[string]string{}
	for i, s := range secrets {
		path := fmt.Sprintf("%ssecrets[%d]", prefix, i)
		if seen[s] {
			l.errorf(app, path, "secret %q is listed twice the same way", s.Name)
			continue
		}
		seen[s] = true
		if other, ok := envs[s.Env]; ok && s.Env != "" {
			l.errorf(app, path+".env", "variable %s is set by secrets %q and %q", s.Env, other, s.Name)
		}
		envs[s.Env] = s.Name
		if s.Env != "" && s.Target != "" {
			l.errorf(app, path, "secret %q has both env and target; inject it one way", s.Name)
		}
		if _, ok := env[s.Env]; ok && s.Env != "" {
			l.errorf(app, path+".env", "variable %s is set both in environment and by secret %q", s.Env, s.Name)
		}
		if s.Env != "" {
			l.noteEnvSecret(app, path, job, s)
		}
	}
}

// noteEnvSecret advises a file over a variable: Podman before 5.3 (Debian
// 12 ships 4.3.1) lists an env secret's value in the container's
// Config.Env, which "podman inspect" prints (Podman bug #23788); a file
// secret is a read-only mount and shows in no inspect (docs/security.md).
func (l *loader) noteEnvSecret(app *schema.App, path, job string, s schema.Secret) {
	of := ""
	if job != "" {
		of = " of job " + job
	}
	l.note(app.PosOf(path+".env"), app.ID, "", fmt.Sprintf(
		"secret %q%s is injected as environment variable %s, which Podman 4.3.1 shows in \"podman inspect\" (fixed in Podman 5.3); mount it as a file and use %s_FILE where the image supports it",
		s.Name, of, s.Env, s.Env))
}

// checkJobs checks an app's jobs: one image each (image or same_as_app),
// unique names, and their volumes and secrets as the app's.
func (l *loader) checkJobs(app *schema.App) {
	names := map[string]bool{}
	for i, j := range app.Jobs {
		prefix := fmt.Sprintf("jobs[%d].", i)
		switch {
		case j.Image == "" && !j.SameAsApp:
			l.errorf(app, fmt.Sprintf("jobs[%d]", i), "job %s has no image: set image or same_as_app: true", j.Name)
		case j.Image != "" && j.SameAsApp:
			l.errorf(app, prefix+"image", "job %s has both image and same_as_app: true; set one", j.Name)
		}
		if names[j.Name] {
			l.errorf(app, prefix+"name", "job %s is declared twice", j.Name)
		}
		names[j.Name] = true
		l.checkVolumeList(app, prefix, j.Volumes)
		l.checkMounts(app, prefix, j.Volumes, nil, j.Secrets)
		l.checkSecretList(app, prefix, j.Name, j.Secrets, j.Env)
	}
}

// checkUpgrade warns about upgrades of lnd that could take its data
// backwards: a snapshot restored over a channel database, or a rollback
// that starts the previous lnd on a database the new one migrated. And
// about a proof deadline shorter than the app's start period.
func (l *loader) checkUpgrade(app *schema.App) {
	if isLND(app) {
		if app.Upgrade.SnapshotVolumes {
			l.warnf(app, "upgrade.snapshot_volumes", "restoring an lnd channel database to an older state can lose funds; keep snapshot_volumes off for this app")
		}
		if !app.Upgrade.ForwardOnly() {
			l.warnf(app, "upgrade.rollback", "lnd migrates its database on first start and the previous version cannot run on it: set upgrade.rollback: \"forward-only\"")
		}
	}
	if hc := app.HealthCheck; hc != nil && app.Upgrade.HealthTimeout < hc.StartPeriod {
		l.warnf(app, "upgrade.health_timeout", "health_timeout %s is shorter than health_check.start_period %s: an upgrade would fail its proof before the app may be healthy",
			time.Duration(app.Upgrade.HealthTimeout), time.Duration(hc.StartPeriod))
	}
}

// isLND reports whether app is lnd: by its id, or by its image's
// repository name (docker.io/lightninglabs/lnd), so that lnd-ui is not.
func isLND(app *schema.App) bool {
	if app.ID == "lnd" {
		return true
	}
	src := app.Container.Source
	if src == nil {
		return false
	}
	repo := src.ImageRef()
	repo = repo[strings.LastIndex(repo, "/")+1:]
	if i := strings.IndexAny(repo, ":@"); i >= 0 {
		repo = repo[:i]
	}
	return repo == "lnd"
}

// checkHealthCheck compiles a warm-up's output pattern.
func (l *loader) checkHealthCheck(app *schema.App) {
	hc := app.HealthCheck
	if hc == nil || hc.Starting == nil || hc.Starting.Output == "" {
		return
	}
	if _, err := regexp.Compile(hc.Starting.Output); err != nil {
		l.errorf(app, "health_check.starting.output", "not a regular expression: %v", err)
	}
}

func (l *loader) checkCycles(cat *Catalog) {
	g := graph.DependencyGraph(cat.List())
	for _, cycle := range graph.Cycles(g) {
		if len(cycle) == 2 {
			continue // an app depending on itself is reported on its own
		}
		app := cat.Apps[cycle[0]]
		path := "dependencies"
		for i, d := range app.Dependencies {
			if d.AppID == cycle[1] {
				path = fmt.Sprintf("dependencies[%d].app_id", i)
				break
			}
		}
		l.errorf(app, path, "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
}

func (l *loader) checkContainerNames(cat *Catalog) {
	owner := map[string]*schema.App{}
	for _, id := range cat.IDs() {
		app := cat.Apps[id]
		if strings.HasSuffix(app.ContainerName, schema.KeptSuffix) {
			l.errorf(app, containerNamePath(app), "container name %q%s ends in %q, which archy uses for an old container while an upgrade proves the new one",
				app.ContainerName, nameOrigin(app), schema.KeptSuffix)
		}
		first, taken := owner[app.ContainerName]
		if !taken {
			owner[app.ContainerName] = app
			continue
		}
		l.errorf(app, containerNamePath(app), "container name %q%s is also the container name of app %q%s at %s",
			app.ContainerName, nameOrigin(app), first.ID, nameOrigin(first), first.PosOf(containerNamePath(first)))
	}
}

func containerNamePath(app *schema.App) string {
	if _, ok := app.Extensions["container_name"]; ok {
		return "extensions.container_name"
	}
	return ""
}

// nameOrigin explains a computed container name.
func nameOrigin(app *schema.App) string {
	switch {
	case containerNamePath(app) != "":
		return " (from extensions.container_name)"
	case app.Role == schema.RoleUI:
		return " (computed as archy-<id> for a ui app)"
	}
	return ""
}

// checkHostPorts finds two bindings of one host port and protocol, where
// an unspecified address clashes with every address.
func (l *loader) checkHostPorts(cat *Catalog) {
	type binding struct {
		app  *schema.App
		path string
		ip   string
	}
	taken := map[string][]binding{} // "8080/tcp" -> bindings
	for _, id := range cat.IDs() {
		app := cat.Apps[id]
		for i, p := range app.Ports {
			host := p.Host
			if app.Security.NetworkPolicy == schema.NetworkHost {
				host = p.Container
			}
			if host == 0 {
				continue
			}
			key := fmt.Sprintf("%d/%s", host, p.Protocol)
			b := binding{app: app, path: fmt.Sprintf("ports[%d]", i), ip: p.HostIP}
			for _, other := range taken[key] {
				if sameAddr(b.ip, other.ip) {
					l.errorf(app, b.path, "host port %s is also published by app %q (%s)", key, other.app.ID, other.app.PosOf(other.path))
					break
				}
			}
			taken[key] = append(taken[key], b)
		}
	}
}

func sameAddr(a, b string) bool {
	unspecified := func(s string) bool { return s == "" || net.ParseIP(s).IsUnspecified() }
	return unspecified(a) || unspecified(b) || net.ParseIP(a).Equal(net.ParseIP(b))
}

// underAny reports whether path is inside one of roots; with resolve the
// roots' symlinks are resolved first, as the path's were.
func underAny(path string, roots []string, resolve bool) bool {
	for _, root := range roots {
		if resolve {
			if r, err := filepath.EvalSymlinks(root); err == nil {
				root = r
			}
		}
		if buildctx.Under(path, root) {
			return true
		}
	}
	return false
}

// strictlyUnderAny reports whether path is below (not at) one of roots:
// mounting a whole root, such as archy's own data dir, is not allowed.
func strictlyUnderAny(path string, roots []string) bool {
	for _, root := range roots {
		root = resolveExisting(root)
		if buildctx.Under(path, root) && filepath.Clean(path) != filepath.Clean(root) {
			return true
		}
	}
	return false
}

func isRoot(path string, roots []string) bool {
	for _, root := range roots {
		if filepath.Clean(path) == filepath.Clean(resolveExisting(root)) {
			return true
		}
	}
	return false
}

// resolveExisting resolves the symlinks of the longest existing prefix of
// path, so that a link inside an allowed root cannot point out of it.
func resolveExisting(path string) string {
	rest := ""
	for p := path; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if filepath.Dir(p) == p {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}

// suggest offers the closest known id for a misspelt one.
func suggest(id string, known map[string]bool) string {
	// One edit for short ids, two for longer ones: "db" is not "ui".
	best, bestDist := "", 2
	if len(id) > 4 {
		bestDist = 3
	}
	ids := make([]string, 0, len(known))
	for k := range known {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	for _, k := range ids {
		if d := editDistance(id, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
