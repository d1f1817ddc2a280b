package plan

import (
	"fmt"
	"time"
)

// Labels archy puts on what it creates.
const (
	LabelApp         = "archy.app"          // the app id
	LabelSpecHash    = "archy.spec-hash"    // SpecHash of the spec the container was made from
	LabelContextHash = "archy.context-hash" // on built images: hash of Dockerfile, context and build args
	// LabelNetwork marks the app networks archy created ("true"): only
	// those are ever removed (--prune), and only once nothing uses them.
	LabelNetwork = "archy.network"
	LabelJob     = "archy.job" // on a job's container: the job's name
)

// Container states as Podman reports them.
const (
	StateRunning = "running"
	StateCreated = "created"
	StateExited  = "exited"
	StateStopped = "stopped"
	StatePaused  = "paused"
)

// Container is one container as observed.
type Container struct {
	ID        string
	Name      string
	State     string // running, created, exited, stopped, paused, …
	ExitCode  int
	OOMKilled bool
	ImageID   string
	Image     string // the reference it was created from
	Labels    map[string]string
	StartedAt time.Time
	Pid       int      // of its main process on the host; 0 when not running
	Ports     []Port   // published ports
	Networks  []string // the networks it is attached to
	Mounts    []Mount  // volume mounts; only Inspect fills them
}

// Mount is a volume mounted in a container; an anonymous volume (an
// image's VOLUME nobody declared) has a generated name.
type Mount struct {
	Name        string
	Destination string
}

// Port is one published port of a container.
type Port struct {
	HostIP    string
	Host      int
	Container int
	Protocol  string
}

func (p Port) String() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, p.Host, p.Container, p.Protocol)
}

// Image is one local image as observed.
type Image struct {
	ID     string
	Tags   []string // fully qualified: docker.io/library/nginx:1.27, localhost/ui:local
	Labels map[string]string
	Size   int64 // bytes, as Podman reports it
}

// Observed is a snapshot of the runtime, taken with a constant number of
// calls however many apps there are.
type Observed struct {
	Containers []Container
	Images     []Image
	// Networks are the app networks archy created (LabelNetwork); the
	// engine lists them only for a --prune plan.
	Networks []string
}

// Intent is what the operator asked for and archy recorded, persisted
// across runs: per app, keyed by id.
type Intent map[string]AppIntent

// AppIntent is the persisted state of one app.
type AppIntent struct {
	// Stopped: the operator stopped the app (archy stop); keep it stopped.
	Stopped bool `json:"stopped,omitempty"`
	// NodeStopped: the stop came from archy stop --all, not from a stop
	// of the app's own; archy start --all starts it again (and leaves the
	// apps the operator stopped one by one alone).
	NodeStopped bool `json:"node_stopped,omitempty"`
	// Removed: the operator removed the app (archy rm); it stays absent
	// until archy start or install.
	Removed bool `json:"removed,omitempty"`
	// Adopted: the container was found, not created by archy.
	Adopted bool `json:"adopted,omitempty"`
	// SecretsHash is a keyed hash of the secret values the running
	// container was given; it never leaves the state file.
	SecretsHash string `json:"secrets_hash,omitempty"`
	// Held is a target (see TargetKey) that plans leave alone: an upgrade
	// to it failed and was rolled back, or the operator rolled back from
	// it. A new target (the catalogue or the image changes again) or
	// archy upgrade releases it; HeldWhy says why for the plan's note.
	Held    string `json:"held,omitempty"`
	HeldWhy string `json:"held_why,omitempty"`
	// DiskLow: the daemon stopped the app because a volume's file system
	// (its own, or one of an app it depends on) fell below min_free; it
	// says why. Applies keep the app stopped until the daemon sees the
	// space back and clears it (or archy start does).
	DiskLow string `json:"disk_low,omitempty"`
	// HeldStopped: the held target's container failed its proof and is
	// kept stopped (a forward-only app, upgrade.rollback): plans leave it
	// stopped, rather than start a failing version on data it may have
	// migrated, until the target changes or archy upgrade.
	HeldStopped bool `json:"held_stopped,omitempty"`
	// Jobs records the app's jobs by name (see DueJobs).
	Jobs map[string]JobRecord `json:"jobs,omitempty"`
}

// JobRecord is what state keeps of one job of an app.
type JobRecord struct {
	// Volumes is the Desired.Volumes key of the last successful run: a
	// first-create job runs again when the volume set differs (purged,
	// or removed by hand).
	Volumes string `json:"volumes,omitempty"`
	// Pending: the last run failed; the job runs on the next apply
	// whatever its when says.
	Pending bool `json:"pending,omitempty"`
	// Failed says how the last run failed ("exited 3"; never its log,
	// which may hold what a secret gave it).
	Failed string `json:"failed,omitempty"`
}

// KeptStopped reports whether the app must not run: the operator stopped
// it, or the daemon did for low disk space.
func (i AppIntent) KeptStopped() bool { return i.Stopped || i.DiskLow != "" }
