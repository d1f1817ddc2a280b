package main

import "fmt"

// VetCmd checks the apps and reports every problem with its position.
type VetCmd struct{}

func (c *VetCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s: %s ok", g.Apps, plural(len(cat.Apps), "app"))
	if n := len(cat.Warnings); n > 0 {
		fmt.Fprintf(g.stdout, " (%s)", plural(n, "warning"))
	}
	fmt.Fprintln(g.stdout)
	return nil
}
