package enginetest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// Fake is an in-memory engine.Runtime. Its containers change state only
// when asked (it runs nothing): Start makes one running, Stop exited, and
// Crash and Kill play what a process or an operator would do. Each change
// is sent, as Podman would send it, to the streams Events returned.
type Fake struct {
	mu         sync.Mutex
	containers map[string]*plan.Container
	images     map[string]*plan.Image // by tag
	secrets    map[string][]byte
	secretIDs  map[string]string     // changes with every SetSecret
	networks   map[string]bool       // name -> made by archy (Create's, or AddNetwork's)
	failBuild  map[string]bool       // tags whose build fails
	regDown    bool                  // no registry answers (RegistryDown)
	exitOnRun  map[string]bool       // image ids whose containers exit right after start (BreakNext)
	brokenNext map[string]bool       // tags whose next image's containers exit right after start
	execs      map[string]execResult // by container: what Exec answers (SetExec)
	looks      map[string]int        // by container: Inspect and Exec calls ("inspect NAME", "exec NAME")
	volumeRoot string
	storeFree  int64            // bytes free where images are stored (SetImageStoreFree)
	imageSize  map[string]int64 // by image id (SetImageSize)
	ignoreStop map[string]bool  // containers whose process ignores its stop signal (IgnoreStop)
	timeouts   []string         // "name timeout" of every Stop and Remove (StopTimeouts)
	calls      []string
	seq        int
	jobs       map[string]jobResult // by container: how a job ends (SetJob)
	volumes    map[string]time.Time // named volumes, by creation time
	subs       map[*subscriber]struct{}
	history    []engine.ContainerEvent // every event sent, for Events' since and ReplayEvents
	delivered  int                     // events the streams handed over (Delivered)
}

var _ engine.Runtime = (*Fake)(nil)

// New returns an empty Fake.
func New() *Fake {
	return &Fake{containers: map[string]*plan.Container{}, images: map[string]*plan.Image{},
		secrets: map[string][]byte{}, secretIDs: map[string]string{}, networks: map[string]bool{}, failBuild: map[string]bool{}, exitOnRun: map[string]bool{},
		brokenNext: map[string]bool{}, execs: map[string]execResult{}, looks: map[string]int{}, ignoreStop: map[string]bool{}, subs: map[*subscriber]struct{}{},
		storeFree: 1 << 50, imageSize: map[string]int64{}, jobs: map[string]jobResult{}, volumes: map[string]time.Time{}}
}

// Calls returns the changes made so far, one line each ("start core",
// "tag img1 ref", …), in order; reads are not recorded.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// ResetCalls forgets the calls made so far.
func (f *Fake) ResetCalls() { f.locked(func() { f.calls = nil }) }

// FailBuild makes builds of tag fail.
func (f *Fake) FailBuild(tag string) { f.locked(func() { f.failBuild[tag] = true }) }

// RegistryDown makes every registry unreachable, or reachable again. A
// pull then fails unless the policy lets Podman take the local image
// instead: "missing" and "never" when it is there, and "newer", which
// falls back to it without a word when the registry does not answer.
func (f *Fake) RegistryDown(down bool) { f.locked(func() { f.regDown = down }) }

// BreakNext makes the containers of the next image built or pulled for
// tag exit (code 1) right after they start: a broken new version.
func (f *Fake) BreakNext(tag string) {
	f.locked(func() { f.brokenNext[plan.NormalizeRef(tag)] = true })
}

// SetVolumeRoot gives each named volume a directory under dir;
// "" makes every volume unknown (the default).
func (f *Fake) SetVolumeRoot(dir string) { f.locked(func() { f.volumeRoot = dir }) }

// VolumeRoot is the directory SetVolumeRoot set.
func (f *Fake) VolumeRoot() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.volumeRoot
}

// StorePath is where the Fake says it stores images.
const StorePath = "/fake/containers/storage"

// SetImageStoreFree sets the bytes free where images are stored (1 PiB
// unless set).
func (f *Fake) SetImageStoreFree(free int64) { f.locked(func() { f.storeFree = free }) }

// SetImageSize gives the image tagged ref a size (0 unless set).
func (f *Fake) SetImageSize(ref string, size int64) {
	f.locked(func() {
		if img, ok := f.images[plan.NormalizeRef(ref)]; ok {
			f.imageSize[img.ID] = size
		}
	})
}

// AddImage adds an image tagged tag and returns its id.
func (f *Fake) AddImage(tag string, labels map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newImage(tag, labels)
}

// Image returns the image tagged ref.
func (f *Fake) Image(ref string) (plan.Image, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[plan.NormalizeRef(ref)]
	if !ok {
		return plan.Image{}, false
	}
	return *img, true
}

// PutContainer adds or replaces a container as is (one made by hand,
// say); no event is sent.
func (f *Fake) PutContainer(c plan.Container) { f.locked(func() { f.containers[c.Name] = &c }) }

// ContainerNames lists the containers' names, sorted.
func (f *Fake) ContainerNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for n := range f.containers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IgnoreStop makes the process of container name ignore its stop signal,
// so that a Stop of it while it runs kills it after the timeout (exit
// 137), as Podman does; ok false undoes it.
func (f *Fake) IgnoreStop(name string, ok bool) { f.locked(func() { f.ignoreStop[name] = ok }) }

// StopTimeouts returns the container and the timeout of every Stop and
// Remove so far ("core 10s"), in order.
func (f *Fake) StopTimeouts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.timeouts)
}

// Crash ends a running container's process on its own with code, as a
// crash would: Podman reports it "died".
func (f *Fake) Crash(name string, code int) error {
	return f.change(name, "", func(c *plan.Container) error { f.exit(c, code); return nil })
}

// Kill stops a container the way an operator's podman kill does: a kill
// event, then its death (exit 137).
func (f *Fake) Kill(name string) error {
	return f.change(name, "", func(c *plan.Container) error {
		f.emit("kill", c)
		f.exit(c, 137)
		return nil
	})
}

// ForceRemove removes a container the way an operator's podman rm -f
// does: Podman stops a running one itself (a death, with neither a kill
// nor a stop event) and then reports the removal.
func (f *Fake) ForceRemove(name string) error {
	return f.change(name, "", func(c *plan.Container) error {
		if c.State == plan.StateRunning {
			code := 0
			if f.ignoreStop[c.Name] {
				code = 137
			}
			f.exit(c, code)
		}
		delete(f.containers, name)
		f.emit("remove", c)
		return nil
	})
}

// exit makes c exited with code and reports its death; f.mu is held.
func (f *Fake) exit(c *plan.Container, code int) {
	c.State, c.ExitCode, c.Pid = plan.StateExited, code, 0
	f.emit("died", c)
}

// locked runs fn holding f.mu.
func (f *Fake) locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *Fake) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *Fake) Snapshot(ctx context.Context) (plan.Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var o plan.Observed
	for _, c := range f.containers {
		o.Containers = append(o.Containers, *c)
	}
	seen := map[*plan.Image]bool{}
	for _, img := range f.images {
		if !seen[img] {
			seen[img] = true
			cp := *img
			cp.Size = f.imageSize[img.ID]
			o.Images = append(o.Images, cp)
		}
	}
	return o, nil
}

// newImage adds an image; f.mu is held.
func (f *Fake) newImage(tag string, labels map[string]string) string {
	f.seq++
	ref := plan.NormalizeRef(tag)
	img := &plan.Image{ID: fmt.Sprintf("img%d", f.seq), Tags: []string{ref}, Labels: labels}
	f.images[ref] = img
	if f.brokenNext[ref] {
		f.exitOnRun[img.ID] = true
		delete(f.brokenNext, ref)
	}
	return img.ID
}

func (f *Fake) Pull(ctx context.Context, ref, policy string, progress io.Writer) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("pull %s", ref)
	if img, ok := f.images[plan.NormalizeRef(ref)]; ok && policy != "always" {
		return img.ID, nil
	}
	if f.regDown {
		return "", fmt.Errorf("pulling %s: pinging container registry: connection refused", ref)
	}
	return f.newImage(ref, nil), nil
}

func (f *Fake) Build(ctx context.Context, spec engine.BuildSpec, progress io.Writer) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("build %s", spec.Tag)
	fmt.Fprintln(progress, "STEP 1/1: FROM scratch")
	if f.failBuild[spec.Tag] {
		return "", fmt.Errorf("build failed: no such file")
	}
	return f.newImage(spec.Tag, spec.Labels), nil
}

func (f *Fake) Create(ctx context.Context, spec engine.ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("create %s", spec.Name)
	if _, ok := f.containers[spec.Name]; ok {
		return "", fmt.Errorf("name %s in use", spec.Name)
	}
	img, ok := f.images[plan.NormalizeRef(spec.Image)]
	for _, i := range f.images { // or by id
		if i.ID == spec.Image {
			img, ok = i, true
		}
	}
	if !ok {
		return "", fmt.Errorf("image %s: %w", spec.Image, engine.ErrNotFound)
	}
	for _, n := range spec.Networks {
		if _, ok := f.networks[n]; !ok {
			f.networks[n] = true
			f.record("create network %s", n)
		}
	}
	for _, v := range spec.Volumes {
		if _, ok := f.volumes[v.Name]; v.Name != "" && !ok {
			f.volumes[v.Name] = time.Now()
		}
	}
	f.seq++
	c := &plan.Container{ID: fmt.Sprintf("c%d", f.seq), Name: spec.Name, State: plan.StateCreated,
		ImageID: img.ID, Image: plan.NormalizeRef(spec.Image), Labels: spec.Labels,
		Networks: slices.Clone(spec.Networks)}
	f.containers[spec.Name] = c
	f.emit("create", c)
	return c.ID, nil
}

// get finds a container; f.mu is held.
func (f *Fake) get(name string) (*plan.Container, error) {
	c, ok := f.containers[name]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", name, engine.ErrNotFound)
	}
	return c, nil
}

// change records call (unless "") and runs fn on the container name,
// holding f.mu.
func (f *Fake) change(name, call string, fn func(c *plan.Container) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if call != "" {
		f.calls = append(f.calls, call)
	}
	c, err := f.get(name)
	if err != nil {
		return err
	}
	return fn(c)
}

func (f *Fake) Start(ctx context.Context, name string) error {
	return f.change(name, "start "+name, func(c *plan.Container) error {
		if c.State == plan.StateRunning {
			return nil
		}
		c.State, c.ExitCode, c.StartedAt = plan.StateRunning, 0, time.Now()
		f.emit("start", c)
		if f.exitOnRun[c.ImageID] {
			f.exit(c, 1)
		}
		if j, ok := f.jobs[c.Name]; ok && !j.hang {
			f.exit(c, j.code)
		}
		return nil
	})
}

// Stop stops a container as podman stop does: its death, then a stop
// event.
func (f *Fake) Stop(ctx context.Context, name string, timeout time.Duration) error {
	return f.change(name, "stop "+name, func(c *plan.Container) error {
		f.timeouts = append(f.timeouts, fmt.Sprintf("%s %s", c.Name, timeout))
		if c.State == plan.StateRunning {
			code := 0
			if f.ignoreStop[c.Name] {
				code = 137
			}
			f.exit(c, code)
		}
		c.State = plan.StateExited
		f.emit("stop", c)
		return nil
	})
}

func (f *Fake) Remove(ctx context.Context, name string, timeout time.Duration) error {
	return f.change(name, "remove "+name, func(c *plan.Container) error {
		f.timeouts = append(f.timeouts, fmt.Sprintf("%s %s", name, timeout))
		delete(f.containers, name)
		f.emit("remove", c)
		return nil
	})
}

func (f *Fake) RemoveVolume(ctx context.Context, name string) error {
	f.locked(func() {
		delete(f.volumes, name)
	})
	return nil
}

// VolumesCreated lists the named volumes Create made and RemoveVolume
// did not remove.
func (f *Fake) VolumesCreated(ctx context.Context) (map[string]time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.volumes), nil
}

// SetJob makes container name (a job's) exit with code right after it
// starts, logging log; hang keeps it running until stopped instead. A
// container without SetJob runs until stopped.
func (f *Fake) SetJob(name string, code int, log string, hang bool) {
	f.locked(func() { f.jobs[name] = jobResult{code, log, hang} })
}

type jobResult struct {
	code int
	log  string
	hang bool
}

// Wait polls until the container no longer runs.
func (f *Fake) Wait(ctx context.Context, name string) (int, error) {
	for {
		c, err := f.Inspect(ctx, name)
		if err != nil {
			return 0, err
		}
		if c.State != plan.StateRunning {
			return c.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// AddNetwork makes a network as if by hand (archy false) or by archy.
func (f *Fake) AddNetwork(name string, archy bool) { f.locked(func() { f.networks[name] = archy }) }

// Networks are the networks that exist.
func (f *Fake) Networks() []string {
	var out []string
	f.locked(func() {
		for n := range f.networks {
			out = append(out, n)
		}
	})
	slices.Sort(out)
	return out
}

func (f *Fake) ArchyNetworks(ctx context.Context) ([]string, error) {
	var out []string
	f.locked(func() {
		for n, archy := range f.networks {
			if archy {
				out = append(out, n)
			}
		}
	})
	slices.Sort(out)
	return out, nil
}

func (f *Fake) RemoveNetwork(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	archy, ok := f.networks[name]
	switch {
	case !ok:
		return fmt.Errorf("network %s: %w", name, engine.ErrNotFound)
	case !archy:
		return fmt.Errorf("network %s was not created by archy: left alone", name)
	}
	for _, c := range f.containers {
		if slices.Contains(c.Networks, name) {
			return fmt.Errorf("network %s is in use by %s", name, c.Name)
		}
	}
	delete(f.networks, name)
	f.record("remove network %s", name)
	return nil
}

// Looks is how many times Inspect ("inspect NAME") or Exec ("exec NAME")
// was called: they are not among Calls, which tell what changed.
func (f *Fake) Looks(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.looks[call]
}

func (f *Fake) Inspect(ctx context.Context, name string) (plan.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.looks["inspect "+name]++
	c, err := f.get(name)
	if err != nil {
		return plan.Container{}, err
	}
	return *c, nil
}

// SetExec makes Exec in container name exit with code, writing output
// (a health check's answer, say); the default is exit 0, no output.
func (f *Fake) SetExec(name string, code int, output string) {
	f.locked(func() { f.execs[name] = execResult{code, output} })
}

type execResult struct {
	code   int
	output string
}

func (f *Fake) Exec(ctx context.Context, name string, cmd []string, out io.Writer) (int, error) {
	f.mu.Lock()
	r := f.execs[name]
	f.looks["exec "+name]++
	f.mu.Unlock()
	if out != nil {
		io.WriteString(out, r.output)
	}
	return r.code, nil
}

func (f *Fake) Logs(ctx context.Context, name string, tail int, follow bool, w io.Writer) error {
	f.mu.Lock()
	j := f.jobs[name]
	f.mu.Unlock()
	io.WriteString(w, j.log)
	return nil
}

func (f *Fake) SecretNames(ctx context.Context) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for k := range f.secrets {
		out[k] = true
	}
	return out, nil
}

// SecretIDs gives each secret an id that changes with every SetSecret.
func (f *Fake) SecretIDs(ctx context.Context) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k := range f.secrets {
		out[k] = f.secretIDs[k]
	}
	return out, nil
}

// SecretsCreated has the zero time for every secret: the fake keeps none.
func (f *Fake) SecretsCreated(ctx context.Context) (map[string]time.Time, error) {
	names, _ := f.SecretNames(ctx)
	out := map[string]time.Time{}
	for k := range names {
		out[k] = time.Time{}
	}
	return out, nil
}

func (f *Fake) SetSecret(ctx context.Context, name string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name] = value
	f.seq++
	f.secretIDs[name] = fmt.Sprintf("s%d", f.seq)
	return nil
}

func (f *Fake) Tag(ctx context.Context, image, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("tag %s %s", image, ref)
	for _, img := range f.images {
		if img.ID == image || slices.Contains(img.Tags, image) {
			f.images[ref] = &plan.Image{ID: img.ID, Tags: []string{ref}, Labels: img.Labels}
			return nil
		}
	}
	return fmt.Errorf("image %s: %w", image, engine.ErrNotFound)
}

func (f *Fake) Untag(ctx context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("untag %s", ref)
	delete(f.images, ref)
	return nil
}

func (f *Fake) ImageSize(ctx context.Context, ref string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[plan.NormalizeRef(ref)]
	if !ok {
		return 0, fmt.Errorf("image %s: %w", ref, engine.ErrNotFound)
	}
	return f.imageSize[img.ID], nil
}

func (f *Fake) ImageID(ctx context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img, ok := f.images[plan.NormalizeRef(ref)]; ok {
		return img.ID, nil
	}
	return "", fmt.Errorf("image %s: %w", ref, engine.ErrNotFound)
}

// RemoveImage removes every reference of image id; like Podman it refuses
// an image a container uses.
func (f *Fake) RemoveImage(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("rmi %s", id)
	for _, c := range f.containers {
		if c.ImageID == id {
			return fmt.Errorf("image %s is in use by container %s", id, c.Name)
		}
	}
	found := false
	for ref, img := range f.images {
		if img.ID == id {
			delete(f.images, ref)
			found = true
		}
	}
	if !found {
		return fmt.Errorf("image %s: %w", id, engine.ErrNotFound)
	}
	return nil
}

func (f *Fake) ImageStoreFree(ctx context.Context) (string, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return StorePath, f.storeFree, nil
}

// VolumeMountpoint gives each volume a directory of its own under the
// volume root (see SetVolumeRoot).
func (f *Fake) VolumeMountpoint(ctx context.Context, name string) (string, error) {
	root := f.VolumeRoot()
	if root == "" {
		return "", fmt.Errorf("volume %s: %w", name, engine.ErrNotFound)
	}
	dir := filepath.Join(root, name)
	return dir, os.MkdirAll(dir, 0o755)
}

func (f *Fake) Rename(ctx context.Context, name, newName string) error {
	return f.change(name, "rename "+name+" "+newName, func(c *plan.Container) error {
		if _, taken := f.containers[newName]; taken {
			return fmt.Errorf("name %s in use", newName)
		}
		delete(f.containers, name)
		c.Name = newName
		f.containers[newName] = c
		f.emit("rename", c)
		return nil
	})
}
