package engine

import (
	"context"

	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// The internals the external tests (package engine_test, which imports
// engine/enginetest and so cannot be package engine) look at.

var (
	KeepRef       = keepRef
	ImagesToPrune = imagesToPrune
)

func (a *Applier) CreateContainer(ctx context.Context, app *schema.App, image string, keep []schema.Volume) (plan.Container, error) {
	return a.createContainer(ctx, app, image, keep)
}

var (
	WayBack    = wayBack
	KeptBefore = keptBefore
)
