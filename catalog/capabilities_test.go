package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archy.dev/archy/schema"
)

func TestRootCapability(t *testing.T) {
	tests := []struct {
		cap    string
		policy string
		want   bool
	}{
		{"ALL", schema.NetworkBridge, true},
		{"all", schema.NetworkBridge, true},
		{"CAP_ALL", schema.NetworkBridge, true},
		{"SYS_ADMIN", schema.NetworkBridge, true},
		{"CAP_SYS_ADMIN", schema.NetworkNone, true},
		{"cap_sys_admin", schema.NetworkBridge, true},
		{"Sys_Admin", schema.NetworkHost, true},
		{"SYS_MODULE", schema.NetworkBridge, true},
		{"SYS_PTRACE", schema.NetworkBridge, true},
		{"SYS_RAWIO", schema.NetworkBridge, true},
		{"DAC_READ_SEARCH", schema.NetworkBridge, true},
		{"SYS_BOOT", schema.NetworkBridge, true},
		{"NET_ADMIN", schema.NetworkHost, true},
		{"cap_net_admin", schema.NetworkHost, true},
		{"NET_ADMIN", schema.NetworkBridge, false},
		{"NET_ADMIN", schema.NetworkNone, false},
		{"NET_RAW", schema.NetworkHost, false},
		{"NET_BIND_SERVICE", schema.NetworkHost, false},
		{"CHOWN", schema.NetworkBridge, false},
		{"SYS_ADMINX", schema.NetworkBridge, false},
		{"CAP_", schema.NetworkBridge, false},
	}
	for _, tt := range tests {
		if got := rootCapability(tt.cap, tt.policy); got != tt.want {
			t.Errorf("rootCapability(%q, %q) = %v; want %v", tt.cap, tt.policy, got, tt.want)
		}
	}
}

// TestRootCapabilitiesDocumented: docs/security.md lists every capability
// the check refuses without the opt-in, with its reason.
func TestRootCapabilitiesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rootCapabilities {
		if !strings.Contains(string(doc), "| `"+c+"` |") {
			t.Errorf("docs/security.md has no row for %s", c)
		}
	}
	for _, c := range hostNetworkRootCapabilities {
		if !strings.Contains(string(doc), "| `"+c+"` with `network_policy: \"host\"` |") {
			t.Errorf("docs/security.md has no row for %s on host networking", c)
		}
	}
}
