package main

import (
	"fmt"
	"time"

	"github.com/alecthomas/kong"

	"archy.dev/archy/engine"
	"archy.dev/archy/view"
)

// NodeVerbCmd is start or stop (its verb tag): of one app, or with --all
// of the whole node, in dependency order.
type NodeVerbCmd struct {
	App string `arg:"" optional:"" help:"The app." predictor:"app"`
	All bool   `help:"Every app, in dependency order: stop takes dependents first (before the host shuts down); start brings back what stop --all stopped."`
}

func (c *NodeVerbCmd) Run(g *Globals, k *kong.Context) error {
	action := engine.Action(k.Selected().Tag.Get("verb"))
	switch {
	case c.All && c.App != "":
		return fmt.Errorf("%s: name an app or give --all, not both", action)
	case c.All:
		return g.actAll(action)
	case c.App == "":
		return fmt.Errorf("%s: name an app, or give --all for every app", action)
	}
	return g.act(c.App, action, engine.VerbOptions{})
}

// actAll stops or starts every app in dependency order: through the
// daemon when one answers on the socket, else directly, under the
// host-wide lock. A line per app, then a summary; exit 1 when an app
// failed.
func (g *Globals) actAll(action engine.Action) error {
	ctx, stop := signalContext()
	defer stop()
	start := time.Now()
	d, err := g.daemon(ctx)
	if err != nil {
		return err
	}
	if d != nil {
		defer d.Close()
		res, err := d.ActAll(ctx, action)
		if err != nil {
			return err
		}
		view.AllOutcomes(g.stdout, res)
		return g.allDone(action, res, time.Since(start), g.Socket)
	}
	s, err := g.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	a := s.node.Applier(view.NewProgress(g.stdout))
	var res engine.AllResult
	if action == engine.ActStop {
		res, err = s.node.StopAll(ctx, s.cat, a)
	} else {
		res, err = s.node.StartAll(ctx, s.cat, a)
	}
	if err != nil {
		return err
	}
	return g.allDone(action, res, time.Since(start), "")
}

// allDone sums a whole-node action up: exit 1 if any app failed, each
// failure listed.
func (g *Globals) allDone(action engine.Action, res engine.AllResult, took time.Duration, socket string) error {
	view.AllSummary(g.stdout, action, res, took, socket)
	if err := res.Report.Err(); err != nil {
		fmt.Fprintf(g.stderr, "archy: %v\n", err)
		return exitCode(1)
	}
	return nil
}
