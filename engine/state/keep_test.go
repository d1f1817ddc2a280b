package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/schema"
)

// TestStateKeepVolumesStillLoad: a state file written while InFlight.Keep
// held engine's own volume type (keys Name, Target, ReadOnly) still loads
// into schema.Volume, so a replacement interrupted across an upgrade of
// archy keeps the anonymous volumes it set aside.
func TestStateKeepVolumesStillLoad(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	old := `{"version": 1, "apps": {}, "in_flight": {"lnd": {"from": 2, "time": "2024-05-01T10:00:00Z",
		"keep": [{"Name": "0123abcd", "HostPath": "", "Target": "/cache", "ReadOnly": false}]}}}`
	if err := os.WriteFile(filepath.Join(s.Dir, "state.json"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := []schema.Volume{{Name: "0123abcd", Target: "/cache"}}
	if diff := cmp.Diff(want, st.InFlight["lnd"].Keep); diff != "" {
		t.Errorf("Keep (-want +got):\n%s", diff)
	}
}
