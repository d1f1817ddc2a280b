package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The daemon's logs: --log-format auto is journal lines when stderr is
// the journal's stream (JOURNAL_STREAM), text otherwise; --log-level
// filters.
func TestLogger(t *testing.T) {
	tests := []struct {
		name, format, level string
		journal             bool // JOURNAL_STREAM names stderr
		want, notWant       string
	}{
		{name: "auto on the journal", format: "auto", level: "info", journal: true,
			want: "<4>level=WARN msg=w\n", notWant: "time="},
		{name: "auto elsewhere", format: "auto", level: "info", want: "level=WARN msg=w\n", notWant: "<4>"},
		{name: "journal asked for", format: "journal", level: "info", want: "<6>level=INFO msg=i\n"},
		{name: "text asked for on the journal", format: "text", level: "info", journal: true,
			want: "time=", notWant: "<4>"},
		{name: "json", format: "json", level: "info", want: `"level":"WARN","msg":"w"`},
		{name: "debug", format: "journal", level: "debug", want: "<7>level=DEBUG msg=d\n"},
		{name: "warn drops info", format: "journal", level: "warn", want: "<3>level=ERROR msg=e\n", notWant: "msg=i"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			stream := ""
			if tt.journal {
				fi, err := f.Stat()
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				stream = fmt.Sprintf("%d:%d", st.Dev, st.Ino)
			}
			t.Setenv("JOURNAL_STREAM", stream)
			g := &Globals{LogFormat: tt.format, LogLevel: tt.level, stderr: f}
			log := g.logger()
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			b, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			got := string(b)
			if !strings.Contains(got, tt.want) || (tt.notWant != "" && strings.Contains(got, tt.notWant)) {
				t.Errorf("want %q and not %q in:\n%s", tt.want, tt.notWant, got)
			}
		})
	}
}
