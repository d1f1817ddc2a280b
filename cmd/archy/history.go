package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/view"
)

// HistoryCmd lists an app's generations.
type HistoryCmd struct {
	App  string `arg:"" help:"The app."`
	JSON bool   `help:"Print JSON: the generations as state.json keeps them, oldest first."`
}

func (c *HistoryCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	s, err := g.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.close()
	app, err := s.cat.App(c.App)
	if err != nil {
		return err
	}
	st, err := s.node.State.Load()
	if err != nil {
		return err
	}
	gens := st.Generations[c.App]
	if c.JSON {
		if gens == nil {
			gens = []engine.Generation{}
		}
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(gens)
	}
	if len(gens) == 0 {
		fmt.Fprintf(g.stdout, "%s has no recorded generations yet (archy records one each time it makes the container)\n", c.App)
		return nil
	}
	current := 0
	if running, err := s.rt.Inspect(ctx, app.ContainerName); err == nil {
		if gen, ok := st.GenerationOf(c.App, running); ok {
			current = gen.N
		}
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GEN\tTIME\tIMAGE\tSPEC\tOUTCOME")
	for _, gen := range gens {
		mark := " "
		if gen.N == current {
			mark = "*"
		}
		fmt.Fprintf(w, "%s%d\t%s\t%s\t%s\t%s\n", mark, gen.N, gen.Time.Local().Format(time.DateTime),
			short(gen.ImageID), short(gen.SpecHash), gen.Outcome)
	}
	if it := st.Apps[c.App]; it.Held != "" {
		fmt.Fprintf(w, "\nheld: %s (archy upgrade %s tries again)\n", it.HeldWhy, c.App)
	}
	return w.Flush()
}

// short abbreviates an id or hash to 12 characters.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// RollbackCmd returns an app to an earlier generation.
type RollbackCmd struct {
	App string `arg:"" help:"The app."`
	To  int    `help:"The generation to return to (archy history APP); default: the newest earlier one that ran." placeholder:"N"`
}

func (c *RollbackCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	// Directly, under the host-wide lock: a running daemon takes its turn
	// and then sees the app held at the generation it was returned to.
	s, err := g.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	a := &engine.Applier{Runtime: s.rt, State: s.node.State, Progress: view.NewProgress(g.stdout)}
	gen, err := s.node.Rollback(ctx, s.cat, c.App, c.To, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s: back at generation %d; applies leave it there until its catalogue entry or image changes, or archy upgrade %s\n", c.App, gen.N, c.App)
	return nil
}
