package plan

import (
	"slices"
	"testing"
	"time"

	"archy.dev/archy/schema"
)

func withJobs(jobs ...schema.Job) func(*schema.App) {
	return func(a *schema.App) { a.Jobs = jobs }
}

func job(name, when, phase string) schema.Job {
	return schema.Job{Name: name, SameAsApp: true, Command: []string{"x"}, When: when, Phase: phase}
}

// The jobs a step runs follow their when, the record of earlier runs and
// the volume set; a converged app with its jobs done plans nothing.
func TestDueJobs(t *testing.T) {
	a := app("lnd", withJobs(job("init", schema.JobFirstCreate, schema.JobBefore),
		job("every", schema.JobEveryStart, schema.JobBefore),
		job("up", schema.JobEveryUpgrade, schema.JobAfterHealthy)))
	d := Desired{App: a, Volumes: "v@1"}
	done := AppIntent{Jobs: map[string]JobRecord{"init": {Volumes: "v@1"}}}
	names := func(js []schema.Job) []string {
		var out []string
		for _, j := range js {
			out = append(out, j.Name)
		}
		return out
	}
	for _, tc := range []struct {
		what    string
		d       Desired
		intent  AppIntent
		actions []Action
		want    []string
	}{
		{"first create", d, AppIntent{}, []Action{Pull, Create, Start}, []string{"init", "every", "up"}},
		{"converged", d, done, nil, nil},
		{"a start", d, done, []Action{Start}, []string{"every"}},
		{"a recreate", d, done, []Action{Recreate, Start}, []string{"every", "up"}},
		{"purged volumes", Desired{App: a, Volumes: "v@2"}, done, nil, []string{"init"}},
		{"a failed run", d, AppIntent{Jobs: map[string]JobRecord{"init": {Volumes: "v@1"}, "up": {Pending: true}}}, nil, []string{"up"}},
	} {
		if got := names(DueJobs(tc.d, tc.intent, tc.actions)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: due %v, want %v", tc.what, got, tc.want)
		}
	}
}

func TestPlanShowsJobs(t *testing.T) {
	a := app("lnd", withJobs(job("init", schema.JobFirstCreate, schema.JobBefore)))
	d := Desired{App: a}
	p, err := Diff(Input{Desired: []Desired{d}})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Steps[0]; !slices.Contains(s.Reasons, "job init (first-create)") || !slices.Equal(s.Jobs, []string{"init"}) {
		t.Errorf("first create: %+v", s)
	}
	// Running, its job not done (added later): the job alone runs.
	obs := converged(d)
	p, _ = Diff(Input{Desired: []Desired{d}, Observed: obs})
	if s := p.Steps[0]; !slices.Equal(s.Actions, []Action{RunJobs}) || !s.Changes() {
		t.Errorf("job added to a running app: %+v", s)
	}
	// Done: nothing.
	p, _ = Diff(Input{Desired: []Desired{d}, Observed: obs, Intent: Intent{"lnd": {Jobs: map[string]JobRecord{"init": {}}}}})
	if p.Changes() != 0 {
		t.Errorf("jobs done: %+v", p.Steps)
	}
	// Kept stopped: no jobs.
	p, _ = Diff(Input{Desired: []Desired{d}, Intent: Intent{"lnd": {Stopped: true}}})
	if s := p.Steps[0]; len(s.Jobs) != 0 {
		t.Errorf("stopped app runs jobs: %+v", s)
	}
}

func TestJobVolumesKey(t *testing.T) {
	at := time.Unix(5, 0)
	if got := JobVolumesKey([]string{"a", "b"}, map[string]time.Time{"a": at}); got != "a@5000000000 b@-" {
		t.Errorf("key %q", got)
	}
}
