package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"archy.dev/archy/engine"
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
	s, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	pl, err := s.node.Plan(ctx, s.cat, c.options())
	if err != nil {
		return err
	}
	if c.Plan != "" {
		if err := checkSavedPlan(c.Plan, pl.Plan.Fingerprint); err != nil {
			return err
		}
	}
	if err := view.Plan(g.stdout, pl.Plan, g.style()); err != nil {
		return err
	}
	if pl.Plan.Changes() == 0 && !blocked(pl) {
		return nil
	}
	fmt.Fprintln(g.stdout)
	return g.runApply(ctx, s, c.Parallel, func(a *engine.Applier) (engine.Report, error) { return s.node.Apply(ctx, pl, a) })
}

// runApply runs an apply with progress on stdout and reports the result:
// every failure listed, exit 1 if any.
func (g *Globals) runApply(ctx context.Context, s *session, parallel int, apply func(*engine.Applier) (engine.Report, error)) error {
	a := &engine.Applier{Runtime: s.rt, State: s.node.State, Out: g.stdout, Parallel: parallel}
	start := time.Now()
	rep, err := apply(a)
	if err != nil {
		return err
	}
	view.ApplySummary(g.stdout, rep, time.Since(start))
	if err := rep.Err(); err != nil {
		fmt.Fprintf(g.stderr, "archy: %v\n", err)
		return exitCode(1)
	}
	return nil
}

func blocked(pl engine.Planned) bool {
	for _, s := range pl.Plan.Steps {
		if s.Blocked != "" {
			return true
		}
	}
	return false
}

// checkSavedPlan refuses a saved plan made from other inputs or live state.
func checkSavedPlan(path, fingerprint string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading saved plan: %w", err)
	}
	var doc view.PlanDocument
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("reading saved plan %s: %w", path, err)
	}
	if doc.FormatVersion != view.FormatVersion {
		return fmt.Errorf("saved plan %s has format version %d; this archy reads %d", path, doc.FormatVersion, view.FormatVersion)
	}
	if doc.Fingerprint != fingerprint {
		return fmt.Errorf("saved plan %s is stale: the apps or the live state changed since it was made; run archy plan again", path)
	}
	return nil
}
