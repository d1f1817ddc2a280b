package graph

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStopLevels(t *testing.T) {
	node := Graph{ // the simulated node (testdata/node)
		"bitcoin-core": nil, "electrs": {"bitcoin-core"}, "lnd": {"bitcoin-core"},
		"bitcoin-ui": {"bitcoin-core"}, "electrs-ui": {"electrs"}, "explorer": {"electrs"}, "lnd-ui": {"lnd"},
	}
	tests := []struct {
		name string
		g    Graph
		want [][]string
	}{
		{"empty", Graph{}, nil},
		{"independent apps share a level, sorted", Graph{"b": nil, "a": nil}, [][]string{{"a", "b"}}},
		{"chain: dependents first", Graph{"ui": {"api"}, "api": {"db"}, "db": nil}, [][]string{{"ui"}, {"api"}, {"db"}}},
		{"diamond", Graph{"d": {"b", "c"}, "b": {"a"}, "c": {"a"}, "a": nil}, [][]string{{"d"}, {"b", "c"}, {"a"}}},
		// A short branch stops at once, not when the long one reaches its
		// depth: bitcoin-ui goes with the other leaves.
		{"node", node, [][]string{{"bitcoin-ui", "electrs-ui", "explorer", "lnd-ui"}, {"electrs", "lnd"}, {"bitcoin-core"}}},
		{"uneven: an app waits for its slowest dependent chain", Graph{
			"db": nil, "api": {"db"}, "ui": {"api"}, "report": {"db"},
		}, [][]string{{"report", "ui"}, {"api"}, {"db"}}},
		{"unknown dependency ignored", Graph{"a": {"ghost"}}, [][]string{{"a"}}},
		{"duplicate edge counted once", Graph{"a": {"b", "b"}, "b": nil}, [][]string{{"a"}, {"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StopLevels(tt.g)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("StopLevels() mismatch (-want +got):\n%s", diff)
			}
			// Every app stops after every app that depends on it.
			level := map[string]int{}
			for i, ids := range got {
				for _, id := range ids {
					level[id] = i
				}
			}
			for id, deps := range tt.g {
				for _, d := range deps {
					if l, ok := level[d]; ok && l <= level[id] {
						t.Errorf("%s (level %d) stops no later than its dependent %s (level %d)", d, l, id, level[id])
					}
				}
			}
		})
	}
}

func TestStopLevelsRejectsCycle(t *testing.T) {
	if _, err := StopLevels(Graph{"a": {"b"}, "b": {"a"}}); err == nil {
		t.Fatal("no error for a cycle")
	}
}
