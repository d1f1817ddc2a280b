package main

import (
	"github.com/alecthomas/kong"

	"archy.dev/archy/internal/manpage"
)

// ManCmd prints archy(1), generated from the command line itself, for the
// packaging to install (packaging/install.sh).
type ManCmd struct{}

func (c *ManCmd) Run(g *Globals, kctx *kong.Context) error {
	page := manpage.Page{
		Section: 1,
		Source:  "archy " + version,
		Manual:  "User Commands",
		Summary: "keep a self-hosted node's containers converged to apps declared in CUE",
		Description: "archy keeps every container of a self-hosted node converged to the apps declared in CUE, on Podman. " +
			"The apps (one file each, package apps) are checked against archy's schema (archy vet), ordered by their dependencies " +
			"and compared with what runs: archy plan shows the steps and why, archy apply makes them, " +
			"and archy converge, the daemon, keeps doing so, healing what breaks.\n\n" +
			"While the daemon runs, the verbs that act on one app go through its API; otherwise they act directly, under a host-wide lock.",
		Environment: []manpage.Section{
			{Title: "NO_COLOR", Body: "Set: no colour, even on a terminal."},
			{Title: "COMP_LINE", Body: "Set by the completion scripts (archy completion): archy prints the completions of the line and exits."},
		},
		Sections: []manpage.Section{
			{Title: "Exit status", Items: []manpage.Item{
				{Tag: "0", Text: "Success; for plan --detailed-exitcode, no changes."},
				{Tag: "1", Text: "An error, reported once on standard error (a usage error too); bad apps are reported with file:line:column."},
				{Tag: "2", Text: "plan --detailed-exitcode: changes are pending."},
			}},
			{Title: "Files", Items: []manpage.Item{
				{Tag: "./apps, " + systemAppsDir, Text: "The app files (CUE, package apps) when neither --apps nor ARCHY_APPS names a directory: ./apps if it exists, else " + systemAppsDir + ", which the daemon reads."},
				{Tag: "/var/lib/archy", Text: "archy's state (--data-dir): intent, generations, the host-wide lock."},
				{Tag: "/run/archy/archy.sock", Text: "The daemon's API socket (--socket)."},
				{Tag: "/etc/archy/archy.env", Text: "Environment of the archy.service unit, optional."},
			}},
			{Title: "See also", Body: "podman(1), systemctl(1). The documentation in /usr/share/doc/archy: README.md and docs/ (json.md for every JSON document)."},
		},
	}
	return page.Write(g.stdout, kctx.Model)
}
