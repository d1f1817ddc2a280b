package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"archy.dev/archy/engine"
)

// Status renders every app's state as a table.
func Status(w io.Writer, apps []engine.AppStatus, st Style) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tCONTAINER\tSTATE\tHEALTH\tURL\tNOTE")
	for _, a := range apps {
		state := a.State
		color := green
		switch {
		case a.State == "missing":
			color = red
		case a.State != "running":
			state = fmt.Sprintf("%s (%d)", a.State, a.ExitCode)
			color = yellow
		}
		health := a.Health
		if health == "" {
			health = "-"
		} else if strings.HasPrefix(health, "unhealthy") {
			health = "unhealthy"
		}
		url := a.URL
		if url == "" {
			url = "-"
		}
		note := strings.Join(a.Intent, ", ")
		if note == "" {
			note = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.App, a.Container, st.paint(color, state), health, url, note)
	}
	return tw.Flush()
}

// StatusDocument is the JSON form of status (docs/json.md).
type StatusDocument struct {
	FormatVersion int                `json:"format_version"`
	Apps          []engine.AppStatus `json:"apps"`
}

// StatusJSON writes every app's state as JSON.
func StatusJSON(w io.Writer, apps []engine.AppStatus) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if apps == nil {
		apps = []engine.AppStatus{}
	}
	return enc.Encode(StatusDocument{FormatVersion: FormatVersion, Apps: apps})
}

// ApplySummary is the last line of an apply.
func ApplySummary(w io.Writer, rep engine.Report, took time.Duration) {
	changed, failed, skipped := 0, 0, 0
	for _, o := range rep.Outcomes {
		switch {
		case o.Err != nil:
			failed++
		case o.Skipped != "":
			skipped++
		case len(o.Done) > 0:
			changed++
		}
	}
	verdict := "Apply complete"
	if failed > 0 {
		verdict = "Apply finished with failures"
	}
	fmt.Fprintf(w, "\n%s: %d changed, %d failed, %d skipped (%s).\n", verdict, changed, failed, skipped, took.Round(100*time.Millisecond))
}
