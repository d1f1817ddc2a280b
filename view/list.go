package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// ListDocument is the JSON form of archy list (docs/json.md).
type ListDocument struct {
	FormatVersion int         `json:"format_version"`
	Apps          []ListEntry `json:"apps"`
}

// ListEntry is one app of archy list.
type ListEntry struct {
	Level         int                 `json:"level"`
	ID            string              `json:"id"`
	ContainerName string              `json:"container_name"`
	Source        string              `json:"source"`
	Image         string              `json:"image"`
	DependsOn     []schema.Dependency `json:"depends_on"`
}

// listEntries are the apps level by level (levels[0] is level 1).
func listEntries(levels [][]*schema.App) []ListEntry {
	entries := []ListEntry{}
	for i, level := range levels {
		for _, app := range level {
			entries = append(entries, ListEntry{
				Level: i + 1, ID: app.ID, ContainerName: app.ContainerName,
				Source: app.Container.Source.Type, Image: app.Container.Source.ImageRef(),
				DependsOn: append([]schema.Dependency{}, app.Dependencies...),
			})
		}
	}
	return entries
}

// List renders the apps in dependency order as a table: levels[0] are
// the apps of level 1, which depend on nothing.
func List(w io.Writer, levels [][]*schema.App) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEVEL\tAPP\tCONTAINER\tSOURCE\tIMAGE\tDEPENDS ON")
	for _, e := range listEntries(levels) {
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

// ListJSON writes the apps in dependency order as JSON.
func ListJSON(w io.Writer, levels [][]*schema.App) error {
	return writeJSON(w, ListDocument{FormatVersion: plan.FormatVersion, Apps: listEntries(levels)})
}

// writeJSON writes one indented JSON document.
func writeJSON(w io.Writer, doc any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
