package podman

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// swapApp is the web test image published on port, as an app archy
// replaces.
func swapApp(port int) *schema.App {
	app := &schema.App{ID: "swapweb", ContainerName: "swapweb",
		Container: schema.Container{Source: &schema.Source{Type: schema.SourcePull, Image: webTag, PullPolicy: "never"}}}
	app.Ports = []schema.Port{{Container: webPort, Host: port, HostIP: "127.0.0.1", Protocol: "tcp"}}
	app.Upgrade.GracePeriod = schema.Duration(500 * time.Millisecond)
	app.Stop.Signal = "SIGKILL" // httpd, pid 1, ignores SIGTERM: no 10 s wait per swap
	return app
}

// runSwapApp makes and starts swapApp on a free port, serving, and
// returns its container.
func runSwapApp(t *testing.T) (context.Context, *Podman, *engine.Applier, *schema.App, plan.Container) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	app := swapApp(freePort(t))
	// The catalogue a rollback checks the old generation against.
	cat := &catalog.Catalog{Apps: map[string]*schema.App{app.ID: app}}
	a := &engine.Applier{Runtime: p, State: state.Store{Dir: t.TempDir()}, Catalog: cat}
	t.Cleanup(func() { kill(t, p, app.ContainerName); kill(t, p, app.ContainerName+schema.KeptSuffix) })
	if err := applySteps(ctx, a, app, plan.Create, plan.Start).Err(); err != nil {
		t.Fatal(err)
	}
	waitWeb(ctx, t, webURL(app.Ports[0].Host))
	first, err := p.Inspect(ctx, app.ContainerName)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, p, a, app, first
}

// applySteps applies one step of app with actions.
func applySteps(ctx context.Context, a *engine.Applier, app *schema.App, actions ...plan.Action) engine.Report {
	step := plan.Step{App: app.ID, Container: app.ContainerName, Level: 1, Actions: actions}
	return a.Apply(ctx, plan.Plan{Steps: []plan.Step{step}}, map[string]plan.Desired{app.ID: {App: app}})
}

// TestFailedStartPutsTheOldOneBack: a new container that fails at start
// (its command does not exist: runc fails after Podman bound its published
// port) is rolled back, and the old container serves on that port again,
// every time of 20 in a row (its conmon held the port for a moment after
// the failed start, and the old one's start hit "address already in use").
func TestFailedStartPutsTheOldOneBack(t *testing.T) {
	ctx, p, a, app, first := runSwapApp(t)
	port := app.Ports[0].Host
	bad := *app
	bad.Command = []string{"/no/such/command"}
	for i := range 20 {
		err := applySteps(ctx, a, &bad, plan.Recreate, plan.Start).Err()
		var rb *engine.RollbackError
		if !errors.As(err, &rb) || strings.Contains(err.Error(), "so did the rollback") {
			t.Fatalf("try %d: %v; want a rollback to the old container", i+1, err)
		}
		c, err := p.Inspect(ctx, app.ContainerName)
		if err != nil || c.ID != first.ID || c.State != plan.StateRunning {
			t.Fatalf("try %d: %s is %s %s (%v); want the old container %s running", i+1, app.ContainerName, c.ID, c.State, err, first.ID)
		}
		waitWeb(ctx, t, webURL(port))
		if _, err := p.Inspect(ctx, app.ContainerName+schema.KeptSuffix); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("try %d: %s left behind (%v)", i+1, app.ContainerName+schema.KeptSuffix, err)
		}
	}
	st, err := a.State.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.InFlight) != 0 || !slices.ContainsFunc(st.Generations[app.ID], func(g state.Generation) bool { return g.Keep != "" }) {
		t.Errorf("state after the rollbacks: in flight %v, generations %v", st.InFlight, st.Generations[app.ID])
	}
}

// TestFailedCreateKeepsTheOldOneRunning: a replacement whose create fails
// (a new host path Podman cannot make, below a file: nothing vet can see)
// fails with the create's error, and the old container never stopped: the
// same container, started once, serving throughout.
func TestFailedCreateKeepsTheOldOneRunning(t *testing.T) {
	ctx, p, a, app, first := runSwapApp(t)
	port := app.Ports[0].Host
	blocker := filepath.Join(t.TempDir(), "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := *app
	bad.Volumes = []schema.Volume{{HostPath: filepath.Join(blocker, "data"), Target: "/data"}}
	err := applySteps(ctx, a, &bad, plan.Recreate, plan.Start).Err()
	if err == nil || !strings.Contains(err.Error(), "swapweb: creating the new container: ") ||
		!strings.Contains(err.Error(), "not a directory") || !strings.Contains(err.Error(), "the old container is back as it was") {
		t.Fatalf("replacement with a failing create: %v; want the create's error", err)
	}
	t.Logf("apply: %v", err)
	c, err := p.Inspect(ctx, app.ContainerName)
	if err != nil || c.ID != first.ID || c.State != plan.StateRunning || !c.StartedAt.Equal(first.StartedAt) {
		t.Fatalf("%s after the failed create: %s %s started %s (%v); want %s still running since %s",
			app.ContainerName, c.ID, c.State, c.StartedAt, err, first.ID, first.StartedAt)
	}
	waitWeb(ctx, t, webURL(port))
	if _, err := p.Inspect(ctx, app.ContainerName+schema.KeptSuffix); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("%s left behind (%v)", app.ContainerName+schema.KeptSuffix, err)
	}
	if st, err := a.State.Load(); err != nil || len(st.InFlight) != 0 {
		t.Errorf("in flight after the failed create: %v (%v)", st.InFlight, err)
	}
	// The fixed spec replaces it.
	good := *app
	good.Environment = map[string]string{"V": "2"}
	if err := applySteps(ctx, a, &good, plan.Recreate, plan.Start).Err(); err != nil {
		t.Fatal(err)
	}
	if c, err := p.Inspect(ctx, app.ContainerName); err != nil || c.ID == first.ID {
		t.Errorf("after a good replacement: %s (%v); want a new container", c.ID, err)
	}
	waitWeb(ctx, t, webURL(port))
}
