package journal

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandlerPrefixesPriority(t *testing.T) {
	var buf bytes.Buffer
	noTime := func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	h := New(&buf, func(w io.Writer) slog.Handler {
		return slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})
	})
	log := slog.New(h).With("app", "lnd")
	log.Debug("probe")
	log.Info("converging")
	log.Warn("backing off")
	log.Error("reconcile", "err", "boom\nsecond line")
	log.WithGroup("g").Log(t.Context(), slog.LevelWarn+2, "between")
	log.Log(t.Context(), slog.LevelError+4, "above error")
	want := []string{
		`<7>level=DEBUG msg=probe app=lnd`,
		`<6>level=INFO msg=converging app=lnd`,
		`<4>level=WARN msg="backing off" app=lnd`,
		`<3>level=ERROR msg=reconcile app=lnd err="boom\nsecond line"`,
		`<4>level=WARN+2 msg=between app=lnd`,
		`<3>level=ERROR+4 msg="above error" app=lnd`,
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// The level filter is the inner handler's.
func TestHandlerEnabled(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(&buf, func(w io.Writer) slog.Handler {
		return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})
	}))
	log.Info("dropped")
	log.Warn("kept")
	if got := buf.String(); strings.Contains(got, "dropped") || !strings.HasPrefix(got, `<4>{"time":`) {
		t.Errorf("got %q", got)
	}
}

// Records logged at once keep each its own prefix.
func TestHandlerConcurrent(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(&buf, func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }))
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				log.Error("e")
			} else {
				log.Info("i")
			}
		}()
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.HasPrefix(line, "<3>") != strings.Contains(line, "msg=e") {
			t.Errorf("line %q has the wrong prefix", line)
		}
	}
}

func TestIsStream(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	tests := []struct {
		stream string
		want   bool
	}{
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino), true},
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), false}, // another file: stderr redirected
		{"", false}, // not started by systemd
		{"junk", false},
	}
	for _, tt := range tests {
		if got := IsStream(f, tt.stream); got != tt.want {
			t.Errorf("IsStream(%q) = %t, want %t", tt.stream, got, tt.want)
		}
	}
}
