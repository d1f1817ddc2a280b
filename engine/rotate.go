package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"archy.dev/archy/catalog"
	"archy.dev/archy/schema"
)

// ErrNotGenerated: archy secrets rotate was asked for a secret that no
// generator of the catalogue makes.
var ErrNotGenerated = errors.New("not a generated secret")

// Generator is the catalogue's generator that makes secret name (its
// name, or an rpcauth generator's name-rpcauth).
func Generator(cat *catalog.Catalog, name string) (*schema.SecretGen, error) {
	for _, g := range cat.Secrets {
		if slices.Contains(g.SecretNames(), name) {
			return g, nil
		}
	}
	return nil, fmt.Errorf("secret %s: %w: archy makes only the secrets declared under secrets: <name>: generate; set another value in the secrets file (it wins), or replace the Podman secret by hand: archy then recreates its consumers", name, ErrNotGenerated)
}

// Consumers are the apps whose container or jobs consume one of g's
// secrets, by id.
func Consumers(cat *catalog.Catalog, g *schema.SecretGen) []string {
	var out []string
	for _, app := range cat.List() {
		for _, s := range app.AllSecrets() {
			if slices.Contains(g.SecretNames(), s.Name) {
				out = append(out, app.ID)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// RotateSecret gives generated secret name new values in Podman. The
// consumers' hashes change with the secrets' ids, so the next plan
// recreates them; RotateSecret replaces nothing else: Apply (or the
// daemon's next reconcile) does, in dependency order, each replacement
// proved like an upgrade.
func (n *Node) RotateSecret(ctx context.Context, cat *catalog.Catalog, name string) (*schema.SecretGen, error) {
	g, err := Generator(cat, name)
	if err != nil {
		return nil, err
	}
	if err := n.Secrets.Rotate(ctx, n.Runtime, g); err != nil {
		return nil, err
	}
	return g, nil
}
