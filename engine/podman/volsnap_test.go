package podman

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/volsnap"
	"archy.dev/archy/schema"
)

// TestVolumeSnapshot snapshots a real named volume through its mountpoint,
// lets a container change it, and restores it: the container's writes are
// gone, for the host and for the next container. A volume that did not
// exist at the snapshot stays absent.
func TestVolumeSnapshot(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	const name, volume, absent = "archy-snap", "archy-snap-data", "archy-snap-absent"
	if err := p.ensureVolume(ctx, schema.Volume{Name: volume}, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.RemoveVolume(context.Background(), volume); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	mp, err := p.VolumeMountpoint(ctx, volume)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mp, "kept"), []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	app := &schema.App{ID: "snap", ContainerConfig: schema.ContainerConfig{Volumes: []schema.Volume{
		{Name: volume, Target: "/data"}, {Name: absent, Target: "/absent"}}}}
	dir := filepath.Join(t.TempDir(), "snapshots")
	if err := volsnap.Snapshot(ctx, p, app, dir); err != nil {
		t.Fatal(err)
	}

	cs := engine.ContainerSpec{Name: name, Image: webTag, ContainerConfig: schema.ContainerConfig{Command: sleeper,
		Volumes: []schema.Volume{{Name: volume, Target: "/data"}}}}
	run(ctx, t, p, cs)
	sh(ctx, t, p, name, "echo v2 > /data/kept && echo new > /data/new && mkdir /data/dir")
	kill(t, p, name)

	if err := volsnap.Restore(ctx, p, app, dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(mp, "kept")); err != nil || string(b) != "v1\n" {
		t.Errorf("kept after restore: %q, %v; want v1", b, err)
	}
	run(ctx, t, p, cs)
	if got := sh(ctx, t, p, name, "ls /data && cat /data/kept"); got != "kept\nv1\n" {
		t.Errorf("the next container sees %q, want only kept, with v1", got)
	}
	if _, err := p.VolumeMountpoint(ctx, absent); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("volume %s after restore: %v, want ErrNotFound", absent, err)
	}
}
