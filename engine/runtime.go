package engine

import (
	"context"
	"io"
	"time"

	"archy.dev/archy/internal/notfound"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// ErrNotFound is returned by a Runtime when a container, image, volume or
// secret does not exist (Podman's 404). The value lives in a leaf
// (internal/notfound) so that volsnap, below engine, knows it too.
var ErrNotFound = notfound.Err

// Runtime is the container engine as archy uses it: the port the Podman
// adapter (engine/podman) implements. It is made of small interfaces so
// that code which needs only a part asks only for that part (a probe
// needs ProbeRuntime, the event loop an Observer). Every method takes the
// context the caller was given; the adapter derives its calls from its
// connection.
type Runtime interface {
	Observer
	Images
	Containers
	Volumes
	Networks
	SecretStore
}

// Observer reads what the engine holds and what happens to it; it
// changes nothing.
type Observer interface {
	// Snapshot lists containers and images with a constant number of
	// calls, however many there are.
	Snapshot(ctx context.Context) (plan.Observed, error)

	// Inspect returns the state of one container.
	Inspect(ctx context.Context, name string) (plan.Container, error)

	// Logs writes the container's last tail lines (all if tail < 0) to w,
	// and keeps following when follow is set, until ctx ends.
	Logs(ctx context.Context, name string, tail int, follow bool, w io.Writer) error

	// Events streams container events from since (zero: from now) until
	// ctx ends or the stream breaks. The error channel then receives one
	// value: nil when ctx ended, the cause otherwise (Podman gone, say).
	Events(ctx context.Context, since time.Time) (<-chan ContainerEvent, <-chan error)
}

// Images gets images and names them.
type Images interface {
	// Pull pulls ref with policy (missing, always, never, newer) and
	// returns the image id. Progress lines go to progress.
	Pull(ctx context.Context, ref, policy string, progress io.Writer) (string, error)

	// Build builds an image and returns its id. Output goes to progress.
	Build(ctx context.Context, spec BuildSpec, progress io.Writer) (string, error)

	// Tag gives an image (by id or reference) the reference ref too;
	// archy keeps the images of earlier generations so.
	Tag(ctx context.Context, image, ref string) error

	// Untag removes the reference ref; the image stays while anything
	// else names or uses it.
	Untag(ctx context.Context, ref string) error

	// ImageSize is the size in bytes of the local image ref; the error
	// wraps ErrNotFound when there is none.
	ImageSize(ctx context.Context, ref string) (int64, error)

	// ImageID is the id of the local image ref; the error wraps
	// ErrNotFound when there is none.
	ImageID(ctx context.Context, ref string) (string, error)

	// RemoveImage removes the image id: its references first, then the
	// image, never forced, so that Podman refuses an image a container
	// (any, running or not) uses.
	RemoveImage(ctx context.Context, id string) error

	// ImageStoreFree is where Podman stores images (its graph root) and
	// the bytes free to unprivileged writers on that file system (only
	// for a Podman on this host: the error wraps fs.ErrNotExist when the
	// path is not here).
	ImageStoreFree(ctx context.Context) (path string, free int64, err error)
}

// Containers changes containers.
type Containers interface {
	// Create creates (not starts) a container, creating missing named
	// volumes first, and returns its id.
	Create(ctx context.Context, spec ContainerSpec) (string, error)

	Start(ctx context.Context, name string) error

	// Stop stops a container with its stop signal, killing it after
	// timeout (archy passes the app's: StopTimeout).
	Stop(ctx context.Context, name string, timeout time.Duration) error

	// Remove removes a container, stopping it first as Stop does (with
	// timeout, never Podman's default). Volumes are never removed here.
	Remove(ctx context.Context, name string, timeout time.Duration) error

	// Rename gives a container another name (archy sets the old container
	// of an upgrade aside so until the new one is proved).
	Rename(ctx context.Context, name, newName string) error

	// Wait blocks until the container is no longer running (or ctx
	// ends) and returns its exit code: archy runs jobs to completion.
	Wait(ctx context.Context, name string) (int, error)

	// Exec runs cmd in a running container and returns its exit code;
	// its stdout and stderr go to out (nil: discarded).
	Exec(ctx context.Context, name string, cmd []string, out io.Writer) (int, error)
}

// Volumes reaches named volumes.
type Volumes interface {
	// RemoveVolume removes a named volume and its data.
	RemoveVolume(ctx context.Context, name string) error

	// VolumeMountpoint is where a named volume's data lives on the host
	// (for volume snapshots; only for a Podman on this host).
	VolumeMountpoint(ctx context.Context, name string) (string, error)

	// VolumesCreated says when each existing named volume was created:
	// a first-create job runs once per volume set.
	VolumesCreated(ctx context.Context) (map[string]time.Time, error)
}

// Networks reaches the app networks archy creates (a create makes the
// missing ones of its container, labelled plan.LabelNetwork).
type Networks interface {
	// ArchyNetworks lists the networks archy created.
	ArchyNetworks(ctx context.Context) ([]string, error)

	// RemoveNetwork removes a network archy created; it refuses one that
	// a container is attached to.
	RemoveNetwork(ctx context.Context, name string) error
}

// SecretStore holds Podman secrets.
type SecretStore interface {
	// SecretNames lists the Podman secrets that exist.
	SecretNames(ctx context.Context) (map[string]bool, error)

	// SecretsCreated says when each Podman secret was created (never a
	// value), for archy secrets.
	SecretsCreated(ctx context.Context) (map[string]time.Time, error)

	// SecretIDs gives the id of each Podman secret (never a value): a
	// replaced secret has a new one, which is how archy sees a value it
	// cannot read back change.
	SecretIDs(ctx context.Context) (map[string]string, error)

	// SetSecret creates or replaces a Podman secret.
	SetSecret(ctx context.Context, name string, value []byte) error
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

// ContainerSpec is a container to create: the app's container
// configuration under a name, from an image, with archy's labels. The
// adapter maps it onto Podman's spec; the restart policy is always "no":
// archy owns restarts.
type ContainerSpec struct {
	Name   string
	Image  string // reference or id
	Labels map[string]string
	schema.ContainerConfig
}
