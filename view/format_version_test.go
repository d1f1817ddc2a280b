package view

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Every JSON document a command writes carries format_version
// (docs/json.md), the empty ones too; line streams carry it on every line.
func TestEveryJSONOutputHasFormatVersion(t *testing.T) {
	documents := map[string]func(*bytes.Buffer) error{
		"plan --json":           func(b *bytes.Buffer) error { return PlanJSON(b, plan.Plan{}) },
		"status --json":         func(b *bytes.Buffer) error { return StatusJSON(b, engine.NodeStatus{}) },
		"list --json":           func(b *bytes.Buffer) error { return ListJSON(b, [][]*schema.App{}) },
		"history --json":        func(b *bytes.Buffer) error { return HistoryJSON(b, engine.History{App: "ui"}) },
		"secrets --json":        func(b *bytes.Buffer) error { return SecretsJSON(b, nil) },
		"prune --images --json": func(b *bytes.Buffer) error { return ImagePruneJSON(b, engine.ImagePrune{}) },
	}
	for name, write := range documents {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkVersion(t, name, b.Bytes())
	}
	streams := map[string]func(*bytes.Buffer) error{
		"events --json": func(b *bytes.Buffer) error {
			return EventJSON(b, engine.Event{Time: time.Now(), Type: engine.EventStep, Message: "x"})
		},
		"apply --json": func(b *bytes.Buffer) error {
			v := NewApplyJSON(b)
			if err := v.Plan(plan.Plan{}); err != nil {
				return err
			}
			v.Event(engine.StepDone{App: "ui"})
			return v.Finished(ApplyResult{Wait: &WaitResult{}})
		},
	}
	for name, write := range streams {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for sc := bufio.NewScanner(&b); sc.Scan(); {
			checkVersion(t, name, sc.Bytes())
		}
	}
}

func checkVersion(t *testing.T, name string, doc []byte) {
	t.Helper()
	var v struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Errorf("%s: %v: %s", name, err, doc)
		return
	}
	if v.FormatVersion == nil || *v.FormatVersion != plan.FormatVersion {
		t.Errorf("%s: no format_version %d: %s", name, plan.FormatVersion, doc)
	}
}
