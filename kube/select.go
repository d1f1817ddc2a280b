package kube

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"archy.dev/archy/schema"
)

// Select returns the apps named in only, with everything they depend on
// unless withoutDeps (the others then run elsewhere), or every app when
// only is empty. An unknown id is an error that lists the known ones.
func Select(apps map[string]*schema.App, only []string, withoutDeps bool) ([]*schema.App, error) {
	ids := slices.Sorted(maps.Keys(apps))
	if len(only) == 0 {
		return list(apps, ids), nil
	}
	want := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if want[id] || apps[id] == nil {
			return
		}
		want[id] = true
		if withoutDeps {
			return
		}
		for _, d := range apps[id].Dependencies {
			visit(d.AppID)
		}
	}
	for _, id := range only {
		if apps[id] == nil {
			return nil, fmt.Errorf("no app %q (the apps are: %s)", id, strings.Join(ids, ", "))
		}
		visit(id)
	}
	return list(apps, slices.DeleteFunc(ids, func(id string) bool { return !want[id] })), nil
}

func list(apps map[string]*schema.App, ids []string) []*schema.App {
	out := make([]*schema.App, len(ids))
	for i, id := range ids {
		out[i] = apps[id]
	}
	return out
}
