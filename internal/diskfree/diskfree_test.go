package diskfree

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

func TestBytes(t *testing.T) {
	if free, err := Bytes(t.TempDir()); err != nil || free <= 0 {
		t.Errorf("Bytes(temp dir) = %d, %v; want its free space", free, err)
	}
	if _, err := Bytes(filepath.Join(t.TempDir(), "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Bytes(missing) error = %v, want fs.ErrNotExist", err)
	}
}
