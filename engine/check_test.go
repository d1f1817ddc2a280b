package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNodeStatusCheck(t *testing.T) {
	until := time.Date(2026, 5, 1, 12, 0, 5, 0, time.UTC)
	tests := []struct {
		name string
		ns   NodeStatus
		want []CheckFailure
	}{
		{"all healthy", NodeStatus{Apps: []AppStatus{
			{App: "a", State: "running", Health: "healthy"},
			{App: "b", State: "running", Health: "healthy", Intent: []string{"adopted"}, Restarts: 3},
		}}, nil},
		{"no apps", NodeStatus{Apps: []AppStatus{}}, nil},
		{"missing", NodeStatus{Apps: []AppStatus{{App: "a", State: "missing"}}},
			[]CheckFailure{{App: "a", Reason: "missing"}}},
		{"exited", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", ExitCode: 137}}},
			[]CheckFailure{{App: "a", Reason: "exited (137)"}}},
		{"stopped by the operator", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", Intent: []string{"stopped"}}}},
			[]CheckFailure{{App: "a", Reason: "exited (0); stopped by the operator (archy stop)"}}},
		{"unhealthy", NodeStatus{Apps: []AppStatus{{App: "a", State: "running", Health: "unhealthy: GET http://x/: 500"}}},
			[]CheckFailure{{App: "a", Reason: "unhealthy: GET http://x/: 500"}}},
		{"starting", NodeStatus{Apps: []AppStatus{{App: "a", State: "running", Health: "starting: Loading block index…"}}},
			[]CheckFailure{{App: "a", Reason: "starting: Loading block index…"}}},
		{"no health", NodeStatus{Apps: []AppStatus{{App: "a", State: "running"}}},
			[]CheckFailure{{App: "a", Reason: "health unknown"}}},
		{"backing off", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", ExitCode: 1, BackoffUntil: until}}},
			[]CheckFailure{{App: "a", Reason: "exited (1); backing off until 12:00:05"}}},
		{"held while healthy", NodeStatus{Apps: []AppStatus{{App: "a", State: "running", Health: "healthy", Held: "upgrade to generation 3 rolled back"}}},
			[]CheckFailure{{App: "a", Reason: "held: upgrade to generation 3 rolled back"}}},
		{"down behind archy's back", NodeStatus{Apps: []AppStatus{{App: "a", State: "running", Health: "unhealthy: refused", Down: "killed (exit 137)"}}},
			[]CheckFailure{{App: "a", Reason: "unhealthy: refused; down: killed (exit 137)"}}},
		{"disk low", NodeStatus{Apps: []AppStatus{{App: "a", State: "exited", DiskLow: "1.9 GiB free"}}},
			[]CheckFailure{{App: "a", Reason: "exited (0); stopped for low disk space: 1.9 GiB free"}}},
		{"degraded daemon", NodeStatus{Degraded: "podman unreachable: dial: refused"},
			[]CheckFailure{{Reason: "the daemon is degraded: podman unreachable: dial: refused"}}},
		{"only the failing ones, in order", NodeStatus{Apps: []AppStatus{
			{App: "a", State: "missing"},
			{App: "b", State: "running", Health: "healthy"},
			{App: "c", State: "created"},
		}}, []CheckFailure{{App: "a", Reason: "missing"}, {App: "c", Reason: "created (0)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.ns.Check()); diff != "" {
				t.Errorf("Check() (-want +got):\n%s", diff)
			}
		})
	}
}
