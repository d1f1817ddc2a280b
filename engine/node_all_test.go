package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"archy.dev/archy/catalog"
	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/schema"
)

// simNode is the simulated node's graph (testdata/node).
func simNode() []*schema.App {
	return []*schema.App{
		testApp("bitcoin-core"), testApp("electrs", "bitcoin-core"), testApp("lnd", "bitcoin-core"),
		testApp("bitcoin-ui", "bitcoin-core"), testApp("electrs-ui", "electrs"), testApp("explorer", "electrs"),
		testApp("lnd-ui", "lnd"),
	}
}

// checkOrder fails unless every app's call ("stop x", "start x") comes
// after (dependentsFirst: before) the calls of the apps it depends on.
func checkOrder(t *testing.T, cat *catalog.Catalog, calls []string, verb string, dependentsFirst bool) {
	t.Helper()
	at := map[string]int{}
	for i, c := range calls {
		if id, ok := strings.CutPrefix(c, verb+" "); ok {
			at[id] = i
		}
	}
	for _, app := range cat.List() {
		for _, d := range app.Dependencies {
			a, okA := at[app.ID]
			b, okB := at[d.AppID]
			if !okA || !okB {
				continue
			}
			if dependentsFirst && a > b {
				t.Errorf("%s %s before its dependent %s: %v", verb, d.AppID, app.ID, calls)
			}
			if !dependentsFirst && a < b {
				t.Errorf("%s %s before its dependency %s: %v", verb, app.ID, d.AppID, calls)
			}
		}
	}
}

func TestStopAllAndStartAll(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, simNode()...)
	h.apply(t, PlanOptions{})
	// The operator stopped explorer on its own: start --all leaves it.
	if err := h.node.Stop(ctx, h.cat, "explorer", h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	h.rt.ResetCalls()

	res, err := h.node.StopAll(ctx, h.cat, h.node.Applier(&h.out))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Report.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Outcomes) != 7 {
		t.Errorf("%d outcomes, want one per app: %+v", len(res.Report.Outcomes), res.Report.Outcomes)
	}
	checkOrder(t, h.cat, h.rt.Calls(), "stop", true)
	if got := h.rt.Calls(); len(got) != 7 || got[6] != "stop bitcoin-core" {
		t.Errorf("calls %v, want every app stopped, bitcoin-core last", got)
	}
	st, _ := h.node.State.Load()
	for id, it := range st.Apps {
		if !it.Stopped || it.NodeStopped == (id == "explorer") {
			t.Errorf("%s: intent %+v after stop --all", id, it)
		}
	}
	// Applies keep the node stopped.
	h.rt.ResetCalls()
	h.apply(t, PlanOptions{})
	if calls := h.rt.Calls(); len(calls) != 0 {
		t.Errorf("an apply after stop --all did %v", calls)
	}

	res, err = h.node.StartAll(ctx, h.cat, h.node.Applier(&h.out))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Report.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Left, []string{"explorer"}) {
		t.Errorf("left %v, want explorer", res.Left)
	}
	calls := h.rt.Calls()
	checkOrder(t, h.cat, calls, "start", false)
	if len(calls) != 6 || calls[0] != "start bitcoin-core" || slices.Contains(calls, "start explorer") {
		t.Errorf("calls %v, want every app but explorer started, bitcoin-core first", calls)
	}
	st, _ = h.node.State.Load()
	for id, it := range st.Apps {
		if it.NodeStopped || it.Stopped != (id == "explorer") {
			t.Errorf("%s: intent %+v after start --all", id, it)
		}
	}
}

// An archy stop of an app stopped by stop --all makes the stop its own.
func TestStopOfOneAppAfterStopAllIsTheOperators(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, simNode()...)
	h.apply(t, PlanOptions{})
	if _, err := h.node.StopAll(ctx, h.cat, h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	if err := h.node.Stop(ctx, h.cat, "lnd-ui", h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	res, err := h.node.StartAll(ctx, h.cat, h.node.Applier(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Left, []string{"lnd-ui"}) {
		t.Errorf("left %v, want lnd-ui", res.Left)
	}
}

// failingStop fails the stop of one container.
type failingStop struct {
	*enginetest.Fake
	name string
}

func (f failingStop) Stop(ctx context.Context, name string, timeout time.Duration) error {
	if name == f.name {
		return errors.New("podman said no")
	}
	return f.Fake.Stop(ctx, name, timeout)
}

// One app that fails to stop is reported; the rest still stop, its
// dependencies after it.
func TestStopAllGoesOnAfterAFailure(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, simNode()...)
	h.apply(t, PlanOptions{})
	h.rt.ResetCalls()
	h.node.Runtime = failingStop{Fake: h.rt, name: "electrs"}
	res, err := h.node.StopAll(ctx, h.cat, h.node.Applier(nil))
	if err != nil {
		t.Fatal(err)
	}
	failed := res.Report.Failed()
	if len(failed) != 1 || failed[0].App != "electrs" || !strings.Contains(failed[0].Err.Error(), "stopping electrs: podman said no") {
		t.Errorf("failed %+v, want electrs", failed)
	}
	calls := h.rt.Calls()
	if len(calls) != 6 || calls[5] != "stop bitcoin-core" {
		t.Errorf("calls %v, want the other six stopped, bitcoin-core last", calls)
	}
}

// A dependency that fails to start skips its dependents, which are not
// failures of their own.
func TestStartAllSkipsDependentsOfAFailure(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, simNode()...)
	h.apply(t, PlanOptions{})
	if _, err := h.node.StopAll(ctx, h.cat, h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	// electrs' container is gone and its image fails to build.
	h.rt.Remove(ctx, "electrs", 0)
	h.cat.Apps["electrs"] = buildApp(t, "electrs", "bitcoin-core")
	h.rt.FailBuild("localhost/electrs:local")
	h.rt.ResetCalls()
	res, err := h.node.StartAll(ctx, h.cat, h.node.Applier(nil))
	if err != nil {
		t.Fatal(err)
	}
	failed := res.Report.Failed()
	if len(failed) != 1 || failed[0].App != "electrs" {
		t.Fatalf("failed %+v, want electrs only; all: %+v", failed, res.Report.Outcomes)
	}
	skipped := map[string]string{}
	for _, o := range res.Report.Outcomes {
		if o.Skipped != "" {
			skipped[o.App] = o.Skipped
		}
	}
	want := map[string]string{"electrs-ui": "dependency electrs failed", "explorer": "dependency electrs failed"}
	if len(skipped) != 2 || skipped["electrs-ui"] != want["electrs-ui"] || skipped["explorer"] != want["explorer"] {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	if calls := h.rt.Calls(); !slices.Contains(calls, "start lnd-ui") {
		t.Errorf("calls %v: lnd-ui not started", calls)
	}
}

func TestStopAllTimeout(t *testing.T) {
	withStop := func(a *schema.App, d time.Duration) *schema.App {
		a.Stop.Timeout = schema.Duration(d)
		return a
	}
	tests := []struct {
		name string
		apps []*schema.App
		want time.Duration
	}{
		{"none", nil, StopAllMargin},
		{"one app with the default", []*schema.App{testApp("a")}, 10*time.Second + StopAllMargin},
		{"a chain adds up", []*schema.App{
			withStop(testApp("core"), 10*time.Minute), withStop(testApp("lnd", "core"), 3*time.Minute), withStop(testApp("ui", "lnd"), 5*time.Second),
		}, 10*time.Minute + 3*time.Minute + 5*time.Second + StopAllMargin},
		{"a level takes its slowest", []*schema.App{
			withStop(testApp("core"), time.Minute), withStop(testApp("a", "core"), 2*time.Minute), withStop(testApp("b", "core"), 30*time.Second),
		}, 3*time.Minute + StopAllMargin},
		{"levels, not only the longest chain: the walk waits for each level", []*schema.App{
			withStop(testApp("db"), time.Minute), withStop(testApp("api", "db"), 10*time.Second), withStop(testApp("ui", "api"), 5*time.Second),
			withStop(testApp("report", "db"), 2*time.Minute),
		}, 2*time.Minute + 10*time.Second + time.Minute + StopAllMargin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StopAllTimeout(tt.apps)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("StopAllTimeout = %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := StopAllTimeout([]*schema.App{testApp("a", "b"), testApp("b", "a")}); err == nil {
		t.Error("no error for a cycle")
	}
}
