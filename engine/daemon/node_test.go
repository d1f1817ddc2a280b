package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// stepsUntil reads events up to the one without an app whose message is
// last, and returns the step events of apps on the way ("APP MESSAGE"),
// in the order they came.
func (n *node) stepsUntil(last string) []string {
	n.t.Helper()
	var steps []string
	timeout := time.After(patience)
	for {
		select {
		case e := <-n.events:
			n.seen = append(n.seen, e)
			switch {
			case e.App == "" && e.Message == last:
				return steps
			case e.App != "" && e.Type == engine.EventStep:
				steps = append(steps, e.App+" "+e.Message)
			}
		case <-timeout:
			n.t.Fatalf("no event %q; events: %v", last, n.seen)
		}
	}
}

func TestActAllWalksTheGraphAndPublishesAsItGoes(t *testing.T) {
	n := start(t, "core", "api")
	ctx := context.Background()
	f, err := os.OpenFile(filepath.Join(n.apps, "api.cue"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("apps: api: dependencies: [{app_id: \"core\", condition: \"started\"}]\n")
	f.Close()
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	n.seen = nil

	res, err := n.d.ActAll(ctx, engine.ActStop)
	if err != nil || res.Report.Err() != nil {
		t.Fatalf("stop --all: %v, %v", err, res.Report.Err())
	}
	if got := n.stepsUntil("stop --all done"); !slices.Equal(got, []string{"api stop", "core stop"}) {
		t.Errorf("stop events %v, want api before core", got)
	}
	for _, id := range []string{"core", "api"} {
		if s := n.state(id); s != plan.StateExited {
			t.Errorf("%s is %s after stop --all", id, s)
		}
	}
	// A reconcile leaves the node stopped.
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s := n.state("core"); s != plan.StateExited {
		t.Errorf("core is %s after a reconcile", s)
	}

	n.seen = nil
	res, err = n.d.ActAll(ctx, engine.ActStart)
	if err != nil || res.Report.Err() != nil {
		t.Fatalf("start --all: %v, %v", err, res.Report.Err())
	}
	if got := n.stepsUntil("start --all done"); !slices.Equal(got, []string{"core start", "api start"}) {
		t.Errorf("start events %v, want core before api", got)
	}

	if _, err := n.d.ActAll(ctx, engine.ActRestart); !errors.Is(err, engine.ErrBadRequest) {
		t.Errorf("restart --all: %v, want a bad request", err)
	}
}
