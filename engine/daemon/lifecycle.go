package daemon

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/secrets"
	"archy.dev/archy/engine/state"
)

// Run loads the apps, connects to Podman, reconciles everything and then
// keeps the node converged until ctx ends. Containers keep running when it
// returns.
//
// Only a bad catalogue stops it before it is up: Config.Loaded is called
// once the apps are loaded, before Podman is reached, since connecting may
// retry for as long as Podman is away and a fresh node's first reconcile
// may pull gigabytes. Meanwhile its loop answers (Alive, for the
// watchdog) and its status says what it waits for.
func (d *Daemon) Run(ctx context.Context) error {
	cat, err := catalog.Load(d.cfg.Apps, d.cfg.Catalog)
	if err != nil {
		return err // nothing good to run yet
	}
	d.setCatalog(cat)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.ctx = ctx
	if d.cfg.Loaded != nil {
		d.cfg.Loaded()
	}
	var wg sync.WaitGroup
	failed := make(chan error, 1) // what ends the start for good
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := d.start(ctx, &wg); err != nil && ctx.Err() == nil {
			failed <- err
		}
	}()
	tick := time.NewTicker(d.cfg.Interval)
	defer tick.Stop()
	stopped := func() {
		cancel()
		wg.Wait()
		if d.exits != nil {
			d.exits.Close()
		}
	}
	for {
		select {
		case <-ctx.Done():
			stopped()
			d.log.Info("stopped; containers keep running")
			return nil
		case err := <-failed:
			stopped()
			return err
		case <-tick.C:
			d.reload()
			d.enqueueFull()
		case reply := <-d.alive:
			d.mu.Lock() // a deadlock on the daemon's state shows here too
			d.mu.Unlock()
			close(reply)
		}
	}
}

// start connects to Podman, starts the workers (added to wg) and runs the
// first full reconcile; Config.Reconciled follows it.
func (d *Daemon) start(ctx context.Context, wg *sync.WaitGroup) error {
	if err := d.connect(ctx); err != nil {
		return err // ctx ended, or the secrets file is unreadable
	}
	wg.Add(3)
	go func() { defer wg.Done(); d.fullWorker(ctx) }()
	go func() { defer wg.Done(); d.watchEvents(ctx) }()
	go func() { defer wg.Done(); d.probeLoop(ctx) }()
	if err := d.reconcileAll(ctx); err != nil && ctx.Err() == nil {
		d.log.Error("first reconcile", "err", err)
	}
	if ctx.Err() != nil {
		return nil
	}
	if d.cfg.Reconciled != nil {
		d.cfg.Reconciled()
	}
	d.mu.Lock()
	n := len(d.cat.Apps)
	d.mu.Unlock()
	d.log.Info("converging", "apps", n, "interval", d.cfg.Interval)
	return nil
}

// connect opens the Podman connection, retrying with backoff while Podman
// is away; the daemon reports itself degraded meanwhile.
func (d *Daemon) connect(ctx context.Context) error {
	op := func() (engine.Runtime, error) {
		rt, err := d.cfg.Connect(ctx)
		if err != nil {
			d.setDegraded("podman unreachable: " + err.Error())
			return nil, err
		}
		return rt, nil
	}
	rt, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval: 200 * time.Millisecond, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: 5 * time.Second,
		}),
		backoff.WithMaxElapsedTime(0))
	if err != nil {
		return err
	}
	sec, err := secrets.New(d.cfg.DataDir, d.cfg.SecretsFile)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if old, ok := d.rt.(io.Closer); ok { // a reconnect: drop the dead connection
		old.Close()
	}
	d.rt = rt
	d.node = &engine.Node{Runtime: rt, State: state.Store{Dir: d.cfg.DataDir, Fallback: d.stateFallback, MustExist: true}, Secrets: sec}
	d.mu.Unlock()
	d.setDegraded("")
	d.connectedOnce.Do(func() { close(d.connected) })
	return nil
}

func (d *Daemon) setDegraded(why string) {
	d.mu.Lock()
	changed := d.degraded != why
	d.degraded = why
	d.mu.Unlock()
	if !changed {
		return
	}
	d.metrics.connected.Set(boolGauge(why == ""))
	if why == "" {
		d.publishAt(slog.LevelInfo, engine.Event{Type: engine.EventPodman, Message: "connected to podman"})
	} else {
		d.publish(engine.Event{Type: engine.EventPodman, Message: why})
	}
}
