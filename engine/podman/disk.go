package podman

import (
	"context"
	"errors"
	"fmt"

	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/system"
	"golang.org/x/sys/unix"
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

// ImageStoreFree asks Podman for its graph root and measures the free
// space there itself: Podman reports the file system's size and use, not
// what is left to an unprivileged writer (statfs's f_bavail), which is
// what a pull may fill.
func (p *Podman) ImageStoreFree(ctx context.Context) (string, int64, error) {
	cctx, cancel := p.call(ctx)
	defer cancel()
	info, err := system.Info(cctx, nil)
	if err != nil {
		return "", 0, wrap(err, "asking podman where it stores images")
	}
	if info.Store == nil || info.Store.GraphRoot == "" {
		return "", 0, errors.New("podman did not say where it stores images")
	}
	path := info.Store.GraphRoot
	free, err := freeBytes(path)
	return path, free, err
}

// freeBytes is the space unprivileged writers may still use on the file
// system holding path.
func freeBytes(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("measuring free space on %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
