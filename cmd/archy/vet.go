package main

import (
	"fmt"

	"archy.dev/archy/view"
)

// VetCmd checks the apps and reports every problem with its position.
type VetCmd struct{}

func (c *VetCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	// Notes are vet's alone: advice for the catalogue's maintainer, not
	// noise on every plan and apply.
	for _, n := range cat.Notes {
		fmt.Fprintln(g.stderr, n)
	}
	view.Vetted(g.stdout, g.Apps, len(cat.Apps), len(cat.Warnings), len(cat.Notes))
	return nil
}
