package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api"
	"archy.dev/archy/engine/daemon"
	"archy.dev/archy/engine/podman"
	"archy.dev/archy/internal/memtrim"
	"archy.dev/archy/view"
)

// ConvergeCmd runs the daemon: it keeps every app converged until it is
// stopped (SIGTERM or SIGINT), leaving the containers running.
type ConvergeCmd struct {
	Interval time.Duration `help:"Full reconcile every INTERVAL (events trigger one at once)." default:"30s"`
	Parallel int           `help:"Apps of one level handled at once." default:"4"`
	HTTP     string        `name:"http" env:"ARCHY_HTTP" placeholder:"ADDR" help:"Also serve the status page, the API and /metrics on ADDR (e.g. 127.0.0.1:8080), behind the token in DATA-DIR/http-token (docs/status-page.md)."`
}

func (c *ConvergeCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	// A long-running daemon on a small node: collect garbage before the
	// heap grows past a few tens of MB (GOMEMLIMIT overrides this).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(24 << 20)
	}
	log := newLogger(g.stderr, g.LogFormat)
	l, err := api.Listen(g.Socket)
	if err != nil {
		return fmt.Errorf("api socket: %w", err)
	}
	var d *daemon.Daemon
	d = daemon.New(daemon.Config{
		Apps: g.Apps, Catalog: g.catalogOptions(), DataDir: g.DataDir, SecretsFile: g.SecretsFile,
		Interval: c.Interval, Parallel: c.Parallel, Log: log, Progress: view.LogProgress{Log: log}, Version: version,
		// A Podman reached through a unix socket runs on this host: its
		// containers' processes are ours to watch.
		WatchExits: strings.HasPrefix(g.PodmanURL, "unix:"),
		Connect:    func(ctx context.Context) (engine.Runtime, error) { return podman.New(ctx, g.PodmanURL) },
		Ready: func() {
			// The start (CUE evaluation, the first reconcile) ran code the
			// loop seldom runs again: give its pages back.
			if n, err := memtrim.Text(); err != nil {
				log.Warn("could not trim the executable's pages", "err", err)
			} else {
				log.Debug("trimmed the executable's pages", "bytes", n)
			}
			sd.SdNotify(false, sd.SdNotifyReady)
			go watchdog(ctx, d)
		},
	})
	h := api.NewServer(d, log, api.WithVersion(version))
	served := make(chan error, 2)
	go func() { served <- api.Serve(ctx, l, h) }()
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

// watchdog tells systemd the daemon is alive at half its WatchdogSec.
// watchdog feeds systemd's watchdog (WatchdogSec) while the daemon's loop
// answers, so that a wedged daemon is restarted rather than kept alive by
// a timer.
func watchdog(ctx context.Context, d *daemon.Daemon) {
	every, err := sd.SdWatchdogEnabled(false)
	if err != nil || every == 0 {
		return
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			actx, cancel := context.WithTimeout(ctx, every/4)
			if d.Alive(actx) {
				sd.SdNotify(false, sd.SdNotifyWatchdog)
			}
			cancel()
		}
	}
}

// newLogger logs to stderr as text (journald keeps it as is) or JSON.
func newLogger(w interface{ Write([]byte) (int, error) }, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
