package view

import (
	"fmt"
	"io"

	"archy.dev/archy/engine"
)

// VerbDone says what an operator's verb did to app, when the CLI performed
// it; an applying verb (engine.Verb.Apply) is shown by ApplySummary
// instead.
func VerbDone(w io.Writer, app string, action engine.Action, o engine.VerbOptions, res engine.VerbResult) {
	switch action {
	case engine.ActStop:
		fmt.Fprintf(w, "%s: stopped; it stays stopped until archy start %s\n", app, app)
	case engine.ActRestart:
		fmt.Fprintf(w, "%s: restarted\n", app)
	case engine.ActRemove:
		kept := "its volumes are kept"
		if o.Purge {
			kept = "its named volumes are deleted"
		}
		fmt.Fprintf(w, "%s: container removed; %s. It stays removed until archy start %s.\n", app, kept, app)
	case engine.ActRollback:
		fmt.Fprintf(w, "%s: back at generation %d; applies leave it there until its catalogue entry or image changes, or archy upgrade %s\n", app, res.Generation.N, app)
	default:
		fmt.Fprintf(w, "%s: %s done\n", app, action)
	}
}

// VerbDoneBy says the daemon at socket performed an operator's verb.
func VerbDoneBy(w io.Writer, app string, action engine.Action, socket string) {
	fmt.Fprintf(w, "%s: %s done (through the daemon at %s)\n", app, action, socket)
}
