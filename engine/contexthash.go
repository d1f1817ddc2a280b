package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

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
//
// Hashing reads every file, which a daemon that plans every 30 s should
// not do for nothing: when a walk that only stats finds every entry as it
// was (size, times, inode) the hash of the last time is returned.
func ContextHash(src *schema.Source) (string, error) {
	dir, dockerfile, err := buildctx.Resolve(src.ContextDir, src.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
	}
	ignore, err := buildctx.Ignore(dir, dockerfile)
	if err != nil {
		return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
	}
	var head strings.Builder
	fmt.Fprintf(&head, "dockerfile %s\n", src.Dockerfile)
	for _, k := range slices.Sorted(maps.Keys(src.BuildArgs)) {
		fmt.Fprintf(&head, "arg %q=%q\n", k, src.BuildArgs[k])
	}
	entries, stamp, err := contextEntries(dir, ignore)
	if err != nil {
		return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
	}
	key := head.String() + stamp
	if m, ok := contextHashes.Load(dir); ok && m.(hashMemo).key == key {
		return m.(hashMemo).hash, nil
	}
	h := sha256.New()
	io.WriteString(h, head.String())
	for _, e := range entries {
		switch {
		case e.mode.IsDir():
			fmt.Fprintf(h, "dir %q %o\n", e.rel, e.mode.Perm())
		case e.mode&fs.ModeSymlink != 0:
			fmt.Fprintf(h, "link %q %q\n", e.rel, e.target)
		case e.mode.IsRegular():
			fmt.Fprintf(h, "file %q %o %d\n", e.rel, e.mode.Perm(), e.size)
			f, err := os.Open(filepath.Join(dir, e.rel))
			if err != nil {
				return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("hashing build context %s: %w", src.ContextDir, err)
			}
		}
	}
	hash := hex.EncodeToString(h.Sum(nil)[:16])
	contextHashes.Store(dir, hashMemo{key: key, hash: hash})
	return hash, nil
}

// contextHashes remembers the last hash of each context directory, with
// the stat stamp of its files it was taken at.
var contextHashes sync.Map // real context dir -> hashMemo

type hashMemo struct{ key, hash string }

// contextEntry is one entry of a build context the build is sent.
type contextEntry struct {
	rel    string
	mode   fs.FileMode
	size   int64
	target string // a symlink's
}

// contextEntries walks a context (lexical order, so the hash is stable)
// and returns the entries the build is sent, with a stamp of them that
// changes whenever a file's content may have: its size, modification and
// change times, inode and device.
func contextEntries(dir string, ignore *buildctx.Ignorer) ([]contextEntry, string, error) {
	var entries []contextEntry
	var stamp strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
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
		e := contextEntry{rel: rel, mode: info.Mode(), size: info.Size()}
		if e.mode&fs.ModeSymlink != 0 {
			if e.target, err = os.Readlink(path); err != nil {
				return err
			}
		}
		entries = append(entries, e)
		fmt.Fprintf(&stamp, "%q %o %d %q %d", rel, e.mode, e.size, e.target, info.ModTime().UnixNano())
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			fmt.Fprintf(&stamp, " %d.%d %d %d", st.Ctim.Sec, st.Ctim.Nsec, st.Ino, st.Dev)
		}
		stamp.WriteByte('\n')
		return nil
	})
	return entries, stamp.String(), err
}
