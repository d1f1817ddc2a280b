package main

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"archy.dev/archy/catalog"
	"archy.dev/archy/internal/shellcomp"
)

// CompletionCmd prints a shell's completion script. The script hands the
// command line to archy itself (COMP_LINE), which completes verbs, flags,
// enum values, directories for --apps and app ids from the apps.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish."`
}

func (c *CompletionCmd) Run(g *Globals) error {
	s, err := shellcomp.Script(c.Shell, "archy")
	if err != nil {
		return err
	}
	_, err = g.stdout.Write([]byte(s))
	return err
}

// completeLine answers a completion request (COMP_LINE set by a shell
// script of archy completion) and exits through kong; without one it
// returns at once.
func completeLine(parser *kong.Kong) {
	line, ok := os.LookupEnv("COMP_LINE")
	if !ok || line == "" {
		return
	}
	systemApps := cmp.Or(os.Getenv("ARCHY_SYSTEM_APPS"), systemAppsDir)
	words := strings.Fields(line)
	apps := func() *catalog.Catalog { return quietCatalog(words, systemApps) }
	inheritFlags(parser.Model.Node, nil)
	// Answers sorted, one a line: posener/complete prints them in map order.
	var out bytes.Buffer
	stdout := parser.Stdout
	parser.Stdout = &out
	defer func() { parser.Stdout = stdout }()
	kongplete.Complete(parser,
		kongplete.WithExitFunc(func(code int) {
			lines := slices.DeleteFunc(strings.Split(out.String(), "\n"), func(l string) bool { return l == "" })
			slices.Sort(lines)
			for _, l := range slices.Compact(lines) {
				fmt.Fprintln(stdout, l)
			}
			parser.Exit(code)
		}),
		kongplete.WithPredictor("dir", complete.PredictDirs("*")),
		kongplete.WithPredictor("app", complete.PredictFunc(func(complete.Args) []string {
			if cat := apps(); cat != nil {
				return cat.IDs()
			}
			return nil
		})),
		kongplete.WithPredictor("secret", complete.PredictFunc(func(complete.Args) []string {
			cat := apps()
			if cat == nil {
				return nil
			}
			var names []string
			for _, g := range cat.Secrets {
				names = append(names, g.SecretNames()...)
			}
			slices.Sort(names)
			return names
		})),
		kongplete.WithErrorHandler(func(error) {}), // a shell has nowhere to show it
	)
}

// inheritFlags gives every command the flags of the commands above it.
// kongplete knows a command's own flags only, and would take the value of
// "restart --apps DIR " for the app. The model is changed for good, but a
// completing archy exits without parsing.
func inheritFlags(n *kong.Node, inherited []*kong.Flag) {
	inherited = append(slices.Clip(inherited), n.Flags...)
	for _, c := range n.Children {
		inheritFlags(c, inherited)
		c.Flags = append(slices.Clip(c.Flags), inherited...)
	}
}

// quietCatalog loads the apps the line names (--apps, else ARCHY_APPS,
// else the default), with its -t tags, printing nothing: a catalogue with
// errors still gives the apps that are sound; none at all gives nil.
func quietCatalog(words []string, systemApps string) *catalog.Catalog {
	dir := os.Getenv("ARCHY_APPS")
	if vals := shellcomp.FlagValues(words, "apps", 0); len(vals) > 0 {
		dir = vals[len(vals)-1]
	}
	if dir == "" {
		dir = defaultAppsDir(systemApps)
	}
	tags := shellcomp.FlagValues(words, "tag", 't')
	if env := os.Getenv("ARCHY_TAGS"); env != "" && len(tags) == 0 {
		tags = strings.Split(env, ",")
	}
	cat, _ := catalog.Load(dir, catalog.Options{Tags: tags})
	return cat
}
