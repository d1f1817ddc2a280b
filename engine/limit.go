package engine

import (
	"context"
	"io"
)

// loadLimited is a Runtime whose calls that load the host (builds,
// pulls, creates, starts) run at most cap(slots) at once. Everything else
// (proofs, dependency waits, stops that wait out a stop timeout) holds
// no slot, so a level of many apps costs the depth of the graph, not the
// number of apps times their grace periods.
type loadLimited struct {
	Runtime
	slots chan struct{}
}

func limitLoad(rt Runtime, n int) loadLimited {
	return loadLimited{Runtime: rt, slots: make(chan struct{}, n)}
}

// take waits for a slot; the returned func gives it back.
func (l loadLimited) take(ctx context.Context) (func(), error) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (l loadLimited) Build(ctx context.Context, spec BuildSpec, progress io.Writer) (string, error) {
	done, err := l.take(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	return l.Runtime.Build(ctx, spec, progress)
}

func (l loadLimited) Pull(ctx context.Context, ref, policy string, progress io.Writer) (string, error) {
	done, err := l.take(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	return l.Runtime.Pull(ctx, ref, policy, progress)
}

func (l loadLimited) Create(ctx context.Context, spec ContainerSpec) (string, error) {
	done, err := l.take(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	return l.Runtime.Create(ctx, spec)
}

func (l loadLimited) Start(ctx context.Context, name string) error {
	done, err := l.take(ctx)
	if err != nil {
		return err
	}
	defer done()
	return l.Runtime.Start(ctx, name)
}
