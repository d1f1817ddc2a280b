package engine

import (
	"fmt"
	"strings"
	"time"

	"archy.dev/archy/plan"
)

// Problem is something wrong on the node now: what the status page shows
// as a banner, from the moment it starts until it ends. Problems are
// worked out from a NodeStatus (Problems), so every reader of the status
// (the page, archy status, a script) sees the same ones.
type Problem struct {
	// App is the app concerned; "" for the node (Podman, the apps' files).
	App  string `json:"app,omitempty"`
	Kind string `json:"kind"` // one of the Problem* constants
	// Message says, for people, what is wrong (and often what to do).
	Message string `json:"message"`
	// Since is when it started, where known; Until is when archy acts
	// next (a crash-looping app's next restart).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// Problem kinds.
const (
	ProblemPodman      = "podman"       // the daemon cannot reach Podman
	ProblemConfig      = "config"       // an edit of the apps was rejected; the last good ones run
	ProblemState       = "state"        // archy's state file is unusable: archy touches no container
	ProblemDown        = "down"         // the app died or was stopped or removed behind archy's back; until it serves again
	ProblemCrashLoop   = "crash-loop"   // the app keeps crashing (or failing its checks or jobs): archy holds it back until Until
	ProblemUnhealthy   = "unhealthy"    // the app runs but fails its health check
	ProblemHeld        = "held"         // an upgrade was rolled back, or is held (forward-only); archy rollback holds too
	ProblemFailed      = "failed"       // archy's last step on the app failed: build, pull, create, start, a job
	ProblemUncleanStop = "unclean-stop" // archy had to kill the app after its stop timeout
	ProblemDiskLow     = "disk-low"     // stopped by the disk guard
)

// Problems lists what is wrong on the node now: node-wide problems
// first, then each app's in the order of ns.Apps. An app stopped or
// removed by the operator has no problem for being down.
func (ns NodeStatus) Problems() []Problem {
	var ps []Problem
	if ns.Degraded != "" {
		ps = append(ps, Problem{Kind: ProblemPodman, Message: ns.Degraded})
	}
	if ns.ConfigError != "" {
		ps = append(ps, Problem{Kind: ProblemConfig, Message: "apps rejected; the last good ones keep running: " + ns.ConfigError})
	}
	if ns.StateError != "" {
		ps = append(ps, Problem{Kind: ProblemState, Message: ns.StateError})
	}
	for _, a := range ns.Apps {
		ps = append(ps, a.Problems()...)
	}
	return ps
}

// Problems lists what is wrong with one app now.
func (a AppStatus) Problems() []Problem {
	var ps []Problem
	add := func(kind, msg string, since, until time.Time) {
		ps = append(ps, Problem{App: a.App, Kind: kind, Message: msg, Since: since, Until: until})
	}
	intended := a.hasIntent("stopped") || a.hasIntent("removed")
	switch {
	case a.DiskLow != "":
		add(ProblemDiskLow, a.DiskLow, time.Time{}, time.Time{})
	case !a.BackoffUntil.IsZero():
		msg := "crash loop: archy restarts it when the backoff ends"
		if a.Down != "" {
			msg = a.Down + "; archy restarts it when the backoff ends"
		}
		add(ProblemCrashLoop, msg, a.DownSince, a.BackoffUntil)
	case a.Down != "":
		add(ProblemDown, a.Down, a.DownSince, time.Time{})
	case a.Held == "" && !intended && a.State != plan.StateRunning && a.State != "missing" && a.State != "":
		add(ProblemDown, fmt.Sprintf("%s (exit %d)", a.State, a.ExitCode), time.Time{}, time.Time{})
	case a.State == plan.StateRunning && strings.HasPrefix(a.Health, Unhealthy):
		add(ProblemUnhealthy, a.Health, time.Time{}, time.Time{})
	}
	if a.Held != "" {
		add(ProblemHeld, a.Held, time.Time{}, time.Time{})
	}
	switch {
	case a.Failure != "":
		add(ProblemFailed, a.Failure, a.FailureAt, time.Time{})
	case a.Job != "":
		add(ProblemFailed, a.Job, time.Time{}, time.Time{})
	}
	if a.UncleanStop != "" {
		add(ProblemUncleanStop, a.UncleanStop, a.UncleanStopAt, time.Time{})
	}
	return ps
}

func (a AppStatus) hasIntent(i string) bool {
	for _, x := range a.Intent {
		if x == i {
			return true
		}
	}
	return false
}
