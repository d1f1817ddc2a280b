package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
)

// The status document is the API's GET /v1/status: format_version, and
// an empty list rather than null when there are no apps.
func TestStatusJSON(t *testing.T) {
	var b bytes.Buffer
	if err := StatusJSON(&b, engine.NodeStatus{}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "format_version": 1,
  "apps": [],
  "problems": []
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("status JSON (-want +got):\n%s", diff)
	}
}

// A warming-up app is "starting", its note in the NOTE column; its
// dependents say why they are degraded.
func TestStatusShowsWarmUp(t *testing.T) {
	var b bytes.Buffer
	ns := engine.NodeStatus{Apps: []engine.AppStatus{
		{App: "bitcoin-core", Container: "bitcoin-core", State: "running", Health: "starting: Loading block index…"},
		{App: "electrs", Container: "electrs", State: "missing", Degraded: "dependency bitcoin-core is starting"},
	}}
	if err := Status(&b, ns, Style{}); err != nil {
		t.Fatal(err)
	}
	want := `APP           CONTAINER     STATE    HEALTH    URL  NOTE
bitcoin-core  bitcoin-core  running  starting  -    warming up: Loading block index…
electrs       electrs       missing  -         -    degraded: dependency bitcoin-core is starting
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

// An unclean stop is a warning line below the table, with when it was.
func TestStatusUncleanStop(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 4, 0, time.Local)
	ns := engine.NodeStatus{Apps: []engine.AppStatus{{
		App: "bitcoin-core", Container: "bitcoin-core", State: "exited", ExitCode: 137,
		UncleanStop:   engine.UncleanStopMessage("bitcoin-core", 600*time.Second),
		UncleanStopAt: at,
	}}}
	var b bytes.Buffer
	if err := Status(&b, ns, Style{}); err != nil {
		t.Fatal(err)
	}
	want := "warning: bitcoin-core was killed after its 600s stop timeout: its data may need recovery (2026-05-01 12:00:04)\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("status:\n%s\nwant it to end with %q", b.String(), want)
	}
}
