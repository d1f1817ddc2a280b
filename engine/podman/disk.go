package podman

import (
	"context"
	"errors"

	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/system"

	"archy.dev/archy/internal/diskfree"
)

// ImageSize is the size Podman reports for the local image ref.
func (p *Podman) ImageSize(ctx context.Context, ref string) (int64, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	img, err := images.GetImage(ctx, ref, nil)
	if err != nil {
		return 0, wrap(err, "inspecting image %s", ref)
	}
	return img.Size, nil
}

// ImageID is the id of the local image ref.
func (p *Podman) ImageID(ctx context.Context, ref string) (string, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	img, err := images.GetImage(ctx, ref, nil)
	if err != nil {
		return "", wrap(err, "inspecting image %s", ref)
	}
	return img.ID, nil
}

// ImageStoreFree asks Podman for its graph root and measures the free
// space there itself: Podman reports the file system's size and use, not
// what is left to an unprivileged writer (statfs's f_bavail), which is
// what a pull may fill.
func (p *Podman) ImageStoreFree(ctx context.Context) (string, int64, error) {
	path, err := p.imageStore(ctx)
	if err != nil {
		return "", 0, err
	}
	free, err := diskfree.Bytes(path)
	return path, free, err
}

// imageStore is the service's graph root, asked once.
func (p *Podman) imageStore(ctx context.Context) (string, error) {
	p.graphRootMu.Lock()
	defer p.graphRootMu.Unlock()
	if p.graphRoot != "" {
		return p.graphRoot, nil
	}
	cctx, cancel := p.call(ctx)
	defer cancel()
	info, err := system.Info(cctx, nil)
	if err != nil {
		return "", wrap(err, "asking podman where it stores images")
	}
	if info.Store == nil || info.Store.GraphRoot == "" {
		return "", errors.New("podman did not say where it stores images")
	}
	p.graphRoot = info.Store.GraphRoot
	return p.graphRoot, nil
}
