package view

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
)

// HistoryDocument is the JSON form of archy history (docs/json.md).
type HistoryDocument struct {
	FormatVersion int                `json:"format_version"`
	App           string             `json:"app"`
	Generations   []state.Generation `json:"generations"` // oldest first, as state.json keeps them
}

// History renders an app's generations as a table, the one its
// container is marked with a star, and why it is held, if it is.
func History(w io.Writer, h engine.History) error {
	if len(h.Generations) == 0 {
		_, err := fmt.Fprintf(w, "%s has no recorded generations yet (archy records one each time it makes the container)\n", h.App)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GEN\tTIME\tIMAGE\tSPEC\tOUTCOME")
	for _, gen := range h.Generations {
		mark := " "
		if gen.N == h.Current {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s%d\t%s\t%s\t%s\t%s\n", mark, gen.N, gen.Time.Local().Format(time.DateTime),
			short(gen.ImageID), short(gen.SpecHash), gen.Outcome)
	}
	if h.Held != "" {
		fmt.Fprintf(tw, "\nheld: %s (archy upgrade %s tries again)\n", h.Held, h.App)
	}
	return tw.Flush()
}

// HistoryJSON writes an app's generations as JSON.
func HistoryJSON(w io.Writer, h engine.History) error {
	gens := h.Generations
	if gens == nil {
		gens = []state.Generation{}
	}
	return writeJSON(w, HistoryDocument{FormatVersion: plan.FormatVersion, App: h.App, Generations: gens})
}

// short abbreviates an id or hash to 12 characters.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
