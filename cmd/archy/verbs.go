package main

import (
	"fmt"
	"time"

	"github.com/alecthomas/kong"

	"archy.dev/archy/engine"
	"archy.dev/archy/view"
)

// LogsCmd prints an app's logs.
type LogsCmd struct {
	App    string `arg:"" help:"The app." predictor:"app"`
	Lines  int    `short:"n" help:"Only the last N lines (all when negative)." default:"-1"`
	Follow bool   `short:"f" help:"Keep printing new lines until interrupted."`
	Job    string `help:"Print the kept log of this job's last run instead (docs/jobs.md)."`
}

func (c *LogsCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	if c.Job != "" {
		return c.jobLog(g)
	}
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

// jobLog prints the log archy kept of a job's last run: a file in the
// data dir, which the daemon and the CLI share, so no daemon is asked.
func (c *LogsCmd) jobLog(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	app, err := cat.App(c.App)
	if err != nil {
		return err
	}
	b, err := engine.JobLog(g.DataDir, app, c.Job)
	if err != nil {
		return err
	}
	_, err = g.stdout.Write(b)
	return err
}

// VerbCmd is an operator's verb that takes no option; the verb tag of its
// field in CLI names it (engine.Verbs).
type VerbCmd struct {
	App string `arg:"" help:"The app." predictor:"app"`
}

func (c *VerbCmd) Run(g *Globals, k *kong.Context) error {
	return g.act(c.App, engine.Action(k.Selected().Tag.Get("verb")), engine.VerbOptions{})
}

// RmCmd removes an app's container, keeping its data unless asked.
type RmCmd struct {
	App       string `arg:"" help:"The app." predictor:"app"`
	PurgeData bool   `help:"Also delete the app's named volumes: its data is gone for good."`
}

func (c *RmCmd) Run(g *Globals) error {
	return g.act(c.App, engine.ActRemove, engine.VerbOptions{Purge: c.PurgeData})
}

// act performs an operator's verb on one app: through the daemon when the
// verb is the daemon's and one answers on the socket, else directly, under
// the host-wide lock.
func (g *Globals) act(app string, action engine.Action, o engine.VerbOptions) error {
	v, ok := engine.VerbNamed(action)
	if !ok {
		return fmt.Errorf("unknown action %q", action)
	}
	if v.Remote {
		if done, err := g.viaDaemon(app, action, o.Purge); done || err != nil {
			return err
		}
	}
	ctx, stop := signalContext()
	defer stop()
	s, err := g.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	start := time.Now()
	res, err := s.node.Act(ctx, s.cat, app, action, o, s.node.Applier(view.NewProgress(g.stdout)))
	if err != nil {
		return err
	}
	if v.Apply {
		return g.applied(res.Report, time.Since(start))
	}
	view.VerbDone(g.stdout, app, action, o, res)
	return nil
}
