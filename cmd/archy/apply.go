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
	Plan     string `help:"Apply this saved plan (plan --out); refused when live state moved since." placeholder:"FILE" type:"existingfile"`
	Parallel int    `help:"Apps of one level handled at once." default:"4"`
}

func (c *ApplyCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
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
	s, err := g.open(ctx, true)
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
	if err := view.Plan(g.stdout, pl.Plan, g.style()); err != nil {
		return err
	}
	if !pl.Plan.Busy() {
		return nil
	}
	fmt.Fprintln(g.stdout)
	a := s.node.Applier(view.NewProgress(g.stdout))
	a.Parallel = c.Parallel
	start := time.Now()
	rep, err := s.node.Apply(ctx, pl, a)
	if err != nil {
		return err
	}
	return g.applied(rep, time.Since(start))
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
