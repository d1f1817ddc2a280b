package main

import (
	"context"
	"fmt"

	"archy.dev/archy/engine"
)

// LogsCmd prints an app's logs.
type LogsCmd struct {
	App    string `arg:"" help:"The app."`
	Lines  int    `short:"n" help:"Only the last N lines (all when negative)." default:"-1"`
	Follow bool   `short:"f" help:"Keep printing new lines until interrupted."`
}

func (c *LogsCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	if d, err := g.daemon(ctx); err != nil || d != nil {
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.Logs(ctx, c.App, c.Lines, c.Follow, g.stdout); err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	}
	s, err := g.open(ctx, false)
	if err != nil {
		return err
	}
	app, err := s.cat.App(c.App)
	if err != nil {
		s.close()
		return err
	}
	s.close() // following logs must not hold the lock
	err = s.rt.Logs(ctx, app.ContainerName, c.Lines, c.Follow, g.stdout)
	if ctx.Err() != nil {
		return nil // interrupted while following
	}
	return err
}

// StartCmd starts an app and clears an earlier stop or removal.
type StartCmd struct {
	App string `arg:"" help:"The app."`
}

func (c *StartCmd) Run(g *Globals) error {
	return g.verb(c.App, engine.ActStart, false, func(ctx context.Context, s *session) error {
		return g.runApply(ctx, s, 4, func(a *engine.Applier) (engine.Report, error) { return s.node.Start(ctx, s.cat, c.App, a) })
	})
}

// UpgradeCmd builds or pulls an app's image, then recreates it.
type UpgradeCmd struct {
	App string `arg:"" help:"The app."`
}

func (c *UpgradeCmd) Run(g *Globals) error {
	return g.verb(c.App, engine.ActUpgrade, false, func(ctx context.Context, s *session) error {
		return g.runApply(ctx, s, 4, func(a *engine.Applier) (engine.Report, error) { return s.node.Upgrade(ctx, s.cat, c.App, a) })
	})
}

// StopCmd stops an app and keeps it stopped.
type StopCmd struct {
	App string `arg:"" help:"The app."`
}

func (c *StopCmd) Run(g *Globals) error {
	return g.verb(c.App, engine.ActStop, false, func(ctx context.Context, s *session) error {
		if err := s.node.Stop(ctx, s.cat, c.App, s.node.Applier(nil)); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s: stopped; it stays stopped until archy start %s\n", c.App, c.App)
		return nil
	})
}

// RestartCmd restarts an app's container.
type RestartCmd struct {
	App string `arg:"" help:"The app."`
}

func (c *RestartCmd) Run(g *Globals) error {
	return g.verb(c.App, engine.ActRestart, false, func(ctx context.Context, s *session) error {
		if err := s.node.Restart(ctx, s.cat, c.App, s.node.Applier(nil)); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s: restarted\n", c.App)
		return nil
	})
}

// RmCmd removes an app's container, keeping its data unless asked.
type RmCmd struct {
	App       string `arg:"" help:"The app."`
	PurgeData bool   `help:"Also delete the app's named volumes: its data is gone for good."`
}

func (c *RmCmd) Run(g *Globals) error {
	return g.verb(c.App, engine.ActRemove, c.PurgeData, func(ctx context.Context, s *session) error {
		if err := s.node.Remove(ctx, s.cat, c.App, c.PurgeData); err != nil {
			return err
		}
		kept := "its volumes are kept"
		if c.PurgeData {
			kept = "its named volumes are deleted"
		}
		fmt.Fprintf(g.stdout, "%s: container removed; %s. It stays removed until archy start %s.\n", c.App, kept, c.App)
		return nil
	})
}

// verb runs an operator's action on one app: through the daemon when one
// answers on the socket, else directly, under the host-wide lock.
func (g *Globals) verb(app string, action engine.Action, purge bool, direct func(context.Context, *session) error) error {
	if done, err := g.viaDaemon(app, action, purge); done || err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	s, err := g.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	return direct(ctx, s)
}
