package main

import (
	"fmt"
	"runtime/debug"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3").
var version = "dev"

// VersionCmd prints archy's version and the versions it was built with.
type VersionCmd struct{}

func (c *VersionCmd) Run(g *Globals) error {
	cueVersion := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "cuelang.org/go" {
				cueVersion = dep.Version
			}
		}
	}
	fmt.Fprintf(g.stdout, "archy %s (cue %s)\n", version, cueVersion)
	return nil
}
