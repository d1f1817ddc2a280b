package state

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// A waiter is a live process other than this one named in the marker.
func TestHostWaiter(t *testing.T) {
	dir := t.TempDir()
	if HostWaiter(dir) {
		t.Fatal("a waiter with no marker")
	}
	for _, tt := range []struct {
		content string
		want    bool
	}{
		{"1", true}, // init: alive
		{strconv.Itoa(os.Getpid()), false},
		{"999999999", false}, // no such process
		{"garbage", false},
	} {
		if err := os.WriteFile(filepath.Join(dir, waiterFile), []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := HostWaiter(dir); got != tt.want {
			t.Errorf("marker %q: waiter %t, want %t", tt.content, got, tt.want)
		}
	}
}
