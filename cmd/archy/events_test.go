package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in, want, err string
	}{
		{in: "", want: "0001-01-01T00:00:00Z"},
		{in: "10m", want: "2026-05-01T11:50:00Z"},
		{in: "1h30m", want: "2026-05-01T10:30:00Z"},
		{in: "0s", want: "2026-05-01T12:00:00Z"},
		{in: "2026-04-30T08:00:00Z", want: "2026-04-30T08:00:00Z"},
		{in: "2026-04-30T10:00:00.25+02:00", want: "2026-04-30T08:00:00.25Z"},
		{in: "-5m", err: "positive"},
		{in: "yesterday", err: `--since "yesterday": want a duration`},
		{in: "2026-04-30", err: "RFC 3339"},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseSince(%q): error %v, want one containing %q", tt.in, err, tt.err)
			}
		case err != nil:
			t.Errorf("parseSince(%q): %v", tt.in, err)
		case got.UTC().Format(time.RFC3339Nano) != tt.want:
			t.Errorf("parseSince(%q) = %s, want %s", tt.in, got.UTC().Format(time.RFC3339Nano), tt.want)
		}
	}
}
