package volsnap

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/internal/notfound"
	"archy.dev/archy/schema"
)

// snapApp has one named volume to snapshot ("data") and two to leave
// alone: a host path and a read-only mount of a volume another app writes.
func snapApp(hostPath string) *schema.App {
	return &schema.App{ID: "a", ContainerConfig: schema.ContainerConfig{Volumes: []schema.Volume{
		{Name: "data", Target: "/data"},
		{Name: "data", Target: "/again"},
		{HostPath: hostPath, Target: "/host"},
		{Name: "shared", Target: "/shared", Readonly: true},
	}}}
}

// fakeVolumes gives each volume a directory of its own under volumeRoot;
// without one, no volume exists.
type fakeVolumes struct{ volumeRoot string }

func (f *fakeVolumes) VolumeMountpoint(ctx context.Context, name string) (string, error) {
	if f.volumeRoot == "" {
		return "", fmt.Errorf("volume %s: %w", name, notfound.Err)
	}
	dir := filepath.Join(f.volumeRoot, name)
	return dir, os.MkdirAll(dir, 0o755)
}

// snapSetup returns a fake whose volumes live in a temp dir, the app, the
// mountpoint of its "data" volume and a snapshot dir (not created yet).
func snapSetup(t *testing.T) (*fakeVolumes, *schema.App, string, string) {
	t.Helper()
	rt := &fakeVolumes{volumeRoot: t.TempDir()}
	vol, err := rt.VolumeMountpoint(context.Background(), "data")
	if err != nil {
		t.Fatal(err)
	}
	return rt, snapApp(t.TempDir()), vol, filepath.Join(t.TempDir(), "snapshots")
}

var snapTime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

// fillVolume writes files, directories (one empty, one setgid) and
// symlinks (relative, absolute, dangling) with their own modes and mtimes.
func fillVolume(t *testing.T, vol string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(vol, "dir", "empty"), 0o700))
	writeFile(t, filepath.Join(vol, "top"), "top\n", 0o640)
	writeFile(t, filepath.Join(vol, "dir", "run.sh"), "#!/bin/sh\n", 0o755)
	must(t, os.Symlink("dir/run.sh", filepath.Join(vol, "rel")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(vol, "abs")))
	must(t, os.Symlink("nowhere", filepath.Join(vol, "dangling")))
	must(t, os.Chmod(filepath.Join(vol, "dir"), 0o750|fs.ModeSetgid))
	if os.Geteuid() == 0 { // as archy runs: owners other than its own
		must(t, os.Lchown(filepath.Join(vol, "top"), 1000, 1001))
		must(t, os.Lchown(filepath.Join(vol, "rel"), 1002, 1003))
		must(t, os.Lchown(filepath.Join(vol, "dir"), 1004, 1005))
	}
	for i, p := range []string{"top", "dir/run.sh", "dir/empty", "dir", "."} {
		mt := snapTime.Add(time.Duration(i) * time.Hour)
		must(t, os.Chtimes(filepath.Join(vol, p), mt, mt))
	}
}

func writeFile(t *testing.T, name, content string, mode fs.FileMode) {
	t.Helper()
	must(t, os.WriteFile(name, []byte(content), mode))
	must(t, os.Chmod(name, mode)) // past the umask
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tree describes every entry under dir: type and mode, owner, and the
// mtime and content of files and directories or the target of a symlink.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + link
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %s %q", fi.ModTime().UTC().Format(time.RFC3339Nano), b)
		default:
			desc += " " + fi.ModTime().UTC().Format(time.RFC3339Nano)
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, vol string)
	}{
		{"add a file", func(t *testing.T, vol string) {
			writeFile(t, filepath.Join(vol, "dir", "new"), "new\n", 0o644)
		}},
		{"change a file", func(t *testing.T, vol string) {
			writeFile(t, filepath.Join(vol, "top"), "changed\n", 0o640)
		}},
		{"delete a file", func(t *testing.T, vol string) {
			must(t, os.Remove(filepath.Join(vol, "dir", "run.sh")))
		}},
		{"add a dir", func(t *testing.T, vol string) {
			must(t, os.MkdirAll(filepath.Join(vol, "new", "sub"), 0o755))
		}},
		{"delete a dir", func(t *testing.T, vol string) {
			must(t, os.RemoveAll(filepath.Join(vol, "dir")))
		}},
		{"retarget a symlink", func(t *testing.T, vol string) {
			must(t, os.Remove(filepath.Join(vol, "rel")))
			must(t, os.Symlink("top", filepath.Join(vol, "rel")))
		}},
		{"chmod and touch", func(t *testing.T, vol string) {
			must(t, os.Chmod(filepath.Join(vol, "top"), 0o600))
			must(t, os.Chtimes(filepath.Join(vol, "dir", "empty"), time.Now(), time.Now()))
			must(t, os.Chmod(vol, 0o700))
		}},
		{"chown", func(t *testing.T, vol string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root, as archy runs")
			}
			must(t, os.Lchown(filepath.Join(vol, "top"), 0, 0))
			must(t, os.Lchown(filepath.Join(vol, "rel"), 0, 0))
			must(t, os.Lchown(filepath.Join(vol, "dir", "run.sh"), 2000, 2000))
		}},
		{"replace a dir with a symlink out", func(t *testing.T, vol string) {
			must(t, os.RemoveAll(filepath.Join(vol, "dir")))
			must(t, os.Symlink(t.TempDir(), filepath.Join(vol, "dir")))
		}},
		{"empty the volume", func(t *testing.T, vol string) {
			entries, _ := os.ReadDir(vol)
			for _, e := range entries {
				must(t, os.RemoveAll(filepath.Join(vol, e.Name())))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, app, vol, snaps := snapSetup(t)
			fillVolume(t, vol)
			want := tree(t, vol)
			must(t, Snapshot(ctx, rt, app, snaps))
			tc.change(t, vol)
			if cmp.Equal(want, tree(t, vol)) {
				t.Fatal("the change left the volume as it was")
			}
			must(t, Restore(ctx, rt, app, snaps))
			if diff := cmp.Diff(want, tree(t, vol)); diff != "" {
				t.Errorf("volume after restore (-snapshotted +restored):\n%s", diff)
			}
		})
	}
}

// Host paths and read-only mounts are neither snapshotted nor restored,
// and the snapshots are private.
func TestSnapshotVolumesOnlyWritableNamed(t *testing.T) {
	ctx := context.Background()
	rt, app, vol, snaps := snapSetup(t)
	host := app.Volumes[2].HostPath
	shared, err := rt.VolumeMountpoint(ctx, "shared")
	must(t, err)
	writeFile(t, filepath.Join(vol, "f"), "f", 0o644)
	must(t, Snapshot(ctx, rt, app, snaps))

	writeFile(t, filepath.Join(host, "later"), "host", 0o644)
	writeFile(t, filepath.Join(shared, "later"), "shared", 0o644)
	must(t, Restore(ctx, rt, app, snaps))
	for _, p := range []string{filepath.Join(host, "later"), filepath.Join(shared, "later")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("restore touched what it must not: %v", err)
		}
	}

	want := map[string]string{".": "drwx------", "data.tar": "-rw-------"}
	got := map[string]string{}
	must(t, filepath.WalkDir(snaps, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		rel, _ := filepath.Rel(snaps, p)
		got[rel] = fi.Mode().String()
		return err
	}))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot dir (-want +got):\n%s", diff)
	}
}

// A volume that did not exist at the snapshot is emptied by the restore,
// and left absent if it still does not exist.
func TestRestoreAbsentVolume(t *testing.T) {
	ctx := context.Background()
	rt, app, _, snaps := snapSetup(t)
	root := rt.volumeRoot
	rt.volumeRoot = "" // the fake's volumes do not exist
	must(t, Snapshot(ctx, rt, app, snaps))
	must(t, Restore(ctx, rt, app, snaps))

	rt.volumeRoot = root
	vol, err := rt.VolumeMountpoint(ctx, "data")
	must(t, err)
	writeFile(t, filepath.Join(vol, "written-by-the-new-version"), "x", 0o644)
	must(t, Restore(ctx, rt, app, snaps))
	if entries, _ := os.ReadDir(vol); len(entries) != 0 {
		t.Errorf("volume holds %v after restoring its absence, want nothing", entries)
	}
}

func TestRestoreWithoutSnapshot(t *testing.T) {
	rt, app, _, snaps := snapSetup(t)
	err := Restore(context.Background(), rt, app, snaps)
	if err == nil || !strings.Contains(err.Error(), "restoring volume data: ") {
		t.Fatalf("Restore without a snapshot: %v, want an error naming the volume", err)
	}
}

// A socket is skipped (its process is gone); a named pipe is refused.
func TestSnapshotSpecialFiles(t *testing.T) {
	ctx := context.Background()
	rt, app, vol, snaps := snapSetup(t)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(vol, "sock"), Net: "unix"})
	must(t, err)
	l.SetUnlinkOnClose(false)
	l.Close()
	must(t, Snapshot(ctx, rt, app, snaps))
	must(t, Restore(ctx, rt, app, snaps))
	if _, err := os.Lstat(filepath.Join(vol, "sock")); !os.IsNotExist(err) {
		t.Errorf("socket after restore: %v, want it gone", err)
	}

	must(t, syscall.Mkfifo(filepath.Join(vol, "fifo"), 0o600))
	err = Snapshot(ctx, rt, app, snaps)
	if err == nil || !strings.Contains(err.Error(), "snapshotting volume data: fifo is a named pipe") {
		t.Errorf("snapshot of a named pipe: %v, want it refused", err)
	}
}

type tarEntry struct {
	name, link string
	typ        byte
	body       string
}

func TestRestoreRejectsBadArchives(t *testing.T) {
	root := tarEntry{name: "./", typ: tar.TypeDir}
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		keep    int // bytes of the archive kept; 0 keeps it all
		want    string
	}{
		{"dotdot", []tarEntry{root, {name: "../evil", typ: tar.TypeReg}}, 0, "relative, without .."},
		{"dotdot inside", []tarEntry{root, {name: "a/../../evil", typ: tar.TypeReg}}, 0, "relative, without .."},
		{"absolute", []tarEntry{root, {name: "/tmp/evil", typ: tar.TypeReg}}, 0, "relative, without .."},
		{"through a symlink", []tarEntry{root, {name: "out", typ: tar.TypeSymlink, link: "OUTSIDE"},
			{name: "out/evil", typ: tar.TypeReg}}, 0, "parent is not a directory"},
		{"under a file", []tarEntry{root, {name: "f", typ: tar.TypeReg}, {name: "f/evil", typ: tar.TypeReg}}, 0, "parent is not a directory"},
		{"twice", []tarEntry{root, {name: "f", typ: tar.TypeReg}, {name: "./f", typ: tar.TypeSymlink, link: "OUTSIDE"}}, 0, "appears twice"},
		{"no root", []tarEntry{{name: "evil", typ: tar.TypeReg}}, 0, "must begin with its root"},
		{"root not a dir", []tarEntry{{name: ".", typ: tar.TypeSymlink, link: "OUTSIDE"}}, 0, "must begin with its root"},
		{"hard link", []tarEntry{root, {name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, 0, "not a file, directory or symlink"},
		{"device", []tarEntry{root, {name: "d", typ: tar.TypeChar}}, 0, "not a file, directory or symlink"},
		{"truncated", []tarEntry{root, {name: "f", typ: tar.TypeReg, body: strings.Repeat("x", 2000)}}, 2*512 + 100, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, app, vol, snaps := snapSetup(t)
			outside := t.TempDir()
			writeFile(t, filepath.Join(vol, "keep"), "keep", 0o644)
			want := tree(t, vol)

			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range tc.entries {
				link := strings.ReplaceAll(e.link, "OUTSIDE", outside)
				must(t, tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: e.typ, Linkname: link, Mode: 0o644, Size: int64(len(e.body))}))
				_, err := tw.Write([]byte(e.body))
				must(t, err)
			}
			must(t, tw.Close())
			b := buf.Bytes()
			if tc.keep > 0 {
				b = b[:tc.keep]
			}
			must(t, os.MkdirAll(snaps, 0o700))
			must(t, os.WriteFile(filepath.Join(snaps, "data.tar"), b, 0o600))

			err := Restore(context.Background(), rt, app, snaps)
			if err == nil || !strings.Contains(err.Error(), "restoring volume data: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want an error about volume data with %q", err, tc.want)
			}
			if diff := cmp.Diff(want, tree(t, vol)); diff != "" {
				t.Errorf("a refused archive changed the volume (-before +after):\n%s", diff)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("restore wrote outside the volume: %v", entries)
			}
		})
	}
}
