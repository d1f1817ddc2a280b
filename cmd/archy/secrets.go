package main

import (
	"context"

	"archy.dev/archy/engine"
	"archy.dev/archy/view"
)

// SecretsCmd lists the generated secrets.
type SecretsCmd struct {
	JSON bool `help:"Print JSON: {format_version: 1, secrets: [{name, generator, type, detail, created, consumers}]}; never a value."`
}

func (c *SecretsCmd) Run(g *Globals) error {
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
