package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"archy.dev/archy/catalog"
	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/engine/secrets"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

func testApp(id string, deps ...string) *schema.App {
	a := &schema.App{ID: id, ContainerName: id, Role: "service",
		Container:       schema.Container{Source: &schema.Source{Type: "pull", Image: "example.org/" + id + ":1", PullPolicy: "missing"}},
		ContainerConfig: schema.ContainerConfig{Security: schema.Security{NetworkPolicy: "bridge"}}}
	for _, d := range deps {
		a.Dependencies = append(a.Dependencies, schema.Dependency{AppID: d, Condition: "started"})
	}
	return a
}

func buildApp(t *testing.T, id string, deps ...string) *schema.App {
	a := testApp(id, deps...)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.Container.Source = &schema.Source{Type: "build", Tag: "localhost/" + id + ":local", Dockerfile: "Dockerfile", ContextDir: dir}
	return a
}

type harness struct {
	rt   *enginetest.Fake
	node *Node
	cat  *catalog.Catalog
	out  events // the appliers' progress
}

// events records progress events.
type events struct {
	mu  sync.Mutex
	all []ProgressEvent
}

func (e *events) Event(ev ProgressEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

// has reports whether want was among the events.
func (e *events) has(want ProgressEvent) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.ContainsFunc(e.all, func(ev ProgressEvent) bool { return reflect.DeepEqual(ev, want) })
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("%+v", e.all)
}

func newHarness(t *testing.T, apps ...*schema.App) *harness {
	dir := t.TempDir()
	sec, err := secrets.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{rt: enginetest.New(), cat: &catalog.Catalog{Dir: dir, Apps: map[string]*schema.App{}}}
	h.node = &Node{Runtime: h.rt, State: state.Store{Dir: dir}, Secrets: sec}
	for _, a := range apps {
		h.cat.Apps[a.ID] = a
	}
	return h
}

func (h *harness) apply(t *testing.T, opts PlanOptions) (Planned, Report) {
	t.Helper()
	p, err := h.node.Plan(context.Background(), h.cat, opts)
	if err != nil {
		t.Fatal(err)
	}
	a := h.node.Applier(&h.out)
	a.Catalog = p.Catalog
	return p, a.Apply(context.Background(), p.Plan, p.Desired)
}

func TestApplyConvergesInOrderAndThenHasNothingToDo(t *testing.T) {
	h := newHarness(t, testApp("core"), buildApp(t, "ui", "core"), testApp("api", "core"))
	_, rep := h.apply(t, PlanOptions{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	// Every app's dependency is started before the app is created.
	pos := func(call string) int { return slices.Index(h.rt.Calls(), call) }
	for _, dependent := range []string{"ui", "api"} {
		if pos("start core") < 0 || pos("create "+dependent) < pos("start core") {
			t.Errorf("%s created before core started: %v", dependent, h.rt.Calls())
		}
	}
	p, _ := h.apply(t, PlanOptions{})
	if n := p.Plan.Changes(); n != 0 {
		t.Errorf("second plan has %d changes: %+v", n, p.Plan.Steps)
	}
}

func TestFailedBuildSkipsDependentsOnly(t *testing.T) {
	h := newHarness(t, testApp("core"), buildApp(t, "ui", "core"), testApp("ui-plugin", "ui"), testApp("other"))
	h.rt.FailBuild("localhost/ui:local")
	_, rep := h.apply(t, PlanOptions{})

	failed := rep.Failed()
	if len(failed) != 1 || failed[0].App != "ui" || !strings.Contains(failed[0].Err.Error(), "building ui") {
		t.Fatalf("failed = %+v, want only ui's build", failed)
	}
	got := map[string]string{}
	for _, o := range rep.Outcomes {
		got[o.App] = o.Skipped
		if o.Err != nil {
			got[o.App] = "error"
		}
	}
	want := map[string]string{"core": "", "other": "", "ui": "error", "ui-plugin": "dependency ui failed"}
	for app, w := range want {
		if got[app] != w {
			t.Errorf("%s: outcome %q, want %q", app, got[app], w)
		}
	}
	if err := rep.Err(); err == nil || strings.Contains(err.Error(), "ui-plugin") {
		t.Errorf("report = %v; want ui's failure only, no knock-on", err)
	}
	if !h.out.has(StepSkipped{App: "ui-plugin", Reason: "dependency ui failed"}) {
		t.Errorf("progress does not say why ui-plugin was skipped:\n%s", h.out.String())
	}
}

func TestStoppedByOperatorStaysStopped(t *testing.T) {
	h := newHarness(t, testApp("core"))
	h.apply(t, PlanOptions{})
	if err := h.node.State.Update(func(st *state.State) { st.Apps["core"] = plan.AppIntent{Stopped: true} }); err != nil {
		t.Fatal(err)
	}
	h.apply(t, PlanOptions{}) // stops it
	if c, _ := h.rt.Inspect(context.Background(), "core"); c.State == plan.StateRunning {
		t.Fatal("apply did not stop an app the operator stopped")
	}
	p, _ := h.apply(t, PlanOptions{})
	if p.Plan.Changes() != 0 {
		t.Errorf("a stopped app is planned again: %+v", p.Plan.Steps)
	}
}

// Apps the operator stopped are stopped dependents first, and a stop
// waits for no dependency (which is being stopped too).
func TestStopsGoDependentsFirst(t *testing.T) {
	h := newHarness(t, testApp("core"), testApp("mid", "core"), testApp("ui", "mid"), testApp("side", "core"))
	h.apply(t, PlanOptions{})
	if err := h.node.State.Update(func(st *state.State) {
		for _, id := range []string{"core", "mid", "ui", "side"} {
			st.Apps[id] = plan.AppIntent{Stopped: true}
		}
	}); err != nil {
		t.Fatal(err)
	}
	h.rt.ResetCalls()
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	var stops []string
	for _, c := range h.rt.Calls() {
		if strings.HasPrefix(c, "stop ") {
			stops = append(stops, strings.TrimPrefix(c, "stop "))
		}
	}
	pos := map[string]int{}
	for i, id := range stops {
		pos[id] = i
	}
	if len(stops) != 4 || pos["ui"] > pos["mid"] || pos["mid"] > pos["core"] || pos["side"] > pos["core"] {
		t.Errorf("stops in the order %v, want dependents first", stops)
	}
}

func TestAdoptionRecordsAndStartsButNeverRecreates(t *testing.T) {
	h := newHarness(t, testApp("core"))
	h.rt.AddImage("example.org/core:1", nil)
	h.rt.PutContainer(plan.Container{ID: "hand-made", Name: "core", State: plan.StateExited, Image: "example.org/core:1", ImageID: "img1"})
	_, rep := h.apply(t, PlanOptions{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	c, _ := h.rt.Inspect(context.Background(), "core")
	if c.ID != "hand-made" || c.State != plan.StateRunning {
		t.Errorf("container = %+v, want the hand-made one, started", c)
	}
	st, _ := h.node.State.Load()
	if !st.Apps["core"].Adopted {
		t.Error("adoption not recorded")
	}
	if p, _ := h.apply(t, PlanOptions{}); p.Plan.Changes() != 0 {
		t.Errorf("adopted app planned again: %+v", p.Plan.Steps)
	}
}

func TestMissingSecretBlocksOnlyItsConsumers(t *testing.T) {
	lnd := testApp("lnd", "core")
	lnd.Secrets = []schema.Secret{{Name: "lnd-wallet-password", Env: "WALLET_PASSWORD"}}
	h := newHarness(t, testApp("core"), lnd, testApp("lnd-ui", "lnd"), testApp("other"))
	p, rep := h.apply(t, PlanOptions{})

	want := "secret lnd-wallet-password is missing: not in Podman and not in the secrets file"
	for _, s := range p.Plan.Steps {
		if got := s.Blocked; (s.App == "lnd") != (got != "") || (got != "" && got != want) {
			t.Errorf("%s: blocked %q", s.App, got)
		}
	}
	got := map[string]string{}
	for _, o := range rep.Outcomes {
		got[o.App] = o.Skipped
		if o.Err != nil {
			got[o.App] = "error: " + o.Err.Error()
		}
	}
	wantOut := map[string]string{"core": "", "other": "", "lnd": "error: " + want, "lnd-ui": "dependency lnd was blocked"}
	for app, w := range wantOut {
		if got[app] != w {
			t.Errorf("%s: outcome %q, want %q", app, got[app], w)
		}
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "lnd") || strings.Contains(err.Error(), "lnd-ui") {
		t.Errorf("report = %v; want lnd blocked, no knock-on", err)
	}
	for _, c := range []string{"create lnd", "create lnd-ui"} {
		if slices.Contains(h.rt.Calls(), c) {
			t.Errorf("%s happened: %v", c, h.rt.Calls())
		}
	}

	// Once the secret exists, the next plan brings lnd and lnd-ui up.
	if err := h.rt.SetSecret(context.Background(), "lnd-wallet-password", []byte("x")); err != nil {
		t.Fatal(err)
	}
	p, rep = h.apply(t, PlanOptions{})
	if p.Plan.Blocked() || rep.Err() != nil {
		t.Fatalf("blocked %t, err %v; want lnd and lnd-ui converged", p.Plan.Blocked(), rep.Err())
	}
	for _, app := range []string{"lnd", "lnd-ui"} {
		if !slices.ContainsFunc(rep.Outcomes, func(o Outcome) bool { return o.App == app && slices.Contains(o.Done, plan.Create) }) {
			t.Errorf("%s not created: %+v", app, rep.Outcomes)
		}
	}
}

func TestOnlyTakesDependenciesAlong(t *testing.T) {
	h := newHarness(t, testApp("core"), testApp("ui", "core"), testApp("other"))
	p, _ := h.apply(t, PlanOptions{Only: []string{"ui"}})
	var apps []string
	for _, s := range p.Plan.Steps {
		apps = append(apps, s.App)
	}
	if !slices.Equal(apps, []string{"core", "ui"}) {
		t.Errorf("planned %v, want ui and its dependency", apps)
	}
}
