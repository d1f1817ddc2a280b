package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/plan"
)

func TestPullRefusedWhenTheImageStoreIsShort(t *testing.T) {
	h := newHarness(t, testApp("core"))
	h.rt.SetImageStoreFree(ImageMargin - 1)
	_, rep := h.apply(t, PlanOptions{})
	var se *SpaceError
	if err := rep.Err(); !errors.As(err, &se) {
		t.Fatalf("err = %v, want a SpaceError", err)
	}
	msg := rep.Err().Error()
	for _, want := range []string{"not pulling example.org/core:1", "free on " + enginetest.StorePath, "1.0 GiB"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if calls := h.rt.Calls(); len(calls) != 0 {
		t.Errorf("the runtime was changed: %v", calls)
	}
}

func TestUpgradePullCountsTheCurrentImage(t *testing.T) {
	core := testApp("core")
	core.Container.Source.PullPolicy = "always"
	h := newHarness(t, core)
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	h.rt.SetImageSize("example.org/core:1", 2<<30)
	h.rt.SetImageStoreFree(2<<30 + ImageMargin/2) // room for the margin, not for the image too
	h.rt.ResetCalls()
	_, rep := h.apply(t, PlanOptions{Upgrade: []string{"core"}})
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "the image needs about 2.0 GiB plus a 1.0 GiB margin") {
		t.Fatalf("err = %v, want the current image's size counted", err)
	}
	if slices.ContainsFunc(h.rt.Calls(), func(c string) bool { return strings.HasPrefix(c, "pull ") }) {
		t.Errorf("pulled anyway: %v", h.rt.Calls())
	}
	if c, _ := h.rt.Inspect(context.Background(), "core"); c.State != plan.StateRunning {
		t.Errorf("the running container was touched: %+v", c)
	}

	h.rt.SetImageStoreFree(2<<30 + ImageMargin)
	if _, rep := h.apply(t, PlanOptions{Upgrade: []string{"core"}}); rep.Err() != nil {
		t.Fatalf("with room enough: %v", rep.Err())
	}
}

func TestBuildRefusedWhenTheImageStoreIsShort(t *testing.T) {
	h := newHarness(t, buildApp(t, "ui"))
	h.rt.SetImageStoreFree(10 << 20)
	_, rep := h.apply(t, PlanOptions{})
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "not building localhost/ui:local: 10.0 MiB free") {
		t.Fatalf("err = %v, want the build refused", err)
	}
	if calls := h.rt.Calls(); len(calls) != 0 {
		t.Errorf("the runtime was changed: %v", calls)
	}
}

func TestDiskHoldKeepsTheAppStoppedUntilReleased(t *testing.T) {
	h := newHarness(t, testApp("core"))
	h.apply(t, PlanOptions{})
	ctx := context.Background()
	a := h.node.Applier(nil)
	if err := h.node.HoldForDisk(ctx, h.cat, "core", "1.0 MiB free on /d, below min_free 2Mi", a); err != nil {
		t.Fatal(err)
	}
	if c, _ := h.rt.Inspect(ctx, "core"); c.State == plan.StateRunning {
		t.Fatal("not stopped")
	}
	p, rep := h.apply(t, PlanOptions{})
	if rep.Err() != nil || p.Plan.Changes() != 0 {
		t.Errorf("an apply while held: %+v, %v; want nothing done", p.Plan.Steps, rep.Err())
	}
	if c, _ := h.rt.Inspect(ctx, "core"); c.State == plan.StateRunning {
		t.Error("an apply started a held app")
	}
	rep, err := h.node.ReleaseDiskHold(ctx, h.cat, "core", a)
	if err == nil {
		err = rep.Err()
	}
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := h.rt.Inspect(ctx, "core"); c.State != plan.StateRunning {
		t.Errorf("released but %s", c.State)
	}
	if st, _ := h.node.State.Load(); st.Apps["core"].DiskLow != "" {
		t.Errorf("hold still recorded: %+v", st.Apps["core"])
	}
}
