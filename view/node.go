package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"archy.dev/archy/engine"
)

// AllOutcomes writes a line per app of a whole-node stop or start the
// daemon performed, in the order they were done: the lines Progress
// writes as they happen when the CLI acts itself.
func AllOutcomes(w io.Writer, res engine.AllResult) {
	p := NewProgress(w)
	for _, o := range res.Report.Outcomes {
		if o.Skipped != "" {
			p.Event(engine.StepSkipped{App: o.App, Reason: o.Skipped})
			continue
		}
		p.Event(engine.StepDone{App: o.App, Done: o.Done, Took: o.Duration, Err: o.Err})
	}
}

// AllSummary sums up archy stop --all or start --all: counts, the time
// it took, what stays as it is; socket names the daemon that did it, if
// one did.
func AllSummary(w io.Writer, action engine.Action, res engine.AllResult, took time.Duration, socket string) {
	done, failed, skipped := count(res.Report)
	by := ""
	if socket != "" {
		by = ", through the daemon at " + socket
	}
	took = took.Round(100 * time.Millisecond)
	if action == engine.ActStop {
		fmt.Fprintf(w, "\nNode stopped: %d stopped, %d failed (%s%s). Every app stays stopped until archy start --all.\n", done, failed, took, by)
		return
	}
	fmt.Fprintf(w, "\nNode started: %d changed, %d failed, %d skipped (%s%s).\n", done, failed, skipped, took, by)
	if len(res.Left) > 0 {
		fmt.Fprintf(w, "Left as the operator left them (stopped or removed on their own): %s; archy start APP starts one.\n", strings.Join(res.Left, ", "))
	}
}
