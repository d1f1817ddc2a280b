package engine_test

import (
	"context"
	"slices"
	"testing"

	. "archy.dev/archy/engine"
)

// --prune through Node: the network only an undeclared app used goes, after
// its container; one a declared app joins stays, and so does one made by
// hand. A plain apply never removes a network.
func TestPruneRemovesArchysUnusedNetworks(t *testing.T) {
	ctx := context.Background()
	web, db := testApp("web"), testApp("db")
	web.Networks = []string{"front"}
	db.Networks = []string{"front", "back"}
	h := newHarness(t, web, db)
	h.rt.AddNetwork("handmade", false)
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if got := h.rt.Networks(); !slices.Equal(got, []string{"back", "front", "handmade"}) {
		t.Fatalf("networks after the first apply: %v", got)
	}

	delete(h.cat.Apps, "db")
	a := h.node.Applier(&h.out)
	pl, err := h.node.Plan(ctx, h.cat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Plan.RemoveNetworks) != 0 {
		t.Errorf("a plan without --prune removes networks %v", pl.Plan.RemoveNetworks)
	}
	pl, err = h.node.Plan(ctx, h.cat, PlanOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pl.Plan.RemoveNetworks, []string{"back"}) {
		t.Fatalf("--prune removes networks %v, want [back]", pl.Plan.RemoveNetworks)
	}
	rep, err := h.node.Apply(ctx, pl, a)
	if err != nil || rep.Err() != nil {
		t.Fatalf("applying the prune: %v, %v", err, rep.Err())
	}
	calls := h.rt.Calls()
	if i, j := slices.Index(calls, "remove db"), slices.Index(calls, "remove network back"); i < 0 || j < i {
		t.Errorf("network back not removed after its container: %v", calls)
	}
	if !h.out.has(NetworkRemoved{Name: "back"}) {
		t.Errorf("no NetworkRemoved event: %s", &h.out)
	}
	if got := h.rt.Networks(); !slices.Equal(got, []string{"front", "handmade"}) {
		t.Errorf("networks after the prune: %v, want front and handmade", got)
	}
	pl, err = h.node.Plan(ctx, h.cat, PlanOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := pl.Plan.Changes(); n != 0 {
		t.Errorf("after the prune %d changes remain: %+v", n, pl.Plan)
	}
}
