package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
)

// How work reaches the node. Full reconciles run one at a time on the
// full worker; an app's reconcile runs on a goroutine of its own (one at a
// time per app: requests that come while it runs make it run once more);
// actions run on the caller's goroutine. Every step on an app holds that
// app's lock (state.AppLocks), and all of it shares the host-wide lock,
// so that an archy apply run by hand takes turns with the daemon.

// work is what a piece of work is given: the connection, the node and the
// last good apps.
type work func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error

// session runs f while Podman is reachable, under the host-wide lock.
func (d *Daemon) session(ctx context.Context, f work) error {
	d.mu.Lock()
	rt, node, cat, degraded := d.rt, d.node, d.cat, d.degraded
	d.mu.Unlock()
	if degraded != "" {
		return fmt.Errorf("%w: %s", engine.ErrDegraded, degraded)
	}
	release, err := d.host.acquire(ctx, d.cfg.DataDir, func() { d.log.Info("waiting for another archy to finish") })
	if err != nil {
		return err
	}
	defer release()
	// Every piece of work checks the state first: a damaged or deleted
	// state file stops all of it (heals too) until the operator decides,
	// reported once, and the work resumes once the file is good again.
	if err := d.checkState(ctx, node); err != nil {
		return err
	}
	return f(ctx, rt, node, cat)
}

// checkState checks the state file under the host-wide lock (see
// engine.Node.CheckState); an unusable one is reported once, as a failure
// event and in the status, and fails the work as degraded (no error per
// reconcile in the log).
func (d *Daemon) checkState(ctx context.Context, node *engine.Node) error {
	err := node.CheckState(ctx, true)
	if err != nil && !errors.Is(err, state.ErrUnusable) {
		return err
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	d.mu.Lock()
	changed := d.stateErr != msg
	d.stateErr = msg
	d.mu.Unlock()
	switch {
	case changed && msg != "":
		d.publish(engine.Event{Type: engine.EventFailure, Message: msg})
	case changed:
		d.publishAt(slog.LevelInfo, engine.Event{Type: engine.EventStep, Message: "state file usable again: converging"})
	}
	if err != nil {
		return fmt.Errorf("%w: %w", engine.ErrDegraded, err)
	}
	// A fallback to state.json.prev that the check wrote back: a later
	// damage is news again.
	d.mu.Lock()
	fellBack := len(d.stateFallbacks) > 0
	d.mu.Unlock()
	if fellBack && node.State.Check() == nil {
		d.mu.Lock()
		d.stateFallbacks = nil
		d.mu.Unlock()
	}
	return nil
}

// stateFallback reports, once per message, that the state was read from
// state.json.prev.
func (d *Daemon) stateFallback(msg string) {
	d.mu.Lock()
	news := !d.stateFallbacks[msg]
	if d.stateFallbacks == nil {
		d.stateFallbacks = map[string]bool{}
	}
	d.stateFallbacks[msg] = true
	d.mu.Unlock()
	if news {
		d.publish(engine.Event{Type: engine.EventFailure, Message: msg})
	}
}

// enqueueFull asks for a full reconcile without waiting; one already
// waiting covers it.
func (d *Daemon) enqueueFull() {
	select {
	case d.fullq <- nil:
	default:
	}
}

// reconcileAll runs a full reconcile and waits for it.
func (d *Daemon) reconcileAll(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case d.fullq <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Daemon) fullWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case done := <-d.fullq:
			err := d.session(ctx, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
				d.recover(ctx, node, cat)
				d.guardDisk(ctx, rt, node, cat)
				err := d.reconcile(ctx, node, rt, cat, nil)
				if err == nil {
					d.pruneImages(ctx, node, cat)
				}
				return err
			})
			if done != nil {
				done <- err
			} else {
				d.logErr("", err)
			}
		}
	}
}

// pruneImages removes the images archy made that nothing uses, once
// Config.ImagePruneInterval has passed since it last did.
func (d *Daemon) pruneImages(ctx context.Context, node *engine.Node, cat *catalog.Catalog) {
	if time.Since(d.imagesPruned) < d.cfg.ImagePruneInterval {
		return
	}
	d.imagesPruned = time.Now()
	p, err := node.PruneImages(ctx, cat)
	if err != nil {
		d.log.Warn("removing unused images", "err", err)
		return
	}
	for _, f := range p.Failed {
		d.log.Warn("unused image not removed", "image", f.ID, "err", f.Err)
	}
	if len(p.Removed) > 0 {
		d.log.Info("removed unused images", "images", len(p.Removed), "bytes_freed", p.Freed)
	}
}

// appRun is an app reconcile under way; again asks for one more.
type appRun struct{ again bool }

// enqueueApp reconciles one app soon. exited: its process was just seen
// to end, and a start may be all it needs (Node.Heal).
func (d *Daemon) enqueueApp(id string, exited bool) {
	d.mu.Lock()
	if r := d.runs[id]; r != nil {
		r.again = true
		d.mu.Unlock()
		return
	}
	d.runs[id] = &appRun{}
	ctx := d.ctx
	d.mu.Unlock()
	go func() {
		for {
			d.logErr(id, d.session(ctx, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
				app, ok := cat.Apps[id]
				if !ok {
					return nil // no longer declared
				}
				if exited && d.heal(ctx, node, app.ID, cat) {
					return nil
				}
				// Off the heal's path: a heal only starts the container it
				// saw die, which no upgrade left in flight is about.
				d.recover(ctx, node, cat)
				return d.reconcile(ctx, node, rt, cat, []string{id})
			}))
			d.mu.Lock()
			if r := d.runs[id]; !r.again || ctx.Err() != nil {
				delete(d.runs, id)
				d.mu.Unlock()
				return
			}
			d.runs[id].again, exited = false, false
			d.mu.Unlock()
		}
	}()
}

// heal answers, under its lock, the death of an app's process: it starts
// the app again when that is all it needs. It reports false when a plan
// must decide.
func (d *Daemon) heal(ctx context.Context, node *engine.Node, id string, cat *catalog.Catalog) bool {
	unlock, err := d.locks.Lock(ctx, id)
	if err != nil {
		return false
	}
	defer unlock()
	start := time.Now()
	d.mu.Lock()
	seen := d.watched[id]
	d.mu.Unlock()
	res, err := node.Heal(ctx, cat.Apps[id], seen)
	switch {
	case res == engine.HealLeft:
		return true // the event of whoever is acting on it follows
	case res == engine.HealNeedsPlan:
		return false
	case err != nil:
		d.log.Warn("quick restart failed; planning instead", "app", id, "err", err)
		return false
	}
	d.mu.Lock()
	if st := d.apps[id]; st != nil {
		st.healedAt = time.Now()
	}
	d.mu.Unlock()
	d.metrics.steps.WithLabelValues(string(plan.Start)).Inc()
	d.publish(engine.Event{Type: engine.EventStep, App: id, Message: "start: its process had ended",
		Fields: map[string]string{"duration": time.Since(start).Round(time.Millisecond).String()}})
	d.recordStarted(engine.Outcome{App: id, Done: []plan.Action{plan.Start}})
	return true
}

// act runs an action on one app under its lock; a death it causes is
// archy's own doing, not a crash.
func (d *Daemon) act(ctx context.Context, id string, f work) error {
	return d.session(ctx, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
		unlock, err := d.locks.Lock(ctx, id)
		if err != nil {
			return err
		}
		defer unlock()
		d.expectStop(id)
		// Its own upgrade left half done, if any (its lock is held).
		if err := node.RecoverApp(ctx, cat, id, d.applier(node, nil)); err != nil {
			return err
		}
		defer d.setActing(id)()
		return f(ctx, rt, node, cat)
	})
}

// setActing notes that an action of the operator's works on app id until
// the function it returns is called.
func (d *Daemon) setActing(id string) func() {
	d.mu.Lock()
	d.acting[id] = true
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		delete(d.acting, id)
		d.mu.Unlock()
	}
}

// lockOthers locks apps other than id, whose lock the caller holds.
func (d *Daemon) lockOthers(id string) func(context.Context, string) (func(), error) {
	return func(ctx context.Context, app string) (func(), error) {
		if app == id {
			return func() {}, nil
		}
		return d.locks.Lock(ctx, app)
	}
}

func (d *Daemon) logErr(app string, err error) {
	if err != nil && d.ctx.Err() == nil && !errors.Is(err, engine.ErrDegraded) {
		d.log.Error("reconcile", "app", app, "err", err)
	}
}

// hostLock shares the host-wide lock (state.LockHost) among the daemon's
// concurrent work: the first to need it takes it, the last releases it.
type hostLock struct {
	mu     sync.Mutex
	n      int
	unlock func() error
}

func (h *hostLock) acquire(ctx context.Context, dir string, waiting func()) (release func(), err error) {
	// Overlapping work could keep the lock held for ever: while another
	// archy (an operator's apply or rollback) waits for it, new work waits
	// too, so that the lock is freed once the work under way is done and
	// the other gets its turn.
	for state.HostWaiter(dir) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		if h.unlock, err = state.LockHost(ctx, dir, waiting); err != nil {
			return nil, err
		}
	}
	h.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.n--; h.n == 0 {
				h.unlock()
			}
		})
	}, nil
}
