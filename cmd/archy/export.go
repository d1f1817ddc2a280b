package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"archy.dev/archy/engine"
	"archy.dev/archy/kube"
	"archy.dev/archy/view"
)

// ExportCmd renders the apps for other engines.
type ExportCmd struct {
	Systemd ExportSystemdCmd `cmd:"" help:"Write archy-node.service, the unit that stops the node in dependency order at host shutdown, its TimeoutStopSec from the apps' stop timeouts (docs/shutdown.md)."`
	Kube    ExportKubeCmd    `cmd:"" help:"Write the apps as Kubernetes objects (Deployments, Services, PersistentVolumeClaims) for a cluster or podman kube play (docs/kube.md)."`
}

// ExportKubeCmd writes the apps as a multi-document Kubernetes YAML.
type ExportKubeCmd struct {
	Namespace      string   `help:"Put every object in this namespace (it must exist)." placeholder:"NS"`
	Only           []string `help:"Only these apps (and what they depend on). Repeatable." placeholder:"APP" predictor:"app"`
	NoDependencies bool     `help:"With --only, leave out the apps they depend on (they run elsewhere in the namespace)."`
	ImageRegistry  string   `help:"Registry the built images are pushed to (archy push): their tags are moved under it." placeholder:"REG"`
	WaitImage      string   `help:"Image with sh and nc (busybox) for init containers that wait for each healthy-dependency; none without it." placeholder:"IMAGE"`
	VolumeSize     []string `help:"Storage a PersistentVolumeClaim requests: SIZE for all, NAME=SIZE for one volume (default ${default_size}). Repeatable." placeholder:"[NAME=]SIZE" set:"default_size=1Gi"`
	Out            string   `help:"Write to FILE instead of stdout." placeholder:"FILE" type:"path"`
}

func (c *ExportKubeCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	if c.NoDependencies && len(c.Only) == 0 {
		return fmt.Errorf("--no-dependencies needs --only")
	}
	apps, err := cat.Select(c.Only, !c.NoDependencies)
	if err != nil {
		return err
	}
	sizes := map[string]string{}
	for _, s := range c.VolumeSize {
		name, size, ok := strings.Cut(s, "=")
		if !ok {
			name, size = "", s
		}
		sizes[name] = size
	}
	x, err := kube.Build(apps, kube.Options{
		Namespace: c.Namespace, ImageRegistry: c.ImageRegistry, WaitImage: c.WaitImage, VolumeSizes: sizes,
	})
	if err != nil {
		return fmt.Errorf("export kube: %w", err)
	}
	for _, w := range x.Warnings {
		fmt.Fprintf(g.stderr, "archy: warning: %s\n", w)
	}
	if len(x.Built) > 0 {
		var ids []string
		for _, b := range x.Built {
			ids = append(ids, b.App)
		}
		reg := c.ImageRegistry
		if reg == "" {
			reg = "REG"
		}
		fmt.Fprintf(g.stderr, "archy: note: the images of %s are built by archy; push them to the cluster's registry first: archy push --image-registry %s %s\n",
			strings.Join(ids, ", "), reg, strings.Join(ids, " "))
	}
	var b bytes.Buffer
	if err := x.WriteYAML(&b); err != nil {
		return err
	}
	if c.Out == "" {
		_, err = g.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(c.Out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("export kube: %w", err)
	}
	return nil
}

// ExportSystemdCmd writes archy-node.service for the apps.
type ExportSystemdCmd struct {
	Out string `help:"Write to FILE instead of stdout." placeholder:"FILE" type:"path"`
}

func (c *ExportSystemdCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	levels, err := engine.StopAllLevels(cat.List())
	if err != nil {
		return fmt.Errorf("export systemd: %w", err)
	}
	total, err := engine.StopAllTimeout(cat.List())
	if err != nil {
		return fmt.Errorf("export systemd: %w", err)
	}
	var b bytes.Buffer
	view.NodeUnit(&b, levels, total)
	if c.Out == "" {
		_, err = g.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(c.Out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("export systemd: %w", err)
	}
	return nil
}
