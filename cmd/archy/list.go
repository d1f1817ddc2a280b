package main

import (
	"archy.dev/archy/graph"
	"archy.dev/archy/schema"
	"archy.dev/archy/view"
)

// ListCmd prints the apps in dependency order: every app after the apps it
// depends on, apps of one level side by side.
type ListCmd struct {
	JSON bool `help:"Print JSON: {format_version: 1, apps: [{level, id, container_name, source, image, depends_on: [{app_id, condition}]}]}."`
}

func (c *ListCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	ids, err := graph.Levels(graph.DependencyGraph(cat.List()))
	if err != nil {
		return err
	}
	levels := make([][]*schema.App, len(ids))
	for i, level := range ids {
		for _, id := range level {
			levels[i] = append(levels[i], cat.Apps[id])
		}
	}
	if c.JSON {
		return view.ListJSON(g.stdout, levels)
	}
	return view.List(g.stdout, levels)
}
