package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/plan"
)

// The daemon is up (Loaded) once its apps are loaded, before Podman
// answers: its loop answers the watchdog and its status says degraded
// while it waits; the first reconcile follows the connection.
func TestLoadedBeforePodman(t *testing.T) {
	appsDir := filepath.Join(t.TempDir(), "apps")
	if err := os.Mkdir(appsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeApp(t, appsDir, "core")
	data, err := os.MkdirTemp("", "archy-daemon-test")
	if err != nil {
		t.Fatal(err)
	}
	rt := enginetest.New()
	podmanUp := make(chan struct{})
	loaded, reconciled := make(chan struct{}), make(chan struct{})
	d := New(Config{Apps: appsDir, DataDir: data, Interval: time.Hour,
		Loaded: func() { close(loaded) }, Reconciled: func() { close(reconciled) },
		Connect: func(ctx context.Context) (engine.Runtime, error) {
			select {
			case <-podmanUp:
				return rt, nil
			default:
				return nil, errors.New("connection refused")
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		os.RemoveAll(data)
	})
	select {
	case <-loaded:
	case <-time.After(patience):
		t.Fatal("not loaded while podman is away")
	}
	actx, acancel := context.WithTimeout(ctx, patience)
	defer acancel()
	if !d.Alive(actx) {
		t.Fatal("the loop does not answer while podman is away")
	}
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Degraded == "" {
		t.Error("status is not degraded while podman is away")
	}

	// archy start --all at boot comes right after READY=1: it waits for
	// Podman rather than failing.
	all := make(chan error, 1)
	go func() {
		_, err := d.ActAll(ctx, engine.ActStart)
		all <- err
	}()
	select {
	case err := <-all:
		t.Fatalf("start --all did not wait for podman: %v", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(podmanUp)
	if err := <-all; err != nil {
		t.Errorf("start --all once podman is up: %v", err)
	}
	select {
	case <-reconciled:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(patience):
		t.Fatal("no first reconcile once podman is up")
	}
	if c, err := rt.Inspect(ctx, "core"); err != nil || c.State != plan.StateRunning {
		t.Errorf("core after the first reconcile: %v %v", c.State, err)
	}
}

// Reload (SIGHUP) re-reads the apps at once and reconciles without being
// waited for; a rejected edit keeps the last good apps and is reported on
// every Reload, even with no file changed.
func TestReloadNow(t *testing.T) {
	n := start(t, "core")
	writeApp(t, n.apps, "extra")
	n.d.Reload()
	n.waitFor("extra", engine.EventStep, "create")
	n.poll("extra to run", func() bool { return n.state("extra") == plan.StateRunning })

	if err := os.WriteFile(filepath.Join(n.apps, "bad.cue"), []byte("package apps\n\napps: broken: {name: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.d.Reload()
	n.waitFor("", engine.EventConfig, "apps rejected; keeping the last good ones")
	n.d.Reload() // no file changed: evaluated and reported again
	n.waitFor("", engine.EventConfig, "apps rejected; keeping the last good ones")
	st, err := n.d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.ConfigError, "broken") {
		t.Errorf("status' config error: %q", st.ConfigError)
	}
	for _, id := range []string{"core", "extra"} {
		if s := n.state(id); s != plan.StateRunning {
			t.Errorf("%s is %s after a rejected reload", id, s)
		}
	}
}
