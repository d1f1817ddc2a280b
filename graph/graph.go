package graph

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"archy.dev/archy/schema"
)

// Graph maps an app id to the ids it depends on. Edges to ids that are not
// keys of the graph are ignored: reporting them is vet's job.
type Graph map[string][]string

// DependencyGraph is the graph of the apps' dependencies.
func DependencyGraph(apps []*schema.App) Graph {
	g := Graph{}
	for _, app := range apps {
		g[app.ID] = []string{}
		for _, d := range app.Dependencies {
			g[app.ID] = append(g[app.ID], d.AppID)
		}
	}
	return g
}

// Levels groups the ids so that every id depends only on ids of earlier
// levels. Ids within a level are sorted, so the order is deterministic; a
// level's ids may run in parallel. A cycle is an error naming it.
func Levels(g Graph) ([][]string, error) {
	if cycles := Cycles(g); len(cycles) > 0 {
		return nil, fmt.Errorf("dependency cycle: %s", strings.Join(cycles[0], " -> "))
	}
	pending := map[string]int{} // id -> number of unmet dependencies
	dependents := map[string][]string{}
	for id, deps := range g {
		pending[id] += 0
		for _, d := range unique(deps) {
			if _, ok := g[d]; ok {
				pending[id]++
				dependents[d] = append(dependents[d], id)
			}
		}
	}
	var levels [][]string
	var ready []string
	for id, n := range pending {
		if n == 0 {
			ready = append(ready, id)
		}
	}
	for len(ready) > 0 {
		sort.Strings(ready)
		levels = append(levels, ready)
		var next []string
		for _, id := range ready {
			for _, dep := range dependents[id] {
				if pending[dep]--; pending[dep] == 0 {
					next = append(next, dep)
				}
			}
		}
		ready = next
	}
	return levels, nil
}

// maxCycles bounds how many cycles Cycles lists: a dense tangle has
// exponentially many, and the first few say what is wrong.
const maxCycles = 20

// Cycles returns every elementary dependency cycle (up to maxCycles), each
// as a path from its smallest id back to it: [a b c a]; an id that depends
// on itself is [a a]. The cycles are sorted, so output is stable.
func Cycles(g Graph) [][]string {
	var cycles [][]string
	for _, comp := range components(g) {
		if len(comp) == 1 && !slices.Contains(g[comp[0]], comp[0]) {
			continue
		}
		in := map[string]bool{}
		for _, id := range comp {
			in[id] = true
		}
		// Cycles through start that use no id smaller than start: each
		// cycle is found once, from its smallest id.
		for _, start := range comp {
			var path []string
			onPath := map[string]bool{}
			var walk func(v string)
			walk = func(v string) {
				if len(cycles) >= maxCycles {
					return
				}
				path = append(path, v)
				onPath[v] = true
				deps := unique(g[v])
				for _, w := range deps {
					switch {
					case w == start:
						cycles = append(cycles, append(slices.Clone(path), start))
					case in[w] && w > start && !onPath[w]:
						walk(w)
					}
				}
				path = path[:len(path)-1]
				onPath[v] = false
			}
			walk(start)
		}
	}
	sort.Slice(cycles, func(i, j int) bool { return slices.Compare(cycles[i], cycles[j]) < 0 })
	return cycles
}

// components is Tarjan's algorithm; each component comes back sorted.
func components(g Graph) [][]string {
	ids := make([]string, 0, len(g))
	for id := range g {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	var visit func(string)
	visit = func(v string) {
		index[v] = len(index)
		low[v] = index[v]
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g[v] {
			if _, known := g[w]; !known {
				continue
			}
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			sort.Strings(comp)
			out = append(out, comp)
		}
	}
	for _, id := range ids {
		if _, seen := index[id]; !seen {
			visit(id)
		}
	}
	return out
}

func unique(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return slices.Compact(out)
}
