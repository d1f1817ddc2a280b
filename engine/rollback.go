package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

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
	// refused: the app has earlier generations, but today's rules refuse
	// each (prev is nil): a failure is held stopped, not rolled back.
	refused bool
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
	if r.app.Upgrade.ForwardOnly() && back.snapshot == "" {
		var held string
		if r.from != nil {
			held = failedTarget(ctx, a, *r.from, failed)
		}
		return a.holdForward(ctx, r.app, gen.N, back.prev, back.kept, held, reason)
	}
	var refused []error
	if back.prev != nil || back.refused {
		// Only to a generation today's rules accept; an older one, or none.
		st, err := a.State.Load()
		if err != nil {
			return fmt.Errorf("%s failed (%v), and reading the state to roll back failed too: %w", r.what(), reason, err)
		}
		var cands []state.Generation
		before := gen.N
		if back.prev != nil {
			cands, before = append(cands, *back.prev), back.prev.N
		}
		to, why := wayBack(append(cands, keptBefore(st, id, before)...), func(g state.Generation) error { return a.refusal(r.app, g) })
		switch refused = why; {
		case to == nil:
			var held string
			if r.from != nil {
				held = failedTarget(ctx, a, *r.from, failed)
			}
			return a.holdRefused(ctx, r.app, gen.N, held, refused, reason)
		case back.prev == nil || to.N != back.prev.N:
			a.dropKept(ctx, r.app, back.kept) // refused: it is not put back
			back = &rollback{prev: to, keep: back.keep, snapshot: back.snapshot}
			restored = to.N
		}
	}
	a.emit(RollingBack{App: id, Generation: r.gen, Reason: reason, To: restored})
	if err := a.putBack(ctx, r.app, back.prev, back.kept, back.keep, back.snapshot, start); err != nil {
		return fmt.Errorf("%s failed (%v), and so did the rollback to %s: %w", r.what(), reason, generationName(restored), err)
	}
	var held string
	if r.from != nil {
		held = failedTarget(ctx, a, *r.from, failed)
	}
	err := a.updateState(func(st *state.State) {
		delete(st.InFlight, id)
		if held != "" {
			it := st.Apps[id]
			it.Held, it.HeldStopped = held, false
			it.HeldWhy = fmt.Sprintf("generation %d failed (%v) and was rolled back", gen.N, reason)
			st.Apps[id] = it
		}
	})
	if err != nil {
		return err
	}
	return &RollbackError{Failed: gen.N, Restored: restored, Reason: reason, Refused: refused}
}

// failedTarget is the target key of the catalogue's target d whose
// container failed: its image is the one that failed, whatever the
// reference points to by now.
func failedTarget(ctx context.Context, a *Applier, d plan.Desired, failed plan.Container) string {
	if failed.ImageID == "" {
		return a.targetKey(ctx, d)
	}
	return plan.TargetKey(d, &plan.Image{ID: failed.ImageID})
}

// ForwardOnlyError reports a replacement of a forward-only app
// (upgrade.rollback: "forward-only") that failed its proof and was not
// rolled back: the new version may have migrated the app's data, which
// the previous one may not read, or may damage (lnd's channel database).
// The failed container is kept stopped, the previous one set aside, and
// the app held until the operator decides.
type ForwardOnlyError struct {
	App      string
	Failed   int    // the generation that failed
	Previous int    // the generation it replaced (0: a container archy did not make)
	Kept     string // the previous container, set aside; "" when there is none
	Reason   error
}

func (e *ForwardOnlyError) Error() string {
	prev := generationName(e.Previous)
	where := fmt.Sprintf("%s is set aside as %s", prev, e.Kept)
	if e.Kept == "" {
		where = fmt.Sprintf("%s's image is kept", prev)
	}
	back := fmt.Sprintf("`archy rollback %s --force` to start %s on the current data", e.App, prev)
	if e.Previous == 0 {
		back = fmt.Sprintf("rename %s back by hand to run it on the current data", e.Kept)
	}
	return fmt.Sprintf("upgrade to generation %d failed its proof (%v); %s is forward-only, so archy did not start %s on data generation %d may have migrated. "+
		"The new container is kept stopped and %s. Fix and `archy upgrade %s`, or %s.",
		e.Failed, e.Reason, e.App, prev, e.Failed, where, e.App, back)
}

func (e *ForwardOnlyError) Unwrap() error { return e.Reason }

// holdForward ends a failed replacement of a forward-only app without
// going back: the failed container is stopped, not left running (a
// version that fails its proof may keep writing to data it migrated, and
// the daemon would restart it when it exits), and stays, so that its logs
// can be read; the previous container stays set aside as kept, never
// started and never removed by this, so that the operator can go back by
// hand (archy rollback --force); and target held is held kept stopped
// (plan.AppIntent.HeldStopped), so that neither applies nor the daemon try
// it again in a loop or start the previous one. It finishes even when ctx
// ends.
func (a *Applier) holdForward(ctx context.Context, app *schema.App, failed int, prevGen *state.Generation, kept, held string, reason error) error {
	ctx = context.WithoutCancel(ctx)
	id := app.ID
	prev := 0
	if prevGen != nil {
		prev = prevGen.N
	}
	if prevGen != nil && prevGen.Keep == "" {
		// It replaced a failed generation (kept stopped by an earlier
		// hold) with nothing set aside behind it: that is no way back;
		// the newest good generation is (archy rollback --force makes it
		// again from its kept image).
		a.dropKept(ctx, app, kept)
		kept, prev = "", 0
		if st, err := a.State.Load(); err == nil {
			for _, g := range st.Generations[id] {
				if g.Keep != "" && g.N < failed {
					prev = g.N
				}
			}
		}
	}
	if kept != "" {
		if _, err := a.Runtime.Inspect(ctx, kept); errors.Is(err, ErrNotFound) {
			kept = ""
		}
	}
	a.emit(HoldingForward{App: id, Generation: failed, Reason: reason, Previous: prev, Kept: kept})
	a.stopping(id)
	if err := a.stopContainer(ctx, app, app.ContainerName); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("generation %d failed (%v), and stopping it failed too: %w", failed, reason, err)
	}
	ferr := &ForwardOnlyError{App: id, Failed: failed, Previous: prev, Kept: kept, Reason: reason}
	err := a.updateState(func(st *state.State) {
		delete(st.InFlight, id)
		if held != "" {
			it := st.Apps[id]
			it.Held, it.HeldStopped = held, true
			it.HeldWhy = fmt.Sprintf("generation %d failed (%v); forward-only, so it is kept stopped and %s was not started", failed, reason, generationName(prev))
			if prev != 0 {
				it.HeldWhy += fmt.Sprintf(" (archy rollback %s --force starts it)", id)
			}
			st.Apps[id] = it
		}
	})
	if err != nil {
		return err
	}
	return ferr
}

// keptBehindFailed returns the way back of an app whose container is a
// failed generation (prev, kept stopped by a forward-only hold) while the
// container before it is still set aside as kept: that one stays the way
// back of the next replacement, rather than give way to the failed one.
func (a *Applier) keptBehindFailed(ctx context.Context, id string, prev *state.Generation, kept string) (*rollback, bool) {
	if prev == nil || prev.Keep != "" {
		return nil, false
	}
	c, err := a.Runtime.Inspect(ctx, kept)
	if err != nil || c.Labels[plan.LabelApp] != id || !plan.CreatedByArchy(&c, id) {
		return nil, false
	}
	st, err := a.State.Load()
	if err != nil {
		return nil, false
	}
	g, ok := st.GenerationOf(id, c)
	if !ok || g.Keep == "" {
		return nil, false
	}
	return &rollback{prev: &g, kept: kept}, true
}

// replaceFailed replaces the failed container old of a held forward-only
// app (see keptBehindFailed): archy keeps nothing of a failed generation,
// so it is removed, and the container set aside stays where it is.
func (a *Applier) replaceFailed(ctx context.Context, r replacement, start bool, old plan.Container, back *rollback) error {
	id := r.app.ID
	kc, err := a.Runtime.Inspect(ctx, back.kept)
	if err != nil {
		return err
	}
	back.keep = anonymousVolumes(old, r.app)
	fl := state.InFlight{OldID: kc.ID, Kept: back.kept, From: back.prev.N, Keep: back.keep}
	if err := a.recordInFlight(ctx, r, fl); err != nil {
		return err
	}
	a.stopping(id)
	if err := a.removeContainer(ctx, r.app, r.app.ContainerName); err != nil && !errors.Is(err, ErrNotFound) {
		return a.abandon(id, err)
	}
	return a.createGeneration(ctx, r, start, back)
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
			return a.startRetrying(ctx, app)
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
	return c, a.startRetrying(ctx, old)
}

// Rollback returns an app to generation to (0: the newest earlier one that
// ran) through the same safe path as an upgrade, and holds the catalogue's
// target so that applies and the daemon leave the app there until the
// catalogue or the image changes, or archy upgrade. A forward-only app
// (upgrade.rollback) is returned only with force: see refuseForwardOnly.
func (n *Node) Rollback(ctx context.Context, cat *catalog.Catalog, id string, to int, force bool, a *Applier) (state.Generation, error) {
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
	case app.Upgrade.ForwardOnly() && !force:
		return g, refuseForwardOnly(app, g, current)
	}
	a.Catalog = cat
	if err := a.refusal(app, g); err != nil {
		return g, fmt.Errorf("%s: %w", id, err)
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
	replace := func() error { return a.replace(ctx, r, !st.Apps[id].KeptStopped()) }
	if st.Apps[id].KeptStopped() {
		err = replace()
	} else { // a replacement: every-upgrade jobs run around it
		err = a.withJobs(ctx, old, []plan.Action{plan.Recreate, plan.Start}, replace)
	}
	if err != nil {
		var fo *ForwardOnlyError
		if errors.As(err, &fo) { // kept stopped: hold the catalogue's target too
			n.State.Update(func(st *state.State) {
				it := st.Apps[id]
				it.Held, it.HeldStopped = held, true
				it.HeldWhy = fmt.Sprintf("the rollback to generation %d failed (%v); forward-only, so it is kept stopped", g.N, fo.Reason)
				st.Apps[id] = it
			})
		}
		return g, err
	}
	return g, n.State.Update(func(st *state.State) {
		it := st.Apps[id]
		it.Held, it.HeldStopped = held, false
		it.HeldWhy = fmt.Sprintf("rolled back to generation %d by the operator", g.N)
		st.Apps[id] = it
	})
}

// refuseForwardOnly says why a forward-only app is not rolled back to
// generation g without force: the data it would start on may have been
// migrated by a later generation, which g may not read or may damage, and
// a rollback does not rewind data.
func refuseForwardOnly(app *schema.App, g state.Generation, current int) error {
	by := "a later generation"
	if current != 0 {
		by = generationName(current)
	}
	return fmt.Errorf("%s is forward-only (upgrade.rollback: \"forward-only\"): generation %d may not run on data %s may have migrated, "+
		"and a rollback does not rewind the data; archy rollback %s --force starts generation %d on the current data anyway",
		app.ID, g.N, by, app.ID, g.N)
}

// putBackRetry bounds how long a put-back retries the start of the old
// container (see startRetrying).
const putBackRetry = 150 * time.Second

// startRetrying starts the old container a failed swap put back, trying
// again with a short backoff: the failed container may still hold its
// published ports for a moment (Podman 4.3 keeps the sockets of a failed
// start open in its service until its next garbage collection, up to two
// minutes; the adapter hastens that), and its start fails with "address
// already in use" until they are free. The old one was working: it is
// worth the wait, rather than an app left down.
func (a *Applier) startRetrying(ctx context.Context, app *schema.App) error {
	try := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		try++
		err := a.Runtime.Start(ctx, app.ContainerName)
		if errors.Is(err, ErrNotFound) {
			return struct{}{}, backoff.Permanent(err)
		}
		if err != nil && try == 2 {
			a.emit(RetryingStart{App: app.ID, Err: err})
		}
		return struct{}{}, err
	}, backoff.WithBackOff(&backoff.ExponentialBackOff{
		InitialInterval: 100 * time.Millisecond, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: 2 * time.Second,
	}), backoff.WithMaxElapsedTime(putBackRetry))
	if err != nil {
		return err
	}
	return a.checkStarted(ctx, app) // one that starts and exits is not retried
}
