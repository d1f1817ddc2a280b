package main

import (
	"context"

	"archy.dev/archy/engine"
	"archy.dev/archy/view"
)

// HistoryCmd lists an app's generations.
type HistoryCmd struct {
	App  string `arg:"" help:"The app." predictor:"app"`
	JSON bool   `help:"Print JSON: {format_version: 1, app, generations: [the generations as state.json keeps them, oldest first]}."`
}

func (c *HistoryCmd) Run(g *Globals) error {
	return g.read(func(ctx context.Context, s *session) error {
		h, err := s.node.History(ctx, s.cat, c.App)
		if err != nil {
			return err
		}
		if c.JSON {
			return view.HistoryJSON(g.stdout, h)
		}
		return view.History(g.stdout, h)
	})
}

// RollbackCmd returns an app to an earlier generation.
type RollbackCmd struct {
	App   string `arg:"" help:"The app." predictor:"app"`
	To    int    `help:"The generation to return to (archy history APP); default: the newest earlier one that ran." placeholder:"N"`
	Force bool   `help:"Return a forward-only app (upgrade.rollback) anyway: the earlier generation starts on data a later one may have migrated."`
}

func (c *RollbackCmd) Run(g *Globals) error {
	return g.act(c.App, engine.ActRollback, engine.VerbOptions{To: c.To, Force: c.Force})
}
