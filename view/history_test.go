package view

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
)

var sampleHistory = engine.History{App: "ui", Current: 2, Held: "generation 3 failed (not healthy within 6s) and was rolled back",
	Generations: []state.Generation{
		{N: 1, Time: time.Date(2025, 3, 1, 10, 0, 0, 0, time.Local), ImageID: "0123456789abcdef0123", SpecHash: "fedcba9876543210", Outcome: "created"},
		{N: 2, Time: time.Date(2025, 3, 2, 11, 30, 0, 0, time.Local), ImageID: "1123456789abcdef0123", SpecHash: "eedcba9876543210", Outcome: "healthy"},
		{N: 3, Time: time.Date(2025, 3, 3, 12, 45, 5, 0, time.Local), ImageID: "2123456789abcdef0123", SpecHash: "dedcba9876543210", Outcome: "failed: not healthy within 6s"},
	}}

func TestHistory(t *testing.T) {
	var b bytes.Buffer
	if err := History(&b, sampleHistory); err != nil {
		t.Fatal(err)
	}
	want := `GEN  TIME                 IMAGE         SPEC          OUTCOME
 1   2025-03-01 10:00:00  0123456789ab  fedcba987654  created
*2   2025-03-02 11:30:00  1123456789ab  eedcba987654  healthy
 3   2025-03-03 12:45:05  2123456789ab  dedcba987654  failed: not healthy within 6s

held: generation 3 failed (not healthy within 6s) and was rolled back (archy upgrade ui tries again)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestHistoryNone(t *testing.T) {
	var b bytes.Buffer
	if err := History(&b, engine.History{App: "ui"}); err != nil {
		t.Fatal(err)
	}
	if want := "ui has no recorded generations yet (archy records one each time it makes the container)\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestHistoryJSON(t *testing.T) {
	var b bytes.Buffer
	if err := HistoryJSON(&b, engine.History{App: "ui"}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "format_version": 1,
  "app": "ui",
  "generations": []
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("history JSON (-want +got):\n%s", diff)
	}
}
