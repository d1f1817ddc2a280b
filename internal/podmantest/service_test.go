package podmantest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/domain/entities/types"

	"archy.dev/archy/internal/podmantest"
)

// TestServiceRestart: a container keeps running, unchanged, across a
// restart of the Podman service; Conn and contexts derived from it before
// the restart keep working; a container whose process is killed while the
// service is down shows as exited once it is back.
func TestServiceRestart(t *testing.T) {
	env := podmantest.Shared(t)
	ctx := env.Context(t) // derived before the restarts: must outlive them
	dir := podmantest.BusyboxContext(t, "../../testdata/images/web")
	var buildLog bytes.Buffer
	if _, err := images.Build(ctx, []string{filepath.Join(dir, "Dockerfile")}, types.BuildOptions{
		BuildOptions: define.BuildOptions{ContextDirectory: dir, Output: localTag, Out: &buildLog, Err: &buildLog, ReportWriter: &buildLog},
	}); err != nil {
		t.Fatalf("building %s: %v\n%s", localTag, err, buildLog.String())
	}
	name := "archy-podmantest-restart"
	url := runAndGetURL(ctx, t, name, localTag)
	t.Cleanup(func() {
		_, _ = containers.Remove(env.Conn, name, new(containers.RemoveOptions).WithForce(true).WithTimeout(0))
	})
	before, err := containers.Inspect(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Restart: the container is untouched.
	start := time.Now()
	if err := env.RestartService(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("service restarted in %v", time.Since(start).Round(time.Millisecond))
	if !env.ServiceRunning() {
		t.Fatal("service not running after RestartService")
	}
	after, err := containers.Inspect(ctx, name, nil)
	if err != nil {
		t.Fatalf("inspecting through a context derived before the restart: %v", err)
	}
	if !after.State.Running || after.ID != before.ID || !after.State.StartedAt.Equal(before.State.StartedAt) || after.State.Pid != before.State.Pid {
		t.Fatalf("after the service restart: running=%t id=%s started=%v pid=%d, before: id=%s started=%v pid=%d",
			after.State.Running, after.ID, after.State.StartedAt, after.State.Pid, before.ID, before.State.StartedAt, before.State.Pid)
	}
	if _, err := podmantest.WaitForHTTP(ctx, url, marker, time.Second); err != nil {
		t.Fatalf("after the service restart: %v", err)
	}

	// Kill the container's process while the service is down.
	if err := env.StopService(); err != nil {
		t.Fatal(err)
	}
	if _, err := containers.Inspect(ctx, name, nil); err == nil {
		t.Fatal("inspect succeeded while the service is stopped")
	}
	if _, err := podmantest.WaitForHTTP(context.Background(), url, marker, time.Second); err != nil {
		t.Fatalf("the container stopped serving with the service: %v", err)
	}
	pid, err := env.ContainerPID(name)
	if err != nil {
		t.Fatal(err)
	}
	if pid != before.State.Pid {
		t.Fatalf("ContainerPID %d, inspect said %d", pid, before.State.Pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still there 5 s after SIGKILL", pid)
		}
	}
	if _, err := env.ContainerPID(name); err == nil {
		t.Fatal("ContainerPID found a process after the kill")
	}
	if err := env.StartService(context.Background()); err != nil {
		t.Fatal(err)
	}
	var state string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		data, err := containers.Inspect(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		state = data.State.Status
		if state == "exited" || time.Now().After(deadline) {
			t.Logf("after the kill: %s, exit code %d", state, data.State.ExitCode)
			break
		}
	}
	if state != "exited" {
		t.Fatalf("container killed while the service was down is %s, want exited", state)
	}
	// It starts again like any exited container.
	if err := containers.Start(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := podmantest.WaitForHTTP(ctx, url, marker, httpWait); err != nil {
		t.Fatal(err)
	}
}

// TestCloseStoppedService: Close of an Env whose service was stopped with
// a container running starts the service again to remove the container,
// and leaves no process behind.
func TestCloseStoppedService(t *testing.T) {
	podmantest.Shared(t) // the skip/fail policy; this test has its own Env
	env, err := podmantest.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close() })
	ctx := env.Context(t)
	dir := podmantest.BusyboxContext(t, "../../testdata/images/web")
	var buildLog bytes.Buffer
	if _, err := images.Build(ctx, []string{filepath.Join(dir, "Dockerfile")}, types.BuildOptions{
		BuildOptions: define.BuildOptions{ContextDirectory: dir, Output: localTag, Out: &buildLog, Err: &buildLog, ReportWriter: &buildLog},
	}); err != nil {
		t.Fatalf("building %s: %v\n%s", localTag, err, buildLog.String())
	}
	runAndGetURL(ctx, t, "archy-podmantest-close", localTag)
	pid, err := env.ContainerPID("archy-podmantest-close")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.StopService(); err != nil {
		t.Fatal(err)
	}
	if err := env.Close(); err != nil {
		t.Fatalf("Close with the service stopped: %v", err)
	}
	if _, err := os.Stat(env.Dir); err == nil {
		t.Fatalf("%s still there after Close", env.Dir)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Fatalf("the container's process %d survived Close", pid)
	}
}
