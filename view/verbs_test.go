package view

import (
	"bytes"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
)

func TestVerbDone(t *testing.T) {
	for _, tc := range []struct {
		action engine.Action
		o      engine.VerbOptions
		res    engine.VerbResult
		want   string
	}{
		{engine.ActStop, engine.VerbOptions{}, engine.VerbResult{}, "ui: stopped; it stays stopped until archy start ui\n"},
		{engine.ActRestart, engine.VerbOptions{}, engine.VerbResult{}, "ui: restarted\n"},
		{engine.ActRemove, engine.VerbOptions{}, engine.VerbResult{}, "ui: container removed; its volumes are kept. It stays removed until archy start ui.\n"},
		{engine.ActRemove, engine.VerbOptions{Purge: true}, engine.VerbResult{}, "ui: container removed; its named volumes are deleted. It stays removed until archy start ui.\n"},
		{engine.ActRollback, engine.VerbOptions{}, engine.VerbResult{Generation: state.Generation{N: 2}},
			"ui: back at generation 2; applies leave it there until its catalogue entry or image changes, or archy upgrade ui\n"},
		{engine.ActInstall, engine.VerbOptions{}, engine.VerbResult{}, "ui: install done\n"},
	} {
		var b bytes.Buffer
		VerbDone(&b, "ui", tc.action, tc.o, tc.res)
		if b.String() != tc.want {
			t.Errorf("%s %+v: got %q, want %q", tc.action, tc.o, b.String(), tc.want)
		}
	}
}

func TestVerbDoneBy(t *testing.T) {
	var b bytes.Buffer
	VerbDoneBy(&b, "ui", engine.ActRemove, "/run/archy/archy.sock")
	if want := "ui: remove done (through the daemon at /run/archy/archy.sock)\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
