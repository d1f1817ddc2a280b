package buildctx

import (
	"fmt"
	"path/filepath"

	"github.com/containers/podman/v5/pkg/util"
	"go.podman.io/storage/pkg/fileutils"
)

// Ignorer tells which files of a build context a build leaves out.
type Ignorer struct {
	pm *fileutils.PatternMatcher
}

// Ignore reads the ignore file of a resolved context and Dockerfile (as
// Resolve returns them) the way podman build does: .containerignore, else
// .dockerignore, else <Dockerfile>.containerignore or .dockerignore, all
// through Podman's own parser and matcher, so that the files hashed are
// the files the build is sent. Like podman build, it never leaves out the
// Dockerfile or the ignore files themselves.
func Ignore(realCtx, realDockerfile string) (*Ignorer, error) {
	rel, err := filepath.Rel(realCtx, realDockerfile)
	if err != nil {
		return nil, err
	}
	rel = filepath.ToSlash(rel)
	patterns, _, err := util.ParseDockerignore([]string{rel}, realCtx)
	if err != nil {
		return nil, fmt.Errorf("reading the ignore file of build context %s: %w", realCtx, err)
	}
	// The exceptions podman's remote build adds (pkg/bindings/images).
	patterns = append(patterns,
		"!Dockerfile", "!Containerfile", "!.dockerignore", "!.containerignore",
		"!"+rel, "!"+rel+".dockerignore", "!"+rel+".containerignore")
	pm, err := fileutils.NewPatternMatcher(patterns)
	if err != nil {
		return nil, fmt.Errorf("the ignore file of build context %s: %w", realCtx, err)
	}
	return &Ignorer{pm: pm}, nil
}

// Ignored reports whether the build leaves out rel, a path relative to
// the context. An ignored directory's files may still be sent (an
// exception can bring them back): ask for each.
func (ig *Ignorer) Ignored(rel string) (bool, error) {
	return ig.pm.IsMatch(filepath.ToSlash(rel))
}
