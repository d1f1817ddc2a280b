package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"archy.dev/archy/graph"
	"archy.dev/archy/schema"
)

// ListCmd prints the apps in dependency order: every app after the apps it
// depends on, apps of one level side by side.
type ListCmd struct {
	JSON bool `help:"Print JSON: {version: 1, apps: [{level, id, container_name, source, image, depends_on: [{app_id, condition}]}]}."`
}

// listJSON is the stable JSON form of archy list; version changes only
// when a field changes meaning or goes away.
type listJSON struct {
	Version int         `json:"version"`
	Apps    []listEntry `json:"apps"`
}

type listEntry struct {
	Level         int                 `json:"level"`
	ID            string              `json:"id"`
	ContainerName string              `json:"container_name"`
	Source        string              `json:"source"`
	Image         string              `json:"image"`
	DependsOn     []schema.Dependency `json:"depends_on"`
}

func (c *ListCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	levels, err := graph.Levels(graph.DependencyGraph(cat.List()))
	if err != nil {
		return err
	}
	entries := []listEntry{}
	for i, level := range levels {
		for _, id := range level {
			app := cat.Apps[id]
			entries = append(entries, listEntry{
				Level: i + 1, ID: id, ContainerName: app.ContainerName,
				Source: app.Container.Source.Type, Image: app.Container.Source.ImageRef(),
				DependsOn: append([]schema.Dependency{}, app.Dependencies...),
			})
		}
	}
	if c.JSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(listJSON{Version: 1, Apps: entries})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEVEL\tAPP\tCONTAINER\tSOURCE\tIMAGE\tDEPENDS ON")
	for _, e := range entries {
		var ds []string
		for _, d := range e.DependsOn {
			ds = append(ds, d.AppID+" ("+d.Condition+")")
		}
		deps := strings.Join(ds, ", ")
		if deps == "" {
			deps = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Level, e.ID, e.ContainerName, e.Source, e.Image, deps)
	}
	return tw.Flush()
}
