package podman

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"

	"archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// TestCreateOptions checks the rest of the spec: limits, read-only root,
// user, capabilities, host-path mounts, restart policy, network none.
func TestCreateOptions(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)

	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "config"), []byte("from-the-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rw := t.TempDir()
	if err := os.Chmod(rw, 0o777); err != nil { // the container's user is 1000
		t.Fatal(err)
	}
	const name = "archy-options"
	const memory = 64 << 20
	run(ctx, t, p, engine.ContainerSpec{
		Name:  name,
		Image: webTag,
		ContainerConfig: schema.ContainerConfig{
			Entrypoint: []string{busybox},
			Command:    []string{"sleep", "3600"},
			Resources:  schema.Resources{MemoryLimit: "64Mi", CPUs: 0.5},
			Security: schema.Security{NetworkPolicy: "none", ReadonlyRoot: true,
				User: "1000:1000", CapAdd: []string{"NET_ADMIN"}},
			Volumes: []schema.Volume{
				{HostPath: host, Target: "/host", Readonly: true},
				{HostPath: rw, Target: "/rw"},
			},
		},
	})

	data, err := containers.Inspect(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := data.HostConfig
	if hc.Memory != memory {
		t.Errorf("memory limit %d, want %d", hc.Memory, memory)
	}
	if hc.CpuQuota != 50_000 || hc.CpuPeriod != cpuPeriod {
		t.Errorf("cpu quota/period %d/%d, want 50000/%d", hc.CpuQuota, hc.CpuPeriod, cpuPeriod)
	}
	if !hc.ReadonlyRootfs {
		t.Error("root file system is not read-only")
	}
	if hc.Privileged {
		t.Error("container is privileged")
	}
	if !slices.Contains(hc.CapAdd, "CAP_NET_ADMIN") {
		t.Errorf("CapAdd %v lacks CAP_NET_ADMIN", hc.CapAdd)
	}
	if rp := hc.RestartPolicy; rp != nil && rp.Name != "" && rp.Name != "no" {
		t.Errorf("restart policy %q, want no", rp.Name)
	}
	if hc.NetworkMode != "none" {
		t.Errorf("network mode %q, want none", hc.NetworkMode)
	}
	if data.Config.User != "1000:1000" {
		t.Errorf("user %q, want 1000:1000", data.Config.User)
	}

	if got := sh(ctx, t, p, name, "id -u; cat /host/config"); got != "1000\nfrom-the-host\n" {
		t.Errorf("id and host file = %q", got)
	}
	for _, path := range []string{"/new-file", "/host/new-file"} {
		if code, out := execOut(ctx, t, p, name, busybox, "touch", path); code == 0 {
			t.Errorf("touch %s succeeded on a read-only mount: %s", path, out)
		}
	}
	sh(ctx, t, p, name, "echo written > /rw/f")
	if b, err := os.ReadFile(filepath.Join(rw, "f")); err != nil || string(b) != "written\n" {
		t.Errorf("host sees %q, %v in the rw mount", b, err)
	}
}

// TestCreateErrors: bad specs fail with the container's name, and a second
// container of the same name is refused.
func TestCreateErrors(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	for _, cs := range []engine.ContainerSpec{
		{Name: "archy-bad-net", Image: webTag, ContainerConfig: schema.ContainerConfig{Security: schema.Security{NetworkPolicy: "overlay"}}},
		{Name: "archy-bad-none", Image: webTag, ContainerConfig: schema.ContainerConfig{Security: schema.Security{NetworkPolicy: "none"}, Ports: []schema.Port{{Host: 1, Container: 1}}}},
		{Name: "archy-bad-proto", Image: webTag, ContainerConfig: schema.ContainerConfig{Ports: []schema.Port{{Host: 1, Container: 1, Protocol: "sctp"}}}},
		{Name: "archy-bad-volume", Image: webTag, ContainerConfig: schema.ContainerConfig{Volumes: []schema.Volume{{Target: "/x"}}}},
		{Name: "archy-bad-image", Image: "localhost/archy-no-such-image:1"},
	} {
		if _, err := p.Create(ctx, cs); err == nil || !strings.Contains(err.Error(), "creating container "+cs.Name) {
			t.Errorf("Create(%+v) = %v, want an error naming the container", cs, err)
		}
	}
	cs := engine.ContainerSpec{Name: "archy-twice", Image: webTag, ContainerConfig: schema.ContainerConfig{Command: sleeper}}
	if _, err := p.Create(ctx, cs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kill(t, p, cs.Name) })
	if _, err := p.Create(ctx, cs); err == nil || errors.Is(err, engine.ErrNotFound) {
		t.Errorf("creating %s twice: %v, want a conflict", cs.Name, err)
	}
}

// TestNotFound: every call about a container or volume that does not
// exist fails with ErrNotFound, naming what it looked for.
func TestNotFound(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	const name = "archy-missing"
	_, inspectErr := p.Inspect(ctx, name)
	_, execErr := p.Exec(ctx, name, []string{busybox, "true"}, nil)
	for what, err := range map[string]error{
		"Start":        p.Start(ctx, name),
		"Stop":         p.Stop(ctx, name, time.Second),
		"Remove":       p.Remove(ctx, name, time.Second),
		"Inspect":      inspectErr,
		"Exec":         execErr,
		"Logs":         p.Logs(ctx, name, 10, false, &strings.Builder{}),
		"RemoveVolume": p.RemoveVolume(ctx, name),
	} {
		if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s of a missing one: %v, want ErrNotFound naming %s", what, err, name)
		}
	}
}
