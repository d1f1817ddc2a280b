package catalog

import (
	"testing"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/schema"
)

// TestPositionsUnder checks the paths below one field: its own, list
// elements included, and none of a sibling whose name it begins
// (app-1 and app-10).
func TestPositionsUnder(t *testing.T) {
	f, err := parser.ParseFile("a.cue", `package apps
apps: "app-1": {name: "one", ports: [{host: 1}]}
apps: "app-10": {name: "ten"}
list: [1, {a: 2}]
`)
	if err != nil {
		t.Fatal(err)
	}
	idx := collectPositions([]*ast.File{f}, func(s string) string { return s })
	pos := func(line, col int) schema.Pos { return schema.Pos{File: "a.cue", Line: line, Col: col} }
	for _, tc := range []struct {
		sels []string
		want map[string]schema.Pos
	}{
		{[]string{"apps", `"app-1"`}, map[string]schema.Pos{
			"name": pos(2, 17), "ports": pos(2, 30), "ports[0]": pos(2, 38), "ports[0].host": pos(2, 39),
		}},
		{[]string{"apps", `"app-10"`}, map[string]schema.Pos{"name": pos(3, 18)}},
		{[]string{"list"}, map[string]schema.Pos{"[0]": pos(4, 8), "[1]": pos(4, 11), "[1].a": pos(4, 12)}},
	} {
		if diff := cmp.Diff(tc.want, idx.under(tc.sels)); diff != "" {
			t.Errorf("under(%v) (-want +got):\n%s", tc.sels, diff)
		}
	}
}
