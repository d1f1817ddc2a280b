package engine_test

import (
	"context"
	"slices"
	"testing"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
)

// A plan made without the locks skips the step of an app whose container
// changed before its lock was free, and the apps that depend on it wait
// for it as usual instead of giving up.
func TestApplierSkipsStaleSteps(t *testing.T) {
	h := newHarness(t, testApp("core"), testApp("api", "core"))
	h.apply(t, PlanOptions{})
	for _, name := range []string{"core", "api"} {
		if err := h.rt.Stop(context.Background(), name, 0); err != nil {
			t.Fatal(err)
		}
	}
	p, err := h.node.Plan(context.Background(), h.cat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else starts core between the plan and the apply.
	if err := h.rt.Start(context.Background(), "core"); err != nil {
		t.Fatal(err)
	}
	var locks state.AppLocks
	var locked []string
	a := h.node.Applier(&h.out)
	a.Lock = func(ctx context.Context, app string) (func(), error) {
		locked = append(locked, app)
		return locks.Lock(ctx, app)
	}
	h.rt.ResetCalls()
	rep := a.Apply(context.Background(), p.Plan, p.Desired)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	outcome := map[string]Outcome{}
	for _, o := range rep.Outcomes {
		outcome[o.App] = o
	}
	if o := outcome["core"]; !o.Stale || len(o.Done) != 0 {
		t.Errorf("core: %+v, want skipped as stale", o)
	}
	if o := outcome["api"]; o.Skipped != "" || !slices.Equal(o.Done, []plan.Action{plan.Start}) {
		t.Errorf("api: %+v, want started", o)
	}
	if !slices.Equal(locked, []string{"core", "api"}) {
		t.Errorf("locked %v, want each app's lock in order", locked)
	}
	if slices.Contains(h.rt.Calls(), "start core") {
		t.Errorf("core started again: %v", h.rt.Calls())
	}
}

func TestHeal(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, testApp("core"))
	h.apply(t, PlanOptions{})
	app := h.cat.Apps["core"]
	running, err := h.rt.Inspect(ctx, "core")
	if err != nil {
		t.Fatal(err)
	}
	running.Pid = 4242 // the process seen to end (the fake runs none)
	h.rt.Stop(ctx, "core", 0)

	// The spec changed since the container was made: a plan decides.
	changed := *app
	changed.Environment = map[string]string{"NEW": "1"}
	if res, err := h.node.Heal(ctx, &changed, running); res != HealNeedsPlan || err != nil {
		t.Errorf("a container of an older spec: %v, %v; want a plan", res, err)
	}
	// The operator stopped it: it stays stopped.
	h.node.State.Update(func(st *state.State) { st.Apps["core"] = plan.AppIntent{Stopped: true} })
	if res, err := h.node.Heal(ctx, app, running); res != HealNeedsPlan || err != nil {
		t.Errorf("an app the operator stopped: %v, %v; want a plan", res, err)
	}
	h.node.State.Update(func(st *state.State) { st.Apps["core"] = plan.AppIntent{} })
	if res, err := h.node.Heal(ctx, app, running); res != HealStarted || err != nil {
		t.Fatalf("not healed: %v, %v", res, err)
	}
	if c, _ := h.rt.Inspect(ctx, "core"); c.State != plan.StateRunning {
		t.Errorf("core is %s after the heal", c.State)
	}
	// Running again (someone restarted it): left alone.
	if res, err := h.node.Heal(ctx, app, running); res != HealLeft || err != nil {
		t.Errorf("a running container: %v, %v; want it left alone", res, err)
	}
	// Killed (SIGKILL: podman rm -f may be under way): left to the event;
	// crashed (SIGSEGV): started.
	for code, want := range map[int]HealResult{137: HealLeft, 143: HealLeft, 139: HealStarted, 1: HealStarted} {
		h.rt.Stop(ctx, "core", 0)
		h.rt.Crash("core", code) // its exit code
		if res, err := h.node.Heal(ctx, app, running); res != want || err != nil {
			t.Errorf("exit %d: %v, %v; want %v", code, res, err, want)
		}
	}
}

// A recreate planned before an upgrade to the same target failed and was
// rolled back (the container looks as before: same id, running) is
// skipped: the target is held now.
func TestApplierSkipsStepsHeldMeanwhile(t *testing.T) {
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	changeBuild(t, ui, "v2")
	p, err := h.node.Plan(context.Background(), h.cat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	step := p.Plan.Steps[0]
	if !step.Has(plan.Recreate) || step.Target == "" {
		t.Fatalf("step %+v, want a recreate with its target", step)
	}
	h.node.State.Update(func(st *state.State) { st.Apps["ui"] = plan.AppIntent{Held: step.Target} })
	var locks state.AppLocks
	a := h.node.Applier(&h.out)
	a.Lock = locks.Lock
	h.rt.ResetCalls()
	rep := a.Apply(context.Background(), p.Plan, p.Desired)
	if o := rep.Outcomes[0]; !o.Stale || len(o.Done) != 0 {
		t.Errorf("outcome %+v, want skipped: held meanwhile", o)
	}
	if len(h.rt.Calls()) > 1 { // the inspect of the check only
		t.Errorf("calls %v, want nothing done", h.rt.Calls())
	}
}

// An archy stop between the plan and the step (of a container that had
// exited anyway: Podman shows no change) makes the step stale.
func TestApplierSkipsStepsStoppedMeanwhile(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, testApp("core"))
	h.apply(t, PlanOptions{})
	h.rt.Stop(ctx, "core", 0)
	p, err := h.node.Plan(ctx, h.cat, PlanOptions{})
	if err != nil || !p.Plan.Steps[0].Has(plan.Start) {
		t.Fatalf("plan %+v, %v; want a start", p.Plan.Steps, err)
	}
	h.node.State.Update(func(st *state.State) { st.Apps["core"] = plan.AppIntent{Stopped: true} })
	var locks state.AppLocks
	a := h.node.Applier(&h.out)
	a.Lock = locks.Lock
	rep := a.Apply(ctx, p.Plan, p.Desired)
	if o := rep.Outcomes[0]; !o.Stale {
		t.Errorf("outcome %+v, want stale", o)
	}
	if c, _ := h.rt.Inspect(ctx, "core"); c.State == plan.StateRunning {
		t.Error("started an app the operator stopped meanwhile")
	}
}
