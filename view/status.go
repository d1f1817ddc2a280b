package view

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"archy.dev/archy/engine"
)

// Status renders the node: the daemon's problems first, then every app's
// state as a table.
func Status(w io.Writer, ns engine.NodeStatus, st Style) error {
	if ns.Degraded != "" {
		fmt.Fprintf(w, "%s %s\n", st.paint(red, "degraded:"), ns.Degraded)
	}
	if ns.ConfigError != "" {
		fmt.Fprintf(w, "%s the last edit of the apps was rejected; the daemon runs the last good ones:\n%s\n", st.paint(red, "config:"), ns.ConfigError)
	}
	if ns.StateError != "" {
		fmt.Fprintf(w, "%s %s\n", st.paint(red, "state:"), ns.StateError)
	}
	apps := ns.Apps
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
		health, warmUp := a.Health, ""
		switch {
		case health == "":
			health = "-"
		case strings.HasPrefix(health, engine.Unhealthy):
			health = engine.Unhealthy
		case strings.HasPrefix(health, engine.Starting):
			// The note (bitcoind's "Loading block index…") says how far.
			health, warmUp = engine.Starting, strings.TrimPrefix(strings.TrimPrefix(a.Health, engine.Starting), ": ")
		}
		url := a.URL
		if url == "" {
			url = "-"
		}
		notes := append([]string(nil), a.Intent...)
		if warmUp != "" {
			notes = append(notes, "warming up: "+warmUp)
		}
		if !a.BackoffUntil.IsZero() {
			notes = append(notes, "backing off until "+a.BackoffUntil.Format(time.TimeOnly))
		}
		if a.Restarts > 0 {
			notes = append(notes, fmt.Sprintf("%d restarts", a.Restarts))
		}
		if a.Degraded != "" {
			notes = append(notes, "degraded: "+a.Degraded)
		}
		if a.Held != "" {
			notes = append(notes, "held: "+a.Held)
		}
		if a.Down != "" {
			notes = append(notes, "down: "+a.Down)
		}
		if a.Failure != "" {
			notes = append(notes, "failed: "+a.Failure)
		}
		if a.Job != "" {
			notes = append(notes, a.Job)
		}
		if a.DiskLow != "" {
			notes = append(notes, "stopped for low disk space: "+a.DiskLow)
		}
		if a.SetAside != "" {
			notes = append(notes, a.SetAside)
		}
		note := strings.Join(notes, ", ")
		if note == "" {
			note = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.App, a.Container, st.paint(color, state), health, url, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Unclean stops below the table: a sentence each, too long for a note.
	for _, a := range apps {
		if a.UncleanStop != "" {
			fmt.Fprintf(w, "%s %s (%s)\n", st.paint(yellow, "warning:"), a.UncleanStop, a.UncleanStopAt.Local().Format(time.DateTime))
		}
	}
	return nil
}

// StatusJSON writes the node's state as JSON.
func StatusJSON(w io.Writer, ns engine.NodeStatus) error {
	return writeJSON(w, ns.Document())
}

// ApplySummary is the last line of an apply.
func ApplySummary(w io.Writer, rep engine.Report, took time.Duration) {
	changed, failed, skipped := count(rep)
	verdict := "Apply complete"
	if failed > 0 {
		verdict = "Apply finished with failures"
	}
	fmt.Fprintf(w, "\n%s: %d changed, %d failed, %d skipped (%s).\n", verdict, changed, failed, skipped, took.Round(100*time.Millisecond))
}

// count counts a report's apps that changed, failed and were skipped.
func count(rep engine.Report) (changed, failed, skipped int) {
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
	return changed, failed, skipped
}
