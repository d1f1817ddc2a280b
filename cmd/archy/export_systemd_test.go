package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestShippedNodeUnit checks that packaging/archy-node.service is what
// archy export systemd makes for the shipped apps: its TimeoutStopSec
// follows their stop timeouts. After a change of apps/, update it with
// archy export systemd --apps apps --out packaging/archy-node.service.
func TestShippedNodeUnit(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"export", "systemd", "--apps", "../../apps"}, &stdout, &stderr); code != 0 {
		t.Fatalf("archy export systemd: exit %d\n%s", code, stderr.String())
	}
	shipped, err := os.ReadFile(filepath.Join("..", "..", "packaging", "archy-node.service"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(shipped), stdout.String()); diff != "" {
		t.Errorf("packaging/archy-node.service is stale (-shipped +made now); run archy export systemd --apps apps --out packaging/archy-node.service:\n%s", diff)
	}
}
