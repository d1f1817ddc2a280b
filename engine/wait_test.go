package engine_test

import (
	"context"
	"errors"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// probeFake answers Inspect (every container runs) and Exec: each app's
// check exits with the next of its codes, then with its last one.
type probeFake struct {
	mu    sync.Mutex
	codes map[string][]int
}

func (f *probeFake) Inspect(ctx context.Context, name string) (plan.Container, error) {
	return plan.Container{Name: name, State: plan.StateRunning, StartedAt: time.Now()}, nil
}

func (f *probeFake) Exec(ctx context.Context, name string, cmd []string, out io.Writer) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	codes := f.codes[name]
	code := codes[0]
	if len(codes) > 1 {
		f.codes[name] = codes[1:]
	}
	return code, nil
}

// recorder keeps the progress events.
type recorder struct {
	mu     sync.Mutex
	events []ProgressEvent
}

func (r *recorder) Event(ev ProgressEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func execApp(id string) *schema.App {
	return &schema.App{ID: id, ContainerName: id, HealthCheck: &schema.HealthCheck{
		Type: schema.HealthExec, Command: []string{"check"}, Interval: schema.Duration(time.Second), Retries: 3}}
}

// apply --wait returns once each app is healthy, naming those that are not
// within the timeout with their last answer.
func TestWaitAllHealthy(t *testing.T) {
	rt := &probeFake{codes: map[string][]int{"slow": {1, 1, 0}, "broken": {1}, "ok": {0}}}
	plain := &schema.App{ID: "plain", ContainerName: "plain"} // no check: running is healthy
	apps := []*schema.App{execApp("slow"), execApp("broken"), plain, execApp("ok")}
	var rec recorder
	start := time.Now()
	fails, err := WaitAllHealthy(context.Background(), rt, apps, 1500*time.Millisecond, &rec)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 1500*time.Millisecond || took > 5*time.Second {
		t.Errorf("took %s: the timeout is 1.5 s", took)
	}
	want := []CheckFailure{{App: "broken", Reason: "unhealthy: [check] exited 1"}}
	if diff := cmp.Diff(want, fails); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if w, ok := rec.events[0].(Waiting); !ok || !cmp.Equal(w.Apps, []string{"slow", "broken", "plain", "ok"}) || w.Timeout != 1500*time.Millisecond {
		t.Errorf("first event %#v", rec.events[0])
	}
	var healthy []string
	var notHealthy []string
	for _, ev := range rec.events[1:] {
		switch e := ev.(type) {
		case WaitedHealthy:
			healthy = append(healthy, e.App)
		case WaitedNotHealthy:
			notHealthy = append(notHealthy, e.App)
			if e.Timeout != 1500*time.Millisecond || e.Err == nil {
				t.Errorf("%#v", e)
			}
		default:
			t.Errorf("unexpected event %#v", ev)
		}
	}
	sort.Strings(healthy)
	if !cmp.Equal(healthy, []string{"ok", "plain", "slow"}) || !cmp.Equal(notHealthy, []string{"broken"}) {
		t.Errorf("healthy %v, not healthy %v", healthy, notHealthy)
	}
}

// Ctrl-C ends the wait with ctx's error, not a list of failures.
func TestWaitAllHealthyCancelled(t *testing.T) {
	rt := &probeFake{codes: map[string][]int{"broken": {1}}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	fails, err := WaitAllHealthy(ctx, rt, []*schema.App{execApp("broken")}, time.Minute, nil)
	if !errors.Is(err, context.DeadlineExceeded) || fails != nil {
		t.Errorf("got %v, %v", fails, err)
	}
}

// apply --wait waits for what runs after the apply, not for the apps kept
// down on purpose.
func TestNodeRunning(t *testing.T) {
	store := state.Store{Dir: t.TempDir()}
	if err := store.Save(state.State{Apps: plan.Intent{
		"stopped": {Stopped: true}, "removed": {Removed: true}, "disk": {DiskLow: "1 GiB free"},
		"held": {Held: "t", HeldStopped: true}, "held-running": {Held: "t"},
	}}); err != nil {
		t.Fatal(err)
	}
	pl := Planned{Desired: map[string]plan.Desired{}}
	for i, id := range []string{"core", "stopped", "removed", "disk", "held", "held-running", "ui"} {
		pl.Desired[id] = plan.Desired{App: &schema.App{ID: id}}
		pl.Plan.Steps = append(pl.Plan.Steps, plan.Step{App: id, Level: 1 + i/4})
	}
	pl.Plan.Steps = append(pl.Plan.Steps, plan.Step{App: "orphan", Level: 0})
	apps, err := (&Node{State: store}).Running(pl)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range apps {
		got = append(got, a.ID)
	}
	if diff := cmp.Diff([]string{"core", "held-running", "ui"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
