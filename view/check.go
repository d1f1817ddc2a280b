package view

import (
	"fmt"
	"io"

	"archy.dev/archy/engine"
)

// NotHealthy lists, on the operator's stderr, what failed a health check
// (archy status --check, apply --wait): a heading saying which check, then
// a line per app. It writes nothing when nothing failed.
func NotHealthy(w io.Writer, heading string, fails []engine.CheckFailure) {
	if len(fails) == 0 {
		return
	}
	apps := 0
	for _, f := range fails {
		if f.App != "" {
			apps++
		}
	}
	what := Count(apps, "app") + " not healthy"
	if apps == 0 {
		what = "the node is not healthy"
	}
	fmt.Fprintf(w, "archy: %s: %s:\n", heading, what)
	for _, f := range fails {
		if f.App == "" {
			fmt.Fprintf(w, "  %s\n", f.Reason)
		} else {
			fmt.Fprintf(w, "  %s: %s\n", f.App, f.Reason)
		}
	}
}
