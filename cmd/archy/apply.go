package main

import (
	"fmt"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
	"archy.dev/archy/view"
)

// ApplyCmd brings every app to its declared state.
type ApplyCmd struct {
	PlanFlags
	Plan     string        `help:"Apply this saved plan (plan --out); refused when live state moved since." placeholder:"FILE" type:"existingfile"`
	Parallel int           `help:"Builds, pulls, creates and starts run at once (the waits for proofs and dependencies hold none)." default:"4"`
	JSON     bool          `help:"Print JSON lines as the apply goes: the plan, each event of its steps, a summary (docs/json.md)."`
	Wait     bool          `help:"Return only once every app meant to run is healthy, as archy status shows it; exit 1 naming those that are not within --timeout."`
	Timeout  time.Duration `help:"How long --wait waits for the apps to be healthy." default:"5m"`
}

func (c *ApplyCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	v := view.NewApplyText(g.stdout, g.style())
	if c.JSON {
		v = view.NewApplyJSON(g.stdout)
	}
	opts := c.options()
	var saved plan.Document
	var err error
	if c.Plan != "" { // the saved plan's options, not the flags, say what it covers
		if saved, err = view.ReadPlanDocument(c.Plan); err != nil {
			return err
		}
		if o := saved.Options; o != nil {
			opts = engine.PlanOptions{Only: o.Only, Prune: o.Prune}
		}
	}
	s, err := g.openWith(ctx, true, v)
	if err != nil {
		return err
	}
	defer s.close()
	pl, err := s.node.Plan(ctx, s.cat, opts)
	if err != nil {
		return err
	}
	if c.Plan != "" && saved.Fingerprint != pl.Plan.Fingerprint {
		return fmt.Errorf("saved plan %s is stale: the apps or the live state changed since it was made; run archy plan again", c.Plan)
	}
	if err := v.Plan(pl.Plan); err != nil {
		return err
	}
	var res view.ApplyResult
	if pl.Plan.Busy() {
		a := s.node.Applier(v)
		a.Parallel = c.Parallel
		start := time.Now()
		if res.Report, err = s.node.Apply(ctx, pl, a); err != nil {
			return err
		}
		res.Took = time.Since(start)
		v.Applied(res.Report, res.Took)
	}
	if res.Report.Err() == nil {
		// Images nothing uses any more (a rebuild's leftover, a pulled
		// image no app declares) go after a successful apply.
		p, err := s.node.PruneImages(ctx, s.cat)
		if err != nil {
			return fmt.Errorf("removing unused images: %w", err)
		}
		if len(p.Removed)+len(p.Failed) > 0 {
			v.Event(engine.ImagesPruned{Prune: p})
		}
	}
	// A failed step is the answer already; waiting would only add to it.
	if c.Wait && res.Report.Err() == nil {
		apps, err := s.node.Running(pl)
		if err != nil {
			return err
		}
		// The wait changes nothing: the daemon (or another archy) may heal
		// meanwhile, and should.
		s.close()
		start := time.Now()
		fails, err := engine.WaitAllHealthy(ctx, s.rt, apps, c.Timeout, v)
		if err != nil {
			return fmt.Errorf("waiting for the apps to be healthy: %w", err)
		}
		res.Wait = &view.WaitResult{NotHealthy: fails, Took: time.Since(start)}
		for _, app := range apps {
			res.Wait.Apps = append(res.Wait.Apps, app.ID)
		}
	}
	if err := v.Finished(res); err != nil {
		return err
	}
	if err := res.Report.Err(); err != nil {
		fmt.Fprintf(g.stderr, "archy: %v\n", err)
		return exitCode(1)
	}
	if res.Wait != nil && len(res.Wait.NotHealthy) > 0 {
		view.NotHealthy(g.stderr, fmt.Sprintf("apply --wait (%s)", c.Timeout), res.Wait.NotHealthy)
		return exitCode(1)
	}
	return nil
}

// applied reports an apply (with its progress on stdout already): every
// failure listed, exit 1 if any.
func (g *Globals) applied(rep engine.Report, took time.Duration) error {
	view.ApplySummary(g.stdout, rep, took)
	if err := rep.Err(); err != nil {
		fmt.Fprintf(g.stderr, "archy: %v\n", err)
		return exitCode(1)
	}
	return nil
}
