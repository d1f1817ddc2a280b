package graph

import "sort"

// Reverse is g with every edge turned round: each id maps to the ids that
// depend on it (its dependents), in the order they were found.
func Reverse(g Graph) Graph {
	r := Graph{}
	for id := range g {
		r[id] = []string{}
	}
	for _, id := range sortedIDs(g) {
		for _, dep := range unique(g[id]) {
			if _, ok := g[dep]; ok {
				r[dep] = append(r[dep], id)
			}
		}
	}
	return r
}

// StopLevels groups the ids in the order a whole-node stop takes them: an
// id comes only in a level after every id that depends on it, so that
// nothing loses what it depends on while it runs. Within a level the ids
// are sorted and may stop side by side. It is Levels of the reversed
// graph: what nobody depends on goes first, bitcoin-core last.
func StopLevels(g Graph) ([][]string, error) { return Levels(Reverse(g)) }

func sortedIDs(g Graph) []string {
	ids := make([]string, 0, len(g))
	for id := range g {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
