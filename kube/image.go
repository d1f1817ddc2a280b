package kube

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// RegistryRef moves a built image's tag under registry (a host[:port] with
// an optional path): localhost/ui:local under registry.lan:5000/node is
// registry.lan:5000/node/ui:local. archy push pushes to the same name.
func RegistryRef(tag, registry string) (string, error) {
	named, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", tag, err)
	}
	path := reference.Path(named)
	if reference.Domain(named) == "docker.io" {
		path = reference.FamiliarName(named) // without library/
	}
	ref := strings.TrimSuffix(registry, "/") + "/" + path
	if t, ok := named.(reference.Tagged); ok {
		ref += ":" + t.Tag()
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return "", fmt.Errorf("image registry %q: %s is no image name: %w", registry, ref, err)
	}
	return ref, nil
}
