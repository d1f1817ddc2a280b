package secrets

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The simulated node's bitcoin-core checks rpcauth lines with an HMAC
// written in busybox sh (testdata/node/docker/bitcoin-core/hmac.sh): it
// must agree with the line archy generates.
func TestSimulatedNodeHMACMatchesRPCAuthLine(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("ARCHY_INTEGRATION") == "1" {
			t.Fatalf("busybox is needed (scripts/deps.sh installs busybox-static): %v", err)
		}
		t.Skip("no busybox")
	}
	for _, pw := range []string{"pass=word-_x", "K1x9_-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789=", "%s%d 'quoted' \\n"} {
		salt := "0123456789abcdef0123456789abcdef"
		line := RPCAuthLine("archy", salt, pw)
		out, err := exec.Command(bb, "sh", "-c", `. ../../testdata/node/docker/bitcoin-core/hmac.sh; hmac_sha256 "$1" "$2"`, "sh", salt, pw).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got, want := strings.TrimSpace(string(out)), line[strings.Index(line, "$")+1:]; got != want {
			t.Errorf("password %q: shell HMAC %s, want %s", pw, got, want)
		}
	}
}
