package engine

import (
	"context"
	"fmt"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// generationName names a generation in messages; 0 is the container an
// upgrade replaced that archy did not make.
func generationName(n int) string {
	if n == 0 {
		return "the container it replaced"
	}
	return fmt.Sprintf("generation %d", n)
}

// recordRunning returns the generation of the running container old,
// recording it (and keeping its image) if state does not know it yet. A
// container archy did not make has no generation: nil.
func (a *Applier) recordRunning(ctx context.Context, id string, old plan.Container) (*state.Generation, error) {
	if !plan.CreatedByArchy(&old, id) {
		return nil, nil
	}
	st, err := a.State.Load()
	if err != nil {
		return nil, err
	}
	if g, ok := st.GenerationOf(id, old); ok {
		return &g, a.keepImage(ctx, &g)
	}
	g, err := a.recordGeneration(ctx, id, old, "found running", true, false)
	return &g, err
}

// recordGeneration adds container c as the app's newest generation,
// and forgets generations beyond state.KeepGenerations (releasing their
// images): failed ones first, never the one a replacement in flight may
// go back to. keep keeps its image (a generation to go back to); reached
// clears a hold: the app runs its target. It does not end the
// replacement in flight: its caller does, once the old container set
// aside is gone (a crash between the two leaves the record, and the next
// run removes that container).
func (a *Applier) recordGeneration(ctx context.Context, id string, c plan.Container, outcome string, keep, reached bool) (state.Generation, error) {
	g := state.Generation{Time: time.Now().UTC(), ImageID: c.ImageID, Image: c.Image,
		SpecHash: c.Labels[plan.LabelSpecHash], Spec: c.Labels[plan.LabelSpec], Outcome: outcome}
	var dropped []state.Generation
	err := a.updateState(func(st *state.State) {
		if st.Generations == nil {
			st.Generations = map[string][]state.Generation{}
		}
		gens := st.Generations[id]
		g.N = 1
		if len(gens) > 0 {
			g.N = gens[len(gens)-1].N + 1
		}
		if keep {
			g.Keep = keepRef(id, g.N)
		}
		gens = append(gens, g)
		for len(gens) > state.KeepGenerations {
			i := dropIndex(gens, st.InFlight[id].From)
			dropped = append(dropped, gens[i])
			gens = append(gens[:i:i], gens[i+1:]...)
		}
		st.Generations[id] = gens
		if reached {
			it := st.Apps[id]
			it.Held, it.HeldWhy, it.HeldStopped = "", "", false
			st.Apps[id] = it
		}
	})
	if err != nil {
		return g, err
	}
	for _, d := range dropped {
		if d.Keep != "" {
			a.Runtime.Untag(ctx, d.Keep) // the image goes when nothing else uses it
		}
	}
	return g, a.keepImage(ctx, &g)
}

// dropIndex picks the generation to forget: the oldest failed one, else
// the oldest; never the newest, nor generation protect.
func dropIndex(gens []state.Generation, protect int) int {
	first := -1
	for i, g := range gens[:len(gens)-1] {
		switch {
		case g.N == protect:
		case g.Keep == "":
			return i
		case first < 0:
			first = i
		}
	}
	return max(first, 0)
}

// keepImage tags a generation's image with archy's own reference.
func (a *Applier) keepImage(ctx context.Context, g *state.Generation) error {
	if g.Keep == "" || g.ImageID == "" {
		return nil
	}
	return a.Runtime.Tag(ctx, g.ImageID, g.Keep)
}

// keepRef is archy's reference to the image of an app's generation n.
func keepRef(app string, n int) string {
	return fmt.Sprintf("localhost/archy-keep/%s:%d", app, n)
}

// History is an app's generations, as archy history shows them.
type History struct {
	App         string
	Generations []state.Generation // oldest first
	Current     int                // the generation its container is; 0: none known
	Held        string             // why applies leave it at its generation; "" when not held
}

// History returns an app's generations and which one its container is.
func (n *Node) History(ctx context.Context, cat *catalog.Catalog, id string) (History, error) {
	_, st, current, err := n.generations(ctx, cat, id)
	if err != nil {
		return History{}, err
	}
	h := History{App: id, Generations: st.Generations[id], Current: current}
	if it := st.Apps[id]; it.Held != "" {
		h.Held = it.HeldWhy
	}
	return h, nil
}

// generations returns a declared app, the state (its generations) and the
// generation its container is (0: none, or none recorded).
func (n *Node) generations(ctx context.Context, cat *catalog.Catalog, id string) (*schema.App, state.State, int, error) {
	app, err := cat.App(id)
	if err != nil {
		return nil, state.State{}, 0, err
	}
	st, err := n.State.Load()
	if err != nil {
		return nil, state.State{}, 0, err
	}
	current := 0
	if c, err := n.Runtime.Inspect(ctx, app.ContainerName); err == nil {
		if g, ok := st.GenerationOf(id, c); ok {
			current = g.N
		}
	}
	return app, st, current, nil
}
