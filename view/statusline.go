package view

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// StatusLine sums the node up in one short line, for systemd's STATUS=
// (systemctl status archy): "7 apps: 5 healthy, 1 starting, lnd backing
// off 8s". Each app counts once, under the first of: backing off, stopped
// for low disk, stopped or removed by the operator, not running (missing
// or down), unhealthy, starting, healthy, running (no health check).
// Exceptions name their apps while there are few; a held app, a failed
// job or archy's failed step on an app is noted besides. The daemon's own
// trouble (Podman unreachable) comes instead of the apps, a rejected edit
// after them, both without their details (archy status and the logs have
// those). now is when the countdowns count from.
func StatusLine(ns engine.NodeStatus, now time.Time) string {
	if ns.Degraded != "" {
		// "podman unreachable: dial unix …": the what, not the error.
		what, _, _ := strings.Cut(firstLine(ns.Degraded), ": ")
		return what
	}
	if ns.StateError != "" { // nothing is converged meanwhile
		return "state file unusable: archy touches no container (archy status)"
	}
	var (
		counts                  = map[string]int{}
		backoff, diskLow, notes []string
		unhealthy               []string
	)
	for _, a := range ns.Apps {
		switch {
		case a.BackoffUntil.After(now):
			backoff = append(backoff, a.App+" backing off "+countdown(a.BackoffUntil.Sub(now)))
		case a.DiskLow != "":
			diskLow = append(diskLow, a.App)
		case slices.Contains(a.Intent, "stopped"):
			counts["stopped"]++
		case slices.Contains(a.Intent, "removed"):
			counts["removed"]++
		case a.State == "missing":
			counts["missing"]++
		case a.State != plan.StateRunning:
			counts["down"]++
		case strings.HasPrefix(a.Health, engine.Unhealthy):
			unhealthy = append(unhealthy, a.App)
		case strings.HasPrefix(a.Health, engine.Starting):
			counts["starting"]++
		case a.Health == engine.Healthy:
			counts["healthy"]++
		default:
			counts["running"]++
		}
		if a.Held != "" {
			notes = append(notes, a.App+" held")
		}
		switch {
		case a.Job != "":
			notes = append(notes, a.App+" job failed")
		case a.Failure != "": // archy's last step on it: a build, a pull, a start
			notes = append(notes, a.App+" failed")
		}
	}
	var parts []string
	for _, k := range []string{"healthy", "running", "starting"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	parts = append(parts, named(unhealthy, "unhealthy")...)
	for _, k := range []string{"missing", "down", "stopped", "removed"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	parts = append(parts, named(diskLow, "stopped: disk low")...)
	if len(backoff) > maxNamed {
		parts = append(parts, fmt.Sprintf("%d backing off", len(backoff)))
	} else {
		parts = append(parts, backoff...)
	}
	if len(notes) > maxNamed {
		parts = append(parts, fmt.Sprintf("%d notes (archy status)", len(notes)))
	} else {
		parts = append(parts, notes...)
	}
	line := Count(len(ns.Apps), "app")
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	if ns.ConfigError != "" {
		line += "; apps rejected: " + clip(firstLine(ns.ConfigError), 60)
	}
	return line
}

// maxNamed is how many apps a line names in one part before it counts
// them instead.
const maxNamed = 2

// named is "lnd unhealthy" for few apps, "3 unhealthy" for more.
func named(apps []string, what string) []string {
	switch {
	case len(apps) == 0:
		return nil
	case len(apps) > maxNamed:
		return []string{fmt.Sprintf("%d %s", len(apps), what)}
	}
	return []string{strings.Join(apps, ", ") + " " + what}
}

// countdown is a wait to the second, rounded up: never "0s" while it lasts.
func countdown(d time.Duration) string {
	return (d + time.Second - 1).Truncate(time.Second).String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// clip shortens s to n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
