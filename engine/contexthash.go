package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"archy.dev/archy/internal/buildctx"
	"archy.dev/archy/schema"
)

// ContextHash hashes what a build depends on: every file of the context
// the build is sent (path, mode, content; symlinks by target; not the
// files its .containerignore or .dockerignore leaves out), the Dockerfile
// path and the build args. Equal inputs give equal hashes on any machine, so the
// archy.context-hash label tells whether an image is current. The context
// and the Dockerfile resolve as the build resolves them (buildctx): a
// symlinked context is hashed through the link, and a Dockerfile that
// does not resolve to a file inside the context is an error, so the file
// built is always one of the files hashed.
func ContextHash(src *schema.Source) (string, error) {
	dir, dockerfile, err := buildctx.Resolve(src.ContextDir, src.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
	}
	ignore, err := buildctx.Ignore(dir, dockerfile)
	if err != nil {
		return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "dockerfile %s\n", src.Dockerfile)
	keys := make([]string, 0, len(src.BuildArgs))
	for k := range src.BuildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "arg %q=%q\n", k, src.BuildArgs[k])
	}
	// WalkDir visits in lexical order, so the hash is stable.
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel != "." {
			// Like podman build, it walks into an ignored directory:
			// an exception may bring back files below it.
			if ignored, err := ignore.Ignored(rel); err != nil || ignored {
				return err
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			fmt.Fprintf(h, "dir %q %o\n", rel, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "link %q %q\n", rel, target)
		case info.Mode().IsRegular():
			fmt.Fprintf(h, "file %q %o %d\n", rel, info.Mode().Perm(), info.Size())
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}
