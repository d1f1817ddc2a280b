package podman

import (
	"context"
	"io"

	"github.com/containers/podman/v5/pkg/bindings/images"
)

// Push copies the local image source (a tag or id) to dest, a full
// reference in a registry, without tagging it locally. As with pulls,
// registry trust and credentials are the service's registries.conf and
// auth file. Progress lines go to progress.
func (p *Podman) Push(ctx context.Context, source, dest string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	ctx, cancel := p.call(ctx)
	defer cancel()
	opts := new(images.PushOptions).WithQuiet(false).WithProgressWriter(progress)
	return wrap(images.Push(ctx, source, dest, opts), "pushing %s to %s", source, dest)
}
