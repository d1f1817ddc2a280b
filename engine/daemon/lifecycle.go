package daemon

import (
	"context"
	"io"
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
func (d *Daemon) Run(ctx context.Context) error {
	cat, err := catalog.Load(d.cfg.Apps, d.cfg.Catalog)
	if err != nil {
		return err // nothing good to run yet
	}
	d.setCatalog(cat)
	if err := d.connect(ctx); err != nil {
		return err
	}
	d.ctx = ctx
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); d.fullWorker(ctx) }()
	go func() { defer wg.Done(); d.watchEvents(ctx) }()
	go func() { defer wg.Done(); d.probeLoop(ctx) }()

	if err := d.reconcileAll(ctx); err != nil {
		d.log.Error("first reconcile", "err", err)
	}
	if d.cfg.Ready != nil {
		d.cfg.Ready()
	}
	d.log.Info("converging", "apps", len(cat.Apps), "interval", d.cfg.Interval)
	tick := time.NewTicker(d.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			if d.exits != nil {
				d.exits.Close()
			}
			d.log.Info("stopped; containers keep running")
			return nil
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
	d.node = &engine.Node{Runtime: rt, State: state.Store{Dir: d.cfg.DataDir}, Secrets: sec}
	d.mu.Unlock()
	d.setDegraded("")
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
		d.publish(engine.Event{Type: engine.EventPodman, Message: "connected to podman"})
	} else {
		d.publish(engine.Event{Type: engine.EventPodman, Message: why})
	}
}
