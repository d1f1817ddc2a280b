package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Graph maps an app id to the ids it depends on. Edges to ids that are not
// keys of the graph are ignored: reporting them is vet's job.
type Graph map[string][]string

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

// Cycles returns one cycle for every group of ids that depend on each other
// (a strongly connected component, or an id that depends on itself), as a
// path from the group's smallest id back to it: [a b c a]. The shortest
// such path is chosen, and the cycles are sorted, so output is stable.
func Cycles(g Graph) [][]string {
	var cycles [][]string
	for _, comp := range components(g) {
		start := comp[0]
		if len(comp) == 1 && !slices.Contains(g[start], start) {
			continue
		}
		cycles = append(cycles, shortestCycle(g, start, comp))
	}
	sort.Slice(cycles, func(i, j int) bool { return cycles[i][0] < cycles[j][0] })
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

// shortestCycle finds, by breadth-first search inside comp, the shortest
// path from start back to start.
func shortestCycle(g Graph, start string, comp []string) []string {
	in := map[string]bool{}
	for _, id := range comp {
		in[id] = true
	}
	prev := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		deps := unique(g[v])
		sort.Strings(deps)
		for _, w := range deps {
			if w == start {
				path := []string{start}
				for x := v; x != start; x = prev[x] {
					path = append(path, x)
				}
				slices.Reverse(path[1:])
				return append(path, start)
			}
			if _, seen := prev[w]; !seen && in[w] {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start, start}
}

func unique(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return slices.Compact(out)
}
