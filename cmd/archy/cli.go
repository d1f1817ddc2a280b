package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"archy.dev/archy/catalog"
	"archy.dev/archy/view"
)

// CLI is archy's command line.
type CLI struct {
	Globals

	Vet      VetCmd      `cmd:"" help:"Check the apps: schema, dependencies, container names, ports, build contexts, host paths."`
	List     ListCmd     `cmd:"" help:"List the apps in dependency order."`
	Config   ConfigCmd   `cmd:"" help:"Print the apps as archy evaluated them, every default filled in (never a secret value)."`
	Plan     PlanCmd     `cmd:"" help:"Show what apply would change, and why."`
	Apply    ApplyCmd    `cmd:"" help:"Bring every app to its declared state, in dependency order."`
	Status   StatusCmd   `cmd:"" help:"Show every app's container, state, health and URL."`
	Logs     LogsCmd     `cmd:"" help:"Print an app's logs."`
	Events   EventsCmd   `cmd:"" help:"Follow the daemon's events: steps, failures, state changes, backoffs, as they happen."`
	Start    NodeVerbCmd `cmd:"" verb:"start" help:"Start an app (and keep it running); --all: the node again after stop --all, dependencies first."`
	Stop     NodeVerbCmd `cmd:"" verb:"stop" help:"Stop an app and keep it stopped across applies; --all: every app, dependents first."`
	Restart  VerbCmd     `cmd:"" verb:"restart" help:"Restart an app's container."`
	Rm       RmCmd       `cmd:"" help:"Remove an app's container; its volumes are kept unless --purge-data."`
	Upgrade  VerbCmd     `cmd:"" verb:"upgrade" help:"Build or pull an app's image, then recreate its container (volumes kept)."`
	Secrets  SecretsCmd  `cmd:"" help:"List the generated secrets: name, generator, when made, consumers (never a value); rotate one."`
	History  HistoryCmd  `cmd:"" help:"List an app's generations: what each container was made from and how it went."`
	Rollback RollbackCmd `cmd:"" help:"Return an app to an earlier generation, proved healthy like an upgrade."`
	Prune    PruneCmd    `cmd:"" help:"Remove what archy made that nothing uses any more: --images, the images it built or pulled."`
	State    StateCmd    `cmd:"" help:"Repair archy's state file: state reset rebuilds a damaged or missing one from the containers (docs/state.md)."`
	Converge ConvergeCmd `cmd:"" help:"Run the daemon: keep every app converged, healing what breaks, until stopped."`
	Export   ExportCmd   `cmd:"" help:"Write the apps for another engine: export kube."`
	Push     PushCmd     `cmd:"" help:"Build (when needed) and push the images of built apps to a registry, for export kube."`
	Version  VersionCmd  `cmd:"" help:"Print archy's version."`

	Completion CompletionCmd `cmd:"" help:"Print the shell completion script for bash, zsh or fish (packaging/README.md installs them)."`
	Man        ManCmd        `cmd:"" hidden:"" help:"Print the man page archy(1), for the packaging."`
}

// Globals are the flags every command takes.
type Globals struct {
	Apps        string `help:"Directory of the app files (package apps); default ./apps, else /etc/archy/apps when ./apps does not exist." env:"ARCHY_APPS" placeholder:"DIR" predictor:"dir"`
	SystemApps  string `hidden:"" help:"The apps directory used when ./apps does not exist." default:"/etc/archy/apps" env:"ARCHY_SYSTEM_APPS"`
	PodmanURL   string `help:"Podman API socket." name:"podman-url" default:"unix:///run/podman/podman.sock" env:"CONTAINER_HOST"`
	DataDir     string `help:"Where archy keeps its state; host-path volumes may live in its volumes/ subdirectory, and nowhere else in it." default:"/var/lib/archy" env:"ARCHY_DATA_DIR"`
	LogFormat   string `help:"Log format: text, json, journal (text with syslog priorities, for journald) or auto (journal when stderr is the journal, else text)." enum:"auto,text,json,journal" default:"auto" env:"ARCHY_LOG_FORMAT"`
	LogLevel    string `help:"Least level logged: debug, info, warn or error." enum:"debug,info,warn,error" default:"info" env:"ARCHY_LOG_LEVEL"`
	Socket      string `help:"The daemon's API socket: archy converge serves it; the other verbs use it when a daemon answers." default:"/run/archy/archy.sock" env:"ARCHY_SOCKET" placeholder:"PATH"`
	SecretsFile string `help:"Root-only KEY=VALUE file of secret values, synced into Podman secrets." env:"ARCHY_SECRETS_FILE" placeholder:"FILE"`

	Tag             []string `short:"t" env:"ARCHY_TAGS" help:"Set a field marked @tag(NAME) in the app files: NAME=VALUE, as with cue -t. Repeatable." placeholder:"NAME=VALUE"`
	ContextRoot     []string `help:"Directory build contexts may live in (default: the parent of --apps). Repeatable." placeholder:"DIR"`
	AllowHostPath   []string `help:"Directory host-path volumes may live in, besides DATA-DIR/volumes. Repeatable." placeholder:"DIR"`
	AllowPrivileged []string `help:"App allowed to run privileged or with a capability that amounts to root on the host (docs/security.md). Repeatable." placeholder:"APP"`

	stdout, stderr io.Writer
}

// catalogOptions are the operator's choices the checks depend on.
func (g *Globals) catalogOptions() catalog.Options {
	return catalog.Options{
		Tags:            g.Tag,
		ContextRoots:    g.ContextRoot,
		DataDir:         g.DataDir,
		HostPathRoots:   g.AllowHostPath,
		OwnPaths:        g.ownPaths(),
		AllowPrivileged: g.AllowPrivileged,
	}
}

// ownPaths are archy's files outside the data dir that no host-path
// volume may expose: the secret values, the daemon's API and Podman's
// (a container holding either socket would control the node).
func (g *Globals) ownPaths() []catalog.OwnPath {
	own := []catalog.OwnPath{{Path: g.SecretsFile, What: "archy's secrets file"}, {Path: g.Socket, What: "archy's API socket"}}
	if p, ok := strings.CutPrefix(g.PodmanURL, "unix:"); ok { // unix:///run/… or unix:/run/…
		own = append(own, catalog.OwnPath{Path: "/" + strings.TrimLeft(p, "/"), What: "the Podman socket"})
	}
	return own
}

// loadCatalog loads and checks the apps, printing warnings.
func (g *Globals) loadCatalog() (*catalog.Catalog, error) {
	cat, err := catalog.Load(g.Apps, g.catalogOptions())
	if err == nil {
		for _, w := range cat.Warnings {
			fmt.Fprintln(g.stderr, w)
		}
	}
	return cat, err
}

// exitCode ends a command with a code and no message (plan
// --detailed-exitcode's 2; a failure already reported in full).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }
func (e exitCode) ExitCode() int { return int(e) }

// exitPanic unwinds kong's Exit (called for --help and usage errors).
type exitPanic int

// Main runs archy with args and returns the exit code: 0 ok, 1 error.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	var cli CLI
	cli.stdout, cli.stderr = stdout, stderr
	parser, err := kong.New(&cli,
		kong.Name("archy"),
		kong.Description("archy keeps every container of the node converged to the apps declared in CUE."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintf(stderr, "archy: %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitPanic)
			if !ok {
				panic(r)
			}
			code = int(c)
			if code == 2 { // kong's usage-error code; 2 is ours for "changes pending"
				code = 1
			}
		}
	}()
	completeLine(parser) // a shell asking for completions: answers and exits
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "archy: error: %v\n", err)
		return 1
	}
	if cli.Apps == "" { // neither --apps nor ARCHY_APPS (or it is empty)
		cli.Apps = defaultAppsDir(cli.SystemApps)
	}
	if err := kctx.Run(&cli.Globals); err != nil {
		return report(stderr, err)
	}
	return 0
}

// report prints an error once, at the top, and picks the exit code.
func report(stderr io.Writer, err error) int {
	var diags catalog.Diagnostics
	var code exitCode
	switch {
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &diags):
		for _, d := range diags {
			fmt.Fprintln(stderr, d)
		}
		fmt.Fprintf(stderr, "archy: %s\n", countDiags(diags))
	default:
		fmt.Fprintf(stderr, "archy: error: %v\n", err)
	}
	var ec kong.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

func countDiags(ds catalog.Diagnostics) string {
	n, w := len(ds.Errors()), len(ds.Warnings())
	s := view.Count(n, "error")
	if w > 0 {
		s += ", " + view.Count(w, "warning")
	}
	return s
}

// signalContext is cancelled by SIGINT or SIGTERM, so that a step in
// flight ends cleanly; a second signal kills as usual.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the next signal has its default effect
	}()
	return ctx, stop
}
