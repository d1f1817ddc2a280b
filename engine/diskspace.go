package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/schema"
)

// ImageMargin is the free space a pull or build must leave in Podman's
// image store beyond the image's own size: room for the layers' unpacking,
// the containers' writable layers and the logs that share the file system.
// An image archy has not pulled yet has no known size, so this margin is
// all a first pull is checked against.
const ImageMargin int64 = 1 << 30

// SpaceError is a pull or build refused because the file system where
// Podman stores images has too little room.
type SpaceError struct {
	Verb  string // "pulling", "building"
	Ref   string
	Path  string // Podman's graph root
	Free  int64
	Image int64 // the size of the image it replaces (0: unknown)
}

func (e *SpaceError) Error() string {
	need := fmt.Sprintf("below the %s archy keeps free for an image of unknown size", schema.FormatSize(ImageMargin))
	if e.Image > 0 {
		need = fmt.Sprintf("the image needs about %s plus a %s margin", schema.FormatSize(e.Image), schema.FormatSize(ImageMargin))
	}
	return fmt.Sprintf("not %s %s: %s free on %s, %s; free some space (podman image prune removes images nothing uses) and retry",
		e.Verb, e.Ref, schema.FormatSize(e.Free), e.Path, need)
}

// ImageSpace is what the image store's check asks of the runtime.
type ImageSpace interface {
	ImageSize(ctx context.Context, ref string) (int64, error)
	ImageStoreFree(ctx context.Context) (path string, free int64, err error)
}

func (a *Applier) checkImageSpace(ctx context.Context, verb, ref string) error {
	return CheckImageSpace(ctx, a.Runtime, verb, ref)
}

// CheckImageSpace refuses a pull or build of ref (verb: "pulling",
// "building") that would fill the file system where Podman stores images.
// The local image of that reference (the one an upgrade or re-pull
// replaces, the previous build) is the estimate of what the new one
// needs. A Podman on another host (its graph root is not here) is not
// checked.
func CheckImageSpace(ctx context.Context, rt ImageSpace, verb, ref string) error {
	path, free, err := rt.ImageStoreFree(ctx)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("checking free space before %s %s: %w", verb, ref, err)
	}
	size, err := rt.ImageSize(ctx, ref)
	switch {
	case errors.Is(err, ErrNotFound):
		size = 0
	case err != nil:
		return fmt.Errorf("checking free space before %s %s: %w", verb, ref, err)
	}
	if free >= size+ImageMargin {
		return nil
	}
	return &SpaceError{Verb: verb, Ref: ref, Path: path, Free: free, Image: size}
}

// HoldForDisk stops an app for low disk space (the daemon decides when)
// and records why, so that applies, the daemon after a restart and a heal
// keep it stopped until ReleaseDiskHold. The stop is archy stop's.
func (n *Node) HoldForDisk(ctx context.Context, cat *catalog.Catalog, id, why string, a *Applier) error {
	app, err := cat.App(id)
	if err != nil {
		return err
	}
	if err := n.State.Update(func(st *state.State) {
		it := st.Apps[id]
		it.DiskLow = why
		st.Apps[id] = it
	}); err != nil {
		return err
	}
	a.stopping(id)
	return n.stopApp(ctx, app, a)
}

// ReleaseDiskHold clears an app's hold for low disk space and brings it to
// its declared state (running, unless the operator stopped it meanwhile).
func (n *Node) ReleaseDiskHold(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) (Report, error) {
	if _, err := cat.App(id); err != nil {
		return Report{}, err
	}
	if err := n.State.Update(func(st *state.State) {
		it := st.Apps[id]
		it.DiskLow = ""
		st.Apps[id] = it
	}); err != nil {
		return Report{}, err
	}
	pl, err := n.Plan(ctx, cat, PlanOptions{Only: []string{id}})
	if err != nil {
		return Report{}, err
	}
	return n.Apply(ctx, pl, a)
}
