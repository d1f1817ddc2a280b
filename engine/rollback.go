package engine

import (
	"context"
	"errors"
	"fmt"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/engine/volsnap"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// rollback is what replace needs to go back.
type rollback struct {
	prev     *state.Generation // its generation (nil: not archy's, none recorded)
	kept     string            // the old container, set aside ("": none, make prev again)
	keep     []schema.Volume
	snapshot string
}

// rollBack replaces a failed generation with the previous one and holds
// the target that failed. It finishes even when ctx ends (an interrupted
// apply, a daemon stopping): an app is never left on a failed version.
func (a *Applier) rollBack(ctx context.Context, r replacement, failed plan.Container, gen state.Generation, back *rollback, start bool, reason error) error {
	id := r.app.ID
	ctx = context.WithoutCancel(ctx)
	restored := 0
	if back.prev != nil {
		restored = back.prev.N
	}
	a.emit(RollingBack{App: id, Generation: r.gen, Reason: reason, To: restored})
	if err := a.putBack(ctx, r.app, back.prev, back.kept, back.keep, back.snapshot, start); err != nil {
		return fmt.Errorf("%s failed (%v), and so did the rollback to %s: %w", r.what(), reason, generationName(restored), err)
	}
	var held string
	if r.from != nil {
		held = plan.TargetKey(*r.from, &plan.Image{ID: failed.ImageID})
		if failed.ImageID == "" {
			held = a.targetKey(ctx, *r.from)
		}
	}
	err := a.updateState(func(st *state.State) {
		delete(st.InFlight, id)
		if held != "" {
			it := st.Apps[id]
			it.Held = held
			it.HeldWhy = fmt.Sprintf("generation %d failed (%v) and was rolled back", gen.N, reason)
			st.Apps[id] = it
		}
	})
	if err != nil {
		return err
	}
	return &RollbackError{Failed: gen.N, Restored: restored, Reason: reason}
}

// putBack replaces whatever container the app has with the one it had:
// kept, the old container set aside, when it is there; else generation
// prev made again.
func (a *Applier) putBack(ctx context.Context, app *schema.App, prev *state.Generation, kept string, keep []schema.Volume, snapshot string, start bool) error {
	if kept != "" {
		_, err := a.Runtime.Inspect(ctx, kept)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil {
			a.stopping(app.ID)
			if err := ignoreNotFound(a.removeContainer(ctx, app, app.ContainerName)); err != nil {
				return err
			}
			if err := a.restoreVolumes(ctx, app, snapshot); err != nil {
				return err
			}
			if err := a.Runtime.Rename(ctx, kept, app.ContainerName); err != nil {
				return err
			}
			if !start {
				return nil
			}
			return a.start(ctx, app)
		}
	}
	if prev == nil {
		return fmt.Errorf("the container it replaced is gone (%s), and it was not archy's to make again", kept)
	}
	_, err := a.restore(ctx, app, *prev, keep, snapshot, start)
	return err
}

// restoreVolumes puts back the volumes saved before an upgrade, if any.
func (a *Applier) restoreVolumes(ctx context.Context, app *schema.App, snapshot string) error {
	if snapshot == "" {
		return nil
	}
	a.emit(RestoringVolumes{App: app.ID})
	if err := volsnap.Restore(ctx, a.Runtime, app, snapshot); err != nil {
		return fmt.Errorf("restoring its volumes: %w", err)
	}
	return nil
}

// restore makes generation g's container again, in place of whatever
// container the app has, and starts it unless start is unset.
func (a *Applier) restore(ctx context.Context, app *schema.App, g state.Generation, keep []schema.Volume, snapshot string, start bool) (plan.Container, error) {
	a.stopping(app.ID)
	if err := ignoreNotFound(a.removeContainer(ctx, app, app.ContainerName)); err != nil {
		return plan.Container{}, err
	}
	if err := a.restoreVolumes(ctx, app, snapshot); err != nil {
		return plan.Container{}, err
	}
	old, err := plan.AppFromSpec(app, g.Spec)
	if err != nil {
		return plan.Container{}, err
	}
	image := g.ImageID
	if image == "" {
		image = g.Keep
	}
	c, err := a.createContainer(ctx, old, image, keep)
	if err != nil || !start {
		return c, err
	}
	return c, a.start(ctx, old)
}

// Rollback returns an app to generation to (0: the newest earlier one that
// ran) through the same safe path as an upgrade, and holds the catalogue's
// target so that applies and the daemon leave the app there until the
// catalogue or the image changes, or archy upgrade.
func (n *Node) Rollback(ctx context.Context, cat *catalog.Catalog, id string, to int, a *Applier) (state.Generation, error) {
	app, st, current, err := n.generations(ctx, cat, id)
	if err != nil {
		return state.Generation{}, err
	}
	g, ok := st.Generation(id, to)
	if to == 0 { // the newest kept one before the running one
		for _, c := range st.Generations[id] {
			if c.Keep != "" && (current == 0 || c.N < current) {
				g, ok = c, true
			}
		}
	}
	switch {
	case !ok && to == 0:
		return g, fmt.Errorf("%s has no earlier generation to go back to (archy history %s)", id, id)
	case !ok:
		return g, fmt.Errorf("%s has no generation %d (archy history %s lists them)", id, to, id)
	case g.Keep == "":
		return g, fmt.Errorf("generation %d of %s never ran well; archy keeps nothing of it to go back to", g.N, id)
	case g.N == current:
		return g, fmt.Errorf("%s runs generation %d already", id, g.N)
	}
	old, err := plan.AppFromSpec(app, g.Spec)
	if err != nil {
		return g, err
	}
	// What the catalogue asks for now is held once back, or the next apply
	// would upgrade again; work it out before anything changes.
	pl, err := n.Plan(ctx, cat, PlanOptions{Only: []string{id}})
	if err != nil {
		return g, err
	}
	d := pl.Desired[id]
	held := plan.TargetKey(d, pl.Observed.Image(d.App.Container.Source.ImageRef()))
	r := replacement{app: old, image: g.ImageID, gen: g.N, secretsHash: n.Secrets.Hash(app)}
	if err := a.replace(ctx, r, !st.Apps[id].Stopped); err != nil {
		return g, err
	}
	return g, n.State.Update(func(st *state.State) {
		it := st.Apps[id]
		it.Held = held
		it.HeldWhy = fmt.Sprintf("rolled back to generation %d by the operator", g.N)
		st.Apps[id] = it
	})
}
