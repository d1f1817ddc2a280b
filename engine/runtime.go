package engine

import (
	"context"
	"io"
	"time"

	"archy.dev/archy/internal/notfound"
	"archy.dev/archy/plan"
)

// ErrNotFound is returned by a Runtime when a container, image, volume or
// secret does not exist (Podman's 404). The value lives in a leaf
// (internal/notfound) so that volsnap, below engine, knows it too.
var ErrNotFound = notfound.Err

// Runtime is the container engine as archy uses it: the port the Podman
// adapter (engine/podman) implements. Every method takes the context the
// caller was given; the adapter derives its calls from its connection.
type Runtime interface {
	// Snapshot lists containers and images with a constant number of
	// calls, however many there are.
	Snapshot(ctx context.Context) (plan.Observed, error)

	// Pull pulls ref with policy (missing, always, never, newer) and
	// returns the image id. Progress lines go to progress.
	Pull(ctx context.Context, ref, policy string, progress io.Writer) (string, error)

	// Build builds an image and returns its id. Output goes to progress.
	Build(ctx context.Context, spec BuildSpec, progress io.Writer) (string, error)

	// Create creates (not starts) a container, creating missing named
	// volumes first, and returns its id.
	Create(ctx context.Context, spec ContainerSpec) (string, error)

	Start(ctx context.Context, name string) error

	// Stop stops a container, waiting up to timeout before killing it.
	Stop(ctx context.Context, name string, timeout time.Duration) error

	// Remove removes a container (stopping it first). Volumes are never
	// removed here.
	Remove(ctx context.Context, name string) error

	// RemoveVolume removes a named volume and its data.
	RemoveVolume(ctx context.Context, name string) error

	// Inspect returns the state of one container.
	Inspect(ctx context.Context, name string) (plan.Container, error)

	// Exec runs cmd in a running container and returns its exit code.
	Exec(ctx context.Context, name string, cmd []string) (int, error)

	// Logs writes the container's last tail lines (all if tail < 0) to w,
	// and keeps following when follow is set, until ctx ends.
	Logs(ctx context.Context, name string, tail int, follow bool, w io.Writer) error

	// Rename gives a container another name (archy sets the old container
	// of an upgrade aside so until the new one is proved).
	Rename(ctx context.Context, name, newName string) error

	// Tag gives an image (by id or reference) the reference ref too;
	// archy keeps the images of earlier generations so.
	Tag(ctx context.Context, image, ref string) error

	// Untag removes the reference ref; the image stays while anything
	// else names or uses it.
	Untag(ctx context.Context, ref string) error

	// VolumeMountpoint is where a named volume's data lives on the host
	// (for volume snapshots; only for a Podman on this host).
	VolumeMountpoint(ctx context.Context, name string) (string, error)

	// SecretNames lists the Podman secrets that exist.
	SecretNames(ctx context.Context) (map[string]bool, error)

	// SetSecret creates or replaces a Podman secret.
	SetSecret(ctx context.Context, name string, value []byte) error

	// Events streams container events from since (zero: from now) until
	// ctx ends or the stream breaks. The error channel then receives one
	// value: nil when ctx ended, the cause otherwise (Podman gone, say).
	Events(ctx context.Context, since time.Time) (<-chan ContainerEvent, <-chan error)
}

// ContainerEvent is one Podman container event.
type ContainerEvent struct {
	Time      time.Time
	Action    string // create, start, died, stop, remove, health_status, …
	Container string // name
	ID        string
	ExitCode  int
}

// BuildSpec is what a build needs.
type BuildSpec struct {
	ContextDir string
	Dockerfile string // relative to ContextDir
	Tag        string
	BuildArgs  map[string]string
	Labels     map[string]string // archy.app, archy.context-hash
}

// ContainerSpec is a container to create, derived from an app; the
// adapter maps it onto Podman's spec one to one.
type ContainerSpec struct {
	Name        string
	Image       string // reference or id
	Command     []string
	Entrypoint  []string
	Env         map[string]string
	Labels      map[string]string
	Network     string // "bridge", "host" or "none"
	Ports       []PortSpec
	Volumes     []VolumeSpec
	Secrets     []SecretSpec
	MemoryLimit int64   // bytes; 0 means none
	CPUs        float64 // 0 means no limit
	ReadOnly    bool
	Privileged  bool
	CapAdd      []string
	User        string
	// The restart policy is always "no": archy owns restarts.
}

type PortSpec struct {
	HostIP    string
	Host      int
	Container int
	Protocol  string // tcp or udp
}

// VolumeSpec mounts a named volume (Name) or a host path (HostPath).
type VolumeSpec struct {
	Name     string
	HostPath string
	Target   string
	ReadOnly bool
}

// SecretSpec injects a Podman secret as an environment variable (Env) or
// as a file (Target; /run/secrets/<name> when both are empty).
type SecretSpec struct {
	Name   string
	Env    string
	Target string
}
