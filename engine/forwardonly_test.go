package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

func forwardOnly(a *schema.App) *schema.App {
	a.Upgrade.Rollback = schema.RollbackForwardOnly
	return a
}

// A forward-only app whose new generation fails its proof is not rolled
// back: the new container is kept stopped, the old one set aside (not
// started, not removed), the app held; plans and applies leave it so; the
// dependents are skipped. archy rollback refuses without --force, and
// with it returns to the previous generation.
func TestForwardOnlyFailedUpgradeIsKeptStoppedAndHeld(t *testing.T) {
	ctx := context.Background()
	db := forwardOnly(quick(buildApp(t, "db")))
	ui := quick(buildApp(t, "ui", "db"))
	h := newHarness(t, db, ui)
	h.apply(t, PlanOptions{})
	before, _ := h.rt.Inspect(ctx, "db")

	changeBuild(t, db, "v2")
	changeBuild(t, ui, "v2")
	h.rt.BreakNext(plan.NormalizeRef(db.Container.Source.Tag))
	_, rep := h.apply(t, PlanOptions{})
	byApp := outcomesByApp(rep)
	var fo *ForwardOnlyError
	o := byApp["db"]
	if o.RolledBack || !errors.As(o.Err, &fo) || fo.Failed != 2 || fo.Previous != 1 || fo.Kept != "db"+schema.KeptSuffix {
		t.Fatalf("db: %+v (%#v), want a forward-only failure of generation 2, generation 1 set aside", o, fo)
	}
	for _, want := range []string{"upgrade to generation 2 failed its proof", "db is forward-only, so archy did not start generation 1",
		"kept stopped", "set aside as db-archy-previous", "`archy upgrade db`", "`archy rollback db --force`"} {
		if !strings.Contains(o.Err.Error(), want) {
			t.Errorf("error %q does not say %q", o.Err, want)
		}
	}
	if o := byApp["ui"]; o.Skipped != "dependency db failed" {
		t.Errorf("ui: %+v, want skipped", o)
	}
	if !h.out.has(HoldingForward{App: "db", Generation: 2, Reason: fo.Reason, Previous: 1, Kept: "db" + schema.KeptSuffix}) {
		t.Errorf("no HoldingForward event: %s", &h.out)
	}
	checkKeptStopped := func(when string) {
		t.Helper()
		now, err := h.rt.Inspect(ctx, "db")
		if err != nil || now.ID == before.ID || now.ImageID == before.ImageID || now.State == plan.StateRunning {
			t.Errorf("%s: db is %+v, %v; want the new container, stopped", when, now, err)
		}
		kept, err := h.rt.Inspect(ctx, "db"+schema.KeptSuffix)
		if err != nil || kept.ID != before.ID || kept.State == plan.StateRunning {
			t.Errorf("%s: set aside %+v, %v; want generation 1's container, stopped", when, kept, err)
		}
	}
	checkKeptStopped("after the failed upgrade")
	st := h.state(t)
	if it := st.Apps["db"]; it.Held == "" || !it.HeldStopped || !strings.Contains(it.HeldWhy, "forward-only") {
		t.Errorf("db's intent %+v, want held, kept stopped", it)
	}
	if len(st.InFlight) != 0 {
		t.Errorf("in flight: %+v", st.InFlight)
	}
	if got := outcomes(st, "db"); len(got) != 2 || !strings.HasPrefix(got[1], "failed: ") {
		t.Errorf("db's generations %v", got)
	}

	// Held: the next plan neither starts nor recreates it, and says why.
	p, rep := h.apply(t, PlanOptions{Only: []string{"db"}})
	for _, s := range p.Plan.Steps {
		if s.App == "db" && (len(s.Actions) != 0 || !strings.Contains(strings.Join(s.Notes, " "), "held: generation 2 failed")) {
			t.Errorf("db's step while held: %+v", s)
		}
	}
	if rep.Err() != nil {
		t.Errorf("apply while held: %v", rep.Err())
	}
	checkKeptStopped("after another apply")

	a := h.node.Applier(&h.out)
	if _, err := h.node.Rollback(ctx, h.cat, "db", 0, false, a); err == nil ||
		!strings.Contains(err.Error(), "db is forward-only") || !strings.Contains(err.Error(), "archy rollback db --force") {
		t.Errorf("rollback without --force: %v", err)
	}
	checkKeptStopped("after a refused rollback")
	g, err := h.node.Rollback(ctx, h.cat, "db", 0, true, a)
	if err != nil || g.N != 1 {
		t.Fatalf("rollback --force: generation %d, %v", g.N, err)
	}
	now, _ := h.rt.Inspect(ctx, "db")
	if now.ImageID != before.ImageID || now.State != plan.StateRunning {
		t.Errorf("after rollback --force db is %+v, want generation 1 running", now)
	}
	if it := h.state(t).Apps["db"]; it.HeldStopped || it.Held == "" {
		t.Errorf("after rollback --force: %+v, want held at generation 1, not kept stopped", it)
	}
	if p, _ := h.apply(t, PlanOptions{Only: []string{"db"}}); p.Plan.Changes() != 0 {
		t.Errorf("an apply after the rollback changes %+v", p.Plan.Steps)
	}
}

// A second failed upgrade of a held forward-only app names the last good
// generation as the way back, not the failed one it replaced; a good
// upgrade ends the hold.
func TestForwardOnlyRepeatedFailureThenFix(t *testing.T) {
	ctx := context.Background()
	db := forwardOnly(quick(buildApp(t, "db")))
	h := newHarness(t, db)
	h.apply(t, PlanOptions{})
	good, _ := h.rt.Inspect(ctx, "db")
	for i, content := range []string{"broken", "broken again"} {
		changeBuild(t, db, content)
		h.rt.BreakNext(plan.NormalizeRef(db.Container.Source.Tag))
		_, rep := h.apply(t, PlanOptions{Only: []string{"db"}, Upgrade: []string{"db"}})
		var fo *ForwardOnlyError
		if !errors.As(rep.Err(), &fo) || fo.Previous != 1 || fo.Kept != "db"+schema.KeptSuffix {
			t.Fatalf("attempt %d: %v (%+v), want generation 1 as the way back", i, rep.Err(), fo)
		}
		if c, err := h.rt.Inspect(ctx, "db"+schema.KeptSuffix); err != nil || c.ID != good.ID || c.State == plan.StateRunning {
			t.Fatalf("attempt %d: set aside %+v, %v; want generation 1's very container, stopped", i, c, err)
		}
	}
	if n := len(h.rt.ContainerNames()); n != 2 {
		t.Errorf("containers %v, want the failed one and the one set aside", h.rt.ContainerNames())
	}

	// podman rm of the failed container: the good generation is made
	// again, but not started on the data the failed one may have migrated.
	h.rt.Remove(ctx, "db", 0)
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if c, err := h.rt.Inspect(ctx, "db"); err != nil || c.ImageID != good.ImageID || c.State == plan.StateRunning {
		t.Errorf("after podman rm of the failed container: %+v, %v; want generation 1 made again, stopped", c, err)
	}
	changeBuild(t, db, "fixed")
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatalf("the fixed version: %v", rep.Err())
	}
	c, _ := h.rt.Inspect(ctx, "db")
	it := h.state(t).Apps["db"]
	if c.State != plan.StateRunning || it.Held != "" || it.HeldStopped {
		t.Errorf("after the fix: %+v, %+v; want it running, not held", c, it)
	}
	if slices.ContainsFunc(h.rt.ContainerNames(), func(n string) bool { return strings.HasSuffix(n, schema.KeptSuffix) }) {
		t.Errorf("a container is still set aside: %v", h.rt.ContainerNames())
	}
}

// A forward-only app whose interrupted upgrade made a new container that
// fails its proof at recovery is held as a failed upgrade is: the new
// container kept stopped, the old one set aside, never started.
func TestRecoverForwardOnly(t *testing.T) {
	ctx := context.Background()
	db := forwardOnly(quick(buildApp(t, "db")))
	h := newHarness(t, db)
	h.apply(t, PlanOptions{})
	old, _ := h.rt.Inspect(ctx, "db")
	a := h.node.Applier(&h.out)

	// Killed during the proof of a new container that fails it.
	interrupted(t, h, db, old, true, "the target")
	h.rt.Start(ctx, "db")
	err := h.node.Recover(ctx, h.cat, a)
	var fo *ForwardOnlyError
	if !errors.As(err, &fo) || fo.Previous != 1 || fo.Kept != "db"+schema.KeptSuffix {
		t.Fatalf("recovery: %v, want a forward-only hold", err)
	}
	if c, _ := h.rt.Inspect(ctx, "db"); c.ID == old.ID || c.State == plan.StateRunning {
		t.Errorf("after recovery db is %+v, want the new container, stopped", c)
	}
	if c, err := h.rt.Inspect(ctx, "db"+schema.KeptSuffix); err != nil || c.ID != old.ID || c.State == plan.StateRunning {
		t.Errorf("after recovery the old container is %+v, %v; want it set aside, stopped", c, err)
	}
	st := h.state(t)
	if it := st.Apps["db"]; it.Held != "the target" || !it.HeldStopped || len(st.InFlight) != 0 {
		t.Errorf("after recovery: %+v, in flight %+v", it, st.InFlight)
	}
	if got := outcomes(st, "db"); len(got) != 2 || !strings.HasPrefix(got[1], "failed: ") {
		t.Errorf("generations %v, want the new container recorded as failed", got)
	}
}

// Recovery of a forward-only app stopped by the operator: a new container
// that ran stays (stopped, held); one that never started gives way to the
// old one, stopped, as for any app.
func TestRecoverForwardOnlyStoppedByTheOperator(t *testing.T) {
	ctx := context.Background()
	for _, ran := range []bool{true, false} {
		db := forwardOnly(quick(buildApp(t, "db")))
		h := newHarness(t, db)
		h.apply(t, PlanOptions{})
		old, _ := h.rt.Inspect(ctx, "db")
		interrupted(t, h, db, old, false, "the target")
		if ran {
			h.rt.Start(ctx, "db")
			h.rt.Stop(ctx, "db", 0)
		}
		h.node.State.Update(func(st *state.State) { st.Apps["db"] = plan.AppIntent{Stopped: true} })
		err := h.node.Recover(ctx, h.cat, h.node.Applier(&h.out))
		c, _ := h.rt.Inspect(ctx, "db")
		var fo *ForwardOnlyError
		switch {
		case ran && (!errors.As(err, &fo) || c.ID == old.ID || c.State == plan.StateRunning || !h.state(t).Apps["db"].HeldStopped):
			t.Errorf("a new container that ran: %v, db %+v; want it kept stopped and held", err, c)
		case !ran && (err != nil || c.ID != old.ID || c.State == plan.StateRunning):
			t.Errorf("a new container that never ran: %v, db %+v; want the old one back, stopped", err, c)
		}
	}
}
