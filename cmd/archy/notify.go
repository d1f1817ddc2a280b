package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/daemon"
	"archy.dev/archy/view"
)

// systemd is archy converge's side of systemd's notify protocol
// (sd_notify(3), packaging/archy.service):
//
//   - READY=1 once the apps are loaded and the API serves (daemon.Config
//     Loaded), not after the first reconcile: a fresh node's pulls, or a
//     Podman still starting, would outlast TimeoutStartSec. What the
//     daemon still waits for shows in STATUS= instead.
//   - STATUS= a one-line summary (view.StatusLine), sent when it changes.
//   - SIGHUP (systemctl reload): RELOADING=1 with MONOTONIC_USEC=, the
//     apps re-read, READY=1, as Type=notify-reload expects; the reconcile
//     it asks for runs on after.
//   - STOPPING=1 on SIGTERM or SIGINT.
//   - WATCHDOG=1 while the daemon's loop answers.
//
// Without NOTIFY_SOCKET (not run by systemd) the messages go nowhere, and
// SIGHUP still reloads.
type systemd struct {
	log     *slog.Logger
	enabled bool           // NOTIFY_SOCKET is set
	hup     chan os.Signal // caught from the start: SIGHUP's default kills
}

// Status refreshes: a burst of events (a reconcile) gives one status
// after it settles; while a countdown shows, every statusTick; otherwise
// every statusRefresh at least, for what changes without an event.
const (
	statusSettle  = 2 * time.Second
	statusTick    = 10 * time.Second
	statusRefresh = time.Minute
)

// newSystemd catches SIGHUP and sends STOPPING=1 when ctx (cancelled by
// SIGTERM or SIGINT) ends; stop releases SIGHUP.
func newSystemd(ctx context.Context, log *slog.Logger) (s *systemd, stop func()) {
	s = &systemd{log: log, enabled: os.Getenv("NOTIFY_SOCKET") != "", hup: make(chan os.Signal, 1)}
	signal.Notify(s.hup, syscall.SIGHUP)
	go func() {
		<-ctx.Done()
		s.notify(sd.SdNotifyStopping)
	}()
	return s, func() { signal.Stop(s.hup) }
}

// up is the daemon's Loaded: it is ready; the status, the reloads and the
// watchdog follow it until ctx ends.
func (s *systemd) up(ctx context.Context, d *daemon.Daemon) {
	s.notify(sd.SdNotifyReady)
	go s.reloads(ctx, d)
	go watchdog(ctx, d)
	if s.enabled {
		go s.status(ctx, d)
	}
}

func (s *systemd) notify(state string) {
	if !s.enabled {
		return
	}
	if _, err := sd.SdNotify(false, state); err != nil {
		s.log.Warn("could not notify systemd", "err", err)
	}
}

// reloads answers SIGHUP: the apps are re-read and reconciled.
func (s *systemd) reloads(ctx context.Context, d *daemon.Daemon) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.hup:
			s.notify(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sd.SdNotifyReloading, monotonicUsec()))
			s.log.Info("reloading the apps (SIGHUP)")
			d.Reload() // a rejected edit is logged and shown in the status
			s.notify(sd.SdNotifyReady)
		}
	}
}

// monotonicUsec is CLOCK_MONOTONIC in µs, which systemd compares with the
// time it asked for the reload.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0 // systemd then takes the reload as its own
	}
	return ts.Nano() / 1e3
}

// status keeps STATUS= current, sending it only when it changes.
func (s *systemd) status(ctx context.Context, d *daemon.Daemon) {
	_, events, unsubscribe := d.Subscribe(engine.Replay{}) // what comes from now on
	defer unsubscribe()
	tick := time.NewTicker(statusTick)
	defer tick.Stop()
	var (
		last      string
		lastAt    time.Time
		countdown bool // the last line counts a backoff down
		settle    <-chan time.Time
	)
	send := func() {
		sctx, cancel := context.WithTimeout(ctx, statusTick)
		ns, err := d.Status(sctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Debug("status for systemd", "err", err)
			return
		}
		now := time.Now()
		lastAt, countdown = now, backingOff(ns, now)
		if line := view.StatusLine(ns, now); line != last {
			last = line
			s.notify("STATUS=" + line)
		}
	}
	send()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			if settle == nil {
				settle = time.After(statusSettle)
			}
		case <-settle:
			settle = nil
			send()
		case now := <-tick.C:
			if countdown || now.Sub(lastAt) >= statusRefresh {
				send()
			}
		}
	}
}

func backingOff(ns engine.NodeStatus, now time.Time) bool {
	for _, a := range ns.Apps {
		if a.BackoffUntil.After(now) {
			return true
		}
	}
	return false
}

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
