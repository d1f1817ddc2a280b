package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/schema"
)

// GeneratedSecret is one Podman secret a generator of the catalogue
// makes, as archy secrets lists it: never its value.
type GeneratedSecret struct {
	Name      string `json:"name"`
	Generator string `json:"generator"` // the declaration it comes from
	Type      string `json:"type"`      // schema.GenRandom, GenRPCAuth or GenTLS
	Detail    string `json:"detail"`    // e.g. "48 alnum", "user lnd, line"
	// Created is when Podman made it; nil while it does not exist yet
	// (the next apply that starts a consumer makes it).
	Created   *time.Time `json:"created"`
	Consumers []string   `json:"consumers"` // app ids, sorted
}

// GeneratedSecrets lists the catalogue's generated secrets by name, with
// when Podman created each and the apps that consume it.
func GeneratedSecrets(ctx context.Context, rt SecretStore, cat *catalog.Catalog) ([]GeneratedSecret, error) {
	created, err := rt.SecretsCreated(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", err)
	}
	consumers := map[string][]string{}
	for _, app := range cat.List() {
		for _, sec := range app.Secrets {
			consumers[sec.Name] = append(consumers[sec.Name], app.ID)
		}
		for _, j := range app.Jobs {
			for _, sec := range j.Secrets {
				consumers[sec.Name] = append(consumers[sec.Name], app.ID+" (job "+j.Name+")")
			}
		}
	}
	out := []GeneratedSecret{}
	for _, g := range cat.Secrets {
		for i, name := range g.SecretNames() {
			row := GeneratedSecret{Name: name, Generator: g.Name, Type: g.Type, Detail: genDetail(g, i), Consumers: consumers[name]}
			if t, ok := created[name]; ok {
				row.Created = &t
			}
			if row.Consumers == nil {
				row.Consumers = []string{}
			}
			sort.Strings(row.Consumers)
			out = append(out, row)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// genDetail describes the i-th secret of g (see SecretGen.SecretNames).
func genDetail(g *schema.SecretGen, i int) string {
	switch {
	case g.Type == schema.GenRandom:
		return fmt.Sprintf("%d %s", g.Length, g.Alphabet)
	case g.Type == schema.GenTLS && i == 0:
		return fmt.Sprintf("%s, key", g.CommonName)
	case g.Type == schema.GenTLS:
		return fmt.Sprintf("%s, certificate, %d days", g.CommonName, g.Days)
	case i == 0:
		return fmt.Sprintf("user %s, password", g.User)
	}
	return fmt.Sprintf("user %s, rpcauth line", g.User)
}
