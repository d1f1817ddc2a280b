package main

import "archy.dev/archy/view"

// VetCmd checks the apps and reports every problem with its position.
type VetCmd struct{}

func (c *VetCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	view.Vetted(g.stdout, g.Apps, len(cat.Apps), len(cat.Warnings))
	return nil
}
