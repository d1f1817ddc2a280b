// Package buildctx resolves a build's context directory and Dockerfile,
// symlinks included. It is the one place that decides which file a build
// reads: archy vet checks the file it returns, the context hash covers it
// and the Podman adapter builds with it, so that what was vetted is what
// is hashed and built. It reads the file system; it changes nothing.
package buildctx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultDockerfile is the Dockerfile a build reads when none is named.
const DefaultDockerfile = "Dockerfile"

// The ways a Dockerfile can fail to resolve inside its context. Test
// with errors.Is; the error's text names the file.
var (
	ErrAbsolute   = errors.New("is an absolute path; it must be relative to the build context")
	ErrEscapes    = errors.New("escapes the build context")
	ErrSymlinkOut = errors.New("is a symlink out of the build context")
	ErrNotFound   = errors.New("not found in the build context")
	ErrNotRegular = errors.New("is not a regular file")
)

// Context resolves the symlinks of a build context directory, to an
// absolute path.
func Context(dir string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", fmt.Errorf("build context %s: %w", dir, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("build context %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("build context %s is a file, not a directory", dir)
	}
	return real, nil
}

// Dockerfile resolves dockerfile (empty means DefaultDockerfile) inside
// the resolved context realCtx (as Context returns it) and returns the
// real path of the regular file a build reads. dockerfile must be
// relative, and neither it nor any symlink on its way may lead out of
// realCtx.
func Dockerfile(realCtx, dockerfile string) (string, error) {
	if dockerfile == "" {
		dockerfile = DefaultDockerfile
	}
	fail := func(err error) (string, error) {
		return "", &Error{Dockerfile: dockerfile, Err: err}
	}
	if filepath.IsAbs(dockerfile) {
		return fail(ErrAbsolute)
	}
	joined := filepath.Join(realCtx, dockerfile)
	if !Under(joined, realCtx) {
		return fail(ErrEscapes)
	}
	real, err := filepath.EvalSymlinks(joined)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(ErrNotFound)
	case err != nil:
		return fail(err)
	case !Under(real, realCtx):
		return fail(ErrSymlinkOut)
	}
	fi, err := os.Stat(real)
	switch {
	case err != nil:
		return fail(err)
	case !fi.Mode().IsRegular():
		return fail(ErrNotRegular)
	}
	return real, nil
}

// Resolve resolves a build context directory and its Dockerfile: the
// directory to send to the builder and the file inside it to build.
func Resolve(dir, dockerfile string) (realCtx, realDockerfile string, err error) {
	realCtx, err = Context(dir)
	if err != nil {
		return "", "", err
	}
	realDockerfile, err = Dockerfile(realCtx, dockerfile)
	if err != nil {
		return "", "", err
	}
	return realCtx, realDockerfile, nil
}

// Error is a Dockerfile that does not resolve inside its context.
type Error struct {
	Dockerfile string // as written
	Err        error  // one of the Err values above, or the file system's
}

func (e *Error) Error() string { return "dockerfile " + e.Dockerfile + " " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Under reports whether path is root or inside it, by their clean names.
func Under(path, root string) bool {
	rel, err := filepath.Rel(filepath.Clean(root), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
