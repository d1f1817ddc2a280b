// Package diskfree measures free space on a file system of this host, for
// the disk guard's two checks (Podman's image store, watched volumes). It
// is a leaf: it knows nothing of archy.
package diskfree

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Bytes is the space unprivileged writers may still use on the file
// system holding path (statfs's f_bavail: the blocks reserved for root do
// not count, since containers must not need them). A missing path's error
// matches fs.ErrNotExist.
func Bytes(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("measuring free space on %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
