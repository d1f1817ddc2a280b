package podman

import (
	"errors"
	"slices"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/internal/podmantest"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// TestRemoveImage: an image with two references that a (stopped)
// container uses is refused, never forced; once the container is gone it
// goes, references and all. The snapshot reports its size.
func TestRemoveImage(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	dir := podmantest.BusyboxContext(t, "../../testdata/images/web")
	const tag, other = "localhost/archy-rmi-test:1", "localhost/archy-rmi-test:other"
	id, err := p.Build(ctx, engine.BuildSpec{ContextDir: dir, Tag: tag, Labels: map[string]string{"archy.test": "remove-image"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Tag(ctx, id, other); err != nil {
		t.Fatal(err)
	}
	if got, err := p.ImageID(ctx, other); err != nil || got != id {
		t.Fatalf("ImageID(%s) = %s, %v; want %s", other, got, err, id)
	}
	obs, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(obs.Images, func(img plan.Image) bool { return img.ID == id })
	if i < 0 || obs.Images[i].Size <= 0 {
		t.Fatalf("snapshot has image %s with a size: %+v", id, obs.Images)
	}
	cs := engine.ContainerSpec{Name: "archy-rmi-user", Image: tag, ContainerConfig: schema.ContainerConfig{Command: sleeper}}
	if _, err := p.Create(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveImage(ctx, id); err == nil {
		t.Fatal("RemoveImage of an image a container uses succeeded")
	}
	if _, err := p.Inspect(ctx, cs.Name); err != nil {
		t.Fatalf("the container using the image is gone: %v", err)
	}
	if err := p.Remove(ctx, cs.Name, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveImage(ctx, id); err != nil {
		t.Fatalf("RemoveImage of an unused image: %v", err)
	}
	if _, err := p.ImageID(ctx, id); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("image %s after RemoveImage: %v, want ErrNotFound", id, err)
	}
	if err := p.RemoveImage(ctx, id); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("RemoveImage of a missing image: %v, want ErrNotFound", err)
	}
}
