package engine

import (
	"fmt"
	"strconv"
	"strings"

	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// containerSpec derives the container to create from an app, with the
// labels that let later plans recognise it and name what changed.
func containerSpec(app *schema.App, image string) (ContainerSpec, error) {
	mem, err := parseSize(app.Resources.MemoryLimit)
	if err != nil {
		return ContainerSpec{}, fmt.Errorf("resources.memory_limit: %w", err)
	}
	spec := ContainerSpec{
		Name:       app.ContainerName,
		Image:      image,
		Command:    app.Command,
		Entrypoint: app.Entrypoint,
		Env:        app.Environment,
		Labels: map[string]string{
			plan.LabelApp:      app.ID,
			plan.LabelSpecHash: plan.SpecHash(app),
			plan.LabelSpec:     plan.SpecJSON(app),
		},
		Network:     app.Security.NetworkPolicy,
		MemoryLimit: mem,
		CPUs:        app.Resources.CPUs,
		ReadOnly:    app.Security.ReadonlyRoot,
		Privileged:  app.Security.Privileged, // vet refused it without the operator's opt-in
		CapAdd:      app.Security.CapAdd,
		User:        app.Security.User,
	}
	for _, p := range app.Ports {
		host := p.Host
		if app.Security.NetworkPolicy == schema.NetworkHost {
			continue // the container's own ports are the host's
		}
		if host == 0 {
			continue // not published
		}
		spec.Ports = append(spec.Ports, PortSpec{HostIP: p.HostIP, Host: host, Container: p.Container, Protocol: p.Protocol})
	}
	for _, v := range app.Volumes {
		spec.Volumes = append(spec.Volumes, VolumeSpec{Name: v.Name, HostPath: v.HostPath, Target: v.Target, ReadOnly: v.Readonly})
	}
	for _, s := range app.Secrets {
		spec.Secrets = append(spec.Secrets, SecretSpec{Name: s.Name, Env: s.Env, Target: s.Target})
	}
	return spec, nil
}

// parseSize reads 128Mi, 2Gi or a plain number of bytes.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	for suffix, m := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
