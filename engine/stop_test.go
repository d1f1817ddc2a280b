package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// Every stop and removal archy makes gives the container the app's stop
// timeout: plan's stop, restart, the set-aside and removal of a
// replacement, rollback, rm, and --prune (from the container's label).
func TestEveryStopUsesTheAppsTimeout(t *testing.T) {
	ctx := context.Background()
	core := quick(buildApp(t, "core"))
	core.Stop = schema.Stop{Signal: "SIGINT", Timeout: schema.Duration(90 * time.Second)}
	h := newHarness(t, core)
	a := h.node.Applier(&h.out)
	h.apply(t, PlanOptions{})

	if err := h.node.Stop(ctx, h.cat, "core", a); err != nil {
		t.Fatal(err)
	}
	if _, err := h.node.Start(ctx, h.cat, "core", a); err != nil {
		t.Fatal(err)
	}
	if err := h.node.Restart(ctx, h.cat, "core", a); err != nil {
		t.Fatal(err)
	}
	core.Environment = map[string]string{"V": "2"} // a spec change: recreate
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if _, err := h.node.Rollback(ctx, h.cat, "core", 0, false, a); err != nil {
		t.Fatal(err)
	}
	if err := h.node.Remove(ctx, h.cat, "core", false, a); err != nil {
		t.Fatal(err)
	}
	if _, err := h.node.Start(ctx, h.cat, "core", a); err != nil {
		t.Fatal(err)
	}
	delete(h.cat.Apps, "core") // undeclared: --prune removes it
	if _, rep := h.apply(t, PlanOptions{Prune: true}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if names := h.rt.ContainerNames(); len(names) != 0 {
		t.Fatalf("containers left: %v", names)
	}

	stops := h.rt.StopTimeouts()
	kept := "core" + schema.KeptSuffix
	for _, want := range []string{"core", kept} {
		if !slices.Contains(stops, want+" 1m30s") {
			t.Errorf("no stop of %s with the app's timeout: %v", want, stops)
		}
	}
	for _, s := range stops {
		if !strings.HasSuffix(s, " 1m30s") {
			t.Errorf("a stop without the app's timeout: %q (all: %v)", s, stops)
		}
	}
	// stop, restart, set-aside, rollback's set-aside, rm, prune: each
	// stops, and removals stop again as they remove.
	if len(stops) < 9 {
		t.Errorf("only %d stops and removals: %v", len(stops), stops)
	}
}

// A container killed after its stop timeout is reported (an event, the
// state, status) until archy next stops it cleanly.
func TestUncleanStopIsReportedUntilACleanStop(t *testing.T) {
	ctx := context.Background()
	core := quick(buildApp(t, "core"))
	core.Stop.Timeout = schema.Duration(600 * time.Second)
	h := newHarness(t, core)
	a := h.node.Applier(&h.out)
	h.apply(t, PlanOptions{})

	h.rt.IgnoreStop("core", true)
	if err := h.node.Restart(ctx, h.cat, "core", a); err != nil {
		t.Fatal(err)
	}
	var got []UncleanStop
	for _, ev := range h.out.all {
		if u, ok := ev.(UncleanStop); ok {
			got = append(got, u)
		}
	}
	if len(got) != 1 || got[0].App != "core" || got[0].Timeout != 600*time.Second {
		t.Fatalf("unclean stops reported: %+v, want core's once", got)
	}
	want := "core was killed after its 600s stop timeout: its data may need recovery"
	if msg := UncleanStopMessage(got[0].App, got[0].Timeout); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	status := func() AppStatus {
		t.Helper()
		s, err := h.node.Status(ctx, h.cat)
		if err != nil {
			t.Fatal(err)
		}
		return s[0]
	}
	// Started again since: still shown, the data may still need care.
	if s := status(); s.UncleanStop != want || s.UncleanStopAt.IsZero() {
		t.Errorf("status after the unclean stop: %+v", s)
	}

	h.rt.IgnoreStop("core", false)
	if err := h.node.Stop(ctx, h.cat, "core", a); err != nil {
		t.Fatal(err)
	}
	if s := status(); s.UncleanStop != "" {
		t.Errorf("status after a clean stop still says %q", s.UncleanStop)
	}
	if st := h.state(t); len(st.UncleanStops) != 0 {
		t.Errorf("state keeps %+v after a clean stop", st.UncleanStops)
	}
}

// A stop signal of SIGKILL is the app's choice: its exit 137 is no
// unclean stop; nor is stopping a container that was not running.
func TestStopSignalKillIsNoUncleanStop(t *testing.T) {
	ctx := context.Background()
	core := quick(buildApp(t, "core"))
	core.Stop.Signal = "SIGKILL"
	h := newHarness(t, core)
	a := h.node.Applier(&h.out)
	h.apply(t, PlanOptions{})
	h.rt.IgnoreStop("core", true)
	for range 2 {
		if err := h.node.Stop(ctx, h.cat, "core", a); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range h.out.all {
		if _, ok := ev.(UncleanStop); ok {
			t.Errorf("reported %+v", ev)
		}
	}
}

// A stop never gives a container less time than it was made with: a
// rollback to a generation made with a shorter timeout stops the current
// container with the current, longer one.
func TestRollbackStopsWithTheLongerTimeout(t *testing.T) {
	ctx := context.Background()
	core := quick(buildApp(t, "core")) // generation 1: the default 10 s
	h := newHarness(t, core)
	a := h.node.Applier(&h.out)
	h.apply(t, PlanOptions{})
	core.Stop.Timeout = schema.Duration(90 * time.Second) // generation 2
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if _, err := h.node.Rollback(ctx, h.cat, "core", 1, false, a); err != nil {
		t.Fatal(err)
	}
	for _, s := range h.rt.StopTimeouts() {
		if s == "core 10s" {
			t.Errorf("core was stopped with 10 s: %v", h.rt.StopTimeouts())
		}
	}
}
