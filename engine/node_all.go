package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/graph"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// The whole node at once: archy stop --all before a host shuts down, and
// archy start --all when it is back. Both walk the dependency graph a
// level at a time and record the operator's intent a level at a time,
// just before acting on it: a daemon reconciling meanwhile then never
// stops a dependency before its dependents (it would, in dependency
// order, if every app were marked stopped at once), and an interrupted
// walk leaves intent and containers agreeing.

// AllResult is what archy stop --all or start --all did.
type AllResult struct {
	// Report has an outcome per app acted on, in the order they ended: for
	// a stop every app, for a start those that had something to do.
	Report Report
	// Left are the apps start --all left as they were: stopped or removed
	// by the operator on their own (archy start APP starts one).
	Left []string
}

// StopAll stops every app, dependents first (graph.StopLevels): an app
// stops only once every app that depends on it has stopped; the apps of a
// level stop side by side, each with the one stop archy stop makes. Each
// app is recorded as stopped by the whole-node stop (unless the operator
// had stopped it already), so applies and the daemon keep it stopped and
// StartAll starts it again.
//
// A failure to stop one app is reported and the walk goes on: the apps it
// depends on are still stopped after it, since a host shutdown usually
// follows and a clean stop of a dependency beats the kill that shutdown
// would give it.
func (n *Node) StopAll(ctx context.Context, cat *catalog.Catalog, a *Applier) (AllResult, error) {
	levels, err := graph.StopLevels(graph.DependencyGraph(cat.List()))
	if err != nil {
		return AllResult{}, err
	}
	var res AllResult
	var mu sync.Mutex
	for _, ids := range levels {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := n.State.Update(func(st *state.State) {
			for _, id := range ids {
				it := st.Apps[id]
				if it.Removed {
					continue
				}
				it.NodeStopped = it.NodeStopped || !it.Stopped
				it.Stopped = true
				st.Apps[id] = it
			}
		}); err != nil {
			return res, err
		}
		// No limit within a level: a stop is a wait, and the host's
		// shutdown timeout (StopAllTimeout) counts on them overlapping.
		var g errgroup.Group
		for _, id := range ids {
			app := cat.Apps[id]
			g.Go(func() error {
				o := n.stopOne(ctx, app, a)
				mu.Lock()
				res.Report.Outcomes = append(res.Report.Outcomes, o)
				mu.Unlock()
				return nil
			})
		}
		g.Wait()
	}
	return res, ctx.Err()
}

// stopOne stops one app's container under its lock (Applier.Lock).
func (n *Node) stopOne(ctx context.Context, app *schema.App, a *Applier) Outcome {
	start := time.Now()
	o := Outcome{App: app.ID}
	defer func() {
		o.Duration = time.Since(start)
		a.report(&o, start)
	}()
	if a.Lock != nil {
		unlock, err := a.Lock(ctx, app.ID)
		if err != nil {
			o.Err = err
			return o
		}
		defer unlock()
	}
	a.stopping(app.ID)
	switch err := n.stopContainer(ctx, app, a); {
	case errors.Is(err, ErrNotFound): // no container: nothing to stop
	case err != nil:
		o.Err = err
	default:
		o.Done = []plan.Action{plan.Stop}
	}
	return o
}

// StartAll starts the node again after StopAll, in dependency order: a
// level at a time, it clears the whole-node stop of the level's apps and
// brings them to their declared state as archy start does (dependents
// wait for their dependencies' condition, as in an apply). Apps the
// operator stopped or removed on their own stay so (AllResult.Left): a
// reboot, which runs StartAll, must not undo an archy stop. The apps of a
// failed or skipped app are skipped, knock-ons not counted as failures.
func (n *Node) StartAll(ctx context.Context, cat *catalog.Catalog, a *Applier) (AllResult, error) {
	levels, err := graph.Levels(graph.DependencyGraph(cat.List()))
	if err != nil {
		return AllResult{}, err
	}
	st, err := n.State.Load()
	if err != nil {
		return AllResult{}, err
	}
	var res AllResult
	for _, app := range cat.List() {
		if it := st.Apps[app.ID]; !it.NodeStopped && (it.Stopped || it.Removed) {
			res.Left = append(res.Left, app.ID)
		}
	}
	down := map[string]string{} // app -> "failed", "was blocked" or "was skipped": its dependents are skipped
	for _, ids := range levels {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var run []string
		for _, id := range ids {
			if why := blockedBy(cat.Apps[id], down); why != "" {
				down[id] = "was skipped"
				res.Report.Outcomes = append(res.Report.Outcomes, Outcome{App: id, Skipped: why})
				a.emit(StepSkipped{App: id, Reason: why})
				continue
			}
			run = append(run, id)
		}
		// Cleared for the skipped apps too: the operator wants the node
		// up, and the daemon starts them once what they need is back.
		if err := n.State.Update(func(st *state.State) {
			for _, id := range ids {
				if it := st.Apps[id]; it.NodeStopped {
					it.Stopped, it.NodeStopped = false, false
					st.Apps[id] = it
				}
			}
		}); err != nil {
			return res, err
		}
		if len(run) == 0 {
			continue
		}
		pl, err := n.Plan(ctx, cat, PlanOptions{Only: run})
		if err != nil {
			return res, err
		}
		rep, err := n.Apply(ctx, pl, a)
		if err != nil {
			return res, err
		}
		for _, o := range rep.Outcomes {
			res.Report.Outcomes = append(res.Report.Outcomes, o)
			switch {
			case o.Blocked:
				down[o.App] = "was blocked"
			case o.Err != nil:
				down[o.App] = "failed"
			case o.Skipped != "" && !o.Stale:
				down[o.App] = "was skipped"
			}
		}
	}
	return res, nil
}

// blockedBy says why app cannot start: a dependency of it is down.
func blockedBy(app *schema.App, down map[string]string) string {
	for _, d := range app.Dependencies {
		if how, ok := down[d.AppID]; ok {
			return "dependency " + d.AppID + " " + how
		}
	}
	return ""
}

// StopAllMargin is added to the sum of the stop timeouts in
// StopAllTimeout: the time Podman, archy's start and its locks take
// besides the apps' own stops.
const StopAllMargin = time.Minute

// StopAllTimeout bounds how long StopAll may take: its levels run one
// after another, each as long as its slowest stop timeout (an app is
// killed once that has passed), so their sum is the worst case; it is at
// least the stop timeouts of the longest dependency chain added up. Plus
// StopAllMargin. A host shutdown must wait that long (archy export
// systemd sets the unit's TimeoutStopSec from it).
func StopAllTimeout(apps []*schema.App) (time.Duration, error) {
	levels, err := StopAllLevels(apps)
	if err != nil {
		return 0, err
	}
	total := StopAllMargin
	for _, l := range levels {
		total += l.Timeout
	}
	return total, nil
}

// StopLevel is a level of StopAll's walk: its apps and the slowest of
// them, whose stop timeout is how long the level may take.
type StopLevel struct {
	Apps    []string
	Slowest string
	Timeout time.Duration
}

// StopAllLevels are the levels StopAll walks, each with its slowest app.
func StopAllLevels(apps []*schema.App) ([]StopLevel, error) {
	levels, err := graph.StopLevels(graph.DependencyGraph(apps))
	if err != nil {
		return nil, err
	}
	byID := map[string]*schema.App{}
	for _, app := range apps {
		byID[app.ID] = app
	}
	var out []StopLevel
	for _, ids := range levels {
		l := StopLevel{Apps: ids}
		for _, id := range ids {
			if t := byID[id].Stop.TimeoutOrDefault(); t > l.Timeout {
				l.Slowest, l.Timeout = id, t
			}
		}
		out = append(out, l)
	}
	return out, nil
}
