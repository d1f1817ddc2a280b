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

// pickSubnet returns the first two octets and the third octet of a random
// 10.x.y.0/20 that no host interface uses: the service's default network
// takes its first /24 and the networks the service creates (archy's app
// networks) the other fifteen, through default_subnet_pools. Without a pool
// of its own every service would hand out 10.89.0.0/24 first, and two
// services creating a network at once would get the same subnet on two
// bridges (netavark only sees bridges that already exist). The range
// avoids Podman's default pools (10.88/16, 10.89/16) so a test service never
// collides with the host's own Podman.
func pickSubnet() (prefix string, third int, err error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", 0, fmt.Errorf("listing host addresses: %w", err)
	}
	for range 100 {
		x, _ := rand.Int(rand.Reader, big.NewInt(150))
		y, _ := rand.Int(rand.Reader, big.NewInt(16))
		prefix, third = fmt.Sprintf("10.%d", 100+x.Int64()), 16*int(y.Int64())
		_, pool, _ := net.ParseCIDR(fmt.Sprintf("%s.%d.0/20", prefix, third))
		used := false
		for _, a := range addrs {
			if ipnet, ok := a.(*net.IPNet); ok && (pool.Contains(ipnet.IP) || ipnet.Contains(pool.IP)) {
				used = true
				break
			}
		}
		if !used {
			return prefix, third, nil
		}
	}
	return "", 0, fmt.Errorf("no free 10.x.y.0/20 subnet pool found")
}
