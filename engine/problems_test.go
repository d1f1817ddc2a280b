package engine

import (
	"testing"
	"time"
)

func TestProblems(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ns   NodeStatus
		want []Problem
	}{
		{"all well", NodeStatus{Apps: []AppStatus{{App: "a", State: "running", Health: Healthy}}}, nil},
		{"node", NodeStatus{Degraded: "podman unreachable: x", ConfigError: "apps/a.cue:1:1: bad"}, []Problem{
			{Kind: ProblemPodman, Message: "podman unreachable: x"},
			{Kind: ProblemConfig, Message: "apps rejected; the last good ones keep running: apps/a.cue:1:1: bad"},
		}},
		{"killed, restarted, not yet serving", NodeStatus{Apps: []AppStatus{{App: "ui", State: "running", Down: "killed behind archy's back (exit 137)", DownSince: at}}},
			[]Problem{{App: "ui", Kind: ProblemDown, Message: "killed behind archy's back (exit 137)", Since: at}}},
		{"crash loop", NodeStatus{Apps: []AppStatus{{App: "lnd", State: "exited", ExitCode: 1, Down: "exited (1) on its own", DownSince: at, BackoffUntil: at.Add(8 * time.Second)}}},
			[]Problem{{App: "lnd", Kind: ProblemCrashLoop, Message: "exited (1) on its own; archy restarts it when the backoff ends", Since: at, Until: at.Add(8 * time.Second)}}},
		{"exited, no daemon", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", ExitCode: 2}}},
			[]Problem{{App: "a", Kind: ProblemDown, Message: "exited (exit 2)"}}},
		{"stopped by the operator", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", Intent: []string{"stopped"}}}}, nil},
		{"not made yet", NodeStatus{Apps: []AppStatus{{App: "a", State: "missing"}}}, nil},
		{"unhealthy", NodeStatus{Apps: []AppStatus{{App: "a", State: "running", Health: "unhealthy: 503"}}},
			[]Problem{{App: "a", Kind: ProblemUnhealthy, Message: "unhealthy: 503"}}},
		{"starting is no problem", NodeStatus{Apps: []AppStatus{{App: "a", State: "running", Health: "starting: loading"}}}, nil},
		{"held, failed, unclean", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", Held: "rolled back", Failure: "building a: exit 2", FailureAt: at, UncleanStop: "killed", UncleanStopAt: at}}},
			[]Problem{
				{App: "a", Kind: ProblemHeld, Message: "rolled back"},
				{App: "a", Kind: ProblemFailed, Message: "building a: exit 2", Since: at},
				{App: "a", Kind: ProblemUncleanStop, Message: "killed", Since: at},
			}},
		{"disk low", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", DiskLow: "1 GiB free"}}},
			[]Problem{{App: "a", Kind: ProblemDiskLow, Message: "1 GiB free"}}},
		{"a failed job", NodeStatus{Apps: []AppStatus{{App: "a", State: "missing", Job: "job init failed: exit 1"}}},
			[]Problem{{App: "a", Kind: ProblemFailed, Message: "job init failed: exit 1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.ns.Problems()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems %+v, want %+v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("problem %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
