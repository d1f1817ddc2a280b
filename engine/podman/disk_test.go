package podman

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containers/podman/v5/pkg/bindings/images"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/internal/podmantest"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// TestImageSizeAndStore: the sizes and the free space the disk guard
// reads come from this host's Podman.
func TestImageSizeAndStore(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	size, err := p.ImageSize(ctx, webTag)
	if err != nil || size <= 0 {
		t.Fatalf("ImageSize(%s) = %d, %v; want its size", webTag, size, err)
	}
	if _, err := p.ImageSize(ctx, "localhost/archy-no-such-image:1"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("ImageSize of an absent image: %v, want ErrNotFound", err)
	}
	path, free, err := p.ImageStoreFree(ctx)
	if err != nil || free <= 0 || path != filepath.Join(env.Dir, "root") {
		t.Errorf("ImageStoreFree = %q, %d, %v; want the service's root %s and its free space", path, free, err, filepath.Join(env.Dir, "root"))
	}
}

// TestPullRefusedOnAFullImageStore: a Podman whose storage is a small
// tmpfs, filled until the image no longer fits: archy refuses the pull
// before it starts, saying why, and nothing is pulled.
func TestPullRefusedOnAFullImageStore(t *testing.T) {
	env := podmantest.Own(t, podmantest.Options{StorageSize: 64 << 20})
	ctx := env.Context(t)
	p, err := New(ctx, env.URL)
	if err != nil {
		t.Fatalf("New(%s): %v", env.URL, err)
	}
	t.Cleanup(func() { p.Close() })
	buildWeb(ctx, t, p, nil)
	size, err := p.ImageSize(ctx, webTag)
	if err != nil {
		t.Fatal(err)
	}
	ref := env.Registry + "/archy/podman-web:1"
	if err := images.Push(ctx, webTag, ref, new(images.PushOptions).WithQuiet(true)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	if _, errs := images.Remove(ctx, []string{webTag}, nil); len(errs) > 0 {
		t.Fatalf("removing %s: %v", webTag, errs)
	}
	// Fill the store until the image itself no longer fits.
	root, free, err := p.ImageStoreFree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "filler"), make([]byte, free-size/2), 0o600); err != nil {
		t.Fatalf("filling %s: %v", root, err)
	}
	if _, free, _ = p.ImageStoreFree(ctx); free >= size {
		t.Fatalf("%d bytes free after filling, want less than the image's %d", free, size)
	}

	app := &schema.App{ID: "web", ContainerName: "web",
		Container: schema.Container{Source: &schema.Source{Type: "pull", Image: ref, PullPolicy: "missing"}}}
	a := &engine.Applier{Runtime: p, State: state.Store{Dir: t.TempDir()}}
	step := plan.Step{App: "web", Container: "web", Level: 1, Actions: []plan.Action{plan.Pull}}
	rep := a.Apply(ctx, plan.Plan{Steps: []plan.Step{step}}, map[string]plan.Desired{"web": {App: app}})
	var se *engine.SpaceError
	if err := rep.Err(); !errors.As(err, &se) || !strings.Contains(err.Error(), "not pulling "+ref) ||
		!strings.Contains(err.Error(), "free on "+root) {
		t.Fatalf("pull on a full store: %v; want it refused, naming the image and %s", err, root)
	}
	t.Logf("refused: %v", rep.Err())
	if ok, err := images.Exists(ctx, ref, nil); err != nil || ok {
		t.Errorf("image %s exists=%t (%v) after a refused pull", ref, ok, err)
	}
}
