package main

import (
	"archy.dev/archy/view"
)

// HistoryCmd lists an app's generations.
type HistoryCmd struct {
	App  string `arg:"" help:"The app."`
	JSON bool   `help:"Print JSON: {format_version: 1, app, generations: [the generations as state.json keeps them, oldest first]}."`
}

func (c *HistoryCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	s, err := g.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.close()
	h, err := s.node.History(ctx, s.cat, c.App)
	if err != nil {
		return err
	}
	if c.JSON {
		return view.HistoryJSON(g.stdout, h)
	}
	return view.History(g.stdout, h)
}

// RollbackCmd returns an app to an earlier generation.
type RollbackCmd struct {
	App string `arg:"" help:"The app."`
	To  int    `help:"The generation to return to (archy history APP); default: the newest earlier one that ran." placeholder:"N"`
}

func (c *RollbackCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	// Directly, under the host-wide lock: a running daemon takes its turn
	// and then sees the app held at the generation it was returned to.
	s, err := g.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	gen, err := s.node.Rollback(ctx, s.cat, c.App, c.To, s.node.Applier(view.NewProgress(g.stdout)))
	if err != nil {
		return err
	}
	view.RolledBack(g.stdout, c.App, gen.N)
	return nil
}
