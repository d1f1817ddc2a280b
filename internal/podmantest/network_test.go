package podmantest_test

import (
	"net"
	"testing"

	"github.com/containers/podman/v5/pkg/bindings/network"
	nettypes "go.podman.io/common/libnetwork/types"

	"archy.dev/archy/internal/podmantest"
)

// TestSubnetPools: two services running at once each hand a new network a
// subnet from their own pool, so the two never share one (with Podman's
// shared default pool both would get 10.89.0.0/24). Two networks in one
// service differ too, and none overlaps the service's default network.
func TestSubnetPools(t *testing.T) {
	envs := []*podmantest.Env{podmantest.Shared(t), podmantest.Own(t, podmantest.Options{})}
	seen := map[string]string{} // subnet -> service dir
	for _, env := range envs {
		_, pool, err := net.ParseCIDR(env.SubnetPool)
		if err != nil {
			t.Fatalf("service %s: subnet pool %q: %v", env.Dir, env.SubnetPool, err)
		}
		ctx := env.Context(t)
		def, err := network.Inspect(ctx, env.Network, nil)
		if err != nil {
			t.Fatal(err)
		}
		subnets := []string{def.Subnets[0].Subnet.String()}
		for _, name := range []string{"archy-podmantest-pool-a", "archy-podmantest-pool-b"} {
			n, err := network.Create(ctx, &nettypes.Network{Name: name, Driver: "bridge"})
			if err != nil {
				t.Fatalf("creating network %s: %v", name, err)
			}
			t.Cleanup(func() { _, _ = network.Remove(env.Conn, name, nil) })
			if len(n.Subnets) != 1 {
				t.Fatalf("network %s: subnets %v, want one", name, n.Subnets)
			}
			subnets = append(subnets, n.Subnets[0].Subnet.String())
		}
		for _, s := range subnets {
			ip, _, err := net.ParseCIDR(s)
			if err != nil {
				t.Fatal(err)
			}
			if !pool.Contains(ip) {
				t.Errorf("service %s: subnet %s outside its pool %s", env.Dir, s, env.SubnetPool)
			}
			if other, ok := seen[s]; ok {
				t.Errorf("subnet %s handed out twice: by %s and by %s", s, other, env.Dir)
			}
			seen[s] = env.Dir
		}
	}
}
