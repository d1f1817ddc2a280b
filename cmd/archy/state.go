package main

import (
	"fmt"
	"path/filepath"

	"archy.dev/archy/engine"
)

// StateCmd groups the verbs on archy's state file (docs/state.md).
type StateCmd struct {
	Reset StateResetCmd `cmd:"" help:"Rebuild a damaged, missing or unknown-version state file from the containers' labels, saying what is lost; no container is touched."`
}

// StateResetCmd rebuilds the state file from the containers.
type StateResetCmd struct {
	Force bool `help:"Rebuild a state file that reads well too (what docs/state.md lists is lost)."`
}

func (c *StateResetCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	// Neither checked nor recovered: the state is what is being fixed.
	s, err := g.openChecked(ctx, true, false, nil)
	if err != nil {
		return err
	}
	defer s.close()
	r, err := s.node.ResetState(ctx, s.cat, c.Force)
	if err != nil {
		return err
	}
	path := filepath.Join(g.DataDir, "state.json")
	was := "state.json read well"
	if r.Was != "" {
		was = r.Was
	}
	w := g.stdout
	fmt.Fprintf(w, "%s; rebuilt %s from the containers' labels (no container was touched):\n", was, path)
	if len(r.Kept) == 0 {
		fmt.Fprintln(w, "  kept: nothing (no container archy made)")
	}
	for _, k := range r.Kept {
		fmt.Fprintf(w, "  kept: %s\n", k)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, l := range engine.StateResetLost {
		fmt.Fprintf(w, "  lost: %s\n", l)
	}
	if r.SetAside != "" {
		fmt.Fprintf(w, "The old file is kept as %s.\n", filepath.Join(g.DataDir, r.SetAside))
	}
	fmt.Fprintln(w, "Next: archy plan shows what apply would do now; archy stop or rm an app that must stay down before archy apply.")
	return nil
}
