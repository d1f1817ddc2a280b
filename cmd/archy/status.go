package main

import (
	"context"
	"errors"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"

	"archy.dev/archy/view"
)

// StatusCmd shows every app's container, state, health and URL.
type StatusCmd struct {
	JSON  bool `help:"Print JSON (docs/json.md)."`
	Check bool `help:"Exit 1, naming the apps on stderr, unless every app runs healthy (not missing, stopped, unhealthy, starting, backing off or held)."`
}

func (c *StatusCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	ns, err := g.nodeStatus(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		err = view.StatusJSON(g.stdout, ns)
	} else {
		err = view.Status(g.stdout, ns, g.style())
	}
	if err != nil || !c.Check {
		return err
	}
	// The usual status first, then the verdict: a monitor logs both.
	if fails := ns.Check(); len(fails) > 0 {
		view.NotHealthy(g.stderr, "status --check", fails)
		return exitCode(1)
	}
	return nil
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
	// Unchecked: the status still shows the containers when the state
	// is unusable, and says why.
	s, err := g.openChecked(ctx, false, false, nil)
	if err != nil {
		return engine.NodeStatus{}, err
	}
	defer s.close()
	ns := engine.NodeStatus{}
	if err := s.node.CheckState(ctx, false); err != nil {
		if !errors.Is(err, state.ErrUnusable) {
			return ns, err
		}
		ns.StateError = err.Error()
	}
	ns.Apps, err = s.node.Status(ctx, s.cat)
	return ns, err
}
