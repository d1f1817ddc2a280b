package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// PublishedPorts are the ports to publish on the host: those with a host
// port, and none with host networking, where the container's own ports
// are the host's.
func (c ContainerConfig) PublishedPorts() []Port {
	if c.Security.NetworkPolicy == NetworkHost {
		return nil
	}
	var out []Port
	for _, p := range c.Ports {
		if p.Host != 0 {
			out = append(out, p)
		}
	}
	return out
}

// MemoryBytes is MemoryLimit in bytes (128Mi, 2Gi or a plain number);
// 0 means no limit.
func (r Resources) MemoryBytes() (int64, error) {
	if r.MemoryLimit == "" {
		return 0, nil
	}
	return ParseSize(r.MemoryLimit)
}

// MinFreeBytes is MinFree in bytes; 0 means not watched.
func (v Volume) MinFreeBytes() (int64, error) {
	if v.MinFree == "" {
		return 0, nil
	}
	return ParseSize(v.MinFree)
}

// ParseSize reads a #Size: a number of bytes with an optional binary
// suffix (Ki, Mi, Gi, Ti).
func ParseSize(s string) (int64, error) {
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
