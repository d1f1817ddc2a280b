package podman

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// ownerOf is the owner ("UID:GID") and permission bits of path.
func ownerOf(t *testing.T, path string) (string, os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid), fi.Mode().Perm()
}

// A non-root container writes to a named volume and a host path created
// for it with its owner (the host path also with its mode), and has its
// tmpfs mounts with their sizes.
func TestVolumeOwnerHostPathTmpfs(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)

	const name = "archy-owned"
	const volume = name + "-data"
	t.Cleanup(func() { p.RemoveVolume(context.Background(), volume) })
	hostPath := filepath.Join(t.TempDir(), "app", "logs") // missing, parents too
	run(ctx, t, p, engine.ContainerSpec{
		Name:  name,
		Image: webTag,
		ContainerConfig: schema.ContainerConfig{
			Command:  sleeper,
			Security: schema.Security{NetworkPolicy: "none", ReadonlyRoot: true, User: "1000:1000"},
			Volumes: []schema.Volume{
				{Name: volume, Target: "/data", Owner: "1000:1000", Mode: "0750"},
				{HostPath: hostPath, Target: "/logs", Owner: "1000:1001", Mode: "0770"},
			},
			Tmpfs: []schema.Tmpfs{{Target: "/scratch", Size: "8Mi"}, {Target: "/cache"}},
		},
	})

	sh(ctx, t, p, name, "echo x > /data/f && echo y > /logs/f && echo z > /scratch/f && echo w > /cache/f")

	mp, err := p.VolumeMountpoint(ctx, volume)
	if err != nil {
		t.Fatal(err)
	}
	if owner, mode := ownerOf(t, mp); owner != "1000:1000" || mode != 0o750 {
		t.Errorf("volume directory %s: %s %o, want 1000:1000 750", mp, owner, mode)
	}
	if owner, mode := ownerOf(t, hostPath); owner != "1000:1001" || mode != 0o770 {
		t.Errorf("host path %s: %s %o, want 1000:1001 770", hostPath, owner, mode)
	}
	if b, err := os.ReadFile(filepath.Join(hostPath, "f")); err != nil || string(b) != "y\n" {
		t.Errorf("host path file: %q, %v", b, err)
	}

	mounts := sh(ctx, t, p, name, "cat /proc/mounts")
	var scratch, cache string
	for _, l := range lines(mounts) {
		f := strings.Fields(l)
		if len(f) >= 4 && f[2] == "tmpfs" && f[1] == "/scratch" {
			scratch = f[3]
		}
		if len(f) >= 4 && f[2] == "tmpfs" && f[1] == "/cache" {
			cache = f[3]
		}
	}
	if !strings.Contains(scratch, "size=8192k") {
		t.Errorf("/scratch mount options %q, want a tmpfs of size=8192k; mounts:\n%s", scratch, mounts)
	}
	if cache == "" {
		t.Errorf("no tmpfs at /cache; mounts:\n%s", mounts)
	}
}

// An existing volume is given a declared owner only while it is empty:
// data already there keeps its owner.
func TestVolumeOwnerOnAdoption(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	empty, full := "archy-adopt-empty", "archy-adopt-full"
	for _, v := range []string{empty, full} {
		t.Cleanup(func() { p.RemoveVolume(context.Background(), v) })
		if err := p.ensureVolume(ctx, schema.Volume{Name: v}, ""); err != nil {
			t.Fatal(err)
		}
	}
	fullDir, err := p.VolumeMountpoint(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fullDir, "data"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, beforeMode := ownerOf(t, fullDir)
	for _, v := range []string{empty, full} {
		if err := p.ensureVolume(ctx, schema.Volume{Name: v, Owner: "1000:1000", Mode: "0700"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	emptyDir, err := p.VolumeMountpoint(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	if owner, mode := ownerOf(t, emptyDir); owner != "1000:1000" || mode != 0o700 {
		t.Errorf("adopted empty volume: %s %o, want 1000:1000 700", owner, mode)
	}
	if owner, mode := ownerOf(t, fullDir); owner != before || mode != beforeMode {
		t.Errorf("adopted volume with data: %s %o, want it left at %s %o", owner, mode, before, beforeMode)
	}
}
