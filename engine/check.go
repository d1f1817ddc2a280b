package engine

import (
	"fmt"
	"strings"
	"time"

	"archy.dev/archy/plan"
)

// CheckFailure is what keeps one app (or, with App empty, the whole
// node) from passing archy status --check.
type CheckFailure struct {
	App    string
	Reason string
}

// Check lists what is not healthy in ns: an app missing, not running,
// unhealthy, warming up, backing off after crashes or held at a
// generation, and a degraded daemon (its app list is then empty, which
// must not pass for a healthy node). An app the operator stopped fails
// too: the check asks whether the node serves, not whether it obeys.
// None: the node is healthy.
func (ns NodeStatus) Check() []CheckFailure {
	var out []CheckFailure
	if ns.Degraded != "" {
		out = append(out, CheckFailure{Reason: "the daemon is degraded: " + ns.Degraded})
	}
	if ns.StateError != "" {
		out = append(out, CheckFailure{Reason: "archy's state is unusable: " + ns.StateError})
	}
	for _, a := range ns.Apps {
		if why := a.checkReasons(); len(why) > 0 {
			out = append(out, CheckFailure{App: a.App, Reason: strings.Join(why, "; ")})
		}
	}
	return out
}

// checkReasons says why a is not healthy, or nothing.
func (a AppStatus) checkReasons() []string {
	var why []string
	switch {
	case a.State == "missing":
		why = append(why, "missing")
	case a.State != plan.StateRunning:
		why = append(why, fmt.Sprintf("%s (%d)", a.State, a.ExitCode))
	case a.Health == "":
		// Status probes every running app; no answer is no proof.
		why = append(why, "health unknown")
	case a.Health != Healthy:
		why = append(why, a.Health) // "starting: …" or "unhealthy: …"
	}
	for _, it := range a.Intent {
		switch it {
		case "stopped":
			why = append(why, "stopped by the operator (archy stop)")
		case "removed":
			why = append(why, "removed by the operator (archy rm)")
		}
	}
	if a.Down != "" { // how, from the daemon: kept until the app serves again
		why = append(why, "down: "+a.Down)
	}
	if a.DiskLow != "" {
		why = append(why, "stopped for low disk space: "+a.DiskLow)
	}
	if !a.BackoffUntil.IsZero() { // the daemon sets it only while it lasts
		why = append(why, "backing off until "+a.BackoffUntil.Format(time.TimeOnly))
	}
	if a.Held != "" {
		why = append(why, "held: "+a.Held)
	}
	return why
}
