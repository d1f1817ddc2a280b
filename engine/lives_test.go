package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

func TestWayBackTakesTheNewestAcceptedGeneration(t *testing.T) {
	st := state.State{Generations: map[string][]state.Generation{"ui": {
		{N: 1, Keep: "k1"}, {N: 2, Keep: "k2"}, {N: 3}, {N: 4, Keep: "k4"}, {N: 5},
	}}}
	ns := func(gs []state.Generation) []int {
		var out []int
		for _, g := range gs {
			out = append(out, g.N)
		}
		return out
	}
	if got := ns(KeptBefore(st, "ui", 0)); !slices.Equal(got, []int{4, 2, 1}) {
		t.Errorf("kept generations, newest first: %v, want [4 2 1]", got)
	}
	if got := ns(KeptBefore(st, "ui", 4)); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("kept before 4: %v, want [2 1]", got)
	}
	if got := KeptBefore(st, "other", 0); len(got) != 0 {
		t.Errorf("another app's: %v, want none", got)
	}
	refuse := func(bad ...int) func(state.Generation) error {
		return func(g state.Generation) error {
			if slices.Contains(bad, g.N) {
				return fmt.Errorf("generation %d refused", g.N)
			}
			return nil
		}
	}
	for _, tc := range []struct {
		bad     []int
		want    int // 0: none
		refused int
	}{
		{nil, 4, 0},
		{[]int{4}, 2, 1},
		{[]int{4, 2}, 1, 2},
		{[]int{4, 2, 1}, 0, 3},
	} {
		g, refused := WayBack(KeptBefore(st, "ui", 0), refuse(tc.bad...))
		got := 0
		if g != nil {
			got = g.N
		}
		if got != tc.want || len(refused) != tc.refused {
			t.Errorf("refusing %v: generation %d, refused %v; want %d, %d refused", tc.bad, got, refused, tc.want, tc.refused)
		}
	}
	if g, refused := WayBack(nil, refuse()); g != nil || refused != nil {
		t.Errorf("no candidates: %v %v", g, refused)
	}
}

// withCapAdd gives app a capability that amounts to root on the host,
// which vet allows only with --allow-privileged (the harness's catalogue
// was not loaded with it: it allows nothing).
func withCapAdd(app *schema.App, caps ...string) *schema.App {
	app.Security.CapAdd = caps
	return app
}

// brokenUpgrade upgrades app, without its capabilities, to a build
// (content) whose container exits at once, and returns its outcome.
func brokenUpgrade(t *testing.T, h *harness, app *schema.App, content string) Outcome {
	t.Helper()
	app.Security.CapAdd = nil
	changeBuild(t, app, content)
	h.rt.BreakNext(plan.NormalizeRef(app.Container.Source.Tag))
	_, rep := h.apply(t, PlanOptions{})
	return outcomesByApp(rep)[app.ID]
}

func TestPruneEndsTheAppsLife(t *testing.T) {
	ctx := context.Background()
	ui := quick(withCapAdd(buildApp(t, "ui"), "SYS_ADMIN"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	if st := h.state(t); len(st.Generations["ui"]) != 1 {
		t.Fatalf("generations after the first apply: %+v", st.Generations)
	}
	// Its file deleted, an apply --prune removes it and ends its life.
	delete(h.cat.Apps, "ui")
	pl, err := h.node.Plan(ctx, h.cat, PlanOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	h.rt.ResetCalls()
	rep, err := h.node.Apply(ctx, pl, h.node.Applier(&h.out))
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	st := h.state(t)
	if _, ok := st.Generations["ui"]; ok {
		t.Errorf("generations after the prune: %+v, want none", st.Generations["ui"])
	}
	if _, ok := st.Apps["ui"]; ok {
		t.Errorf("intent after the prune: %+v, want none", st.Apps["ui"])
	}
	if !slices.Contains(h.rt.Calls(), "untag "+KeepRef("ui", 1)) {
		t.Errorf("the pruned generation's image was not released: %v", h.rt.Calls())
	}

	// Declared again, without the capability, in a version that fails:
	// nothing of the earlier life comes back.
	ui2 := quick(buildApp(t, "ui"))
	h.cat.Apps["ui"] = ui2
	o := brokenUpgrade(t, h, ui2, "v2")
	if o.RolledBack || o.Err == nil {
		t.Fatalf("ui: %+v, want a failure and no rollback", o)
	}
	c, err := h.rt.Inspect(ctx, "ui")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Labels[plan.LabelSpec], "SYS_ADMIN") {
		t.Errorf("ui's container is the pruned generation again: %s", c.Labels[plan.LabelSpec])
	}
	st = h.state(t)
	if gens := st.Generations["ui"]; len(gens) != 1 || gens[0].N != 1 || gens[0].SpecHash != plan.SpecHash(ui2) {
		t.Errorf("generations of the new life: %+v", gens)
	}
}

func TestNoRollbackToAGenerationTodaysRulesRefuse(t *testing.T) {
	ctx := context.Background()
	ui := quick(withCapAdd(buildApp(t, "ui"), "SYS_ADMIN"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{}) // generation 1: allowed then, not now
	o := brokenUpgrade(t, h, ui, "v2")
	var nwb *NoWayBackError
	if o.RolledBack || !errors.As(o.Err, &nwb) || nwb.Failed != 2 {
		t.Fatalf("ui: %+v, want a failure of generation 2 and no rollback", o)
	}
	want := `generation 1 is not rolled back to: security.cap_add[0]: cap_add "SYS_ADMIN" amounts to root on the host; allow it with --allow-privileged ui`
	if !strings.Contains(o.Err.Error(), want) {
		t.Errorf("error %q, want it to say %q", o.Err, want)
	}
	for _, name := range []string{"ui", "ui" + schema.KeptSuffix} {
		c, err := h.rt.Inspect(ctx, name)
		if err == nil && c.State == plan.StateRunning {
			t.Errorf("%s runs after the failed upgrade: %s", name, c.Labels[plan.LabelSpec])
		}
	}
	st := h.state(t)
	if it := st.Apps["ui"]; it.Held == "" || !it.HeldStopped || !strings.Contains(it.HeldWhy, want) {
		t.Errorf("ui's intent %+v, want the target held stopped, saying why", it)
	}
	if len(st.InFlight) != 0 {
		t.Errorf("in flight after the run: %+v", st.InFlight)
	}
	// Held: the next apply leaves it alone rather than start anything.
	_, rep := h.apply(t, PlanOptions{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if c, err := h.rt.Inspect(ctx, "ui"); err != nil || c.State == plan.StateRunning {
		t.Errorf("ui after another apply: %+v %v, want it kept stopped", c, err)
	}
}

func TestRollbackSkipsARefusedGenerationForAnOlderOne(t *testing.T) {
	ctx := context.Background()
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{}) // generation 1
	first, _ := h.rt.Inspect(ctx, "ui")
	ui.Security.CapAdd = []string{"SYS_ADMIN"}
	changeBuild(t, ui, "v2")
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil { // generation 2: refused by now
		t.Fatal(rep.Err())
	}
	o := brokenUpgrade(t, h, ui, "v3")
	var rb *RollbackError
	if !o.RolledBack || !errors.As(o.Err, &rb) || rb.Restored != 1 || rb.Failed != 3 || len(rb.Refused) != 1 {
		t.Fatalf("ui: %+v, want generation 3 rolled back to 1, generation 2 refused", o)
	}
	c, err := h.rt.Inspect(ctx, "ui")
	if err != nil || c.State != plan.StateRunning || c.ImageID != first.ImageID || strings.Contains(c.Labels[plan.LabelSpec], "SYS_ADMIN") {
		t.Errorf("ui after the rollback: %+v %v, want generation 1 running", c, err)
	}
	if _, err := h.rt.Inspect(ctx, "ui"+schema.KeptSuffix); err == nil {
		t.Errorf("the refused generation 2 is still set aside")
	}
}

func TestRemoveWithItsDataEndsTheAppsLife(t *testing.T) {
	ctx := context.Background()
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	// Without its data, the app's life goes on: archy start makes it again.
	if err := h.node.Remove(ctx, h.cat, "ui", false, h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	if st := h.state(t); len(st.Generations["ui"]) != 1 || !st.Apps["ui"].Removed {
		t.Fatalf("after archy rm: %+v %+v", st.Generations["ui"], st.Apps["ui"])
	}
	h.rt.ResetCalls()
	if err := h.node.Remove(ctx, h.cat, "ui", true, h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	st := h.state(t)
	if _, ok := st.Generations["ui"]; ok || !st.Apps["ui"].Removed {
		t.Errorf("after archy rm --purge-data: generations %+v, intent %+v; want none, removed", st.Generations["ui"], st.Apps["ui"])
	}
	if !slices.Contains(h.rt.Calls(), "untag "+KeepRef("ui", 1)) {
		t.Errorf("the purged app's kept image was not released: %v", h.rt.Calls())
	}
}

func TestRollbackCommandRefusesAGenerationTodaysRulesRefuse(t *testing.T) {
	ctx := context.Background()
	ui := quick(withCapAdd(buildApp(t, "ui"), "SYS_ADMIN"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{}) // generation 1
	ui.Security.CapAdd = nil
	changeBuild(t, ui, "v2")
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil { // generation 2
		t.Fatal(rep.Err())
	}
	before, _ := h.rt.Inspect(ctx, "ui")
	_, err := h.node.Rollback(ctx, h.cat, "ui", 1, false, h.node.Applier(nil))
	want := `ui: generation 1 is not rolled back to: security.cap_add[0]: cap_add "SYS_ADMIN" amounts to root on the host; allow it with --allow-privileged ui`
	if err == nil || err.Error() != want {
		t.Fatalf("archy rollback ui 1: %v, want %q", err, want)
	}
	if after, _ := h.rt.Inspect(ctx, "ui"); after.ID != before.ID || after.State != plan.StateRunning {
		t.Errorf("ui after the refused rollback: %+v, want generation 2's container %s running", after, before.ID)
	}
}

// An interrupted upgrade whose new container fails its proof at recovery
// does not put back a generation today's rules refuse.
func TestRecoverRefusesAGenerationTodaysRulesRefuse(t *testing.T) {
	ctx := context.Background()
	ui := quick(withCapAdd(buildApp(t, "ui"), "SYS_ADMIN"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{}) // generation 1
	old, _ := h.rt.Inspect(ctx, "ui")
	ui.Security.CapAdd = nil
	interrupted(t, h, ui, old, true, "the target")
	h.rt.Start(ctx, "ui")
	err := h.node.Recover(ctx, h.cat, h.node.Applier(&h.out))
	var nwb *NoWayBackError
	if !errors.As(err, &nwb) || !strings.Contains(err.Error(), `generation 1 is not rolled back to: security.cap_add[0]`) {
		t.Fatalf("recovery: %v, want no way back", err)
	}
	for _, name := range []string{"ui", "ui" + schema.KeptSuffix} {
		if c, err := h.rt.Inspect(ctx, name); err != nil || c.State == plan.StateRunning {
			t.Errorf("%s after the recovery: %+v %v, want it there, stopped", name, c, err)
		}
	}
	st := h.state(t)
	if it := st.Apps["ui"]; it.Held != "the target" || !it.HeldStopped || len(st.InFlight) != 0 {
		t.Errorf("after recovery: %+v, in flight %+v", it, st.InFlight)
	}
}
