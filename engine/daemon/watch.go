package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// watchEvents follows Podman's container events and reconciles the app
// concerned at once. When the stream breaks (Podman restarted, socket
// gone) it reports the daemon degraded, reconnects with backoff,
// resubscribes from the last event and runs a full reconcile, since
// anything may have happened meanwhile.
func (d *Daemon) watchEvents(ctx context.Context) {
	for ctx.Err() == nil {
		d.mu.Lock()
		rt, since := d.rt, d.lastEvent
		d.mu.Unlock()
		events, errc := rt.Events(ctx, since)
		err := d.follow(ctx, events, errc)
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("podman event stream broke; reconnecting", "err", err)
		d.setDegraded(fmt.Sprintf("lost podman: %v", err))
		if err := d.connect(ctx); err != nil {
			return // ctx ended
		}
		d.enqueueFull()
	}
}

// follow handles events until the stream ends, returning why.
func (d *Daemon) follow(ctx context.Context, events <-chan engine.ContainerEvent, errc <-chan error) error {
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return <-errc
			}
			d.onEvent(e)
			d.metrics.events.Inc()
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

// onEvent decides what an event means for its app. A death right after a
// stop or kill, or a removal, is drift: undone at once. A death nobody
// asked for is a crash: restarted after a backoff that doubles while the
// app keeps crashing. An event no newer than what archy already saw of the
// app is history (see appState.replayed): Podman replays events after a
// reconnect (from the second of the last one) and when it rotates its
// event log, and a replayed death is no new crash.
func (d *Daemon) onEvent(e engine.ContainerEvent) {
	d.mu.Lock()
	if e.Time.After(d.lastEvent) {
		d.lastEvent = e.Time
	}
	id, ok := d.byName[e.Container]
	st := d.apps[id]
	history := ok && st != nil && st.replayed(e)
	if ok && st != nil && !strings.HasPrefix(e.Action, "exec") && e.Action != "health_status" {
		st.forget() // the probes inspect it again
	}
	d.mu.Unlock()
	if !ok || st == nil {
		return // not one of ours
	}
	if history {
		d.metrics.replayed.Inc()
		d.log.Debug("podman event replayed: ignored", "app", id, "action", e.Action, "container", e.ID, "time", e.Time)
		return
	}
	switch e.Action {
	case "start", "restart":
		d.mu.Lock()
		st.ownStopUntil = time.Time{} // a stop that killed nothing is over
		st.diedID = ""                // a death from now on is a new one
		d.mu.Unlock()
	}
	switch e.Action {
	case "start":
		go d.watchStarted(context.Background(), d.runtime(), id, e.Container)
	case "kill", "stop", "restart":
		// Someone stopped it (kill comes before its death, stop and
		// restart after): drift, not a crash. After a stop, wait a moment
		// before undoing it: it may be the first half of a podman restart,
		// whose own start would fail if archy started the container first.
		d.mu.Lock()
		st.externalAt = time.Now()
		d.mu.Unlock()
		if e.Action == "stop" {
			time.AfterFunc(d.delays.crashSettle, func() { d.enqueueApp(id, false) })
		}
	case "remove":
		// A removal explains the death just before it: podman rm -f
		// stops the container itself (a death, with no kill or stop
		// event) and removes it. Drift, not a crash.
		d.mu.Lock()
		st.removed = append(st.removed[max(0, len(st.removed)-keepRemoved+1):], e.ID)
		d.mu.Unlock()
		d.publish(engine.Event{Type: engine.EventState, App: id, Message: "container removed"})
		d.enqueueApp(id, false)
	case "died":
		d.mu.Lock()
		external := time.Since(st.externalAt) < externalWindow
		own := time.Now().Before(st.ownStopUntil)
		// A container dies once per start: Podman reports some deaths
		// twice, with times of their own.
		dup := st.diedID == e.ID
		st.diedID = e.ID
		if own && !dup {
			st.ownStopUntil = time.Time{}
		}
		d.mu.Unlock()
		switch {
		case dup:
			return
		case own: // archy's own stop (which reports itself)
			d.enqueueApp(id, false)
			return
		case external:
			msg := fmt.Sprintf("stopped behind archy's back (exit %d)", e.ExitCode)
			d.markDown(st, msg)
			d.publish(engine.Event{Type: engine.EventFailure, App: id, Message: msg})
			d.enqueueApp(id, false)
			return
		}
		// A stop, restart or remove event follows the death it caused:
		// give it a moment before calling this a crash.
		died := time.Now()
		time.AfterFunc(d.delays.crashSettle, func() { d.classifyDeath(id, st, died, e.ID, e.ExitCode) })
	}
}

// ranWell tells an app archy started at least reset ago. One archy never
// saw start well (each start failed: it stopped right after it started)
// has not: otherwise every crash of it would be a fresh first one,
// restarted at once, and it would never back off.
func (st *appState) ranWell(reset time.Duration) bool {
	return !st.startedAt.IsZero() && time.Since(st.startedAt) >= reset
}

// eventDisorder is how far out of time order Podman may write one app's
// events: several processes write them (the service, a container's
// cleanup), each stamping an event when it makes it, so a kill or stop
// may follow the death it caused with an earlier time.
const eventDisorder = 2 * time.Second

// keepRecent is how many of an app's events are remembered to tell a
// replay within eventDisorder of the newest: more than an app makes in
// that time.
const keepRecent = 64

// eventKey identifies an event: a replay repeats it exactly.
type eventKey struct {
	id, action string
	time       int64
}

// replayed reports whether e is history (and if not, records it): older
// than the newest event handled for the app by more than eventDisorder,
// one of the recent events again, or (while none came) older than the
// start of the container a reconcile found. d.mu is held.
func (st *appState) replayed(e engine.ContainerEvent) bool {
	key := eventKey{e.ID, e.Action, e.Time.UnixNano()}
	if e.Time.Before(st.startFloor) || e.Time.Before(st.eventAt.Add(-eventDisorder)) || slices.Contains(st.recent, key) {
		return true
	}
	st.recent = append(st.recent[max(0, len(st.recent)-keepRecent+1):], key)
	if e.Time.After(st.eventAt) {
		st.eventAt = e.Time
	}
	return false
}

// sawContainers gives each app that has had no event yet the start of
// its container as the reconcile found it: an event before that start is
// history (Podman replays events older than the daemon when it rotates its
// event log). Only until the first event: from then on the events tell,
// and a death that a quick restart overtook must still count.
func (d *Daemon) sawContainers(obs plan.Observed) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range obs.Containers {
		if id, ok := d.byName[c.Name]; ok && d.apps[id] != nil && d.apps[id].eventAt.IsZero() {
			d.apps[id].startFloor = c.StartedAt
		}
	}
}

// keepRemoved is how many removed containers of an app are remembered:
// enough for removals quicker than crashSettle.
const keepRemoved = 8

// markDown notes how an app went down behind archy's back; the first
// cause is kept until it serves again.
func (d *Daemon) markDown(st *appState, why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st.down == "" {
		st.down, st.downSince = why, time.Now()
	}
}

// serving clears an app's down mark once it serves again; false if it
// was not down.
func (d *Daemon) serving(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.apps[id]
	if st == nil || st.down == "" {
		return false
	}
	st.down, st.downSince = "", time.Time{}
	return true
}

// healWindow is how long before the event of a death a quick restart
// may have answered it.
const healWindow = 3 * time.Second

// classifyDeath deals with a death that no stop, kill or restart
// explained: a crash. The first crash of an app that was running well is
// undone at once (the exit watcher may have done so already); the next
// ones back off, 1 s doubling to 5 min, until it runs well for 10 min.
func (d *Daemon) classifyDeath(id string, st *appState, died time.Time, container string, exitCode int) {
	d.mu.Lock()
	explained := st.externalAt.After(died.Add(-externalWindow)) || slices.Contains(st.removed, container)
	rt := d.rt
	app := d.cat.Apps[id]
	if app == nil { // no longer declared (a reload) since it died
		d.mu.Unlock()
		return
	}
	name := app.ContainerName
	// Healed by the exit watcher around this death (before or after the
	// event: the heal may wait for the app's lock).
	healed := st.healedAt.After(died.Add(-healWindow))
	if explained {
		d.mu.Unlock()
		return // the stop, restart or remove event enqueued the reconcile
	}
	if st.ranWell(d.delays.backoffReset) {
		st.crashes, st.fastUsed = 0, false // it ran long enough: a fresh start
	}
	quick := !st.fastUsed
	st.fastUsed = true
	d.mu.Unlock()
	d.markDown(st, fmt.Sprintf("exited (%d) on its own", exitCode))
	if quick {
		// Say "restarted" only of a restart that happened: the exit
		// watcher's. Otherwise the reconcile queued here restarts it, and
		// its step event says so when it has.
		done := "restarting at once"
		if healed {
			done = "restarted at once"
		}
		d.publish(engine.Event{Type: engine.EventFailure, App: id,
			Message: fmt.Sprintf("exited (%d) on its own; %s (a further crash backs off)", exitCode, done)})
		if !healed {
			d.enqueueApp(id, false)
		}
		return
	}
	if c, err := rt.Inspect(context.Background(), name); err == nil && c.State == plan.StateRunning {
		return // started again meanwhile (by the operator, say)
	}
	d.mu.Lock()
	st.crashes++
	delay := d.delays.backoff(st.crashes)
	st.backoffUntil = time.Now().Add(delay)
	d.mu.Unlock()
	d.metrics.backoff.WithLabelValues(id).Set(delay.Seconds())
	d.publish(engine.Event{Type: engine.EventBackoff, App: id,
		Message: fmt.Sprintf("exited (%d) on its own; restarting in %s", exitCode, delay),
		Fields:  map[string]string{"delay": delay.String()}})
	d.scheduleAfter(id, st, delay)
}

// backoff is the wait before restarting an app after its nth crash in a
// row: backoffFirst doubling up to backoffMax. It doubles step by step and
// stops at the cap: a shift by n-1 overflowed after 34 crashes, and the
// wait turned negative (no backoff at all) or zero.
func (t delays) backoff(crashes int) time.Duration {
	d := t.backoffFirst
	for i := 1; i < crashes && d < t.backoffMax; i++ {
		d *= 2
	}
	return min(d, t.backoffMax)
}

// scheduleAfter reconciles an app once its backoff runs out.
func (d *Daemon) scheduleAfter(id string, st *appState, delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st.timer != nil {
		st.timer.Stop()
	}
	st.timer = time.AfterFunc(delay, func() {
		d.metrics.backoff.WithLabelValues(id).Set(0)
		d.enqueueApp(id, false)
	})
}

// probeLoop runs archy's own health checks. An app that fails its check
// retries times in a row is restarted (under the same backoff as a crash).
func (d *Daemon) probeLoop(ctx context.Context) {
	next := map[string]time.Time{}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			d.mu.Lock()
			rt, cat, degraded := d.rt, d.cat, d.degraded
			d.mu.Unlock()
			if degraded != "" {
				continue
			}
			for id, app := range cat.Apps {
				hc := app.HealthCheck
				if hc == nil || now.Before(next[id]) {
					continue
				}
				next[id] = now.Add(time.Duration(hc.Interval))
				go d.probe(ctx, rt, id, app.ContainerName)
			}
		}
	}
}

func (d *Daemon) probe(ctx context.Context, rt engine.ProbeRuntime, id, container string) {
	d.mu.Lock()
	app := d.cat.Apps[id]
	st := d.apps[id]
	d.mu.Unlock()
	if app == nil || st == nil {
		return
	}
	c, err := d.runningContainer(ctx, rt, st, container)
	if err != nil || c.State != plan.StateRunning {
		d.metrics.up.WithLabelValues(id).Set(0)
		d.mu.Lock()
		st.health, st.note = "", "" // the next start warms up afresh
		d.mu.Unlock()
		return // not running: events and the full reconcile deal with it
	}
	d.metrics.up.WithLabelValues(id).Set(1)
	if time.Since(c.StartedAt) < time.Duration(app.HealthCheck.StartPeriod) {
		return
	}
	err = engine.Probe(ctx, rt, app)
	note, starting := engine.IsStarting(err)
	health := engine.HealthState(err)
	d.mu.Lock()
	was, wasHealth, wasNote := st.unhealthy, st.health, st.note
	st.health, st.note, st.probedID = health, note, c.ID
	wasDown := st.down
	if err == nil {
		st.down, st.downSince = "", time.Time{}
	}
	switch {
	case err == nil:
		st.unhealthy, st.healthErr = 0, ""
		if st.ranWell(d.delays.backoffReset) {
			st.crashes, st.fastUsed = 0, false
		}
	case starting:
		// Warming up is not failing: no count towards a restart.
		st.unhealthy, st.healthErr = 0, ""
	default:
		st.unhealthy++
		st.healthErr = err.Error()
	}
	now := st.unhealthy
	d.mu.Unlock()
	d.metrics.healthy.WithLabelValues(id).Set(boolGauge(err == nil))
	d.metrics.setHealth(id, health)
	switch {
	case starting && (wasHealth != engine.Starting || note != wasNote):
		d.publish(engine.Event{Type: engine.EventState, App: id, Message: "starting: " + note,
			Fields: map[string]string{"health": engine.Starting, "note": note}})
	case err == nil && wasHealth == engine.Starting:
		d.publish(engine.Event{Type: engine.EventState, App: id, Message: "healthy: warm-up over",
			Fields: map[string]string{"health": engine.Healthy}})
	case err == nil && wasDown != "":
		d.publish(engine.Event{Type: engine.EventState, App: id, Message: "serving again (" + wasDown + ")",
			Fields: map[string]string{"health": engine.Healthy}})
	case err == nil && was >= app.HealthCheck.Retries:
		d.publish(engine.Event{Type: engine.EventState, App: id, Message: "healthy again",
			Fields: map[string]string{"health": engine.Healthy}})
	case err != nil && now >= app.HealthCheck.Retries:
		d.mu.Lock()
		st.unhealthy = 0 // count afresh after the restart
		st.crashes++
		delay := d.delays.backoff(st.crashes)
		st.backoffUntil = time.Now().Add(delay)
		d.mu.Unlock()
		d.publish(engine.Event{Type: engine.EventFailure, App: id,
			Message: fmt.Sprintf("unhealthy %d times in a row (%v); restarting in %s", now, err, delay)})
		time.AfterFunc(delay, func() {
			d.logErr(id, d.act(d.ctx, id, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
				if !d.stillUnhealthy(ctx, rt, node, cat, id) {
					return nil
				}
				err := node.Restart(ctx, cat, id, d.applier(node, nil))
				if err == nil {
					d.recordStarted(engine.Outcome{App: id, Done: []plan.Action{plan.Start}})
				}
				return err
			}))
		})
	}
}

// runningTTL bounds how long the probes trust an inspect of a running
// container that no event has contradicted (events may be lost while
// Podman's stream reconnects).
const runningTTL = 30 * time.Second

// runningContainer is the probes' look at an app's container: Podman's
// inspect, once per start of it rather than once per probe (an inspect
// costs more than most probes). Every event of the container but its
// execs and health statuses, and the exit watcher, make it look again.
func (d *Daemon) runningContainer(ctx context.Context, rt engine.ProbeRuntime, st *appState, container string) (plan.Container, error) {
	d.mu.Lock()
	if r := st.running; r != nil && r.Name == container && time.Since(st.runningAt) < runningTTL {
		d.mu.Unlock()
		return *r, nil
	}
	d.mu.Unlock()
	asked := time.Now()
	c, err := rt.Inspect(ctx, container)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err != nil || c.State != plan.StateRunning:
		st.running = nil
	case st.forgotAt.Before(asked):
		st.running, st.runningAt = &c, asked
	}
	return c, err
}

// onProcessExit is the exit watcher's news that an app's process ended.
// Unless archy is acting on it (stop, restart, …) or it is backing off, the
// app is reconciled at once: a death of an app that was running well is
// undone without waiting for the event that says why. If the event then
// calls it a crash, that was the app's one immediate restart.
func (d *Daemon) onProcessExit(id string) {
	d.mu.Lock()
	st := d.apps[id]
	if st != nil {
		st.forget()
	}
	fast := st != nil && !d.acting[id] &&
		!time.Now().Before(st.backoffUntil) &&
		(!st.fastUsed || st.ranWell(d.delays.backoffReset))
	d.mu.Unlock()
	if fast {
		d.enqueueApp(id, true)
	}
}

// watchProcesses follows the main process of each running container of
// an app.
func (d *Daemon) watchProcesses(obs plan.Observed) {
	if d.exits == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range obs.Containers {
		if id, ok := d.byName[c.Name]; ok && c.State == plan.StateRunning && plan.CreatedByArchy(&c, id) {
			d.watchLocked(id, c)
		}
	}
}

// watchLocked watches c's process for app id; d.mu is held.
func (d *Daemon) watchLocked(id string, c plan.Container) {
	if d.exits.Watch(id, c.Pid) {
		d.watched[id] = c
	}
}

// watchStarted follows the process of a container that just started.
func (d *Daemon) watchStarted(ctx context.Context, rt engine.Observer, id, container string) {
	if d.exits == nil {
		return
	}
	c, err := rt.Inspect(ctx, container)
	if err == nil && c.State == plan.StateRunning {
		d.mu.Lock()
		d.watchLocked(id, c)
		d.mu.Unlock()
	}
}

// stillUnhealthy checks, under the app's lock and just before archy
// restarts it for failed probes, that the restart is still wanted: the
// operator has not stopped or removed it meanwhile, it runs, and it still
// fails its check (an upgrade may have been rolled back, say).
func (d *Daemon) stillUnhealthy(ctx context.Context, rt engine.ProbeRuntime, node *engine.Node, cat *catalog.Catalog, id string) bool {
	app := cat.Apps[id]
	if app == nil {
		return false
	}
	st, err := node.State.Load()
	if err != nil || st.Apps[id].KeptStopped() || st.Apps[id].Removed {
		return false
	}
	if c, err := rt.Inspect(ctx, app.ContainerName); err != nil || c.State != plan.StateRunning {
		return false // not running: events and reconciles deal with it
	}
	err = engine.Probe(ctx, rt, app)
	_, starting := engine.IsStarting(err)
	return err != nil && !starting // a warm-up is never restarted
}
