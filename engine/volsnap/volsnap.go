package volsnap

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"archy.dev/archy/internal/atomicfile"
	"archy.dev/archy/internal/notfound"
	"archy.dev/archy/schema"
)

// Volume snapshots (upgrade.snapshot_volumes) are tar archives of named
// volumes' mountpoints, read and written directly on the host while the
// app's container is stopped. An archive holds directories, regular files
// and symlinks with their modes, owners and mtimes; hard links come back
// as separate copies, and extended attributes are not kept.

// Volumes is what snapshots need of the container runtime (engine.Runtime
// has it).
type Volumes interface {
	// VolumeMountpoint is where a named volume's data lives on the host;
	// for a volume that does not exist the error wraps notfound.Err
	// (engine.ErrNotFound).
	VolumeMountpoint(ctx context.Context, name string) (string, error)
}

// Snapshot saves each named volume of app into dir, one archive per
// volume (<dir>/<volume>.tar, mode 0600, written atomically). A volume
// that does not exist yet is recorded as an empty archive, so that a
// restore empties it. Host paths are not archy's to rewind, and read-only
// mounts are left out: the app cannot change them, and whoever can may
// have written to them since.
func Snapshot(ctx context.Context, rt Volumes, app *schema.App, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, name := range snapshotted(app) {
		mp, err := rt.VolumeMountpoint(ctx, name)
		if errors.Is(err, notfound.Err) {
			mp = ""
		} else if err != nil {
			return fmt.Errorf("snapshotting volume %s: %w", name, err)
		}
		err = atomicfile.WriteFunc(snapshotPath(dir, name), func(w io.Writer) error { return archive(ctx, w, mp) })
		if err != nil {
			return fmt.Errorf("snapshotting volume %s: %w", name, err)
		}
	}
	return syncDir(dir)
}

// Restore replaces each named volume's content with its snapshot
// from dir: files written since are gone, deleted ones are back. The
// whole archive is checked before the volume is touched, so a damaged
// snapshot leaves the volume as it is; once a volume is being written ctx
// no longer stops it, as a half-restored volume is worse than a late one.
func Restore(ctx context.Context, rt Volumes, app *schema.App, dir string) error {
	for _, name := range snapshotted(app) {
		if err := restoreVolume(ctx, rt, name, snapshotPath(dir, name)); err != nil {
			return fmt.Errorf("restoring volume %s: %w", name, err)
		}
	}
	return nil
}

// snapshotted lists the app's writable named volumes, each once.
func snapshotted(app *schema.App) []string {
	var names []string
	for _, v := range app.Volumes {
		if v.Name != "" && !v.Readonly && !slices.Contains(names, v.Name) {
			names = append(names, v.Name)
		}
	}
	return names
}

// snapshotPath is safe as a file name: the schema restricts volume names
// to [a-zA-Z0-9][a-zA-Z0-9_.-]*.
func snapshotPath(dir, volume string) string { return filepath.Join(dir, volume+".tar") }

// archive writes the tree at root as a tar stream, "./" first; no root (a
// volume that does not exist) gives an archive without entries.
func archive(ctx context.Context, w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	if root != "" {
		fsys := os.DirFS(root)
		err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				return err
			}
			return addEntry(tw, fsys, name, d)
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// addEntry archives one entry of fsys; symlinks are stored, not followed.
func addEntry(tw *tar.Writer, fsys fs.FS, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	switch t := fi.Mode().Type(); t {
	case 0, fs.ModeDir:
	case fs.ModeSymlink:
		if link, err = fs.ReadLink(fsys, name); err != nil {
			return err
		}
	case fs.ModeSocket:
		return nil // it belonged to a process, gone with the container
	default:
		return fmt.Errorf("%s is a %s, not a file, directory or symlink; a snapshot cannot hold it", name, fileKind(t))
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	hdr.Name, hdr.Format = name, tar.FormatPAX // PAX keeps mtimes to the nanosecond
	hdr.Uname, hdr.Gname = "", ""              // the ids are what is restored
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func fileKind(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

func restoreVolume(ctx context.Context, rt Volumes, name, file string) error {
	entries, err := readSnapshot(file, nil)
	if err != nil {
		return err
	}
	mp, err := rt.VolumeMountpoint(ctx, name)
	if errors.Is(err, notfound.Err) && entries == 0 {
		return nil // absent when snapshotted, and still
	}
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(mp)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := clearDir(root); err != nil {
		return err
	}
	_, err = readSnapshot(file, root)
	return err
}

// clearDir removes everything in root but root itself (a mountpoint).
func clearDir(root *os.Root) error {
	d, err := root.Open(".")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("listing %s: %w", root.Name(), err)
	}
	for _, n := range names {
		if err := root.RemoveAll(n); err != nil {
			return err
		}
	}
	return nil
}

// readSnapshot checks every entry of the archive at file and, given a
// root, extracts them into it. It returns the number of entries.
func readSnapshot(file string, root *os.Root) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	tr := tar.NewReader(bufio.NewReader(f))
	x := extractor{root: root, isDir: map[string]bool{}}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return n, x.finish()
		}
		if err != nil {
			return n, fmt.Errorf("reading %s: %w", file, err)
		}
		if err := x.add(hdr, tr); err != nil {
			return n, fmt.Errorf("%s: entry %q: %w", file, hdr.Name, err)
		}
	}
}

// extractor writes entries under root (or, without one, only checks them).
// An entry's parent must be a directory made earlier from the archive, so
// nothing is ever written through a symlink.
type extractor struct {
	root  *os.Root
	isDir map[string]bool // entries so far
	dirs  []*tar.Header   // their metadata is set last, once they are filled
}

func (x *extractor) add(hdr *tar.Header, r io.Reader) error {
	name, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	if _, dup := x.isDir[name]; dup {
		return errors.New("appears twice")
	}
	if (name == ".") != (len(x.isDir) == 0) || name == "." && hdr.Typeflag != tar.TypeDir {
		return errors.New("the archive must begin with its root directory, ./")
	}
	if name != "." && !x.isDir[path.Dir(name)] {
		return errors.New("its parent is not a directory of the archive")
	}
	x.isDir[name] = hdr.Typeflag == tar.TypeDir
	switch hdr.Typeflag {
	case tar.TypeDir:
		x.dirs = append(x.dirs, hdr)
		if x.root == nil || name == "." {
			return nil
		}
		return x.root.Mkdir(name, 0o700)
	case tar.TypeReg:
		if x.root == nil {
			_, err := io.Copy(io.Discard, r) // reads to the end: a truncated archive fails here
			return err
		}
		return x.writeFile(name, hdr, r)
	case tar.TypeSymlink:
		if x.root == nil {
			return nil
		}
		if err := x.root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
		return x.root.Lchown(name, hdr.Uid, hdr.Gid)
	}
	return fmt.Errorf("type %q is not a file, directory or symlink", hdr.Typeflag)
}

// entryName cleans an archive name, refusing one that could leave the volume.
func entryName(s string) (string, error) {
	if s == "" || path.IsAbs(s) || slices.Contains(strings.Split(s, "/"), "..") {
		return "", errors.New("the name must be relative, without ..")
	}
	return path.Clean(s), nil
}

func (x *extractor) writeFile(name string, hdr *tar.Header, r io.Reader) error {
	// O_EXCL: an entry is new in the cleared volume, never a link to follow.
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chown(hdr.Uid, hdr.Gid) // before Chmod, which it would undo for setuid bits
	}
	if err == nil {
		err = f.Chmod(mode(hdr))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return x.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
}

// finish gives the directories their owners, modes and mtimes, now that
// nothing more is written into them.
func (x *extractor) finish() error {
	if x.root == nil {
		return nil
	}
	for _, hdr := range x.dirs {
		name := path.Clean(hdr.Name)
		if err := x.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
		if err := x.root.Chmod(name, mode(hdr)); err != nil {
			return err
		}
		if err := x.root.Chtimes(name, hdr.ModTime, hdr.ModTime); err != nil {
			return err
		}
	}
	return nil
}

// mode is the entry's permission bits, with setuid, setgid and sticky.
func mode(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
