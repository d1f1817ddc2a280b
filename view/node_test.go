package view

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

func TestAllOutcomesAndSummary(t *testing.T) {
	stop := engine.AllResult{Report: engine.Report{Outcomes: []engine.Outcome{
		{App: "lnd-ui", Done: []plan.Action{plan.Stop}, Duration: 420 * time.Millisecond},
		{App: "electrs", Err: errors.New("stopping electrs: podman said no"), Duration: time.Second},
		{App: "bitcoin-core", Done: []plan.Action{plan.Stop}, Duration: 48 * time.Second},
	}}}
	var b bytes.Buffer
	AllOutcomes(&b, stop)
	AllSummary(&b, engine.ActStop, stop, 49*time.Second, "/run/archy/archy.sock")
	want := `lnd-ui: stopped (400ms)
electrs: failed after 1s: stopping electrs: podman said no
bitcoin-core: stopped (48s)

Node stopped: 2 stopped, 1 failed (49s, through the daemon at /run/archy/archy.sock). Every app stays stopped until archy start --all.
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("stop (-want +got):\n%s", diff)
	}

	start := engine.AllResult{Report: engine.Report{Outcomes: []engine.Outcome{
		{App: "bitcoin-core", Done: []plan.Action{plan.Start}, Duration: 2 * time.Second},
		{App: "electrs", Skipped: "dependency bitcoin-core failed"},
	}}, Left: []string{"explorer", "lnd"}}
	b.Reset()
	AllOutcomes(&b, start)
	AllSummary(&b, engine.ActStart, start, 3*time.Second, "")
	want = `bitcoin-core: started (2s)
electrs: skipped: dependency bitcoin-core failed

Node started: 1 changed, 0 failed, 1 skipped (3s).
Left as the operator left them (stopped or removed on their own): explorer, lnd; archy start APP starts one.
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("start (-want +got):\n%s", diff)
	}
}
