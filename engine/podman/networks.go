package podman

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/containers/podman/v5/pkg/bindings/network"
	nettypes "go.podman.io/common/libnetwork/types"

	"archy.dev/archy/plan"
)

// ensureNetwork creates the app network name unless it exists: a bridge
// with DNS on (aardvark-dns answers its containers' names), labelled as
// archy's own so that only archy's are ever pruned. An existing network
// is used as it is, archy's or not. networkMu orders the creates of this
// process; another process (the CLI beside the daemon) may create the same
// network between the look-up and the create, so a failed create whose
// network exists after all is that race lost, and fine.
func (p *Podman) ensureNetwork(ctx context.Context, name string) error {
	p.networkMu.Lock()
	defer p.networkMu.Unlock()
	ok, err := network.Exists(ctx, name, nil)
	if err != nil {
		return wrap(err, "looking up network %s", name)
	}
	if ok {
		return nil
	}
	store, err := p.imageStore(ctx)
	if err != nil {
		return err
	}
	_, err = network.Create(ctx, &nettypes.Network{
		Name:             name,
		Driver:           "bridge",
		NetworkInterface: bridgeName(store, name),
		DNSEnabled:       true,
		Labels:           map[string]string{plan.LabelNetwork: "true"},
	})
	// Podman 4.3.1 answers a taken name with a 500, newer ones with a
	// 409: look again rather than read the code.
	if err != nil {
		if ok, xerr := network.Exists(ctx, name, nil); xerr == nil && ok {
			return nil
		}
	}
	return wrap(err, "creating network %s", name)
}

// bridgeName is the host interface of archy's network name on the Podman
// whose store is at store: "archy" and 8 hex digits of a hash of both.
// Podman would pick podmanN, the first N that its own networks and the
// host's live interfaces leave free; two Podman services on one host (the
// tests', or a rootful and a rootless one) that create networks before
// either bridge is up both take podman1 and then share, and tear down, one
// bridge. The name also tells archy's bridges apart in `ip link`.
func bridgeName(store, name string) string {
	sum := sha256.Sum256([]byte(store + "\x00" + name))
	return "archy" + hex.EncodeToString(sum[:4])
}

// ArchyNetworks lists the networks archy created (one call).
func (p *Podman) ArchyNetworks(ctx context.Context) ([]string, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	list, err := network.List(ctx, new(network.ListOptions).WithFilters(map[string][]string{
		"label": {plan.LabelNetwork + "=true"},
	}))
	if err != nil {
		return nil, wrap(err, "listing networks")
	}
	var out []string
	for _, n := range list {
		if n.Labels[plan.LabelNetwork] == "true" {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

// RemoveNetwork removes a network archy created. Without force Podman
// refuses one that a container is attached to; so does this, and it
// never removes a network that does not carry archy's label. One already
// gone (removed since the plan was made) is done.
func (p *Podman) RemoveNetwork(ctx context.Context, name string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	n, err := network.Inspect(ctx, name, nil)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "inspecting network %s", name)
	}
	if n.Labels[plan.LabelNetwork] != "true" {
		return fmt.Errorf("network %s was not created by archy: left alone", name)
	}
	reports, err := network.Remove(ctx, name, new(network.RemoveOptions).WithForce(false))
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "removing network %s", name)
	}
	for _, r := range reports {
		if r.Err != nil {
			return fmt.Errorf("removing network %s: %w", name, r.Err)
		}
	}
	return nil
}
