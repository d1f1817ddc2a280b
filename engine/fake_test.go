package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"archy.dev/archy/plan"
)

// fakeRuntime is an in-memory Runtime for fast tests of apply's logic
// (ordering, skipping, state); the real behaviour is tested against
// Podman in engine/podman and the CLI's integration tests.
type fakeRuntime struct {
	mu         sync.Mutex
	containers map[string]*plan.Container
	images     map[string]*plan.Image // by tag
	secrets    map[string][]byte
	failBuild  map[string]bool // tags whose build fails
	exitOnRun  map[string]bool // containers (by name or image id) that exit right after start
	volumeRoot string          // where VolumeMountpoint puts volumes
	// brokenNext: the containers of the next image built or pulled for
	// these tags exit right after they start (a broken new version).
	brokenNext map[string]bool
	calls      []string
	seq        int
}

var _ Runtime = (*fakeRuntime)(nil)

func newFake() *fakeRuntime {
	return &fakeRuntime{containers: map[string]*plan.Container{}, images: map[string]*plan.Image{},
		secrets: map[string][]byte{}, failBuild: map[string]bool{}, exitOnRun: map[string]bool{}}
}

func (f *fakeRuntime) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeRuntime) Snapshot(ctx context.Context) (plan.Observed, error) {
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
			o.Images = append(o.Images, *img)
		}
	}
	return o, nil
}

func (f *fakeRuntime) newImage(tag string, labels map[string]string) string {
	f.seq++
	img := &plan.Image{ID: fmt.Sprintf("img%d", f.seq), Tags: []string{plan.NormalizeRef(tag)}, Labels: labels}
	f.images[plan.NormalizeRef(tag)] = img
	if f.brokenNext[plan.NormalizeRef(tag)] {
		f.exitOnRun[img.ID] = true
		delete(f.brokenNext, plan.NormalizeRef(tag))
	}
	return img.ID
}

func (f *fakeRuntime) Pull(ctx context.Context, ref, policy string, progress io.Writer) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("pull %s", ref)
	if img, ok := f.images[plan.NormalizeRef(ref)]; ok && policy != "always" {
		return img.ID, nil
	}
	return f.newImage(ref, nil), nil
}

func (f *fakeRuntime) Build(ctx context.Context, spec BuildSpec, progress io.Writer) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("build %s", spec.Tag)
	fmt.Fprintln(progress, "STEP 1/1: FROM scratch")
	if f.failBuild[spec.Tag] {
		return "", fmt.Errorf("build failed: no such file")
	}
	return f.newImage(spec.Tag, spec.Labels), nil
}

func (f *fakeRuntime) Create(ctx context.Context, spec ContainerSpec) (string, error) {
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
		return "", fmt.Errorf("image %s: %w", spec.Image, ErrNotFound)
	}
	f.seq++
	c := &plan.Container{ID: fmt.Sprintf("c%d", f.seq), Name: spec.Name, State: plan.StateCreated,
		ImageID: img.ID, Image: plan.NormalizeRef(spec.Image), Labels: spec.Labels}
	f.containers[spec.Name] = c
	return c.ID, nil
}

func (f *fakeRuntime) get(name string) (*plan.Container, error) {
	c, ok := f.containers[name]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", name, ErrNotFound)
	}
	return c, nil
}

func (f *fakeRuntime) Start(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("start %s", name)
	c, err := f.get(name)
	if err != nil {
		return err
	}
	c.State = plan.StateRunning
	if f.exitOnRun[name] || f.exitOnRun[c.ImageID] {
		c.State, c.ExitCode = plan.StateExited, 1
	}
	return nil
}

func (f *fakeRuntime) Stop(ctx context.Context, name string, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("stop %s", name)
	c, err := f.get(name)
	if err != nil {
		return err
	}
	c.State = plan.StateExited
	return nil
}

func (f *fakeRuntime) Remove(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("remove %s", name)
	if _, err := f.get(name); err != nil {
		return err
	}
	delete(f.containers, name)
	return nil
}

func (f *fakeRuntime) RemoveVolume(ctx context.Context, name string) error { return nil }

func (f *fakeRuntime) Inspect(ctx context.Context, name string) (plan.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(name)
	if err != nil {
		return plan.Container{}, err
	}
	return *c, nil
}

func (f *fakeRuntime) Exec(ctx context.Context, name string, cmd []string) (int, error) {
	return 0, nil
}

func (f *fakeRuntime) Logs(ctx context.Context, name string, tail int, follow bool, w io.Writer) error {
	return nil
}

func (f *fakeRuntime) SecretNames(ctx context.Context) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for k := range f.secrets {
		out[k] = true
	}
	return out, nil
}

func (f *fakeRuntime) SetSecret(ctx context.Context, name string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name] = value
	return nil
}

func (f *fakeRuntime) Events(ctx context.Context, since time.Time) (<-chan ContainerEvent, <-chan error) {
	out := make(chan ContainerEvent)
	errc := make(chan error, 1)
	go func() {
		<-ctx.Done()
		close(out)
		errc <- nil
	}()
	return out, errc
}

func (f *fakeRuntime) Tag(ctx context.Context, image, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("tag %s %s", image, ref)
	for _, img := range f.images {
		if img.ID == image || slices.Contains(img.Tags, image) {
			f.images[ref] = &plan.Image{ID: img.ID, Tags: []string{ref}, Labels: img.Labels}
			return nil
		}
	}
	return fmt.Errorf("image %s: %w", image, ErrNotFound)
}

func (f *fakeRuntime) Untag(ctx context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("untag %s", ref)
	delete(f.images, ref)
	return nil
}

// VolumeMountpoint gives each volume a directory of its own under
// volumeRoot (set by a test that snapshots volumes).
func (f *fakeRuntime) VolumeMountpoint(ctx context.Context, name string) (string, error) {
	if f.volumeRoot == "" {
		return "", fmt.Errorf("volume %s: %w", name, ErrNotFound)
	}
	dir := filepath.Join(f.volumeRoot, name)
	return dir, os.MkdirAll(dir, 0o755)
}

func (f *fakeRuntime) Rename(ctx context.Context, name, newName string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("rename %s %s", name, newName)
	c, err := f.get(name)
	if err != nil {
		return err
	}
	if _, taken := f.containers[newName]; taken {
		return fmt.Errorf("name %s in use", newName)
	}
	delete(f.containers, name)
	c.Name = newName
	f.containers[newName] = c
	return nil
}
