package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

var applyClock = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newTestApplyJSON(w *bytes.Buffer) *applyJSON {
	return &applyJSON{w: w, now: func() time.Time { return applyClock }}
}

// apply --json writes a line per event as it happens; the golden lines
// are what docs/json.md shows.
func TestApplyJSONLines(t *testing.T) {
	var b bytes.Buffer
	v := newTestApplyJSON(&b)
	p := plan.Plan{Fingerprint: "f00", Steps: []plan.Step{{App: "ui", Container: "archy-ui", Level: 1, Actions: []plan.Action{plan.Build, plan.Create, plan.Start}, Reasons: []string{"image localhost/ui:local missing", "container missing"}}}}
	if err := v.Plan(p); err != nil {
		t.Fatal(err)
	}
	v.Event(engine.Building{App: "ui", Tag: "localhost/ui:local", Context: "../docker/ui"})
	v.Event(engine.Output{App: "ui", Line: "--> 3f4a5b6c7d8e"})
	v.Event(engine.StepDone{App: "ui", Done: []plan.Action{plan.Build, plan.Create, plan.Start}, Took: 1249 * time.Millisecond})
	v.Event(engine.StepDone{App: "lnd", Took: 2 * time.Second, Err: errors.New("lnd exited (1) right after it started")})
	v.Event(engine.Waiting{Apps: []string{"ui"}, Timeout: 5 * time.Minute})
	v.Event(engine.WaitedHealthy{App: "ui", Took: 300 * time.Millisecond})
	v.Event(engine.WaitedNotHealthy{App: "core", Timeout: 3 * time.Second, Err: &engine.StartingError{Note: "Loading block index…"}})
	rep := engine.Report{Outcomes: []engine.Outcome{
		{App: "ui", Done: []plan.Action{plan.Build, plan.Create, plan.Start}},
		{App: "lnd", Err: errors.New("lnd exited (1) right after it started")},
		{App: "lnd-ui", Skipped: "dependency lnd failed"},
	}}
	v.Applied(rep, time.Second) // nothing: the summary comes last
	err := v.Finished(ApplyResult{Report: rep, Took: 3456 * time.Millisecond, Wait: &WaitResult{
		Apps: []string{"ui", "core"}, NotHealthy: []engine.CheckFailure{{App: "core", Reason: "starting: Loading block index…"}}, Took: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`{"time":"2026-05-01T12:00:00Z","type":"plan","format_version":1,"fingerprint":"f00","changes":1,"summary":{"adopt":0,"build":1,"create":1,"pull":0,"recreate":0,"remove":0,"start":1,"stop":0},"steps":[{"app":"ui","container":"archy-ui","level":1,"actions":["build","create","start"],"reasons":["image localhost/ui:local missing","container missing"]}]}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"building","app":"ui","message":"ui: building localhost/ui:local from ../docker/ui"}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"output","app":"ui","message":"--\u003e 3f4a5b6c7d8e"}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"step","app":"ui","message":"ui: built, created, started (1.2s)","actions":["build","create","start"],"seconds":1.249}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"step","app":"lnd","message":"lnd: failed after 2s: lnd exited (1) right after it started","seconds":2,"error":"lnd exited (1) right after it started"}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"waiting","message":"waiting for 1 app to be healthy (at most 5m0s)","apps":["ui"],"timeout_seconds":300}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"healthy","app":"ui","message":"ui: healthy (300ms)","seconds":0.3}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"not_healthy","app":"core","message":"core: not healthy within 3s: starting: Loading block index…","error":"starting: Loading block index…"}`,
		`{"format_version":1,"time":"2026-05-01T12:00:00Z","type":"summary","changed":1,"failed":1,"skipped":1,"seconds":3.456,"failures":[{"app":"lnd","error":"lnd exited (1) right after it started"}],"wait":{"apps":["ui","core"],"not_healthy":[{"app":"core","error":"starting: Loading block index…"}],"seconds":3}}`,
	}, "\n") + "\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Every progress event has a type name of its own, a message and
// format_version in apply --json.
func TestApplyJSONCoversEveryEvent(t *testing.T) {
	declared := progressEventTypes(t)
	typeOf := map[string]string{} // record type -> Go type
	for _, tc := range progressLines {
		var b bytes.Buffer
		newTestApplyJSON(&b).Event(tc.ev)
		var rec map[string]any
		if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
			t.Fatalf("%#v: %v: %s", tc.ev, err, b.String())
		}
		goType := strings.TrimPrefix(fmt.Sprintf("%T", tc.ev), "engine.")
		typ, _ := rec["type"].(string)
		if typ == "" || strings.Contains(typ, ".") {
			t.Errorf("%s: type %q", goType, typ)
		}
		if other, ok := typeOf[typ]; ok && other != goType {
			t.Errorf("type %q names both %s and %s", typ, other, goType)
		}
		typeOf[typ] = goType
		if rec["format_version"] != float64(plan.FormatVersion) || rec["message"] == "" {
			t.Errorf("%s: %s", goType, b.String())
		}
		delete(declared, goType)
	}
	for name := range declared {
		t.Errorf("engine.%s is not in progressLines", name)
	}
}

// For people, the wait sits apart from the apply's summary, and ends with
// a verdict line when every app is healthy (the failures go to stderr).
func TestApplyTextWait(t *testing.T) {
	tests := []struct {
		name string
		wait *WaitResult
		want string
	}{
		{"no wait", nil, ""},
		{"all healthy", &WaitResult{Apps: []string{"core", "ui"}, Took: 2140 * time.Millisecond}, "All 2 apps are healthy (2.1s).\n"},
		{"one", &WaitResult{Apps: []string{"core"}, Took: time.Second}, "core is healthy (1s).\n"},
		{"none to wait for", &WaitResult{}, "Nothing to wait for: no app is meant to run.\n"},
		{"not healthy: stderr says it", &WaitResult{Apps: []string{"core"}, NotHealthy: []engine.CheckFailure{{App: "core", Reason: "missing"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := NewApplyText(&b, Style{}).Finished(ApplyResult{Wait: tt.wait}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	var b bytes.Buffer
	v := NewApplyText(&b, Style{})
	v.Applied(engine.Report{Outcomes: []engine.Outcome{{App: "ui", Done: []plan.Action{plan.Start}}}}, time.Second)
	v.Event(engine.Waiting{Apps: []string{"ui"}, Timeout: time.Minute})
	want := "\nApply complete: 1 changed, 0 failed, 0 skipped (1s).\n\nwaiting for 1 app to be healthy (at most 1m0s)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
