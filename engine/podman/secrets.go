package podman

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/secrets"
)

// SecretNames lists the names of the Podman secrets that exist (never
// their values).
func (p *Podman) SecretNames(ctx context.Context) (map[string]bool, error) {
	ids, err := p.SecretIDs(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(ids))
	for name := range ids {
		names[name] = true
	}
	return names, nil
}

// SecretIDs gives the id of each Podman secret (one call; never a value).
func (p *Podman) SecretIDs(ctx context.Context) (map[string]string, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	list, err := secrets.List(ctx, nil)
	if err != nil {
		return nil, wrap(err, "listing secrets")
	}
	ids := make(map[string]string, len(list))
	for _, s := range list {
		ids[s.Spec.Name] = s.ID
	}
	return ids, nil
}

// SecretsCreated says when each Podman secret was created (never its
// value).
func (p *Podman) SecretsCreated(ctx context.Context) (map[string]time.Time, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	list, err := secrets.List(ctx, nil)
	if err != nil {
		return nil, wrap(err, "listing secrets")
	}
	out := make(map[string]time.Time, len(list))
	for _, s := range list {
		out[s.Spec.Name] = s.CreatedAt
	}
	return out, nil
}

// SetSecret creates the Podman secret name with value, replacing one of
// that name. Podman 4.3.1 has no replace option, so an existing secret is
// removed and created again. Containers made before still start, but keep
// the old value in their secret files (copied at create) until they are
// recreated, while execs already see the new env value: archy recreates
// the containers whose secrets changed.
func (p *Podman) SetSecret(ctx context.Context, name string, value []byte) error {
	// Podman refuses an empty secret: say so before removing the old one.
	if len(value) == 0 {
		return fmt.Errorf("secret %s: the value is empty", name)
	}
	ctx, cancel := p.call(ctx)
	defer cancel()
	create := func() error {
		_, err := secrets.Create(ctx, bytes.NewReader(value), new(secrets.CreateOptions).WithName(name))
		return err
	}
	err := create()
	if err == nil {
		return nil
	}
	// Podman 4.3.1 answers a taken name with a 500, newer ones with a 409,
	// so ask. (secrets.Exists is 4.5+: a 4.3.1 service answers it 404.)
	if _, inspErr := secrets.Inspect(ctx, name, nil); inspErr != nil {
		return wrap(err, "creating secret %s", name)
	}
	if err := secrets.Remove(ctx, name); err != nil && !isNotFound(err) {
		return wrap(err, "replacing secret %s: removing the old one", name)
	}
	return wrap(create(), "replacing secret %s", name)
}
