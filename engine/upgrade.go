package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/internal/faultpoint"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Every replacement of a container (a changed spec, image or build, archy
// upgrade, archy rollback) goes one way, so that no upgrade can leave the
// node broken: the new image is built or pulled first while the old
// container runs (a failure there changes nothing); the running
// generation is recorded and its image kept under archy's own reference;
// the swap is recorded as in flight; then the old container goes, the new
// one is made, started and proved healthy. If it is not, the previous
// generation comes back and the failed target is held (plan.AppIntent.Held)
// until the catalogue or the image changes again, or archy upgrade.

// RollbackError reports an upgrade that failed its proof and was rolled
// back: the app runs the previous generation again.
type RollbackError struct {
	Failed, Restored int // generations
	Reason           error
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("rolled back to %s: generation %d %v", generationName(e.Restored), e.Failed, e.Reason)
}

func (e *RollbackError) Unwrap() error { return e.Reason }

// replacement is what replace puts in place of an app's container.
type replacement struct {
	app         *schema.App   // the spec
	image       string        // reference or id to run
	from        *plan.Desired // the catalogue's target, held if it fails; nil for an earlier generation
	what        string        // for messages
	secretsHash string        // of the secret values it gets (state keeps it)
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
	if err := a.clearKept(ctx, id, kept); err != nil {
		return err
	}
	fl := InFlight{OldID: old.ID, Kept: kept, Time: time.Now().UTC(), Snapshot: snapshot, Keep: keep, Spec: plan.SpecJSON(r.app)}
	if prev != nil {
		fl.From = prev.N
	}
	if r.from != nil {
		fl.Target = a.targetKey(ctx, *r.from)
	}
	if err := a.updateState(func(st *State) {
		if st.InFlight == nil {
			st.InFlight = map[string]InFlight{}
		}
		st.InFlight[id] = fl
	}); err != nil {
		return err
	}
	// The old container is set aside, stopped and renamed, until the new
	// one is proved: a rollback puts back that very container.
	a.stopping(id)
	if err := a.Runtime.Stop(ctx, name, a.stopTimeout()); err != nil && !errors.Is(err, ErrNotFound) {
		return a.abandon(id, err)
	}
	if snapshot != "" {
		a.printf("%s: saving its volumes (snapshot_volumes)", id)
		if err := SnapshotVolumes(ctx, a.Runtime, r.app, snapshot); err != nil {
			if old.State == plan.StateRunning {
				a.Runtime.Start(context.WithoutCancel(ctx), name) // as it was
			}
			return a.abandon(id, fmt.Errorf("snapshot of its volumes: %w", err))
		}
	}
	if err := a.Runtime.Rename(ctx, name, kept); err != nil {
		if old.State == plan.StateRunning {
			a.Runtime.Start(context.WithoutCancel(ctx), name)
		}
		return a.abandon(id, err)
	}
	faultpoint.Hit("replace-removed")
	for _, v := range keep {
		a.printf("%s: keeping volume %s at %s", id, v.Name, v.Target)
	}
	return a.createGeneration(ctx, r, start, &rollback{prev: prev, kept: kept, keep: keep, snapshot: snapshot})
}

// clearKept removes a set-aside container left from an earlier upgrade
// of app id (whose record was lost), so that this one can set its old
// container aside. Any other container of that name is not archy's to
// remove: the upgrade stops there.
func (a *Applier) clearKept(ctx context.Context, id, kept string) error {
	c, err := a.Runtime.Inspect(ctx, kept)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case c.Labels[plan.LabelApp] != id || !plan.CreatedByArchy(&c, id):
		return fmt.Errorf("a container named %s is in the way of the upgrade (archy sets the old container aside under that name); remove or rename it", kept)
	}
	return a.Runtime.Remove(ctx, kept)
}

// rollback is what replace needs to go back.
type rollback struct {
	prev     *Generation // its generation (nil: not archy's, none recorded)
	kept     string      // the old container, set aside ("": none, make prev again)
	keep     []VolumeSpec
	snapshot string
}

// abandon clears the in-flight record of a replacement that stopped
// before the old container went: nothing to recover.
func (a *Applier) abandon(id string, err error) error {
	a.updateState(func(st *State) { delete(st.InFlight, id) })
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
	var last *Generation
	for _, g := range st.Generations[d.App.ID] {
		if g.Keep != "" {
			last = &g
		}
	}
	switch {
	case last == nil:
		return a.createGeneration(ctx, target(d), start, nil)
	case st.Apps[d.App.ID].Held != "" && st.Apps[d.App.ID].Held == a.targetKey(ctx, d):
		a.printf("%s: its container is missing and its target is held; making generation %d again", d.App.ID, last.N)
		_, err := a.restore(ctx, d.App, *last, nil, "", start)
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
	id := r.app.ID
	var keep []VolumeSpec
	if back != nil {
		keep = back.keep
	}
	c, err := a.createContainer(ctx, r.app, r.image, keep)
	if err == nil {
		err = a.updateState(func(st *State) {
			it := st.Apps[id]
			it.SecretsHash, it.Adopted = r.secretsHash, false
			st.Apps[id] = it
		})
	}
	if err == nil && start {
		if err = a.start(ctx, r.app); err == nil && back != nil {
			a.printf("%s: proving %s (health_timeout %s)", id, r.what, upgradeTimeout(r.app))
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
		a.printf("%s: warning: recording generation %d: %v", id, gen.N, gerr)
	}
	switch {
	case err == nil:
		if back != nil {
			a.dropKept(ctx, back.kept) // proved: the old one can go
		}
		a.updateState(func(st *State) { delete(st.InFlight, id) })
		return nil
	case back == nil || (back.kept == "" && back.prev == nil):
		a.updateState(func(st *State) { delete(st.InFlight, id) })
		return err
	}
	return a.rollBack(ctx, r, c, gen, back, start, err)
}

// rollBack replaces a failed generation with the previous one and holds
// the target that failed. It finishes even when ctx ends (an interrupted
// apply, a daemon stopping): an app is never left on a failed version.
func (a *Applier) rollBack(ctx context.Context, r replacement, failed plan.Container, gen Generation, back *rollback, start bool, reason error) error {
	id := r.app.ID
	ctx = context.WithoutCancel(ctx)
	restored := 0
	if back.prev != nil {
		restored = back.prev.N
	}
	a.printf("%s: %s failed (%v); rolling back to %s", id, r.what, reason, generationName(restored))
	if err := a.putBack(ctx, r.app, back.prev, back.kept, back.keep, back.snapshot, start); err != nil {
		return fmt.Errorf("%s failed (%v), and so did the rollback to %s: %w", r.what, reason, generationName(restored), err)
	}
	var held string
	if r.from != nil {
		held = plan.TargetKey(*r.from, &plan.Image{ID: failed.ImageID})
		if failed.ImageID == "" {
			held = a.targetKey(ctx, *r.from)
		}
	}
	err := a.updateState(func(st *State) {
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
func (a *Applier) putBack(ctx context.Context, app *schema.App, prev *Generation, kept string, keep []VolumeSpec, snapshot string, start bool) error {
	if kept != "" {
		_, err := a.Runtime.Inspect(ctx, kept)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil {
			a.stopping(app.ID)
			if err := a.Runtime.Remove(ctx, app.ContainerName); err != nil && !errors.Is(err, ErrNotFound) {
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
	a.printf("%s: restoring its volumes from before the upgrade", app.ID)
	if err := RestoreVolumes(ctx, a.Runtime, app, snapshot); err != nil {
		return fmt.Errorf("restoring its volumes: %w", err)
	}
	return nil
}

// generationName names a generation in messages; 0 is the container an
// upgrade replaced that archy did not make.
func generationName(n int) string {
	if n == 0 {
		return "the container it replaced"
	}
	return fmt.Sprintf("generation %d", n)
}

// restore makes generation g's container again, in place of whatever
// container the app has, and starts it unless start is unset.
func (a *Applier) restore(ctx context.Context, app *schema.App, g Generation, keep []VolumeSpec, snapshot string, start bool) (plan.Container, error) {
	a.stopping(app.ID)
	if err := a.Runtime.Remove(ctx, app.ContainerName); err != nil && !errors.Is(err, ErrNotFound) {
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

// createContainer creates an app's container from image (keeping the
// anonymous volumes of the one it replaces) and returns it.
func (a *Applier) createContainer(ctx context.Context, app *schema.App, image string, keep []VolumeSpec) (plan.Container, error) {
	spec, err := containerSpec(app, image)
	if err != nil {
		return plan.Container{}, err
	}
	spec.Volumes = append(spec.Volumes, keep...)
	if _, err := a.Runtime.Create(ctx, spec); err != nil {
		return plan.Container{}, err
	}
	return a.Runtime.Inspect(ctx, app.ContainerName)
}

// prove waits until a new container is healthy: its health check passes
// within upgrade.health_timeout, or, without one, it still runs (never
// restarted) after upgrade.grace_period. A container that stops meanwhile
// fails at once.
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
	for {
		err := Probe(ctx, a.Runtime, app)
		if err == nil {
			return nil
		}
		if serr := stillRunning(); serr != nil {
			return serr
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy within %s: %w", timeout, err)
		}
		if err := sleep(ctx, delay); err != nil {
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

// recordRunning returns the generation of the running container old,
// recording it (and keeping its image) if state does not know it yet. A
// container archy did not make has no generation: nil.
func (a *Applier) recordRunning(ctx context.Context, id string, old plan.Container) (*Generation, error) {
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
// and forgets generations beyond KeepGenerations (releasing their
// images): failed ones first, never the one a replacement in flight may
// go back to. keep keeps its image (a generation to go back to); reached
// clears a hold and ends the replacement in flight (in the same write: a
// crash cannot separate them): the app runs its target.
func (a *Applier) recordGeneration(ctx context.Context, id string, c plan.Container, outcome string, keep, reached bool) (Generation, error) {
	g := Generation{Time: time.Now().UTC(), ImageID: c.ImageID, Image: c.Image,
		SpecHash: c.Labels[plan.LabelSpecHash], Spec: c.Labels[plan.LabelSpec], Outcome: outcome}
	var dropped []Generation
	err := a.updateState(func(st *State) {
		if st.Generations == nil {
			st.Generations = map[string][]Generation{}
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
		for len(gens) > KeepGenerations {
			i := dropIndex(gens, st.InFlight[id].From)
			dropped = append(dropped, gens[i])
			gens = append(gens[:i:i], gens[i+1:]...)
		}
		st.Generations[id] = gens
		if reached {
			it := st.Apps[id]
			it.Held, it.HeldWhy = "", ""
			st.Apps[id] = it
			delete(st.InFlight, id)
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
func dropIndex(gens []Generation, protect int) int {
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
func (a *Applier) keepImage(ctx context.Context, g *Generation) error {
	if g.Keep == "" || g.ImageID == "" {
		return nil
	}
	return a.Runtime.Tag(ctx, g.ImageID, g.Keep)
}

// keepRef is archy's reference to the image of an app's generation n.
func keepRef(app string, n int) string {
	return fmt.Sprintf("localhost/archy-keep/%s:%d", app, n)
}

// Recover finishes the replacements a killed archy left half done (see
// State.InFlight), so that no app stays without its container: a missing
// container is made again from the generation it was replacing; a new one
// that exists is proved, and rolled back if it fails. Each app is handled
// under its lock (Applier.Lock) and only if still in flight then: a
// replacement under way in this process is not a leftover. One app that
// cannot be recovered does not stop the others; all failures are reported.
func (n *Node) Recover(ctx context.Context, cat *catalog.Catalog, a *Applier) error {
	st, err := n.State.Load()
	if err != nil || len(st.InFlight) == 0 {
		return err
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(st.InFlight)) {
		if err := n.recoverApp(ctx, cat, id, a); err != nil {
			errs = append(errs, fmt.Errorf("recovering %s from an interrupted upgrade: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// RecoverApp is Recover for one app (under its lock, when a.Lock is set).
func (n *Node) RecoverApp(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) error {
	return n.recoverApp(ctx, cat, id, a)
}

func (n *Node) recoverApp(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) error {
	if a.Lock != nil {
		unlock, err := a.Lock(ctx, id)
		if err != nil {
			return err
		}
		defer unlock()
	}
	st, err := n.State.Load()
	if err != nil {
		return err
	}
	fl, inFlight := st.InFlight[id]
	if !inFlight {
		return nil // finished meanwhile
	}
	app, declared := cat.Apps[id]
	switch {
	case !declared:
		a.dropKept(ctx, fl.Kept) // the app is gone; its volumes stay
	default:
		var prev *Generation
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
	return n.State.Update(func(st *State) { delete(st.InFlight, id) })
}

func (a *Applier) recoverOne(ctx context.Context, app *schema.App, prev *Generation, fl InFlight, st State) error {
	start := !st.Apps[app.ID].Stopped
	c, err := a.Runtime.Inspect(ctx, app.ContainerName)
	switch {
	case errors.Is(err, ErrNotFound):
		a.printf("%s: an upgrade was interrupted after its old container was set aside; putting it back", app.ID)
		return a.putBack(ctx, app, prev, fl.Kept, fl.Keep, fl.Snapshot, start)
	case err != nil:
		return err
	case c.ID == fl.OldID:
		// The old container: never set aside, or put back already.
		if start && c.State != plan.StateRunning {
			return a.start(ctx, app)
		}
		return nil
	case !start:
		// The operator stopped the app: rather than leave an unproved
		// container for a later start, the old one goes back, stopped.
		return a.putBack(ctx, app, prev, fl.Kept, fl.Keep, fl.Snapshot, false)
	}
	if g, ok := st.GenerationOf(app.ID, c); ok && g.N > fl.From && g.Keep != "" {
		a.dropKept(ctx, fl.Kept)
		return nil // proved already; only the record of the end was lost
	}
	a.printf("%s: proving the container an interrupted upgrade made", app.ID)
	err = nil
	if c.State != plan.StateRunning {
		err = a.start(ctx, app)
	}
	if err == nil {
		err = a.prove(ctx, app)
	}
	if err != nil {
		a.printf("%s: it failed (%v); putting the old container back", app.ID, err)
		if err := a.putBack(context.WithoutCancel(ctx), app, prev, fl.Kept, fl.Keep, fl.Snapshot, true); err != nil {
			return err
		}
		if fl.Target == "" {
			return nil
		}
		why := fmt.Sprintf("an interrupted upgrade failed (%v) and was rolled back", err)
		return a.updateState(func(st *State) {
			it := st.Apps[app.ID]
			it.Held, it.HeldWhy = fl.Target, why
			st.Apps[app.ID] = it
		})
	}
	if _, err := a.recordGeneration(ctx, app.ID, c, "healthy (after an interrupted upgrade)", true, true); err != nil {
		return err
	}
	a.dropKept(ctx, fl.Kept)
	return nil
}

// dropKept removes an old container set aside, once its successor is
// proved.
func (a *Applier) dropKept(ctx context.Context, kept string) {
	if kept != "" {
		a.Runtime.Remove(ctx, kept)
	}
}

// Rollback returns an app to generation to (0: the newest earlier one that
// ran) through the same safe path as an upgrade, and holds the catalogue's
// target so that applies and the daemon leave the app there until the
// catalogue or the image changes, or archy upgrade.
func (n *Node) Rollback(ctx context.Context, cat *catalog.Catalog, id string, to int, a *Applier) (Generation, error) {
	app, err := cat.App(id)
	if err != nil {
		return Generation{}, err
	}
	st, err := n.State.Load()
	if err != nil {
		return Generation{}, err
	}
	current := 0
	if c, err := n.Runtime.Inspect(ctx, app.ContainerName); err == nil {
		if g, ok := st.GenerationOf(id, c); ok {
			current = g.N
		}
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
	r := replacement{app: old, image: g.ImageID, what: fmt.Sprintf("generation %d", g.N), secretsHash: n.Secrets.Hash(app)}
	if err := a.replace(ctx, r, !st.Apps[id].Stopped); err != nil {
		return g, err
	}
	return g, n.State.Update(func(st *State) {
		it := st.Apps[id]
		it.Held = held
		it.HeldWhy = fmt.Sprintf("rolled back to generation %d by the operator", g.N)
		st.Apps[id] = it
	})
}
