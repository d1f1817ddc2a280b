package daemon

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	for _, tc := range []struct {
		crashes int
		want    time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{9, 256 * time.Second},
		{10, 5 * time.Minute}, // 512 s, capped
		{34, 5 * time.Minute},
		{35, 5 * time.Minute}, // 1 s << 34 overflowed: a negative wait
		{65, 5 * time.Minute}, // a shift past 63: no wait at all
		{1 << 20, 5 * time.Minute},
	} {
		if got := defaultDelays().backoff(tc.crashes); got != tc.want {
			t.Errorf("backoff(%d) = %s, want %s", tc.crashes, got, tc.want)
		}
	}
}
