package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"archy.dev/archy/engine/state"
	"archy.dev/archy/engine/volsnap"
	"archy.dev/archy/internal/faultpoint"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Every replacement of a container (a changed spec, image or build, archy
// upgrade, archy rollback) goes one way, so that no upgrade can leave the
// node broken: the new image is built or pulled first while the old
// container runs (a failure there changes nothing); the running
// generation is recorded and its image kept under archy's own reference;
// the swap is recorded as in flight; then the old container is set aside
// (still running), the new one created, the old one stopped, the new one
// started and proved healthy (see replace for why in that order). If it is
// not, the previous generation comes back and the failed target is held
// (plan.AppIntent.Held) until the catalogue or the image changes again, or
// archy upgrade. The in-flight record goes last, after the container set
// aside.

// RollbackError reports an upgrade that failed its proof and was rolled
// back: the app runs the previous generation again.
type RollbackError struct {
	Failed, Restored int // generations
	Reason           error
	// Refused: why the later generations were not gone back to (today's
	// rules refuse their settings).
	Refused []error
}

func (e *RollbackError) Error() string {
	msg := fmt.Sprintf("rolled back to %s: generation %d %v", generationName(e.Restored), e.Failed, e.Reason)
	if len(e.Refused) > 0 {
		msg += " (" + joinErrors(e.Refused) + ")"
	}
	return msg
}

func (e *RollbackError) Unwrap() error { return e.Reason }

// replacement is what replace puts in place of an app's container.
type replacement struct {
	app         *schema.App   // the spec
	image       string        // reference or id to run
	from        *plan.Desired // the catalogue's target, held if it fails; nil for an earlier generation
	gen         int           // the earlier generation it makes again; 0 for the catalogue's target
	secretsHash string        // of the secret values it gets (state keeps it)
}

// what names the replacement in errors.
func (r replacement) what() string {
	if r.gen == 0 {
		return "the new container"
	}
	return fmt.Sprintf("generation %d", r.gen)
}

// replace swaps an app's container for r (see above). With start unset
// (the operator stopped the app) the new container is made but neither
// started nor proved.
func (a *Applier) replace(ctx context.Context, r replacement, start bool) error {
	id, name := r.app.ID, r.app.ContainerName
	old, err := a.Runtime.Inspect(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		return a.createGeneration(ctx, r, start, nil)
	case err != nil:
		return err
	}
	prev, err := a.recordRunning(ctx, id, old)
	if err != nil {
		return err
	}
	keep := anonymousVolumes(old, r.app)
	var snapshot string
	if prev != nil && r.app.Upgrade.SnapshotVolumes {
		snapshot = filepath.Join(a.State.Dir, "snapshots", id, strconv.Itoa(prev.N))
	}
	kept := name + schema.KeptSuffix
	if back, ok := a.keptBehindFailed(ctx, id, prev, kept); ok {
		return a.replaceFailed(ctx, r, start, old, back)
	}
	if err := a.clearKept(ctx, r.app, kept); err != nil {
		return err
	}
	// The snapshot is recorded once it is taken: a recovery restores
	// from a whole one only, which the new container never ran before.
	fl := state.InFlight{OldID: old.ID, Kept: kept, Keep: keep}
	if prev != nil {
		fl.From = prev.N
	}
	if err := a.recordInFlight(ctx, r, fl); err != nil {
		return err
	}
	// The old container is set aside (renamed, still running) and the new
	// one created in its place before the old one stops: a create that
	// fails (a spec Podman refuses, a host path that cannot be made) costs
	// the running app nothing. Only then does the old one stop, and the new
	// one starts once it has (both may publish the same ports). Until the
	// new one is proved, the old one waits set aside: a rollback puts back
	// that very container.
	if err := a.Runtime.Rename(ctx, name, kept); err != nil {
		return a.abandon(id, err)
	}
	faultpoint.Hit("replace-set-aside")
	c, err := a.createContainer(ctx, r.app, r.image, keep)
	if err != nil {
		return a.undoSetAside(ctx, r.app, kept, false, false, fmt.Errorf("creating the new container: %w", err))
	}
	a.stopping(id)
	if err := a.stopContainer(ctx, r.app, kept); err != nil && !errors.Is(err, ErrNotFound) {
		return a.undoSetAside(ctx, r.app, kept, true, old.State == plan.StateRunning, err)
	}
	if snapshot != "" {
		a.emit(SavingVolumes{App: id})
		err := volsnap.Snapshot(ctx, a.Runtime, r.app, snapshot)
		if err == nil {
			err = a.updateState(func(st *state.State) {
				fl := st.InFlight[id]
				fl.Snapshot = snapshot
				st.InFlight[id] = fl
			})
		}
		if err != nil {
			return a.undoSetAside(ctx, r.app, kept, true, old.State == plan.StateRunning, fmt.Errorf("snapshot of its volumes: %w", err))
		}
	}
	faultpoint.Hit("replace-removed")
	for _, v := range keep {
		a.emit(KeepingVolume{App: id, Volume: v.Name, Target: v.Target})
	}
	return a.startGeneration(ctx, r, start, c, nil, &rollback{prev: prev, kept: kept, keep: keep, snapshot: snapshot})
}

// undoSetAside ends a replacement that failed (why) before the new
// container started: the new one, if created, is removed, and the old
// one, set aside as kept, gets its name back (started again if it was
// stopped for the swap and had been running). The app is as it was. If
// even that fails, the replacement stays in flight for the next run to
// put back.
func (a *Applier) undoSetAside(ctx context.Context, app *schema.App, kept string, created, restart bool, why error) error {
	ctx = context.WithoutCancel(ctx)
	fail := func(err error) error {
		return fmt.Errorf("%w; and putting the old container back failed: %v", why, err)
	}
	if created {
		if err := ignoreNotFound(a.Runtime.Remove(ctx, app.ContainerName, StopTimeout(app))); err != nil {
			return fail(err)
		}
	}
	if err := a.Runtime.Rename(ctx, kept, app.ContainerName); err != nil {
		return fail(err)
	}
	if restart {
		if err := a.startRetrying(ctx, app); err != nil {
			return fail(err)
		}
	}
	return a.abandon(app.ID, fmt.Errorf("%w; the old container is back as it was", why))
}

// recordInFlight records replacement r as in flight (fl, completed with
// the time, r's spec and target) before anything is removed.
func (a *Applier) recordInFlight(ctx context.Context, r replacement, fl state.InFlight) error {
	fl.Time, fl.Spec = time.Now().UTC(), plan.SpecJSON(r.app)
	if r.from != nil {
		fl.Target = a.targetKey(ctx, *r.from)
	}
	return a.updateState(func(st *state.State) {
		if st.InFlight == nil {
			st.InFlight = map[string]state.InFlight{}
		}
		st.InFlight[r.app.ID] = fl
	})
}

// clearKept removes a set-aside container left from an earlier upgrade
// of app id (whose record was lost), so that this one can set its old
// container aside. Any other container of that name is not archy's to
// remove: the upgrade stops there.
func (a *Applier) clearKept(ctx context.Context, app *schema.App, kept string) error {
	id := app.ID
	c, err := a.Runtime.Inspect(ctx, kept)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case c.Labels[plan.LabelApp] != id || !plan.CreatedByArchy(&c, id):
		return fmt.Errorf("a container named %s is in the way of the upgrade (archy sets the old container aside under that name); remove or rename it", kept)
	}
	return ignoreNotFound(a.removeContainer(ctx, app, kept))
}

// abandon clears the in-flight record of a replacement that stopped
// before the old container went: nothing to recover.
func (a *Applier) abandon(id string, err error) error {
	a.updateState(func(st *state.State) { delete(st.InFlight, id) })
	return err
}

// stopping tells the Applier's owner that archy itself is about to stop
// an app's container (see Applier.Stopping).
func (a *Applier) stopping(id string) {
	if a.Stopping != nil {
		a.Stopping(id)
	}
}

// create makes an app's missing container. When state has a generation
// of the app to go back to, the new container is proved like an upgrade;
// and when the catalogue's target is held (it failed before), it is not
// tried at all: the newest good generation is made again.
func (a *Applier) create(ctx context.Context, d plan.Desired, start bool) error {
	st, err := a.State.Load()
	if err != nil {
		return err
	}
	kept := keptBefore(st, d.App.ID, 0)
	if len(kept) == 0 {
		return a.createGeneration(ctx, target(d), start, nil)
	}
	// Only a generation today's rules accept is made again or gone back to.
	last, refused := wayBack(kept, func(g state.Generation) error { return a.refusal(d.App, g) })
	held := st.Apps[d.App.ID].Held != "" && st.Apps[d.App.ID].Held == a.targetKey(ctx, d)
	switch {
	case held && last == nil:
		return fmt.Errorf("its target failed before and is held (%s), and no earlier generation is made again: %s", st.Apps[d.App.ID].HeldWhy, joinErrors(refused))
	case last == nil:
		return a.createGeneration(ctx, target(d), start, &rollback{refused: true})
	case held:
		a.emit(RemakingHeld{App: d.App.ID, Generation: last.N})
		// Held kept stopped (forward-only): the failed target may have
		// migrated the data, so the good generation is made, not started.
		_, err := a.restore(ctx, d.App, *last, nil, "", start && !st.Apps[d.App.ID].HeldStopped)
		return err
	}
	return a.createGeneration(ctx, target(d), start, &rollback{prev: last})
}

// targetKey is plan.TargetKey of d, with the image its reference points to
// now.
func (a *Applier) targetKey(ctx context.Context, d plan.Desired) string {
	var img *plan.Image
	if d.App.Container.Source.Type != schema.SourceBuild {
		if obs, err := a.Runtime.Snapshot(ctx); err == nil {
			img = obs.Image(d.App.Container.Source.ImageRef())
		}
	}
	return plan.TargetKey(d, img)
}

// createGeneration makes, starts and proves r's container and records it
// as a new generation; when the proof fails and back is set, it puts the
// previous generation back.
func (a *Applier) createGeneration(ctx context.Context, r replacement, start bool, back *rollback) error {
	var keep []schema.Volume
	if back != nil {
		keep = back.keep
	}
	c, err := a.createContainer(ctx, r.app, r.image, keep)
	return a.startGeneration(ctx, r, start, c, err, back)
}

// startGeneration is createGeneration once r's container c is created
// (or its create failed: err).
func (a *Applier) startGeneration(ctx context.Context, r replacement, start bool, c plan.Container, err error, back *rollback) error {
	id := r.app.ID
	if err == nil {
		err = a.updateState(func(st *state.State) {
			it := st.Apps[id]
			it.SecretsHash, it.Adopted = r.secretsHash, false
			st.Apps[id] = it
		})
	}
	if err == nil && start {
		if err = a.start(ctx, r.app); err == nil && back != nil {
			a.emit(Proving{App: id, Generation: r.gen, Timeout: upgradeTimeout(r.app)})
			err = a.prove(ctx, r.app)
		}
	}
	outcome := "healthy"
	switch {
	case err != nil:
		outcome = "failed: " + err.Error()
	case !start:
		outcome = "created (stopped by the operator)"
	case back == nil:
		outcome = "created"
	}
	if c.ID == "" { // not even made: record what was tried
		c = plan.Container{Image: r.image, Labels: map[string]string{
			plan.LabelSpecHash: plan.SpecHash(r.app), plan.LabelSpec: plan.SpecJSON(r.app)}}
	}
	gen, gerr := a.recordGeneration(ctx, id, c, outcome, err == nil, err == nil)
	if gerr != nil && err == nil {
		// Proved: keep it. Only the record (or the image's keep tag) is
		// missing, which a rollback would not mend.
		a.emit(RecordFailed{App: id, Generation: gen.N, Err: gerr})
	}
	switch {
	case err == nil:
		faultpoint.Hit("replace-proved")
		if back != nil {
			// Proved: the old one can go, and then the record of the
			// replacement (which the next run finishes should this fail).
			if derr := a.dropKept(ctx, r.app, back.kept); derr != nil {
				a.emit(RecordFailed{App: id, Generation: gen.N, Err: fmt.Errorf("removing the old container %s: %w", back.kept, derr)})
				return nil
			}
		}
		a.updateState(func(st *state.State) { delete(st.InFlight, id) })
		return nil
	case back == nil || (back.kept == "" && back.prev == nil && !back.refused):
		a.updateState(func(st *state.State) { delete(st.InFlight, id) })
		return err
	}
	return a.rollBack(ctx, r, c, gen, back, start, err)
}

// createContainer creates an app's container from image (keeping the
// anonymous volumes of the one it replaces) and returns it.
func (a *Applier) createContainer(ctx context.Context, app *schema.App, image string, keep []schema.Volume) (plan.Container, error) {
	spec, err := containerSpec(app, image)
	if err != nil {
		return plan.Container{}, err
	}
	spec.Volumes = append(slices.Clip(spec.Volumes), keep...) // never into the app's own slice
	if _, err := a.Runtime.Create(ctx, spec); err != nil {
		return plan.Container{}, err
	}
	return a.Runtime.Inspect(ctx, app.ContainerName)
}

// prove waits until a new container is healthy: its health check passes
// within upgrade.health_timeout, or, without one, it still runs (never
// restarted) after upgrade.grace_period. A container that stops meanwhile
// fails at once. While the check says starting (a warm-up, at most
// start_period + start_timeout after the start) the proof waits, and
// health_timeout counts from the warm-up's end.
func (a *Applier) prove(ctx context.Context, app *schema.App) error {
	first, err := a.Runtime.Inspect(ctx, app.ContainerName)
	if err != nil {
		return err
	}
	stillRunning := func() error {
		c, err := a.Runtime.Inspect(ctx, app.ContainerName)
		switch {
		case err != nil:
			return err
		case c.State != plan.StateRunning || !c.StartedAt.Equal(first.StartedAt):
			return fmt.Errorf("exited (%d) after it started", c.ExitCode)
		}
		return nil
	}
	timeout := upgradeTimeout(app)
	if app.HealthCheck == nil {
		grace := time.Duration(app.Upgrade.GracePeriod)
		if grace <= 0 {
			grace = 5 * time.Second
		}
		if err := sleep(ctx, min(grace, timeout)); err != nil {
			return err
		}
		return stillRunning()
	}
	deadline := time.Now().Add(timeout)
	delay := 200 * time.Millisecond
	lastNote := ""
	for {
		err := Probe(ctx, a.Runtime, app)
		if err == nil {
			return nil
		}
		if serr := stillRunning(); serr != nil {
			return serr
		}
		note, starting := IsStarting(err)
		if starting || lastNote != "" {
			// Warming up is no failure: health_timeout counts from the
			// end of the warm-up (the first answer that is not starting,
			// or start_timeout, after which Probe says unhealthy).
			deadline = time.Now().Add(timeout)
		}
		if starting && note != lastNote {
			a.emit(WarmingUp{App: app.ID, Note: note, Until: WarmUpEnd(app, first.StartedAt)})
		}
		lastNote = note
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy within %s: %w", timeout, err)
		}
		if err := sleep(ctx, warmUpDelay(app, err, delay)); err != nil {
			return err
		}
		delay = min(delay*2, 2*time.Second)
	}
}

func upgradeTimeout(app *schema.App) time.Duration {
	if t := time.Duration(app.Upgrade.HealthTimeout); t > 0 {
		return t
	}
	return 120 * time.Second
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
