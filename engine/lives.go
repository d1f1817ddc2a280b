package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// An app's life runs from its first container to its removal for good:
// a prune of the undeclared app (apply --prune) or archy rm --purge-data.
// Its end ends its generations, its holds and the images kept for them, so
// that an app declared again under the same id starts a new life and no
// upgrade of it can go back to a container of the earlier one (whose
// settings the catalogue may never have asked of this app). Within a life,
// an upgrade goes back only to a generation whose settings pass today's
// vet, with the operator's opt-ins as given now (Catalog.Refusals).

// endLife forgets app id's generations, the replacement in flight (its
// set-aside container is removed first, as a recovery of an undeclared
// app would), its intent (holds included) and its unclean stop, and
// releases its kept images. intent is what stays of its intent (nil:
// nothing).
func (a *Applier) endLife(ctx context.Context, id string, intent *plan.AppIntent) error {
	st, err := a.State.Load()
	if err != nil {
		return err
	}
	if fl, ok := st.InFlight[id]; ok && fl.Kept != "" {
		a.stopping(id)
		if err := ignoreNotFound(a.removeUndeclared(ctx, id, fl.Kept)); err != nil {
			return fmt.Errorf("removing %s, the container an interrupted upgrade of %s set aside: %w", fl.Kept, id, err)
		}
	}
	gens := st.Generations[id]
	err = a.updateState(func(st *state.State) {
		delete(st.Generations, id)
		delete(st.InFlight, id)
		delete(st.UncleanStops, id)
		delete(st.Apps, id)
		if intent != nil {
			st.Apps[id] = *intent
		}
	})
	if err != nil {
		return err
	}
	for _, g := range gens {
		if g.Keep != "" {
			a.Runtime.Untag(ctx, g.Keep) // the image goes when nothing else uses it
		}
	}
	return nil
}

// endPrunedLives ends the lives of the apps a pruning apply found
// undeclared (in state, not in cat), but for those whose removal failed
// or was skipped: their containers are still there, and so is what archy
// knows of them.
func (a *Applier) endPrunedLives(ctx context.Context, cat *catalog.Catalog, rep Report) []Outcome {
	st, err := a.State.Load()
	if err != nil {
		return []Outcome{{App: "prune", Err: err}}
	}
	failed := map[string]bool{}
	for _, o := range rep.Outcomes {
		if o.Err != nil || o.Skipped != "" {
			failed[o.App] = true
		}
	}
	ids := slices.Collect(maps.Keys(st.Generations))
	ids = slices.AppendSeq(ids, maps.Keys(st.Apps))
	ids = slices.AppendSeq(ids, maps.Keys(st.InFlight))
	slices.Sort(ids)
	var out []Outcome
	for _, id := range slices.Compact(ids) {
		if _, declared := cat.Apps[id]; declared || failed[id] {
			continue
		}
		if err := a.endLife(ctx, id, nil); err != nil {
			out = append(out, Outcome{App: id, Err: fmt.Errorf("forgetting the pruned app's generations: %w", err)})
		}
	}
	return out
}

// refusal says why an upgrade of app must not go back to generation g
// (nil: it may): today's rules refuse its settings. app is the declared
// app of that id.
func (a *Applier) refusal(app *schema.App, g state.Generation) error {
	if a.Catalog == nil {
		return fmt.Errorf("%s is not rolled back to: archy has no catalogue to check its settings against", generationName(g.N))
	}
	old, err := plan.AppFromSpec(app, g.Spec)
	if err != nil {
		return fmt.Errorf("%s is not rolled back to: %w", generationName(g.N), err)
	}
	ds := a.Catalog.Refusals(old)
	if len(ds) == 0 {
		return nil
	}
	why := make([]string, len(ds))
	for i, d := range ds {
		why[i] = d.Msg
		if d.Path != "" {
			why[i] = d.Path + ": " + why[i]
		}
		if d.App != "" && d.App != app.ID {
			why[i] = fmt.Sprintf("app %q: %s", d.App, why[i])
		}
	}
	return fmt.Errorf("%s is not rolled back to: %s", generationName(g.N), strings.Join(why, "; "))
}

// wayBack picks the generation an upgrade goes back to from candidates,
// newest first: the first one refusal accepts. It returns it (nil: none)
// and why each one before it was refused.
func wayBack(candidates []state.Generation, refusal func(state.Generation) error) (*state.Generation, []error) {
	var refused []error
	for _, g := range candidates {
		if err := refusal(g); err != nil {
			refused = append(refused, err)
			continue
		}
		return &g, refused
	}
	return nil, refused
}

// keptBefore are app id's generations with a kept image older than
// generation before (0: all), newest first: the ways back of an upgrade.
func keptBefore(st state.State, id string, before int) []state.Generation {
	var out []state.Generation
	for _, g := range slices.Backward(st.Generations[id]) {
		if g.Keep != "" && (before == 0 || g.N < before) {
			out = append(out, g)
		}
	}
	return out
}

// NoWayBackError reports a replacement that failed its proof with no
// generation to go back to that today's rules accept: the new container
// is kept stopped and the app held (plan.AppIntent.HeldStopped) until the
// catalogue or the image changes, or archy upgrade.
type NoWayBackError struct {
	App     string
	Failed  int     // the generation that failed
	Refused []error // why each earlier generation was not gone back to
	Reason  error
}

func (e *NoWayBackError) Error() string {
	return fmt.Sprintf("generation %d failed its proof (%v) and was not rolled back: %v. The new container is kept stopped; fix the app and `archy upgrade %s`",
		e.Failed, e.Reason, joinErrors(e.Refused), e.App)
}

func (e *NoWayBackError) Unwrap() error { return e.Reason }

// holdRefused ends a failed replacement (generation failed) that has no
// acceptable way back (refused says why): the failed container is stopped
// (a container that failed its proof is not left to run, nor restarted by
// the daemon), a container set aside stays so (stopped, never started by
// this), and target held ("": none) is held kept stopped. It finishes
// even when ctx ends.
func (a *Applier) holdRefused(ctx context.Context, app *schema.App, failed int, held string, refused []error, reason error) error {
	ctx = context.WithoutCancel(ctx)
	id := app.ID
	a.stopping(id)
	if err := a.stopContainer(ctx, app, app.ContainerName); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("generation %d failed (%v), and stopping it failed too: %w", failed, reason, err)
	}
	nerr := &NoWayBackError{App: id, Failed: failed, Refused: refused, Reason: reason}
	err := a.updateState(func(st *state.State) {
		delete(st.InFlight, id)
		if held != "" {
			it := st.Apps[id]
			it.Held, it.HeldStopped = held, true
			it.HeldWhy = fmt.Sprintf("generation %d failed (%v), kept stopped: %s", failed, reason, joinErrors(refused))
			st.Apps[id] = it
		}
	})
	if err != nil {
		return err
	}
	return nerr
}

// joinErrors is errs on one line.
func joinErrors(errs []error) string {
	s := make([]string, len(errs))
	for i, err := range errs {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}
