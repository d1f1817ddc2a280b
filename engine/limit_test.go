package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"archy.dev/archy/plan"
)

// gatedRuntime's Start and Inspect block until gate closes, counting the
// calls in flight.
type gatedRuntime struct {
	Runtime
	gate              chan struct{}
	starts, inspects  atomic.Int32
	maxStarts, inside atomic.Int32
}

func (g *gatedRuntime) Start(ctx context.Context, name string) error {
	n := g.starts.Add(1)
	for m := g.maxStarts.Load(); n > m && !g.maxStarts.CompareAndSwap(m, n); m = g.maxStarts.Load() {
	}
	<-g.gate
	g.starts.Add(-1)
	return nil
}

func (g *gatedRuntime) Inspect(ctx context.Context, name string) (plan.Container, error) {
	g.inspects.Add(1)
	return plan.Container{}, nil
}

// TestLoadLimited: at most n starts run at once, and what only looks or
// waits (an inspect, a proof's probes) runs while every slot is taken.
func TestLoadLimited(t *testing.T) {
	g := &gatedRuntime{gate: make(chan struct{})}
	l := limitLoad(g, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() { l.Start(ctx, "x") })
	}
	for g.starts.Load() < 2 {
		// until two starts hold both slots
	}
	for range 10 {
		if _, err := l.Inspect(ctx, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if g.inspects.Load() != 10 {
		t.Errorf("inspects while the slots were taken: %d, want 10", g.inspects.Load())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Start(cancelled, "y"); err == nil {
		t.Error("a start whose context ended waited for no slot and ran")
	}
	close(g.gate)
	wg.Wait()
	if m := g.maxStarts.Load(); m != 2 {
		t.Errorf("at most %d starts ran at once, want 2", m)
	}
}
