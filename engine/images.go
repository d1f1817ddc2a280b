package engine

import (
	"context"
	"errors"
	"slices"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Images archy made or pulled pile up: every rebuild leaves the previous
// image dangling, and a pulled image stays when its app moves on. Archy
// removes its own once nothing uses them (after a successful apply, once
// a day in the daemon, archy prune --images). An image is archy's when
// state records it (state.State.Images: every pull and build archy made
// since it records them), or when it carries the archy.context-hash label
// archy builds with and has no reference left (a rebuild's leftover from
// before the records). It stays while a container (any, running or not)
// uses it, a kept generation names it, or the catalogue declares one of
// its references (an app's image or a job's). Everything else is not
// archy's to remove: an image pulled by hand, or another tool's. See
// docs/upgrades.md.

// PrunedImage is an image archy removed.
type PrunedImage struct {
	ID   string   `json:"id"`
	Tags []string `json:"tags,omitempty"`
	Size int64    `json:"size"` // bytes, as Podman reported it
	Err  error    `json:"-"`    // the removal failed (it stays)
}

// ImagePrune is what a prune of images did.
type ImagePrune struct {
	Removed []PrunedImage // the images removed
	Failed  []PrunedImage // the images whose removal failed
	Freed   int64         // bytes: the removed images' sizes
}

// ImagesPruned is the progress event of a prune that removed something.
type ImagesPruned struct{ Prune ImagePrune }

func (ImagesPruned) progressEvent() {}

// imagesToPrune chooses, pure, the images to remove: archy's own (records,
// or its build label on an image with no reference) that no container
// uses, no kept generation names and no declared reference names.
func imagesToPrune(obs plan.Observed, st state.State, declared []string) []plan.Image {
	used := map[string]bool{}
	for _, c := range obs.Containers {
		used[c.ImageID] = true
	}
	kept := map[string]bool{}
	for _, gens := range st.Generations {
		for _, g := range gens {
			if g.Keep != "" {
				kept[plan.NormalizeRef(g.Keep)] = true
				used[g.ImageID] = true
			}
		}
	}
	for _, ref := range declared {
		kept[plan.NormalizeRef(ref)] = true
	}
	// One entry per image, its references together (Podman lists an image
	// once; a list that repeats one is read as one).
	byID := map[string]plan.Image{}
	for _, img := range obs.Images {
		if seen, ok := byID[img.ID]; ok {
			img.Tags = append(slices.Clone(seen.Tags), img.Tags...)
		}
		byID[img.ID] = img
	}
	var out []plan.Image
	for _, img := range byID {
		_, recorded := st.Images[img.ID]
		leftover := img.Labels[plan.LabelContextHash] != "" && len(img.Tags) == 0
		if (!recorded && !leftover) || used[img.ID] ||
			slices.ContainsFunc(img.Tags, func(t string) bool { return kept[plan.NormalizeRef(t)] }) {
			continue
		}
		out = append(out, img)
	}
	slices.SortFunc(out, func(a, b plan.Image) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// declaredImages are the references the catalogue's apps and jobs use.
func declaredImages(cat *catalog.Catalog) []string {
	var out []string
	for _, app := range cat.Apps {
		if src := app.Container.Source; src != nil {
			out = append(out, src.ImageRef())
		}
		for _, j := range app.Jobs {
			if j.Image != "" {
				out = append(out, j.Image)
			}
		}
	}
	return out
}

// PruneImages removes the images archy made or pulled that nothing uses
// (see above) and forgets the records of images that are gone. A removal
// Podman refuses (a container took the image meanwhile) leaves the image
// and is reported in Failed.
func (n *Node) PruneImages(ctx context.Context, cat *catalog.Catalog) (ImagePrune, error) {
	obs, err := n.Runtime.Snapshot(ctx)
	if err != nil {
		return ImagePrune{}, err
	}
	st, err := n.State.Load()
	if err != nil {
		return ImagePrune{}, err
	}
	var res ImagePrune
	gone := map[string]bool{}
	for _, img := range imagesToPrune(obs, st, declaredImages(cat)) {
		p := PrunedImage{ID: img.ID, Tags: img.Tags, Size: img.Size}
		if p.Err = n.Runtime.RemoveImage(ctx, img.ID); p.Err != nil && !errors.Is(p.Err, ErrNotFound) {
			res.Failed = append(res.Failed, p)
			continue
		}
		gone[img.ID] = true
		res.Removed = append(res.Removed, p)
		res.Freed += img.Size
	}
	present := map[string]bool{}
	for _, img := range obs.Images {
		present[img.ID] = !gone[img.ID]
	}
	stale := false
	for id := range st.Images {
		stale = stale || !present[id]
	}
	if stale {
		err = n.State.Update(func(st *state.State) {
			for id := range st.Images {
				if !present[id] {
					delete(st.Images, id)
				}
			}
		})
	}
	return res, err
}

// recordImage records that archy pulled or built image id for app.
func (a *Applier) recordImage(id, ref, app, how string) error {
	if id == "" {
		return nil
	}
	return a.updateState(func(st *state.State) {
		if st.Images == nil {
			st.Images = map[string]state.ImageRecord{}
		}
		st.Images[id] = state.ImageRecord{Ref: ref, App: app, How: how, Time: time.Now().UTC()}
	})
}

// pull pulls ref for app and records the image unless it was there
// before under that reference and archy had not recorded it: an image
// pulled by hand stays the operator's.
func (a *Applier) pull(ctx context.Context, app *schema.App, ref, policy string) (string, error) {
	before, _ := a.Runtime.ImageID(ctx, ref)
	id, err := a.Runtime.Pull(ctx, ref, policy, a.output(app.ID))
	if err != nil || (before != "" && id == before) {
		return id, err
	}
	return id, a.recordImage(id, ref, app.ID, "pulled")
}
