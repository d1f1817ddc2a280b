package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
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
// suffix (Ki, Mi, Gi, Ti). A size that does not fit in an int64 (8 EiB)
// is an error, not a wrapped-around number.
func ParseSize(s string) (int64, error) {
	digits, mult := s, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			digits, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || n > math.MaxInt64/mult:
		return 0, fmt.Errorf("size %q is too large: at most %s", s, FormatSize(math.MaxInt64))
	case err != nil || n < 0 || digits == "" || digits[0] == '+':
		return 0, fmt.Errorf("invalid size %q: want a number of bytes with an optional Ki, Mi, Gi or Ti", s)
	}
	return n * mult, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}}

// OwnerIDs is Owner as numbers; ok is false when no owner is declared.
func (v Volume) OwnerIDs() (uid, gid int, ok bool, err error) {
	if v.Owner == "" {
		return 0, 0, false, nil
	}
	u, g, found := strings.Cut(v.Owner, ":")
	uid, errU := strconv.Atoi(u)
	gid, errG := strconv.Atoi(g)
	if !found || errU != nil || errG != nil || uid < 0 || gid < 0 {
		return 0, 0, false, fmt.Errorf("owner %q: want numeric UID:GID", v.Owner)
	}
	return uid, gid, true, nil
}

// FileMode is Mode as permission bits; ok is false when no mode is
// declared.
func (v Volume) FileMode() (mode fs.FileMode, ok bool, err error) {
	if v.Mode == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v.Mode, 8, 32)
	if err != nil || n > 0o777 {
		return 0, false, fmt.Errorf("mode %q: want octal permissions such as 0750", v.Mode)
	}
	return fs.FileMode(n), true, nil
}
