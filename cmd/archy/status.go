package main

import (
	"context"

	"archy.dev/archy/engine"

	"archy.dev/archy/view"
)

// StatusCmd shows every app's container, state, health and URL.
type StatusCmd struct {
	JSON bool `help:"Print JSON (docs/json.md)."`
}

func (c *StatusCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	ns, err := g.nodeStatus(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return view.StatusJSON(g.stdout, ns)
	}
	return view.Status(g.stdout, ns, g.style())
}

// nodeStatus asks the daemon when one runs, else looks directly.
func (g *Globals) nodeStatus(ctx context.Context) (engine.NodeStatus, error) {
	d, err := g.daemon(ctx)
	if err != nil {
		return engine.NodeStatus{}, err
	}
	if d != nil {
		defer d.Close()
		return d.Status(ctx)
	}
	s, err := g.open(ctx, false)
	if err != nil {
		return engine.NodeStatus{}, err
	}
	defer s.close()
	apps, err := s.node.Status(ctx, s.cat)
	return engine.NodeStatus{Apps: apps}, err
}
