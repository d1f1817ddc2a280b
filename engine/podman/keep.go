package podman

import (
	"context"
	"strings"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/volumes"
)

// Tag gives an image (by id or reference) another reference, repo:tag.
func (p *Podman) Tag(ctx context.Context, image, ref string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	repo, tag := splitRef(ref)
	return wrap(images.Tag(ctx, image, tag, repo, nil), "tagging %s as %s", image, ref)
}

// Untag removes one reference of an image; the image stays while other
// references or containers use it.
func (p *Podman) Untag(ctx context.Context, ref string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	repo, tag := splitRef(ref)
	return wrap(images.Untag(ctx, ref, tag, repo, nil), "untagging %s", ref)
}

// RemoveImage removes image id: each of its references, then the image.
// Never forced: Podman refuses an image a container uses (force would
// remove the container too); the image then stays, without its
// references (archy removes only images no declared app names).
func (p *Podman) RemoveImage(ctx context.Context, id string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	img, err := images.GetImage(ctx, id, nil)
	if err != nil {
		return wrap(err, "inspecting image %s", id)
	}
	for _, ref := range img.RepoTags {
		repo, tag := splitRef(ref)
		if err := images.Untag(ctx, id, tag, repo, nil); err != nil {
			return wrap(err, "untagging %s", ref)
		}
	}
	if _, errs := images.Remove(ctx, []string{id}, nil); len(errs) > 0 {
		return wrap(errs[0], "removing image %s", id)
	}
	return nil
}

// VolumeMountpoint is where a named volume's data lives on the host.
func (p *Podman) VolumeMountpoint(ctx context.Context, name string) (string, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	v, err := volumes.Inspect(ctx, name, nil)
	if err != nil {
		return "", wrap(err, "inspecting volume %s", name)
	}
	return v.Mountpoint, nil
}

// splitRef splits repo:tag (a port in the registry host is not a tag).
func splitRef(ref string) (repo, tag string) {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// Rename gives a container another name.
func (p *Podman) Rename(ctx context.Context, name, newName string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	return wrap(containers.Rename(ctx, name, new(containers.RenameOptions).WithName(newName)), "renaming container %s to %s", name, newName)
}
