package view

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
)

func TestEvent(t *testing.T) {
	when := time.Date(2026, 5, 1, 12, 0, 3, 120_000_000, time.UTC)
	tests := []struct {
		name  string
		e     engine.Event
		color bool
		want  string
	}{
		{"step", engine.Event{Time: when, Type: engine.EventStep, App: "bitcoin-ui", Message: "started (1.2s)"}, false,
			"2026-05-01 12:00:03  step       bitcoin-ui    started (1.2s)\n"},
		{"node-wide", engine.Event{Time: when, Type: engine.EventReconcile, Message: "reconcile done"}, false,
			"2026-05-01 12:00:03  reconcile  -             reconcile done\n"},
		{"lines folded", engine.Event{Time: when, Type: engine.EventFailure, App: "lnd", Message: "building lnd:\nstep 3/5\r\n"}, false,
			"2026-05-01 12:00:03  failure    lnd           building lnd:; step 3/5\n"},
		{"failure in red", engine.Event{Time: when, Type: engine.EventFailure, App: "lnd", Message: "x"}, true,
			"2026-05-01 12:00:03  \033[31mfailure  \033[0m  lnd           x\n"},
		{"a long app id", engine.Event{Time: when, Type: engine.EventBackoff, App: "a-very-long-app-id", Message: "restarting in 4s"}, false,
			"2026-05-01 12:00:03  backoff    a-very-long-app-id  restarting in 4s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Event(&b, tt.e, Style{Color: tt.color}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventJSON(t *testing.T) {
	var b bytes.Buffer
	e := engine.Event{Time: time.Date(2026, 5, 1, 12, 0, 5, 0, time.UTC), Type: engine.EventBackoff, App: "lnd",
		Message: "exited (1) on its own; restarting in 4s", Fields: map[string]string{"delay": "4s"}}
	if err := EventJSON(&b, e); err != nil {
		t.Fatal(err)
	}
	want := `{"format_version":1,"time":"2026-05-01T12:00:05Z","type":"backoff","app":"lnd","message":"exited (1) on its own; restarting in 4s","fields":{"delay":"4s"}}` + "\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
