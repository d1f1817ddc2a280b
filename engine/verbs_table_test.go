package engine

import (
	"context"
	"strings"
	"testing"
)

// TestVerbTable checks the table's invariants the CLI, the daemon and the
// API rely on.
func TestVerbTable(t *testing.T) {
	seen := map[Action]bool{}
	for _, v := range Verbs() {
		if seen[v.Action] {
			t.Errorf("%s: twice in the table", v.Action)
		}
		seen[v.Action] = true
		if v.run == nil {
			t.Errorf("%s: no way to run it", v.Action)
		}
		if got, ok := VerbNamed(v.Action); !ok || got.Action != v.Action {
			t.Errorf("VerbNamed(%q) = %v, %v", v.Action, got.Action, ok)
		}
		switch v.Option {
		case "", "purge", "to":
		default:
			t.Errorf("%s: option %q is no VerbOptions field", v.Action, v.Option)
		}
	}
	if _, ok := VerbNamed("dance"); ok {
		t.Error(`VerbNamed("dance") found a verb`)
	}
}

func TestActUnknown(t *testing.T) {
	_, err := (&Node{}).Act(context.Background(), nil, "ui", "dance", VerbOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown action "dance"`) {
		t.Errorf("got %v", err)
	}
}
