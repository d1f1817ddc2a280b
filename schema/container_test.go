package schema

import (
	"math"
	"strconv"
	"strings"
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
		{"12MB", 0, `invalid size "12MB": want a number of bytes with an optional Ki, Mi, Gi or Ti`},
		{"xMi", 0, `invalid size "xMi": want a number of bytes with an optional Ki, Mi, Gi or Ti`},
	} {
		got, err := Resources{MemoryLimit: tc.in}.MemoryBytes()
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("MemoryBytes(%q) = %d, %v; want %d, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestParseSize: the largest sizes that fit, the smallest that do not
// (which wrapped around to a negative or small number before), and
// what is not a size at all.
func TestParseSize(t *testing.T) {
	const tooLarge = "is too large: at most 8.0 EiB"
	const invalid = "want a number of bytes with an optional Ki, Mi, Gi or Ti"
	for _, tc := range []struct {
		in   string
		want int64
		err  string // a suffix of the error
	}{
		{"0", 0, ""},
		{"1", 1, ""},
		{"64Mi", 64 << 20, ""},
		{"9223372036854775807", math.MaxInt64, ""},
		{"8388607Ti", 8388607 << 40, ""},
		{"8589934591Gi", 8589934591 << 30, ""},
		{"9223372036854775808", 0, tooLarge},
		{"99999999999999999999", 0, tooLarge},
		{"8388608Ti", 0, tooLarge},
		{"99999999999999Ti", 0, tooLarge},
		{"8589934592Gi", 0, tooLarge},
		{"9007199254740992Ki", 0, tooLarge},
		{"99999999999999999999Ki", 0, tooLarge},
		{"", 0, invalid},
		{"Mi", 0, invalid},
		{"-1", 0, invalid},
		{"-1Gi", 0, invalid},
		{"+1", 0, invalid},
		{"1.5Gi", 0, invalid},
		{"1 Gi", 0, invalid},
		{"1GiB", 0, invalid},
		{"1Pi", 0, invalid},
	} {
		got, err := ParseSize(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.HasSuffix(err.Error(), tc.err) || !strings.Contains(err.Error(), strconv.Quote(tc.in))):
			t.Errorf("ParseSize(%q) = %d, %v; want an error naming %q and ending %q", tc.in, got, err, tc.in, tc.err)
		}
	}
}
