package podmantest

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"os"
	"regexp"
	"strings"
)

// conf holds the configuration templates shared with scripts/podman-env.sh.
// Their @NAME@ placeholders are filled per service.
//
//go:embed conf
var conf embed.FS

var placeholder = regexp.MustCompile(`@[A-Z_]+@`)

// writeConf renders conf/name into dst.
func writeConf(dst, name string, vars map[string]string) error {
	b, err := conf.ReadFile("conf/" + name)
	if err != nil {
		return fmt.Errorf("reading embedded %s: %w", name, err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "@"+k+"@", v)
	}
	// A leftover placeholder means the Go and shell sides drifted apart.
	if p := placeholder.FindString(s); p != "" {
		return fmt.Errorf("rendering %s: no value for %s", name, p)
	}
	if err := os.WriteFile(dst, []byte(s), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// pickSubnet returns the first three octets of a random 10.x.y.0/24 that no
// host interface uses. The range avoids Podman's default pools (10.88/16,
// 10.89/16) so a test service never collides with the host's own Podman.
func pickSubnet() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("listing host addresses: %w", err)
	}
	for range 100 {
		x, _ := rand.Int(rand.Reader, big.NewInt(150))
		y, _ := rand.Int(rand.Reader, big.NewInt(256))
		prefix := fmt.Sprintf("10.%d.%d", 100+x.Int64(), y.Int64())
		_, subnet, _ := net.ParseCIDR(prefix + ".0/24")
		used := false
		for _, a := range addrs {
			if ipnet, ok := a.(*net.IPNet); ok && (subnet.Contains(ipnet.IP) || ipnet.Contains(subnet.IP)) {
				used = true
				break
			}
		}
		if !used {
			return prefix, nil
		}
	}
	return "", fmt.Errorf("no free 10.x.y.0/24 subnet found")
}
