package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPublishedPorts(t *testing.T) {
	ports := []Port{
		{Container: 80, Host: 8080, Protocol: "tcp", HostIP: "127.0.0.1"},
		{Container: 9000, Protocol: "tcp"}, // for other containers only
		{Container: 53, Host: 53, Protocol: "udp"},
	}
	for _, tc := range []struct {
		network string
		want    []Port
	}{
		{NetworkBridge, []Port{ports[0], ports[2]}},
		{NetworkNone, []Port{ports[0], ports[2]}}, // the adapter refuses them
		{NetworkHost, nil},
	} {
		c := ContainerConfig{Ports: ports, Security: Security{NetworkPolicy: tc.network}}
		if diff := cmp.Diff(tc.want, c.PublishedPorts()); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.network, diff)
		}
	}
}

func TestMemoryBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"", 0, ""},
		{"1024", 1024, ""},
		{"2Ki", 2 << 10, ""},
		{"128Mi", 128 << 20, ""},
		{"2Gi", 2 << 30, ""},
		{"1Ti", 1 << 40, ""},
		{"12MB", 0, `invalid size "12MB"`},
		{"xMi", 0, `invalid size "x"`},
	} {
		got, err := Resources{MemoryLimit: tc.in}.MemoryBytes()
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("MemoryBytes(%q) = %d, %v; want %d, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
