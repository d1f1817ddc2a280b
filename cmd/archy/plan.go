package main

import (
	"errors"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
	"archy.dev/archy/view"
)

// PlanFlags select what a plan covers; plan and apply share them.
type PlanFlags struct {
	Only  []string `help:"Only these apps (and what they depend on). Repeatable." placeholder:"APP" predictor:"app"`
	Prune bool     `help:"Remove archy's containers of apps that are no longer declared."`
}

func (f PlanFlags) options() engine.PlanOptions {
	return engine.PlanOptions{Only: f.Only, Prune: f.Prune}
}

// PlanCmd shows what apply would change.
type PlanCmd struct {
	PlanFlags
	JSON             bool   `help:"Print the plan as JSON (docs/json.md)."`
	DetailedExitcode bool   `help:"Exit 0 when nothing would change, 2 when something would, 1 on error."`
	Out              string `help:"Also save the plan to FILE, for apply --plan FILE." placeholder:"FILE" type:"path"`
}

func (c *PlanCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	s, err := g.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.close()
	pl, err := s.node.Plan(ctx, s.cat, c.options())
	if err != nil {
		return err
	}
	if c.Out != "" {
		doc := pl.Plan.Document()
		doc.Options = &plan.Options{Only: c.Only, Prune: c.Prune}
		if err := view.SavePlanDocument(c.Out, doc); err != nil {
			return err
		}
	}
	if c.JSON {
		err = view.PlanJSON(g.stdout, pl.Plan)
	} else {
		err = view.Plan(g.stdout, pl.Plan, g.style())
	}
	if err != nil {
		return err
	}
	switch {
	case pl.Plan.Blocked():
		return errors.New("some apps cannot be brought up (blocked above)")
	case c.DetailedExitcode && pl.Plan.Changes() > 0:
		return exitCode(2)
	}
	return nil
}
