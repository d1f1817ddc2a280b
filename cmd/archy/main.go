// Command archy keeps the containers of a node converged to the apps
// declared in CUE. This package only parses flags and wires the engine.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}
