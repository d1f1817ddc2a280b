package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/view"
)

// SecretsCmd lists the generated secrets, or rotates one.
type SecretsCmd struct {
	List   SecretsListCmd   `cmd:"" default:"withargs" help:"List the generated secrets (the default)."`
	Rotate SecretsRotateCmd `cmd:"" help:"Give a generated secret a new value and recreate its consumers in dependency order, each proved like an upgrade."`
}

// SecretsListCmd lists the generated secrets.
type SecretsListCmd struct {
	JSON bool `help:"Print JSON: {format_version: 1, secrets: [{name, generator, type, detail, created, consumers}]}; never a value."`
}

func (c *SecretsListCmd) Run(g *Globals) error {
	return g.read(func(ctx context.Context, s *session) error {
		secs, err := engine.GeneratedSecrets(ctx, s.rt, s.cat)
		switch {
		case err != nil:
			return err
		case c.JSON:
			return view.SecretsJSON(g.stdout, secs)
		}
		return view.Secrets(g.stdout, secs)
	})
}

// SecretsRotateCmd rotates a generated secret.
type SecretsRotateCmd struct {
	Name string `arg:"" help:"The generated secret (for an rpcauth user, its name or NAME-rpcauth: both are made anew)." predictor:"secret"`
}

func (c *SecretsRotateCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	client, err := g.daemon(ctx)
	if err != nil {
		return err
	}
	// With the daemon running it holds the host lock and recreates the
	// consumers in its reconcile; else this process does, under the lock.
	s, err := g.open(ctx, client == nil)
	if err != nil {
		return err
	}
	defer s.close()
	gen, err := s.node.RotateSecret(ctx, s.cat, c.Name)
	if err != nil {
		return err
	}
	consumers := engine.Consumers(s.cat, gen)
	fmt.Fprintf(g.stdout, "%s: new value in Podman; consumers: %s\n", strings.Join(gen.SecretNames(), ", "), orNone(consumers))
	if client != nil {
		defer client.Close()
		if err := client.Reconcile(ctx); err != nil {
			return fmt.Errorf("asking the daemon to reconcile: %w", err)
		}
		fmt.Fprintf(g.stdout, "the daemon (%s) recreated its consumers: archy status shows them\n", g.Socket)
		return nil
	}
	if len(consumers) == 0 {
		return nil
	}
	pl, err := s.node.Plan(ctx, s.cat, engine.PlanOptions{Only: consumers})
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdout)
	if err := view.Plan(g.stdout, pl.Plan, g.style()); err != nil {
		return err
	}
	if !pl.Plan.Busy() {
		return nil
	}
	fmt.Fprintln(g.stdout)
	start := time.Now()
	rep, err := s.node.Apply(ctx, pl, s.node.Applier(view.NewProgress(g.stdout)))
	if err != nil {
		return err
	}
	return g.applied(rep, time.Since(start))
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
