package podman

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/containers/podman/v5/pkg/bindings/network"
	nettypes "go.podman.io/common/libnetwork/types"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// TestSpecNetworks: with app networks a bridge container joins those only,
// with its container name as DNS alias; host and none refuse them.
func TestSpecNetworks(t *testing.T) {
	cs := engine.ContainerSpec{Name: "web", Image: "x", ContainerConfig: schema.ContainerConfig{
		Networks: []string{"front", "back"}, Ports: []schema.Port{{Host: 8080, Container: 80}}}}
	s, err := specFor(cs)
	if err != nil {
		t.Fatal(err)
	}
	if s.NetNS.NSMode != "bridge" {
		t.Errorf("netns %q, want bridge", s.NetNS.NSMode)
	}
	if len(s.Networks) != 2 {
		t.Fatalf("networks %v, want front and back only", s.Networks)
	}
	for _, n := range cs.Networks {
		if a := s.Networks[n].Aliases; len(a) != 1 || a[0] != "web" {
			t.Errorf("network %s: aliases %v, want [web]", n, a)
		}
	}
	if len(s.PortMappings) != 1 {
		t.Errorf("port mappings %v, want the published port", s.PortMappings)
	}
	plain, err := specFor(engine.ContainerSpec{Name: "plain", Image: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Networks != nil {
		t.Errorf("an app without networks joins %v, want the default network", plain.Networks)
	}
	for _, policy := range []string{schema.NetworkHost, schema.NetworkNone} {
		cs.Ports = nil
		cs.Security.NetworkPolicy = policy
		if _, err := specFor(cs); err == nil || !strings.Contains(err.Error(), "network_policy bridge") {
			t.Errorf("network_policy %s with networks: %v, want an error", policy, err)
		}
	}
}

// TestNetworkCreateRace: two adapters (the CLI and the daemon, say) create
// containers on one missing network at once: both succeed, and the network
// is archy's, with DNS on; the two reach each other by container name.
// RemoveNetwork then refuses it while in use, refuses a network made by
// hand, removes it once empty, and takes a vanished one as done.
func TestNetworkCreateRace(t *testing.T) {
	env, p := connect(t)
	_, q := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	const net = "archy-test-race"
	t.Cleanup(func() { _, _ = network.Remove(env.Conn, net, new(network.RemoveOptions).WithForce(true)) })

	names := []string{"archy-race-a", "archy-race-b"}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []*Podman{p, q} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Create(ctx, engine.ContainerSpec{Name: names[i], Image: webTag,
				ContainerConfig: schema.ContainerConfig{Networks: []string{net}}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("creating %s: %v", names[i], err)
		}
		t.Cleanup(func() { kill(t, p, names[i]) })
		if err := p.Start(ctx, names[i]); err != nil {
			t.Fatal(err)
		}
	}
	n, err := network.Inspect(ctx, net, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[plan.LabelNetwork] != "true" || !n.DNSEnabled || n.Driver != "bridge" {
		t.Errorf("network %s: labels %v, dns %t, driver %s; want archy's bridge with DNS", net, n.Labels, n.DNSEnabled, n.Driver)
	}
	// No -T: this static busybox's wget crashes (SIGSEGV) with a timeout.
	if got := sh(ctx, t, p, names[0], "wget -q -O- http://"+names[1]+":8080/"); !strings.Contains(got, marker) {
		t.Errorf("%s fetching http://%s:8080/: %q, want the page", names[0], names[1], got)
	}
	if own, err := p.ArchyNetworks(ctx); err != nil || len(own) != 1 || own[0] != net {
		t.Errorf("ArchyNetworks = %v, %v; want [%s]", own, err, net)
	}

	if err := p.RemoveNetwork(ctx, net); err == nil {
		t.Errorf("removing %s while two containers are attached succeeded", net)
	}
	const hand = "archy-test-by-hand"
	if _, err := network.Create(ctx, &nettypes.Network{Name: hand}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = network.Remove(env.Conn, hand, nil) })
	if err := p.RemoveNetwork(ctx, hand); err == nil || !strings.Contains(err.Error(), "not created by archy") {
		t.Errorf("removing a network made by hand: %v, want a refusal", err)
	}
	for _, name := range names {
		kill(t, p, name)
	}
	if err := p.RemoveNetwork(ctx, net); err != nil {
		t.Fatalf("removing the emptied %s: %v", net, err)
	}
	if ok, err := network.Exists(ctx, net, nil); err != nil || ok {
		t.Errorf("after RemoveNetwork %s exists=%t, %v", net, ok, err)
	}
	if err := p.RemoveNetwork(context.WithoutCancel(ctx), net); err != nil && !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("removing a vanished network: %v, want nil", err)
	}
}

func TestBridgeName(t *testing.T) {
	a := bridgeName("/var/lib/containers/storage", "bitcoin")
	if len(a) > 15 || !strings.HasPrefix(a, "archy") {
		t.Errorf("bridge name %q: want archy… of at most 15 bytes (IFNAMSIZ)", a)
	}
	if a != bridgeName("/var/lib/containers/storage", "bitcoin") {
		t.Error("bridge name is not stable")
	}
	for _, other := range []string{bridgeName("/tmp/test/root", "bitcoin"), bridgeName("/var/lib/containers/storage", "lightning")} {
		if other == a {
			t.Errorf("two networks share bridge %s", a)
		}
	}
}
