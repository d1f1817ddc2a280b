package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api"
	"archy.dev/archy/engine/daemon"
	"archy.dev/archy/engine/podman"
	"archy.dev/archy/internal/memtrim"
	"archy.dev/archy/view"
)

// ConvergeCmd runs the daemon: it keeps every app converged until it is
// stopped (SIGTERM or SIGINT), leaving the containers running; SIGHUP
// reloads the apps (notify.go speaks systemd's protocol).
type ConvergeCmd struct {
	Interval time.Duration `help:"Full reconcile every INTERVAL (events trigger one at once)." default:"30s"`
	Parallel int           `help:"Builds, pulls, creates and starts run at once (the waits for proofs and dependencies hold none)." default:"4"`
	// A flag so that a test can shorten it.
	ImagePruneInterval time.Duration `name:"image-prune-interval" help:"Remove the images archy built or pulled that nothing uses every INTERVAL (archy prune --images does it at once)." default:"24h"`
	HTTP               string        `name:"http" env:"ARCHY_HTTP" placeholder:"ADDR" help:"Also serve the status page, the API and /metrics on ADDR (e.g. 127.0.0.1:8080), behind the token in DATA-DIR/http-token (docs/status-page.md)."`
	Pprof              bool          `name:"pprof" help:"Serve Go's runtime profiles at /debug/pprof/ on the API socket (not on --http), to profile the daemon: curl --unix-socket SOCKET http://archy/debug/pprof/profile?seconds=60 > cpu.out; go tool pprof cpu.out."`
}

func (c *ConvergeCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	// A long-running daemon on a small node: collect garbage before the
	// heap grows past a few tens of MB (GOMEMLIMIT overrides this).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(24 << 20)
	}
	log := g.logger()
	sys, stopSys := newSystemd(ctx, log)
	defer stopSys()
	l, err := api.Listen(g.Socket)
	if err != nil {
		return fmt.Errorf("api socket: %w", err)
	}
	var d *daemon.Daemon
	d = daemon.New(daemon.Config{
		Apps: g.Apps, Catalog: g.catalogOptions(), DataDir: g.DataDir, SecretsFile: g.SecretsFile,
		Interval: c.Interval, ImagePruneInterval: c.ImagePruneInterval, Parallel: c.Parallel, Log: log, Progress: view.LogProgress{Log: log}, Version: version,
		// A Podman reached through a unix socket runs on this host: its
		// containers' processes are ours to watch.
		WatchExits: strings.HasPrefix(g.PodmanURL, "unix:"),
		Connect:    func(ctx context.Context) (engine.Runtime, error) { return podman.New(ctx, g.PodmanURL) },
		// The API serves already (its listener is open): archy is up.
		Loaded: func() { sys.up(ctx, d) },
		Reconciled: func() {
			// The start (CUE evaluation, the first reconcile) ran code the
			// loop seldom runs again: give its pages back.
			if n, err := memtrim.Text(); err != nil {
				log.Warn("could not trim the executable's pages", "err", err)
			} else {
				log.Debug("trimmed the executable's pages", "bytes", n)
			}
		},
	})
	h := api.NewServer(d, log, api.WithVersion(version))
	sh := h // the socket's handler
	if c.Pprof {
		sh = api.NewServer(d, log, api.WithVersion(version), api.WithProfiling())
	}
	served := make(chan error, 2)
	go func() { served <- api.Serve(ctx, l, sh) }()
	listeners := 1
	log.Info("api listening", "socket", g.Socket)
	if c.HTTP != "" {
		hl, token, err := api.ListenHTTP(c.HTTP, g.DataDir)
		if err != nil {
			stop()
			<-served
			return err
		}
		listeners++
		go func() { served <- api.Serve(ctx, hl, api.Protect(h, token)) }()
		// The token is a secret: the log says where it is, not what.
		log.Info("status page listening", "url", "http://"+hl.Addr().String()+"/",
			"sign_in", "open the url with ?token= and the contents of "+filepath.Join(g.DataDir, api.TokenFile))
	}
	err = d.Run(ctx)
	stop()
	for range listeners {
		if serr := <-served; err == nil && serr != nil && !errors.Is(serr, context.Canceled) {
			err = serr
		}
	}
	return err
}
