package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Recover finishes the replacements a killed archy left half done (see
// State.InFlight), so that no app stays without its container: a missing
// container is made again from the generation it was replacing; a new one
// that exists is proved, and rolled back if it fails. Each app is handled
// under its lock (Applier.Lock) and only if still in flight then: a
// replacement under way in this process is not a leftover. One app that
// cannot be recovered does not stop the others; all failures are reported.
func (n *Node) Recover(ctx context.Context, cat *catalog.Catalog, a *Applier) error {
	st, err := n.State.Load()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(st.InFlight)) {
		if err := n.recoverApp(ctx, cat, id, a); err != nil {
			errs = append(errs, fmt.Errorf("recovering %s from an interrupted upgrade: %w", id, err))
		}
	}
	if err := n.clearSetAside(ctx, cat, a); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// clearSetAside deals with the old containers set aside that no
// replacement in flight accounts for (an earlier archy dropped the record
// before it removed the container, and was killed in between): one is
// removed when the app's container is a generation archy keeps (proved,
// or found running well), and put back when the app has no container;
// otherwise it stays, as it may be the working one (plan and status say
// it is there). A forward-only hold keeps its set-aside container on
// purpose (archy rollback --force starts it): left alone.
func (n *Node) clearSetAside(ctx context.Context, cat *catalog.Catalog, a *Applier) error {
	obs, err := n.Runtime.Snapshot(ctx)
	if err != nil {
		return err
	}
	byName := map[string]plan.Container{}
	for _, c := range obs.Containers {
		byName[c.Name] = c
	}
	var errs []error
	for _, app := range cat.List() {
		kc, ok := byName[app.ContainerName+schema.KeptSuffix]
		if !ok || plan.SetAsideNote(app, &kc) == "" {
			continue
		}
		if err := n.clearSetAsideApp(ctx, app, a); err != nil {
			errs = append(errs, fmt.Errorf("%s: the old container left set aside: %w", app.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (n *Node) clearSetAsideApp(ctx context.Context, app *schema.App, a *Applier) error {
	st, unlock, err := n.lockedState(ctx, a, app.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if _, inFlight := st.InFlight[app.ID]; inFlight || st.Apps[app.ID].HeldStopped {
		return nil // a replacement's own, or a hold's
	}
	kept := app.ContainerName + schema.KeptSuffix
	kc, err := a.Runtime.Inspect(ctx, kept)
	if err != nil || plan.SetAsideNote(app, &kc) == "" {
		return ignoreNotFound(err)
	}
	c, err := a.Runtime.Inspect(ctx, app.ContainerName)
	switch {
	case errors.Is(err, ErrNotFound):
		a.emit(SetAsideRestored{App: app.ID, Container: kept})
		if err := a.Runtime.Rename(ctx, kept, app.ContainerName); err != nil {
			return err
		}
		if st.Apps[app.ID].KeptStopped() {
			return nil
		}
		return a.start(ctx, app)
	case err != nil:
		return err
	}
	if g, ok := st.GenerationOf(app.ID, c); ok && g.Keep != "" {
		a.emit(SetAsideRemoved{App: app.ID, Container: kept})
		return a.dropKept(ctx, app, kept)
	}
	return nil
}

// RecoverApp is Recover for one app (under its lock, when a.Lock is set).
func (n *Node) RecoverApp(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) error {
	return n.recoverApp(ctx, cat, id, a)
}

func (n *Node) recoverApp(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) error {
	a.Catalog = cat
	st, unlock, err := n.lockedState(ctx, a, id)
	if err != nil {
		return err
	}
	defer unlock()
	fl, inFlight := st.InFlight[id]
	if !inFlight {
		return nil // finished meanwhile
	}
	app, declared := cat.Apps[id]
	switch {
	case !declared:
		if fl.Kept != "" { // the app is gone; its volumes stay
			a.removeUndeclared(ctx, id, fl.Kept)
		}
	default:
		var prev *state.Generation
		if g, known := st.Generation(id, fl.From); known {
			prev = &g
		}
		if fl.Spec != "" {
			if app, err = plan.AppFromSpec(app, fl.Spec); err != nil {
				return err
			}
		}
		if err := a.recoverOne(ctx, app, prev, fl, st); err != nil {
			return err // stays in flight: the next run tries again
		}
	}
	return n.State.Update(func(st *state.State) { delete(st.InFlight, id) })
}

func (a *Applier) recoverOne(ctx context.Context, app *schema.App, prev *state.Generation, fl state.InFlight, st state.State) error {
	start := !st.Apps[app.ID].KeptStopped()
	c, err := a.Runtime.Inspect(ctx, app.ContainerName)
	switch {
	case errors.Is(err, ErrNotFound):
		a.emit(RecoveryPuttingBack{App: app.ID})
		// A held forward-only app replaced a failed generation that ran
		// on its data: the old container goes back, but stays stopped.
		held := forwardOnly(app, fl) && st.Apps[app.ID].HeldStopped
		return a.putBack(ctx, app, prev, fl.Kept, fl.Keep, fl.Snapshot, start && !held)
	case err != nil:
		return err
	case c.ID == fl.OldID:
		// The old container: never set aside, or put back already.
		if start && c.State != plan.StateRunning {
			return a.start(ctx, app)
		}
		return nil
	case c.StartedAt.IsZero() && a.exists(ctx, fl.Kept):
		// The new container was made and never started: the old one goes
		// back, as it would have had the start failed. Its volumes were
		// not touched since (a snapshot may not even have been taken).
		a.emit(RecoveryPuttingBack{App: app.ID})
		return a.putBack(ctx, app, prev, fl.Kept, fl.Keep, "", start)
	case !start && forwardOnly(app, fl) && (c.State == plan.StateRunning || !c.StartedAt.IsZero()):
		// The new container ran: it may have migrated the data, which the
		// old one must not start on. Held as a failed proof is.
		return a.holdForwardRecovered(ctx, app, c, prev, fl, errors.New("an upgrade was interrupted while it ran, and the app is stopped by the operator"))
	case !start:
		// The operator stopped the app: rather than leave an unproved
		// container for a later start, the old one goes back, stopped.
		return a.putBack(ctx, app, prev, fl.Kept, fl.Keep, fl.Snapshot, false)
	}
	if g, ok := st.GenerationOf(app.ID, c); ok && g.N > fl.From && g.Keep != "" {
		// Proved already; archy was killed before the old container went.
		a.emit(SetAsideRemoved{App: app.ID, Container: fl.Kept})
		return a.dropKept(ctx, app, fl.Kept)
	}
	a.emit(RecoveryProving{App: app.ID})
	err = nil
	if c.State != plan.StateRunning {
		err = a.start(ctx, app)
	}
	if err == nil {
		err = a.prove(ctx, app)
	}
	if err != nil && forwardOnly(app, fl) {
		return a.holdForwardRecovered(ctx, app, c, prev, fl, err)
	}
	if err != nil && prev != nil {
		// Back only to what today's rules accept (lives.go).
		if why := a.refusal(app, *prev); why != nil {
			gen, rerr := a.recordGeneration(ctx, app.ID, c, "failed: "+err.Error(), false, false)
			if rerr != nil {
				return rerr
			}
			return a.holdRefused(ctx, app, gen.N, fl.Target, []error{why}, err)
		}
	}
	if err != nil {
		a.emit(RecoveryFailed{App: app.ID, Err: err})
		if err := a.putBack(context.WithoutCancel(ctx), app, prev, fl.Kept, fl.Keep, fl.Snapshot, true); err != nil {
			return err
		}
		if fl.Target == "" {
			return nil
		}
		why := fmt.Sprintf("an interrupted upgrade failed (%v) and was rolled back", err)
		return a.updateState(func(st *state.State) {
			it := st.Apps[app.ID]
			it.Held, it.HeldWhy = fl.Target, why
			st.Apps[app.ID] = it
		})
	}
	if _, err := a.recordGeneration(ctx, app.ID, c, "healthy (after an interrupted upgrade)", true, true); err != nil {
		return err
	}
	return a.dropKept(ctx, app, fl.Kept)
}

// forwardOnly reports whether recovering an interrupted replacement of
// app must not put the old container back on the data the new one may
// have migrated: a forward-only app whose volumes were not saved.
func forwardOnly(app *schema.App, fl state.InFlight) bool {
	return app.Upgrade.ForwardOnly() && fl.Snapshot == ""
}

// holdForwardRecovered ends the recovery of a forward-only app whose new
// container c ran and is not proved (why) as a failed proof ends: c is
// recorded as a failed generation and kept stopped, the old container
// stays set aside, the target is held (see holdForward). The recovery is
// done: the error it returns is reported, not retried.
func (a *Applier) holdForwardRecovered(ctx context.Context, app *schema.App, c plan.Container, prev *state.Generation, fl state.InFlight, why error) error {
	gen, err := a.recordGeneration(ctx, app.ID, c, "failed: "+why.Error(), false, false)
	if err != nil {
		return err
	}
	return a.holdForward(ctx, app, gen.N, prev, fl.Kept, fl.Target, why)
}

// dropKept removes an old container of app set aside, once its successor
// is proved (stopped already, but with the app's settings should someone
// have started it).
func (a *Applier) dropKept(ctx context.Context, app *schema.App, kept string) error {
	if kept == "" {
		return nil
	}
	return ignoreNotFound(a.removeContainer(ctx, app, kept))
}

// exists reports whether container name exists.
func (a *Applier) exists(ctx context.Context, name string) bool {
	_, err := a.Runtime.Inspect(ctx, name)
	return name != "" && err == nil
}

// lockedState takes app id's lock when the Applier has one (Applier.Lock)
// and reads the state under it: what a recovery decides on is what holds
// once no replacement of the app runs in this process.
func (n *Node) lockedState(ctx context.Context, a *Applier, id string) (state.State, func(), error) {
	unlock := func() {}
	if a.Lock != nil {
		var err error
		if unlock, err = a.Lock(ctx, id); err != nil {
			return state.State{}, nil, err
		}
	}
	st, err := n.State.Load()
	if err != nil {
		unlock()
		return st, nil, err
	}
	return st, unlock, nil
}
