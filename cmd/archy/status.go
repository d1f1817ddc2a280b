package main

import (
	"context"

	"archy.dev/archy/view"
)

// StatusCmd shows every app's container, state, health and URL.
type StatusCmd struct {
	JSON bool `help:"Print JSON (docs/json.md)."`
}

func (c *StatusCmd) Run(g *Globals) error {
	ctx := context.Background()
	s, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	apps, err := s.node.Status(ctx, s.cat)
	if err != nil {
		return err
	}
	if c.JSON {
		return view.StatusJSON(g.stdout, apps)
	}
	return view.Status(g.stdout, apps, g.style())
}
