package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// quick makes proofs fast: no health check, a short grace period.
func quick(a *schema.App) *schema.App {
	a.Upgrade = schema.Upgrade{HealthTimeout: schema.Duration(time.Second), GracePeriod: schema.Duration(10 * time.Millisecond)}
	return a
}

// changeBuild edits an app's build context, so that the next plan
// rebuilds and recreates it.
func changeBuild(t *testing.T, a *schema.App, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(a.Container.Source.ContextDir, "page"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) state(t *testing.T) state.State {
	t.Helper()
	st, err := h.node.State.Load()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func outcomes(st state.State, app string) []string {
	var out []string
	for _, g := range st.Generations[app] {
		out = append(out, g.Outcome)
	}
	return out
}

// interrupted leaves app as an archy killed during an upgrade's proof
// leaves it: its old container (old, generation 1) stopped and set aside, a
// new one made from a new build (broken: it exits when started), recorded
// in flight with target.
func interrupted(t *testing.T, h *harness, app *schema.App, old plan.Container, broken bool, target string) {
	t.Helper()
	ctx := context.Background()
	kept := app.ContainerName + schema.KeptSuffix
	h.rt.Stop(ctx, app.ContainerName, 0)
	h.rt.Rename(ctx, app.ContainerName, kept)
	changeBuild(t, app, "v2")
	if broken {
		h.rt.BreakNext(plan.NormalizeRef(app.Container.Source.Tag))
	}
	h.rt.Build(ctx, BuildSpec{Tag: app.Container.Source.Tag}, io.Discard)
	if _, err := h.node.Applier(nil).CreateContainer(ctx, app, app.Container.Source.Tag, nil); err != nil {
		t.Fatal(err)
	}
	h.node.State.Update(func(st *state.State) {
		st.InFlight = map[string]state.InFlight{app.ID: {From: 1, OldID: old.ID, Kept: kept, Target: target}}
	})
}

func outcomesByApp(rep Report) map[string]Outcome {
	m := map[string]Outcome{}
	for _, o := range rep.Outcomes {
		m[o.App] = o
	}
	return m
}

func TestUpgradeRecordsGenerations(t *testing.T) {
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	for i, content := range []string{"v2", "v3", "v4"} {
		changeBuild(t, ui, content)
		if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
			t.Fatalf("upgrade %d: %v", i, rep.Err())
		}
	}
	st := h.state(t)
	gens := st.Generations["ui"]
	if len(gens) != state.KeepGenerations || gens[0].N != 2 || gens[len(gens)-1].N != 4 {
		t.Fatalf("generations %+v, want the last %d of 4", gens, state.KeepGenerations)
	}
	if got := outcomes(st, "ui"); !slices.Equal(got, []string{"healthy", "healthy", "healthy"}) {
		t.Errorf("outcomes %v", got)
	}
	// Each generation's image is kept under archy's reference; the one
	// that dropped out of the history is released.
	for _, g := range gens {
		if img, ok := h.rt.Image(g.Keep); g.Keep == "" || !ok || img.ID != g.ImageID {
			t.Errorf("generation %d's image is not kept: %+v", g.N, g)
		}
	}
	if !slices.Contains(h.rt.Calls(), "untag "+KeepRef("ui", 1)) {
		t.Errorf("generation 1's image was not released: %v", h.rt.Calls())
	}
}

func TestFailedUpgradeRollsBackAndHolds(t *testing.T) {
	core := quick(buildApp(t, "core"))
	ui := quick(buildApp(t, "ui", "core"))
	other := quick(buildApp(t, "other"))
	h := newHarness(t, core, ui, other)
	h.apply(t, PlanOptions{})
	before, _ := h.rt.Inspect(context.Background(), "core")

	// A whole-node upgrade in which core's new build exits at once: core is
	// rolled back, ui (which depends on it) is held back, other upgrades.
	for _, a := range []*schema.App{core, ui, other} {
		changeBuild(t, a, "v2")
	}
	h.rt.BreakNext(plan.NormalizeRef(core.Container.Source.Tag))
	_, rep := h.apply(t, PlanOptions{})
	byApp := outcomesByApp(rep)
	var rb *RollbackError
	if o := byApp["core"]; !o.RolledBack || !errors.As(o.Err, &rb) || rb.Restored != 1 || rb.Failed != 2 {
		t.Fatalf("core: %+v, want rolled back from generation 2 to 1", o)
	}
	if o := byApp["ui"]; !strings.HasPrefix(o.Skipped, "held back: dependency core was rolled back") {
		t.Errorf("ui: %+v, want held back", o)
	}
	if o := byApp["other"]; o.Err != nil || !slices.Contains(o.Done, plan.Recreate) {
		t.Errorf("other: %+v, want upgraded", o)
	}
	after, _ := h.rt.Inspect(context.Background(), "core")
	if after.ImageID != before.ImageID || after.State != plan.StateRunning || after.Labels[plan.LabelSpecHash] != before.Labels[plan.LabelSpecHash] {
		t.Errorf("core runs %+v after the rollback, want generation 1 (%s)", after, before.ImageID)
	}
	st := h.state(t)
	if got := outcomes(st, "core"); len(got) != 2 || !strings.HasPrefix(got[1], "failed: ") {
		t.Errorf("core's generations: %v, want the failure recorded", got)
	}
	if len(st.InFlight) != 0 {
		t.Errorf("in flight after the run: %+v", st.InFlight)
	}

	// The failed target is held: the next plan leaves core alone (and
	// says why); archy upgrade tries again.
	p, err := h.node.Plan(context.Background(), h.cat, PlanOptions{Only: []string{"core"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Plan.Steps {
		if s.App == "core" && (s.Has(plan.Recreate) || !strings.Contains(strings.Join(s.Notes, " "), "held at the running generation")) {
			t.Errorf("core's step after a rollback: %+v", s)
		}
	}
	p, _ = h.node.Plan(context.Background(), h.cat, PlanOptions{Only: []string{"core"}, Upgrade: []string{"core"}})
	if s := p.Plan.Steps[len(p.Plan.Steps)-1]; s.App != "core" || !s.Has(plan.Recreate) {
		t.Errorf("archy upgrade after a rollback: %+v", p.Plan.Steps)
	}
}

func TestRollbackCommand(t *testing.T) {
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	first, _ := h.rt.Inspect(context.Background(), "ui")
	changeBuild(t, ui, "v2")
	h.apply(t, PlanOptions{})

	a := h.node.Applier(&h.out)
	g, err := h.node.Rollback(context.Background(), h.cat, "ui", 0, false, a)
	if err != nil || g.N != 1 {
		t.Fatalf("rollback: generation %d, %v", g.N, err)
	}
	now, _ := h.rt.Inspect(context.Background(), "ui")
	if now.ImageID != first.ImageID || now.State != plan.StateRunning {
		t.Errorf("after rollback ui runs %s (%s), want %s", now.ImageID, now.State, first.ImageID)
	}
	if !h.out.has(Proving{App: "ui", Generation: 1, Timeout: time.Second}) {
		t.Errorf("progress does not say generation 1 is proved: %s", &h.out)
	}
	hist, err := h.node.History(context.Background(), h.cat, "ui")
	// Going back makes generation 1 again, as generation 3.
	if err != nil || hist.Current != 3 || len(hist.Generations) != 3 || hist.Generations[2].ImageID != first.ImageID ||
		hist.Held != "rolled back to generation 1 by the operator" {
		t.Errorf("history after rollback: %+v, %v; want generation 3 (1 again) current, held", hist, err)
	}
	p, _ := h.apply(t, PlanOptions{})
	if p.Plan.Changes() != 0 {
		t.Errorf("an apply after archy rollback changes %+v", p.Plan.Steps)
	}
	if _, err := h.node.Rollback(context.Background(), h.cat, "ui", 9, false, a); err == nil || !strings.Contains(err.Error(), "no generation 9") {
		t.Errorf("rollback to a missing generation: %v", err)
	}
}

// A replacement interrupted after the old container went (archy killed)
// is finished by the next run: the previous generation comes back.
func TestRecoverRestoresTheReplacedGeneration(t *testing.T) {
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	old, _ := h.rt.Inspect(context.Background(), "ui")
	st := h.state(t)
	h.node.State.Update(func(s *state.State) {
		s.InFlight = map[string]state.InFlight{"ui": {From: st.Generations["ui"][0].N}}
	})
	h.rt.Remove(context.Background(), "ui", 0)

	a := h.node.Applier(&h.out)
	if err := h.node.Recover(context.Background(), h.cat, a); err != nil {
		t.Fatal(err)
	}
	c, err := h.rt.Inspect(context.Background(), "ui")
	if err != nil || c.ImageID != old.ImageID || c.State != plan.StateRunning {
		t.Fatalf("after recovery: %+v, %v; want generation 1 running", c, err)
	}
	if st := h.state(t); len(st.InFlight) != 0 {
		t.Errorf("still in flight: %+v", st.InFlight)
	}
}

// Failed upgrades in a row never push the good generation out of the
// history; a missing container of a held app is made from it again,
// without trying the held target.
func TestRepeatedFailuresKeepTheGoodGeneration(t *testing.T) {
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	good, _ := h.rt.Inspect(context.Background(), "ui")
	for i := range 4 {
		changeBuild(t, ui, fmt.Sprint("broken ", i))
		h.rt.BreakNext(plan.NormalizeRef(ui.Container.Source.Tag))
		if _, rep := h.apply(t, PlanOptions{Only: []string{"ui"}, Upgrade: []string{"ui"}}); !rep.Outcomes[0].RolledBack {
			t.Fatalf("attempt %d: %+v, want a rollback", i, rep.Outcomes)
		}
	}
	st := h.state(t)
	if g := st.Generations["ui"]; len(g) != state.KeepGenerations || g[0].N != 1 || g[0].Keep == "" {
		t.Fatalf("generations %+v: the good generation 1 must stay", g)
	}
	if c, _ := h.rt.Inspect(context.Background(), "ui"); c.ImageID != good.ImageID {
		t.Fatalf("ui runs %s, want generation 1's %s", c.ImageID, good.ImageID)
	}

	h.rt.Remove(context.Background(), "ui", 0)
	h.rt.ResetCalls()
	_, rep := h.apply(t, PlanOptions{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if c, _ := h.rt.Inspect(context.Background(), "ui"); c.ImageID != good.ImageID || c.State != plan.StateRunning {
		t.Errorf("after podman rm of a held app: %+v, want generation 1 running", c)
	}
	if !h.out.has(RemakingHeld{App: "ui", Generation: 1}) {
		t.Errorf("progress does not say the held target was skipped:\n%s", h.out.String())
	}
}

// The old container is set aside, not removed, while the new one is
// proved: a rollback brings back that very container (same id), even one
// archy did not make (adopted), and a proved upgrade removes it.
func TestRollbackPutsBackTheVeryContainer(t *testing.T) {
	ctx := context.Background()
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	changeBuild(t, ui, "v2")
	h.apply(t, PlanOptions{})
	for _, name := range h.rt.ContainerNames() {
		if strings.HasSuffix(name, schema.KeptSuffix) {
			t.Errorf("the old container %s is still there after a proved upgrade", name)
		}
	}

	before, _ := h.rt.Inspect(ctx, "ui")
	changeBuild(t, ui, "broken")
	h.rt.BreakNext(plan.NormalizeRef(ui.Container.Source.Tag))
	h.apply(t, PlanOptions{})
	after, _ := h.rt.Inspect(ctx, "ui")
	if after.ID != before.ID || after.State != plan.StateRunning {
		t.Errorf("after the rollback ui is %+v, want the same container %s running", after, before.ID)
	}

	// A container archy did not make (adopted) comes back too.
	h.rt.Remove(ctx, "ui", 0)
	h.rt.PutContainer(plan.Container{ID: "handmade", Name: "ui", State: plan.StateRunning,
		ImageID: "other", Image: "example.org/ui:old", Labels: map[string]string{}})
	changeBuild(t, ui, "broken again")
	h.rt.BreakNext(plan.NormalizeRef(ui.Container.Source.Tag))
	_, rep := h.apply(t, PlanOptions{Only: []string{"ui"}, Upgrade: []string{"ui"}})
	var rb *RollbackError
	if o := rep.Outcomes[0]; !errors.As(o.Err, &rb) || !strings.Contains(o.Err.Error(), "rolled back to the container it replaced") {
		t.Fatalf("upgrade of an adopted container: %+v", o)
	}
	if c, _ := h.rt.Inspect(ctx, "ui"); c.ID != "handmade" || c.State != plan.StateRunning {
		t.Errorf("after the rollback ui is %+v, want the handmade container running", c)
	}
}

// Recovery tells the old container from the new by id: an adopted one
// that was never set aside is simply started again; with the app stopped
// by the operator, an unproved new container gives way to the old one,
// stopped.
func TestRecoverByContainerID(t *testing.T) {
	ctx := context.Background()
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	old, _ := h.rt.Inspect(ctx, "ui")
	a := h.node.Applier(&h.out)

	// Killed between stopping the old container and setting it aside.
	h.rt.Stop(ctx, "ui", 0)
	h.node.State.Update(func(st *state.State) {
		st.InFlight = map[string]state.InFlight{"ui": {OldID: old.ID, Kept: "ui" + schema.KeptSuffix}}
	})
	if err := h.node.Recover(ctx, h.cat, a); err != nil {
		t.Fatal(err)
	}
	if c, _ := h.rt.Inspect(ctx, "ui"); c.ID != old.ID || c.State != plan.StateRunning {
		t.Errorf("after recovery: %+v, want the old container running", c)
	}

	// Killed during the proof of a new container, the app stopped since.
	interrupted(t, h, ui, old, false, "")
	h.node.State.Update(func(st *state.State) { st.Apps["ui"] = plan.AppIntent{Stopped: true} })
	if err := h.node.Recover(ctx, h.cat, a); err != nil {
		t.Fatal(err)
	}
	c, _ := h.rt.Inspect(ctx, "ui")
	if c.ID != old.ID || c.State == plan.StateRunning {
		t.Errorf("after recovery: %+v, want the old container back, stopped", c)
	}
	if _, err := h.rt.Inspect(ctx, "ui"+schema.KeptSuffix); !errors.Is(err, ErrNotFound) {
		t.Errorf("the set-aside name is still taken: %v", err)
	}
}

// An upgrade whose new container warms up for longer than health_timeout
// is proved once the warm-up ends; one still warming up after
// start_timeout is rolled back as before.
func TestUpgradeProofWaitsThroughWarmUp(t *testing.T) {
	core := buildApp(t, "core")
	core.Upgrade = schema.Upgrade{HealthTimeout: schema.Duration(300 * time.Millisecond)}
	core.HealthCheck = &schema.HealthCheck{Type: schema.HealthExec, Command: []string{"bitcoin-cli", "getblockchaininfo"},
		Interval: schema.Duration(time.Second), Retries: 1, StartTimeout: schema.Duration(time.Hour),
		Starting: &schema.Starting{ExitCodes: []int{28}}}
	h := newHarness(t, core)
	h.apply(t, PlanOptions{})

	changeBuild(t, core, "v2")
	h.rt.SetExec("core", 28, "error code: -28\nerror message:\nLoading block index…\n")
	warm := time.AfterFunc(5*time.Duration(core.Upgrade.HealthTimeout), func() { h.rt.SetExec("core", 0, "") })
	defer warm.Stop()
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatalf("an upgrade that warms up was not proved: %v", rep.Err())
	}
	if got := outcomes(h.state(t), "core"); !slices.Equal(got, []string{"created", "healthy"}) {
		t.Errorf("outcomes %v, want generation 2 healthy", got)
	}
	warmingUp := 0
	for _, ev := range h.out.all {
		if w, ok := ev.(WarmingUp); ok && w.App == "core" && w.Note == "error code: -28" {
			warmingUp++
		}
	}
	if warmingUp != 1 {
		t.Errorf("%d WarmingUp events with the note, want 1: %v", warmingUp, h.out.all)
	}

	// No warm-up allowed (start_timeout 0s): starting answers fail.
	core.HealthCheck.StartTimeout = 0
	changeBuild(t, core, "v3")
	h.rt.SetExec("core", 28, "error code: -28\n")
	_, rep := h.apply(t, PlanOptions{})
	var rb *RollbackError
	if err := rep.Err(); !errors.As(err, &rb) || !strings.Contains(err.Error(), "still starting: error code: -28 after start_period 0s + start_timeout 0s") {
		t.Fatalf("got %v, want a rollback for a warm-up past start_timeout", err)
	}
}

// An upgrade of a pulled app asks the registry and must hear its answer:
// with the registry down it fails and replaces nothing, where Podman's
// "newer" took the local image and the upgrade said "pulled" (issue 14,
// item 12 h).
func TestUpgradeWithTheRegistryDownFails(t *testing.T) {
	h := newHarness(t, testApp("core"))
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	before, err := h.rt.Inspect(context.Background(), "core")
	if err != nil {
		t.Fatal(err)
	}
	h.rt.RegistryDown(true)
	rep, err := h.node.Upgrade(context.Background(), h.cat, "core", h.node.Applier(&h.out))
	if err == nil {
		err = rep.Err()
	}
	if err == nil || !strings.Contains(err.Error(), "pulling example.org/core:1: pinging container registry") {
		t.Fatalf("upgrade with the registry down: err = %v, want the pull's failure", err)
	}
	for _, o := range rep.Outcomes {
		if slices.Contains(o.Done, plan.Pull) {
			t.Errorf("%s: reported as pulled: %+v", o.App, o)
		}
	}
	if after, _ := h.rt.Inspect(context.Background(), "core"); after.ID != before.ID || after.State != plan.StateRunning {
		t.Errorf("the running container was touched: before %+v, after %+v", before, after)
	}
}

// A container left set aside with no record of the replacement (an
// earlier archy dropped the record first, and was killed before it
// removed the container) is removed once the app runs a generation archy
// keeps, and put back when the app has no container.
func TestRecoverSetAsideWithoutRecord(t *testing.T) {
	ctx := context.Background()
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	old, _ := h.rt.Inspect(ctx, "ui")
	a := h.node.Applier(&h.out)
	kept := "ui" + schema.KeptSuffix

	// Left set aside behind a new container of the kept generation.
	h.rt.Stop(ctx, "ui", 0)
	h.rt.Rename(ctx, "ui", kept)
	if _, err := a.CreateContainer(ctx, ui, ui.Container.Source.Tag, nil); err != nil {
		t.Fatal(err)
	}
	h.rt.Start(ctx, "ui")
	running, _ := h.rt.Inspect(ctx, "ui")
	if err := h.node.Recover(ctx, h.cat, a); err != nil {
		t.Fatal(err)
	}
	if _, err := h.rt.Inspect(ctx, kept); !errors.Is(err, ErrNotFound) {
		t.Errorf("%s after recovery: %v, want it removed", kept, err)
	}
	if c, _ := h.rt.Inspect(ctx, "ui"); c.ID != running.ID || c.State != plan.StateRunning {
		t.Errorf("ui after recovery: %+v, want %s untouched", c, running.ID)
	}

	// Left set aside, and the app has no container: it is put back.
	h.rt.Stop(ctx, "ui", 0)
	h.rt.Rename(ctx, "ui", kept)
	if err := h.node.Recover(ctx, h.cat, a); err != nil {
		t.Fatal(err)
	}
	if c, err := h.rt.Inspect(ctx, "ui"); err != nil || c.ID != running.ID || c.State != plan.StateRunning {
		t.Errorf("ui after recovery: %+v, %v; want the set-aside container back, running", c, err)
	}
	if old.ID == running.ID {
		t.Errorf("the test made no new container")
	}
}

// A replacement sets the old container aside while it runs and creates
// the new one before it stops the old one (a create error then costs the
// running app nothing), and stops the old one before the new one starts
// (they may publish the same ports).
func TestReplaceCreatesBeforeItStops(t *testing.T) {
	ui := quick(buildApp(t, "ui"))
	h := newHarness(t, ui)
	h.apply(t, PlanOptions{})
	changeBuild(t, ui, "v2")
	h.rt.ResetCalls()
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	kept := "ui" + schema.KeptSuffix
	want := []string{"rename ui " + kept, "create ui", "stop " + kept, "start ui", "stop " + kept, "remove " + kept}
	var got []string
	for _, c := range h.rt.Calls() {
		if slices.Contains(want, c) {
			got = append(got, c)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the swap's calls %v, want %v (all calls: %v)", got, want, h.rt.Calls())
	}
}
