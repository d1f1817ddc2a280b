package graph

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLevels(t *testing.T) {
	tests := []struct {
		name string
		g    Graph
		want [][]string
	}{
		{"empty", Graph{}, nil},
		{"independent apps share a level, sorted", Graph{"b": nil, "a": nil, "c": nil}, [][]string{{"a", "b", "c"}}},
		{"chain", Graph{"ui": {"api"}, "api": {"db"}, "db": nil}, [][]string{{"db"}, {"api"}, {"ui"}}},
		{"diamond", Graph{"d": {"b", "c"}, "b": {"a"}, "c": {"a"}, "a": nil}, [][]string{{"a"}, {"b", "c"}, {"d"}}},
		{"unknown dependency ignored", Graph{"a": {"ghost"}}, [][]string{{"a"}}},
		{"duplicate edge counted once", Graph{"a": {"b", "b"}, "b": nil}, [][]string{{"b"}, {"a"}}},
		{"node", Graph{
			"bitcoin-core": nil, "electrs": {"bitcoin-core"}, "lnd": {"bitcoin-core"},
			"bitcoin-ui": {"bitcoin-core"}, "electrs-ui": {"electrs"}, "lnd-ui": {"lnd"},
		}, [][]string{{"bitcoin-core"}, {"bitcoin-ui", "electrs", "lnd"}, {"electrs-ui", "lnd-ui"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Levels(tt.g)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Levels() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLevelsRejectsCycle(t *testing.T) {
	_, err := Levels(Graph{"a": {"b"}, "b": {"a"}})
	if err == nil || err.Error() != "dependency cycle: a -> b -> a" {
		t.Fatalf("err = %v, want the cycle named", err)
	}
}

func TestCyclesAreBounded(t *testing.T) {
	// A complete graph of 8 apps has thousands of cycles.
	g := Graph{}
	for i := range 8 {
		for j := range 8 {
			if i != j {
				g[string(rune('a'+i))] = append(g[string(rune('a'+i))], string(rune('a'+j)))
			}
		}
	}
	if n := len(Cycles(g)); n != maxCycles {
		t.Errorf("listed %d cycles, want the first %d", n, maxCycles)
	}
}

func TestCycles(t *testing.T) {
	tests := []struct {
		name string
		g    Graph
		want [][]string
	}{
		{"none", Graph{"a": {"b"}, "b": nil}, nil},
		{"self", Graph{"a": {"a"}}, [][]string{{"a", "a"}}},
		{"two", Graph{"b": {"a"}, "a": {"b"}}, [][]string{{"a", "b", "a"}}},
		{"three, from the smallest id", Graph{"c": {"a"}, "a": {"b"}, "b": {"c"}}, [][]string{{"a", "b", "c", "a"}}},
		{"two separate cycles, both reported", Graph{
			"a": {"b"}, "b": {"a"}, "x": {"y"}, "y": {"z"}, "z": {"x"}, "ok": {"a"},
		}, [][]string{{"a", "b", "a"}, {"x", "y", "z", "x"}}},
		{"every cycle through a component", Graph{
			"a": {"d", "b"}, "b": {"c"}, "c": {"a"}, "d": {"a"},
		}, [][]string{{"a", "b", "c", "a"}, {"a", "d", "a"}}},
		{"two cycles sharing an app", Graph{"a": {"b", "c"}, "b": {"a"}, "c": {"a"}},
			[][]string{{"a", "b", "a"}, {"a", "c", "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Cycles(tt.g)); diff != "" {
				t.Errorf("Cycles() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
