package engine

import (
	"context"
	"fmt"
	"slices"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/secrets"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Node ties a catalogue to a runtime: it works out what plan needs (the
// context and secret hashes, the snapshot, the intent) and makes the plan.
type Node struct {
	Runtime Runtime
	State   state.Store
	Secrets *secrets.Store
}

// Applier is an Applier for this node, reporting to progress (nil: to no
// one). Callers set the optional fields (Parallel, Lock, Stopping) on it.
func (n *Node) Applier(progress Progress) *Applier {
	return &Applier{Runtime: n.Runtime, State: n.State, Progress: progress}
}

// PlanOptions narrow or widen a plan.
type PlanOptions struct {
	Prune   bool     // remove archy containers of undeclared apps
	Only    []string // plan only these apps and what they depend on
	Upgrade []string // recreate these apps (after building or pulling)
}

// Planned is a plan with the inputs it was made from.
type Planned struct {
	Plan     plan.Plan
	Desired  map[string]plan.Desired
	Observed plan.Observed // the snapshot it was made from
	// Generated are the generated secrets (declarations, never values)
	// that the planned apps consume: Apply makes the missing ones.
	Generated map[string]*schema.SecretGen
	// Catalog is the catalogue it was made from; Prune: it removes the
	// containers of undeclared apps, whose lives end with it (lives.go).
	Catalog *catalog.Catalog
	Prune   bool
}

// Plan snapshots the runtime and diffs the catalogue against it. It
// changes nothing; an app whose secret is nowhere to be found is blocked
// in the plan.
func (n *Node) Plan(ctx context.Context, cat *catalog.Catalog, opts PlanOptions) (Planned, error) {
	apps, err := cat.Select(opts.Only, true)
	if err != nil {
		return Planned{}, err
	}
	ids, err := n.Runtime.SecretIDs(ctx)
	if err != nil {
		return Planned{}, fmt.Errorf("listing secrets: %w", err)
	}
	n.Secrets.ObserveIDs(ids)
	existing := make(map[string]bool, len(ids))
	for name := range ids {
		existing[name] = true
	}
	// Generated secrets count as there: Apply makes them before any
	// container needs them.
	gens := consumedGenerators(cat.Secrets, apps)
	for _, g := range gens {
		for _, sn := range g.SecretNames() {
			existing[sn] = true
		}
	}
	desired := map[string]plan.Desired{}
	var list []plan.Desired
	for _, app := range apps {
		if slices.Contains(opts.Upgrade, app.ID) && app.Container.Source.Type == schema.SourcePull {
			// Upgrade asks the registry, and must hear its answer:
			// "newer" takes the local image when the registry does not
			// answer, and the upgrade said "pulled" having pulled
			// nothing. "always" fails then; layers already here are not
			// fetched again.
			app = withPullPolicy(app, "always")
		}
		// A missing secret blocks only its app (and, through the plan,
		// its dependents): every other app still converges.
		d := plan.Desired{App: app, SecretsHash: n.Secrets.Hash(app), Blocked: n.Secrets.Blocked(app, existing),
			Dirs: n.volumeDirs(ctx, app)}
		if len(app.Jobs) > 0 {
			if d.Volumes, err = VolumesKey(ctx, n.Runtime, app); err != nil {
				return Planned{}, fmt.Errorf("%s: %w", app.ID, err)
			}
		}
		if app.Container.Source.Type == schema.SourceBuild {
			if d.ContextHash, err = ContextHash(app.Container.Source); err != nil {
				return Planned{}, fmt.Errorf("%s: %w", app.ID, err)
			}
		}
		desired[app.ID] = d
		list = append(list, d)
	}
	obs, err := n.Runtime.Snapshot(ctx)
	if err != nil {
		return Planned{}, fmt.Errorf("reading podman state: %w", err)
	}
	prune := opts.Prune && len(opts.Only) == 0
	if prune { // only a prune needs them: keep the plain snapshot's calls
		if obs.Networks, err = n.Runtime.ArchyNetworks(ctx); err != nil {
			return Planned{}, fmt.Errorf("listing networks: %w", err)
		}
	}
	st, err := n.State.Load()
	if err != nil {
		return Planned{}, err
	}
	upgrade := map[string]bool{}
	for _, id := range opts.Upgrade {
		upgrade[id] = true
	}
	p, err := plan.Diff(plan.Input{
		Desired: list, Observed: obs, Intent: st.Apps,
		Prune: prune, Upgrade: upgrade,
	})
	if err != nil {
		return Planned{}, err
	}
	if len(opts.Only) > 0 { // undeclared containers are not this plan's business
		p.Steps = withoutOrphans(p.Steps, desired)
	}
	return Planned{Plan: p, Desired: desired, Observed: obs, Generated: gens, Catalog: cat, Prune: prune}, nil
}

// consumedGenerators are the generators of gens whose secrets (the
// name, or an rpcauth generator's name-rpcauth) apps consume.
func consumedGenerators(gens map[string]*schema.SecretGen, apps []*schema.App) map[string]*schema.SecretGen {
	byName := map[string]*schema.SecretGen{}
	for _, g := range gens {
		for _, sn := range g.SecretNames() {
			byName[sn] = g
		}
	}
	out := map[string]*schema.SecretGen{}
	for _, app := range apps {
		for _, sec := range app.AllSecrets() {
			if g, ok := byName[sec.Name]; ok {
				out[g.Name] = g
			}
		}
	}
	return out
}

// withPullPolicy returns a copy of app pulling with policy.
func withPullPolicy(app *schema.App, policy string) *schema.App {
	cp := *app
	src := *app.Container.Source
	src.PullPolicy = policy
	cp.Container.Source = &src
	return &cp
}

func withoutOrphans(steps []plan.Step, desired map[string]plan.Desired) []plan.Step {
	var out []plan.Step
	for _, s := range steps {
		if _, ok := desired[s.App]; ok {
			out = append(out, s)
		}
	}
	return out
}
