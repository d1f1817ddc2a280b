package plan

import (
	"fmt"
	"strings"
	"time"

	"archy.dev/archy/schema"
)

// DueJobs are the jobs of d's app that a step with actions runs, in
// declaration order: first-create ones not yet run on the current volume
// set, every-start ones when the container starts, every-upgrade ones
// when it is created or replaced, and any whose last run failed.
func DueJobs(d Desired, intent AppIntent, actions []Action) []schema.Job {
	has := func(a Action) bool {
		for _, x := range actions {
			if x == a {
				return true
			}
		}
		return false
	}
	var out []schema.Job
	for _, j := range d.App.Jobs {
		rec, ran := intent.Jobs[j.Name]
		due := rec.Pending
		switch j.When {
		case schema.JobFirstCreate:
			due = due || !ran || rec.Volumes != d.Volumes
		case schema.JobEveryStart:
			due = due || has(Start)
		case schema.JobEveryUpgrade:
			due = due || has(Create) || has(Recreate)
		}
		if due {
			out = append(out, j)
		}
	}
	return out
}

// JobVolumesKey is Desired.Volumes for named volumes and the times they
// were created (zero: missing).
func JobVolumesKey(names []string, created map[string]time.Time) string {
	parts := make([]string, len(names))
	for i, n := range names {
		t := created[n]
		if t.IsZero() {
			parts[i] = n + "@-"
		} else {
			parts[i] = fmt.Sprintf("%s@%d", n, t.UnixNano())
		}
	}
	return strings.Join(parts, " ")
}
