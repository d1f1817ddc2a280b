package podman

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/volumes"
	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// TestLifecycle walks one container through everything archy does to it:
// build → create → start → serve → inspect → exec → logs → stop → remove
// (volume kept, seen by the next container) → remove the volume.
func TestLifecycle(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)

	imageID := buildWeb(ctx, t, p, map[string]string{plan.LabelApp: "web", plan.LabelContextHash: "ctx-1"})
	port := freePort(t)
	const name, volume = "archy-web", "archy-web-data"
	cs := engine.ContainerSpec{
		Name:   name,
		Image:  webTag,
		Labels: map[string]string{plan.LabelApp: "web", plan.LabelSpecHash: "spec-1"},
		ContainerConfig: schema.ContainerConfig{
			Environment: map[string]string{"GREETING": "hello from archy"},
			Security:    schema.Security{NetworkPolicy: "bridge"},
			Ports:       []schema.Port{{HostIP: "127.0.0.1", Host: port, Container: webPort, Protocol: "tcp"}},
			Volumes:     []schema.Volume{{Name: volume, Target: "/data"}},
		},
	}
	id, err := p.Create(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kill(t, p, name) })
	if ok, err := volumes.Exists(ctx, volume, nil); err != nil || !ok {
		t.Fatalf("volume %s after Create: exists=%v err=%v", volume, ok, err)
	}
	if c, err := p.Inspect(ctx, name); err != nil || c.State != plan.StateCreated {
		t.Fatalf("Inspect after Create: state %q, err %v; want %q", c.State, err, plan.StateCreated)
	}

	if err := p.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx, name); err != nil {
		t.Fatalf("starting a running container again: %v", err)
	}
	waitWeb(ctx, t, webURL(port))

	c, err := p.Inspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	// Containers inherit their image's labels; the ones archy set must be there.
	for k, v := range cs.Labels {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	want := plan.Container{
		ID: id, Name: name, State: plan.StateRunning, ImageID: imageID, Image: webTag,
		Labels: c.Labels, StartedAt: c.StartedAt, Pid: c.Pid,
		Mounts: []plan.Mount{{Name: volume, Destination: "/data"}},
	}
	// The pid is the container's main process on this host (the daemon
	// watches it to learn of a death at once).
	if pid, err := env.ContainerPID(name); err != nil || c.Pid != pid {
		t.Errorf("Pid = %d, want the container's process %d (%v)", c.Pid, pid, err)
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Fatalf("Inspect mismatch (-want +got):\n%s", diff)
	}
	if c.StartedAt.IsZero() || time.Since(c.StartedAt) > time.Minute {
		t.Errorf("StartedAt = %v, want a moment ago", c.StartedAt)
	}

	for _, tc := range []struct {
		cmd  []string
		code int
	}{
		{[]string{busybox, "true"}, 0},
		{[]string{busybox, "false"}, 1},
		{[]string{busybox, "sh", "-c", "exit 7"}, 7},
		{[]string{busybox, "sh", "-c", `test "$GREETING" = "hello from archy"`}, 0},
	} {
		code, err := p.Exec(ctx, name, tc.cmd, nil)
		if err != nil || code != tc.code {
			t.Errorf("Exec(%q) = %d, %v; want %d", tc.cmd, code, err, tc.code)
		}
	}
	// A missing binary is the shell's 127, not an error.
	if code, err := p.Exec(ctx, name, []string{"/no/such/binary"}, nil); err != nil || code != 127 {
		t.Errorf("Exec of a missing binary = %d, %v; want 127", code, err)
	}
	sh(ctx, t, p, name, "echo kept-across-containers > /data/kept")

	var logs strings.Builder
	if err := p.Logs(ctx, name, -1, false, &logs); err != nil {
		t.Fatalf("Logs: %v", err)
	}

	if err := p.Stop(ctx, name, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx, name, time.Second); err != nil {
		t.Fatalf("stopping a stopped container again: %v", err)
	}
	if _, err := p.Exec(ctx, name, []string{busybox, "true"}, nil); err == nil || errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Exec in a stopped container: %v, want an error other than ErrNotFound", err)
	}
	if c, err := p.Inspect(ctx, name); err != nil || c.State == plan.StateRunning {
		t.Fatalf("Inspect after Stop: state %q, err %v", c.State, err)
	}
	if err := p.Remove(ctx, name, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Inspect(ctx, name); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Inspect after Remove: %v, want ErrNotFound", err)
	}
	if ok, err := volumes.Exists(ctx, volume, nil); err != nil || !ok {
		t.Fatalf("volume %s after Remove: exists=%v err=%v; Remove must keep volumes", volume, ok, err)
	}

	// A new container on the same volume sees what the old one wrote.
	cs.Labels = map[string]string{plan.LabelApp: "web", plan.LabelSpecHash: "spec-2"}
	if _, err := p.Create(ctx, cs); err != nil {
		t.Fatalf("recreating on the kept volume: %v", err)
	}
	if err := p.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if got := sh(ctx, t, p, name, "cat /data/kept"); got != "kept-across-containers\n" {
		t.Fatalf("the volume holds %q, want what the removed container wrote", got)
	}
	waitWeb(ctx, t, webURL(port))

	if err := p.RemoveVolume(ctx, volume); err == nil {
		t.Fatalf("RemoveVolume of a volume in use succeeded")
	}
	kill(t, p, name)
	if err := p.RemoveVolume(ctx, volume); err != nil {
		t.Fatal(err)
	}
	if ok, err := volumes.Exists(ctx, volume, nil); err != nil || ok {
		t.Fatalf("volume %s after RemoveVolume: exists=%v err=%v", volume, ok, err)
	}
	if err := p.RemoveVolume(ctx, volume); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("RemoveVolume of a removed volume: %v, want ErrNotFound", err)
	}
}

// TestLogs checks tail, both streams and follow ending with ctx.
func TestLogs(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	const name = "archy-logs"
	run(ctx, t, p, engine.ContainerSpec{
		Name:  name,
		Image: webTag,
		ContainerConfig: schema.ContainerConfig{Command: []string{busybox, "sh", "-c",
			"echo to-stdout; echo to-stderr >&2; i=0; while :; do echo tick $i; i=$((i+1)); sleep 1; done"}},
	})

	var all strings.Builder
	if !waitFor(10*time.Second, func() bool {
		all.Reset()
		if err := p.Logs(ctx, name, -1, false, &all); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(all.String(), "tick 1")
	}) {
		t.Fatalf("logs never showed tick 1: %q", all.String())
	}
	// Podman reads stdout and stderr from separate pipes: their relative
	// order is not guaranteed, the order within one stream is.
	got := lines(all.String())
	if !slices.Contains(got, "to-stderr") || slices.Index(got, "to-stdout") != 0 ||
		slices.Index(got, "tick 0") < 0 {
		t.Fatalf("logs = %q, want to-stdout first, to-stderr and tick 0 among them", got)
	}

	var last strings.Builder
	if err := p.Logs(ctx, name, 1, false, &last); err != nil {
		t.Fatal(err)
	}
	if l := lines(last.String()); len(l) != 1 || !strings.HasPrefix(l[0], "tick ") {
		t.Fatalf("logs with tail 1 = %q, want one tick line", last.String())
	}

	// Follow from now: new ticks arrive, and cancelling ends it cleanly.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var followed syncBuffer
	done := make(chan error, 1)
	go func() { done <- p.Logs(fctx, name, 0, true, &followed) }()
	if !waitFor(5*time.Second, func() bool { return len(lines(followed.String())) >= 2 }) {
		t.Fatalf("follow saw %q after 5s, want two new ticks", followed.String())
	}
	if strings.Contains(followed.String(), "to-stdout") {
		t.Errorf("follow with tail 0 repeated old lines: %q", followed.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow ended by ctx: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end within 5s of ctx ending")
	}
}

// TestHostNetwork runs the web server in the host's network namespace.
func TestHostNetwork(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	port := freePort(t)
	const name = "archy-host-web"
	run(ctx, t, p, engine.ContainerSpec{
		Name:  name,
		Image: webTag,
		ContainerConfig: schema.ContainerConfig{
			Command:  []string{busybox, "httpd", "-f", "-p", "127.0.0.1:" + strconv.Itoa(port), "-h", "/www"},
			Security: schema.Security{NetworkPolicy: "host"},
		},
	})
	waitWeb(ctx, t, webURL(port))
	data, err := containers.Inspect(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if data.HostConfig.NetworkMode != "host" {
		t.Errorf("network mode %q, want host", data.HostConfig.NetworkMode)
	}
}
