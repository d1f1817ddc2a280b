package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/volumes"
	entitiesTypes "github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"
	nettypes "go.podman.io/common/libnetwork/types"
	"go.podman.io/common/pkg/signal"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// cpuPeriod is the CFS period CPU limits are expressed in (100 ms, what
// podman run --cpus uses).
const cpuPeriod = 100_000

// secretFileMode is the permission of a secret mounted as a file.
const secretFileMode = 0o444

// Create creates the container of cs (not started), creating its missing
// named volumes and host paths first, and returns its id. The restart policy is always
// "no": archy owns restarts.
func (p *Podman) Create(ctx context.Context, cs engine.ContainerSpec) (string, error) {
	s, err := specFor(cs)
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", cs.Name, err)
	}
	ctx, cancel := p.call(ctx)
	defer cancel()
	for _, n := range cs.Networks {
		if err := p.ensureNetwork(ctx, n); err != nil {
			return "", fmt.Errorf("creating container %s: %w", cs.Name, err)
		}
	}
	for _, v := range cs.Volumes {
		var err error
		if v.Name != "" {
			err = p.ensureVolume(ctx, v, cs.Labels[plan.LabelApp])
		} else {
			err = ensureHostPath(v)
		}
		if err != nil {
			return "", fmt.Errorf("creating container %s: %w", cs.Name, err)
		}
	}
	created, err := containers.CreateWithSpec(ctx, s, nil)
	if err != nil {
		return "", wrap(err, "creating container %s", cs.Name)
	}
	return created.ID, nil
}

// specFor maps cs onto Podman's spec generator.
func specFor(cs engine.ContainerSpec) (*specgen.SpecGenerator, error) {
	s := specgen.NewSpecGenerator(cs.Image, false)
	s.Name = cs.Name
	s.Command = cs.Command
	s.Entrypoint = cs.Entrypoint
	s.Env = cs.Environment
	s.Labels = cs.Labels
	s.RestartPolicy = "no"
	// The container carries its stop settings, so that a podman stop by
	// hand and a host shutdown give it the time archy would.
	// Podman's own parser: it knows every name the schema allows
	// (SIGRTMIN+3 too, which x/sys/unix does not).
	sig, err := signal.ParseSignal(cs.Stop.SignalName())
	if err != nil {
		return nil, fmt.Errorf("stop.signal %q: %w", cs.Stop.SignalName(), err)
	}
	stopSecs := seconds(cs.Stop.TimeoutOrDefault())
	s.StopSignal, s.StopTimeout = &sig, &stopSecs
	sec := cs.Security
	s.User = sec.User
	s.CapAdd = sec.CapAdd
	privileged, readOnly, tmpfs := sec.Privileged, sec.ReadonlyRoot, false
	s.Privileged = &privileged
	s.ReadOnlyFilesystem = &readOnly
	s.ReadWriteTmpfs = &tmpfs

	published := cs.PublishedPorts()
	switch sec.NetworkPolicy {
	case "", schema.NetworkBridge:
		// No app network: the service's default network. With app
		// networks, only those: an app reaches what it shares a network
		// with, by container name (its alias there).
		s.NetNS = specgen.Namespace{NSMode: specgen.Bridge}
		if len(cs.Networks) > 0 {
			s.Networks = map[string]nettypes.PerNetworkOptions{}
			for _, n := range cs.Networks {
				s.Networks[n] = nettypes.PerNetworkOptions{Aliases: []string{cs.Name}}
			}
		}
		for _, pm := range published {
			m, err := portMapping(pm)
			if err != nil {
				return nil, err
			}
			s.PortMappings = append(s.PortMappings, m)
		}
	case schema.NetworkHost:
		if len(cs.Networks) > 0 {
			return nil, errors.New("networks need network_policy bridge")
		}
		// Ports are the host's own: nothing to publish.
		s.NetNS = specgen.Namespace{NSMode: specgen.Host}
	case schema.NetworkNone:
		if len(cs.Networks) > 0 {
			return nil, errors.New("networks need network_policy bridge")
		}
		if len(published) > 0 {
			return nil, errors.New("network none cannot publish ports")
		}
		s.NetNS = specgen.Namespace{NSMode: specgen.NoNetwork}
	default:
		return nil, fmt.Errorf("unknown network %q (want bridge, host or none)", sec.NetworkPolicy)
	}

	for _, v := range cs.Volumes {
		switch {
		case v.Name != "" && v.HostPath != "":
			return nil, fmt.Errorf("volume at %s has both a name (%s) and a host path (%s)", v.Target, v.Name, v.HostPath)
		case v.Name != "":
			nv := &specgen.NamedVolume{Name: v.Name, Dest: v.Target}
			if v.Readonly {
				nv.Options = []string{"ro"}
			}
			s.Volumes = append(s.Volumes, nv)
		case v.HostPath != "":
			opts := []string{"rbind"}
			if v.Readonly {
				opts = append(opts, "ro")
			}
			s.Mounts = append(s.Mounts, spec.Mount{Type: "bind", Source: v.HostPath, Destination: v.Target, Options: opts})
		default:
			return nil, fmt.Errorf("volume at %s has neither a name nor a host path", v.Target)
		}
	}

	for _, t := range cs.Tmpfs {
		opts := []string{"rw", "nosuid", "nodev"}
		if t.Size != "" {
			size, err := schema.ParseSize(t.Size)
			if err != nil {
				return nil, fmt.Errorf("tmpfs at %s: %w", t.Target, err)
			}
			opts = append(opts, fmt.Sprintf("size=%d", size))
		}
		s.Mounts = append(s.Mounts, spec.Mount{Type: "tmpfs", Source: "tmpfs", Destination: t.Target, Options: opts})
	}

	for _, secret := range cs.Secrets {
		if secret.Env != "" {
			if s.EnvSecrets == nil {
				s.EnvSecrets = map[string]string{}
			}
			s.EnvSecrets[secret.Env] = secret.Name
			continue
		}
		// An empty target means /run/secrets/<name>. Mode 0444, as
		// `podman run --secret` sets it: through the API an unset mode is
		// 0, a root-owned file only root can read, and images that run as
		// another user (electrs, mempool's backend: uid 1000) could not
		// read their own secret. Root-owned, so that user cannot change
		// it (Podman 4.3.1 mounts it read-write); the container's alone.
		s.Secrets = append(s.Secrets, specgen.Secret{Source: secret.Name, Target: secret.Target, Mode: secretFileMode})
	}

	memory, err := cs.Resources.MemoryBytes()
	if err != nil {
		return nil, fmt.Errorf("resources.memory_limit: %w", err)
	}
	if cpus := cs.Resources.CPUs; memory > 0 || cpus > 0 {
		s.ResourceLimits = &spec.LinuxResources{}
		if memory > 0 {
			s.ResourceLimits.Memory = &spec.LinuxMemory{Limit: &memory}
		}
		if cpus > 0 {
			quota := int64(math.Round(cpus * cpuPeriod))
			period := uint64(cpuPeriod)
			s.ResourceLimits.CPU = &spec.LinuxCPU{Quota: &quota, Period: &period}
		}
	}
	return s, nil
}

func portMapping(pm schema.Port) (nettypes.PortMapping, error) {
	proto := pm.Protocol
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nettypes.PortMapping{}, fmt.Errorf("port %d: unknown protocol %q (want tcp or udp)", pm.Container, pm.Protocol)
	}
	if pm.Container <= 0 || pm.Container > math.MaxUint16 || pm.Host < 0 || pm.Host > math.MaxUint16 {
		return nettypes.PortMapping{}, fmt.Errorf("port %d:%d out of range", pm.Host, pm.Container)
	}
	return nettypes.PortMapping{
		HostIP:        pm.HostIP,
		HostPort:      uint16(pm.Host),
		ContainerPort: uint16(pm.Container),
		Protocol:      proto,
	}, nil
}

// ensureVolume creates the named volume of v unless it exists; app, if
// set, labels it with the app that asked first. A declared owner and mode
// are given on creation, and to an existing volume only while it is empty
// (one adopted or made by hand before): data already there keeps what it
// has, and the plan reports the difference.
func (p *Podman) ensureVolume(ctx context.Context, v schema.Volume, app string) error {
	own, err := ownershipOf(v)
	if err != nil {
		return fmt.Errorf("volume %s: %w", v.Name, err)
	}
	ok, err := volumes.Exists(ctx, v.Name, nil)
	if err != nil {
		return wrap(err, "checking volume %s", v.Name)
	}
	if !ok {
		opts := entitiesTypes.VolumeCreateOptions{Name: v.Name}
		if app != "" {
			opts.Labels = map[string]string{plan.LabelApp: app}
		}
		if own.owned {
			// The local driver takes uid and gid as its own options (no
			// mount): Podman creates the data directory owned by them.
			opts.Options = map[string]string{"o": fmt.Sprintf("uid=%d,gid=%d", own.uid, own.gid)}
		}
		if _, err := volumes.Create(ctx, opts, nil); err != nil {
			// Someone else may have created it since: that is fine.
			if ok, exErr := volumes.Exists(ctx, v.Name, nil); exErr == nil && ok {
				return nil
			}
			return wrap(err, "creating volume %s", v.Name)
		}
	}
	if !own.owned && !own.moded {
		return nil
	}
	info, err := volumes.Inspect(ctx, v.Name, nil)
	if err != nil {
		return wrap(err, "inspecting volume %s", v.Name)
	}
	if info.Mountpoint == "" {
		return nil // a driver's volume: nothing on this host to prepare
	}
	if ok {
		empty, err := emptyDir(info.Mountpoint)
		if err != nil || !empty {
			return err
		}
	}
	return own.apply(info.Mountpoint)
}

// ensureHostPath creates the host path of v when it is missing, owned and
// moded as declared. The catalogue's checks keep host paths below the
// allowed roots; an existing directory is left as it is.
func ensureHostPath(v schema.Volume) error {
	own, err := ownershipOf(v)
	if err != nil {
		return fmt.Errorf("host path %s: %w", v.HostPath, err)
	}
	if _, err := os.Stat(v.HostPath); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(v.HostPath, 0o755); err != nil {
		return fmt.Errorf("creating host path: %w", err)
	}
	return own.apply(v.HostPath)
}

// ownership is the declared owner and mode of a volume's directory.
type ownership struct {
	uid, gid     int
	mode         fs.FileMode
	owned, moded bool // whether each is declared
}

func ownershipOf(v schema.Volume) (ownership, error) {
	var o ownership
	var err error
	if o.uid, o.gid, o.owned, err = v.OwnerIDs(); err != nil {
		return o, err
	}
	o.mode, o.moded, err = v.FileMode()
	return o, err
}

// apply gives dir the declared owner and mode.
func (o ownership) apply(dir string) error {
	if o.owned {
		if err := os.Lchown(dir, o.uid, o.gid); err != nil {
			return fmt.Errorf("setting the owner of %s: %w", dir, err)
		}
	}
	if o.moded {
		// After the chown, which may clear setgid bits.
		if err := os.Chmod(dir, o.mode); err != nil {
			return fmt.Errorf("setting the mode of %s: %w", dir, err)
		}
	}
	return nil
}

// emptyDir reports whether dir has no entries.
func emptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", dir, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}

// Start starts a container; starting a running one is not an error. A
// start that fails leaves the container's published ports free (see
// releaseFailedStart).
func (p *Podman) Start(ctx context.Context, name string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	// A paused container cannot be started, only unpaused.
	if data, err := containers.Inspect(ctx, name, nil); err == nil && data.State != nil && data.State.Paused {
		return wrap(containers.Unpause(ctx, name, nil), "unpausing container %s", name)
	}
	err := containers.Start(ctx, name, nil)
	if err != nil {
		p.releaseFailedStart(ctx)
	}
	return wrap(err, "starting container %s", name)
}

// Stop stops a container: its stop signal, then SIGKILL after timeout
// (rounded up to whole seconds, Podman's unit). Stopping a stopped
// container is not an error.
func (p *Podman) Stop(ctx context.Context, name string, timeout time.Duration) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	return wrap(containers.Stop(ctx, name, new(containers.StopOptions).WithTimeout(seconds(timeout))), "stopping container %s", name)
}

// Remove removes a container, stopping it first if it runs: its stop
// signal, then SIGKILL after timeout. Its volumes are never removed. It
// returns once the container's processes are gone and its published
// ports free again (see waitReleased).
func (p *Podman) Remove(ctx context.Context, name string, timeout time.Duration) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	var id string
	if data, err := containers.Inspect(ctx, name, nil); err == nil {
		id = data.ID
	}
	opts := new(containers.RemoveOptions).WithForce(true).WithVolumes(false).WithTimeout(seconds(timeout))
	reports, err := containers.Remove(ctx, name, opts)
	if err == nil {
		for _, r := range reports {
			if r.Err != nil {
				err = errors.Join(err, r.Err)
			}
		}
	}
	if err == nil {
		waitReleased(ctx, id)
	}
	return wrap(err, "removing container %s", name)
}

// Wait blocks until the container has exited or stopped and returns its
// exit code.
func (p *Podman) Wait(ctx context.Context, name string) (int, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	opts := new(containers.WaitOptions).WithCondition([]define.ContainerStatus{define.ContainerStateExited, define.ContainerStateStopped})
	code, err := containers.Wait(ctx, name, opts)
	return int(code), wrap(err, "waiting for container %s", name)
}

// VolumesCreated says when each named volume was created.
func (p *Podman) VolumesCreated(ctx context.Context) (map[string]time.Time, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	list, err := volumes.List(ctx, nil)
	if err != nil {
		return nil, wrap(err, "listing volumes")
	}
	out := make(map[string]time.Time, len(list))
	for _, v := range list {
		out[v.Name] = v.CreatedAt
	}
	return out, nil
}

// seconds is a stop timeout in Podman's unit, whole seconds, rounded up:
// never less time than asked for.
func seconds(timeout time.Duration) uint {
	return uint(max(0, (timeout+time.Second-1)/time.Second))
}

// RemoveVolume removes a named volume and its data. A volume that a
// container still uses is not removed (Podman refuses; no force).
func (p *Podman) RemoveVolume(ctx context.Context, name string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	return wrap(volumes.Remove(ctx, name, nil), "removing volume %s", name)
}
