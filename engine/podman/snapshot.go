package podman

import (
	"context"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	nettypes "go.podman.io/common/libnetwork/types"

	"archy.dev/archy/plan"
)

// Snapshot lists all containers (running or not) and all images: two API
// calls, however many there are. The list carries no OOM flag, so
// OOMKilled stays false here; Inspect fills it.
func (p *Podman) Snapshot(ctx context.Context) (plan.Observed, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	list, err := containers.List(ctx, new(containers.ListOptions).WithAll(true))
	if err != nil {
		return plan.Observed{}, wrap(err, "listing containers")
	}
	imgs, err := images.List(ctx, nil)
	if err != nil {
		return plan.Observed{}, wrap(err, "listing images")
	}
	var obs plan.Observed
	for _, c := range list {
		var name string
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		obs.Containers = append(obs.Containers, plan.Container{
			ID:        c.ID,
			Name:      name,
			State:     c.State,
			ExitCode:  int(c.ExitCode),
			ImageID:   c.ImageID,
			Image:     c.Image,
			Labels:    c.Labels,
			StartedAt: unixTime(c.StartedAt),
			Pid:       c.Pid,
			Ports:     ports(c.Ports),
			Networks:  c.Networks,
		})
	}
	for _, img := range imgs {
		obs.Images = append(obs.Images, plan.Image{
			ID:     img.ID,
			Tags:   img.RepoTags,
			Labels: img.Labels,
			Size:   img.Size,
		})
	}
	return obs, nil
}

// ports flattens Podman's port mappings (a mapping may cover a range).
func ports(mappings []nettypes.PortMapping) []plan.Port {
	var out []plan.Port
	for _, m := range mappings {
		for i := range max(m.Range, 1) {
			out = append(out, plan.Port{HostIP: m.HostIP, Host: int(m.HostPort + i),
				Container: int(m.ContainerPort + i), Protocol: m.Protocol})
		}
	}
	return out
}

// Inspect returns one container's state, including whether the kernel
// killed it for memory.
func (p *Podman) Inspect(ctx context.Context, name string) (plan.Container, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	data, err := containers.Inspect(ctx, name, nil)
	if err != nil {
		return plan.Container{}, wrap(err, "inspecting container %s", name)
	}
	c := plan.Container{
		ID:      data.ID,
		Name:    strings.TrimPrefix(data.Name, "/"),
		ImageID: data.Image,
		Image:   data.ImageName,
	}
	if data.Config != nil {
		c.Labels = data.Config.Labels
	}
	for _, m := range data.Mounts {
		if m.Type == "volume" {
			c.Mounts = append(c.Mounts, plan.Mount{Name: m.Name, Destination: m.Destination})
		}
	}
	if s := data.State; s != nil {
		c.State = s.Status
		c.ExitCode = int(s.ExitCode)
		c.OOMKilled = s.OOMKilled
		c.Pid = s.Pid
		if !s.StartedAt.IsZero() {
			c.StartedAt = s.StartedAt
		}
	}
	return c, nil
}

// unixTime turns the list's seconds into a time; 0 (never started) stays
// the zero time.
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}
