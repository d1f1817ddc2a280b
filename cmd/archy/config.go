package main

import "archy.dev/archy/view"

// ConfigCmd prints the apps as archy evaluated them, like docker compose
// config: every default filled in, never a secret value.
type ConfigCmd struct {
	JSON bool `help:"Print JSON (docs/json.md): {format_version: 1, apps: {ID: {...}}, secrets: {NAME: {...}}}." xor:"format"`
	YAML bool `help:"Print YAML, the same document (the default)." xor:"format"`
}

func (c *ConfigCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	doc := view.NewConfigDocument(cat)
	if c.JSON {
		return view.ConfigJSON(g.stdout, doc)
	}
	return view.ConfigYAML(g.stdout, doc)
}
