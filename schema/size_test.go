package schema

import "testing"

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		800:             "800 B",
		512 << 20:       "512.0 MiB",
		1<<30 + 1<<30/5: "1.2 GiB",
		5 << 30:         "5.0 GiB",
		3 << 40:         "3.0 TiB",
		-(2 << 30):      "-2.0 GiB",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
