package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
)

// A reset rebuilds the state from the containers' labels: the next plan
// changes nothing, a stopped container stays stopped.
func TestResetStateKeepsWhatTheLabelsSay(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, testApp("core"), testApp("api", "core"), testApp("ui", "core"))
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if err := h.rt.Stop(ctx, h.cat.Apps["ui"].ContainerName, 0); err != nil {
		t.Fatal(err)
	}
	dir := h.node.State.Dir
	os.Remove(filepath.Join(dir, state.PrevName))
	if err := os.WriteFile(filepath.Join(dir, state.FileName), []byte(`{"version": 1, "apps": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.node.CheckState(ctx, true); !errors.Is(err, state.ErrUnusable) {
		t.Fatalf("CheckState = %v; want the damage", err)
	}
	if _, err := h.node.ResetState(ctx, h.cat, false); err != nil {
		t.Fatal(err)
	}
	r, err := h.node.ResetState(ctx, h.cat, true) // again: from a good file
	if err != nil {
		t.Fatal(err)
	}
	if r.Was != "" || len(r.Kept) != 3 || !strings.Contains(r.Kept[2], "ui: ui as generation 1 (exited), kept stopped") {
		t.Errorf("reset = %+v", r)
	}
	if err := h.node.CheckState(ctx, true); err != nil {
		t.Fatal(err)
	}
	p, _ := h.apply(t, PlanOptions{})
	if n := p.Plan.Changes(); n != 0 {
		t.Errorf("the plan after a reset has %d changes: %+v", n, p.Plan.Steps)
	}
	st, _ := h.node.State.Load()
	if !st.Apps["ui"].Stopped || len(st.Generations["core"]) != 1 {
		t.Errorf("state after the reset: %+v", st)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, state.DamagedName)); string(b) != `{"version": 1, "apps": {` {
		t.Errorf("the damaged file was not set aside: %q", b)
	}
}

// A fresh node gets an empty state at the first check; a deleted one
// (archy's containers are there) is refused.
func TestCheckStateTellsFreshFromDeleted(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, testApp("core"))
	if err := h.node.CheckState(ctx, true); err != nil {
		t.Fatal(err)
	}
	if h.node.State.Missing() {
		t.Fatal("no state written on a fresh node")
	}
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	for _, f := range []string{state.FileName, state.PrevName} {
		os.Remove(filepath.Join(h.node.State.Dir, f))
	}
	var merr *state.MissingError
	if err := h.node.CheckState(ctx, true); !errors.As(err, &merr) || strings.Join(merr.Apps, ",") != "core" {
		t.Fatalf("CheckState = %v; want the deletion noticed", err)
	}
	if !h.node.State.Missing() {
		t.Error("a refused check wrote a state")
	}
}
