package engine_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
)

func TestImagesToPrune(t *testing.T) {
	built := map[string]string{plan.LabelApp: "ui", plan.LabelContextHash: "h"}
	rec := func(ids ...string) map[string]state.ImageRecord {
		m := map[string]state.ImageRecord{}
		for _, id := range ids {
			m[id] = state.ImageRecord{Ref: "x", How: "pulled"}
		}
		return m
	}
	kept := map[string][]state.Generation{"ui": {{N: 1, ImageID: "k1", Keep: "localhost/archy-keep/ui:1"}, {N: 2, ImageID: "old"}}}
	for _, tc := range []struct {
		name     string
		images   []plan.Image
		used     []string // image ids containers use
		st       state.State
		declared []string
		want     []string
	}{
		{name: "a rebuild's dangling leftover goes",
			images: []plan.Image{{ID: "new", Tags: []string{"localhost/ui:local"}, Labels: built}, {ID: "old", Labels: built}},
			used:   []string{"new"}, declared: []string{"localhost/ui:local"}, want: []string{"old"}},
		{name: "a dangling image without archy's label stays",
			images: []plan.Image{{ID: "d"}}},
		{name: "a tagged image with archy's label but no record stays (maybe built FROM one by hand)",
			images: []plan.Image{{ID: "child", Tags: []string{"localhost/mine:1"}, Labels: built}}},
		{name: "a recorded pull no app declares goes, tags and all",
			images: []plan.Image{{ID: "p", Tags: []string{"docker.io/library/nginx:1.27"}}},
			st:     state.State{Images: rec("p")}, declared: []string{"docker.io/library/nginx:1.28"}, want: []string{"p"}},
		{name: "a recorded pull an app declares stays (short names normalised)",
			images: []plan.Image{{ID: "p", Tags: []string{"docker.io/library/nginx:1.27"}}},
			st:     state.State{Images: rec("p")}, declared: []string{"nginx:1.27"}},
		{name: "an image pulled by hand stays",
			images: []plan.Image{{ID: "hand", Tags: []string{"docker.io/library/busybox:latest"}}}},
		{name: "an image a stopped or foreign container uses stays",
			images: []plan.Image{{ID: "p"}, {ID: "b", Labels: built}},
			st:     state.State{Images: rec("p")}, used: []string{"p", "b"}},
		{name: "a kept generation's image stays, by tag and by id; one not kept goes",
			images: []plan.Image{{ID: "k1", Tags: []string{"localhost/archy-keep/ui:1"}, Labels: built}, {ID: "k1b", Tags: []string{"localhost/archy-keep/ui:1"}},
				{ID: "old", Labels: built}},
			st:   state.State{Generations: kept, Images: rec("k1b")},
			want: []string{"old"}},
		{name: "several go in id order",
			images: []plan.Image{{ID: "z", Labels: built}, {ID: "a", Labels: built}, {ID: "m"}},
			st:     state.State{Images: rec("m")}, want: []string{"a", "m", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := plan.Observed{Images: tc.images}
			for _, id := range tc.used {
				obs.Containers = append(obs.Containers, plan.Container{Name: "c-" + id, ImageID: id})
			}
			var got []string
			for _, img := range ImagesToPrune(obs, tc.st, tc.declared) {
				got = append(got, img.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("images removed (-want +got):\n%s", diff)
			}
		})
	}
}

// A pull is recorded unless the image was there before (an operator's);
// a prune removes the recorded image once no app declares it and forgets
// the records of images that are gone.
func TestPruneImagesRemovesOnlyWhatArchyPulled(t *testing.T) {
	h := newHarness(t, testApp("core"), testApp("api"))
	hand := h.rt.AddImage("example.org/api:1", nil) // pulled by hand before archy
	h.rt.SetImageSize("example.org/core:1", 0)
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	st, err := h.node.State.Load()
	if err != nil {
		t.Fatal(err)
	}
	core, ok := h.rt.Image("example.org/core:1")
	if _, rec := st.Images[core.ID]; !ok || !rec {
		t.Fatalf("core's pull is not recorded: %+v", st.Images)
	}
	if _, rec := st.Images[hand]; rec {
		t.Fatalf("the image pulled by hand is recorded as archy's: %+v", st.Images)
	}
	ctx := context.Background()
	if p, err := h.node.PruneImages(ctx, h.cat); err != nil || len(p.Removed) != 0 {
		t.Fatalf("prune with every image in use = %+v, %v", p, err)
	}
	// Both apps go (containers and all): only core's image is archy's.
	for _, id := range []string{"core", "api"} {
		if err := h.rt.Remove(ctx, id, 0); err != nil {
			t.Fatal(err)
		}
		delete(h.cat.Apps, id)
	}
	if p, err := h.node.PruneImages(ctx, h.cat); err != nil || len(p.Removed) != 0 {
		t.Fatalf("prune with core's generation kept = %+v, %v", p, err)
	}
	// Their lives end (apply --prune would): no generation keeps an image.
	if err := h.node.State.Update(func(st *state.State) { st.Generations = nil }); err != nil {
		t.Fatal(err)
	}
	h.rt.SetImageSize("example.org/core:1", 4096)
	p, err := h.node.PruneImages(ctx, h.cat)
	if err != nil || len(p.Removed) != 1 || p.Removed[0].ID != core.ID || p.Freed != 4096 {
		t.Fatalf("prune = %+v, %v; want core's image, 4096 bytes", p, err)
	}
	if _, ok := h.rt.Image("example.org/api:1"); !ok {
		t.Error("the image pulled by hand was removed")
	}
	if st, _ := h.node.State.Load(); len(st.Images) != 0 {
		t.Errorf("records left of removed images: %+v", st.Images)
	}
	if p, err := h.node.PruneImages(ctx, h.cat); err != nil || len(p.Removed) != 0 || p.Freed != 0 {
		t.Errorf("second prune = %+v, %v; want nothing", p, err)
	}
}
