// Package journal makes archy's logs journald's: each line starts with
// its syslog priority ("<3>" for an error), which journald takes as the
// line's priority (SyslogLevelPrefix=, on by default) and strips, so that
// journalctl -p err -u archy shows archy's errors. It also tells whether
// stderr is the journal. It only wraps a slog.Handler: the formatting is
// slog's.
package journal

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
)

// Syslog priorities (sd-daemon(3)'s SD_ERR …).
const (
	Err     = 3
	Warning = 4
	Info    = 6
	Debug   = 7
)

// Priority is the syslog priority of a slog level: levels between slog's
// take the one below them (slog.LevelWarn+2 is a warning).
func Priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return Err
	case l >= slog.LevelWarn:
		return Warning
	case l >= slog.LevelInfo:
		return Info
	}
	return Debug
}

// Handler prefixes each record that the handler it wraps writes with the
// record's priority.
type Handler struct {
	inner slog.Handler
	out   *prefixWriter // shared with the handlers WithAttrs and WithGroup make
}

// New wraps the handler newHandler makes on w; it must write each record
// in one Write, as slog's text and JSON handlers do (one line).
func New(w io.Writer, newHandler func(io.Writer) slog.Handler) *Handler {
	out := &prefixWriter{w: w}
	return &Handler{inner: newHandler(out), out: out}
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle writes r through the inner handler with r's prefix. Records are
// written one at a time: the prefix is the writer's until the inner
// handler has written.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.prefix = fmt.Appendf(h.out.prefix[:0], "<%d>", Priority(r.Level))
	return h.inner.Handle(ctx, r)
}

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(as), out: h.out}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), out: h.out}
}

var _ slog.Handler = (*Handler)(nil)

type prefixWriter struct {
	mu     sync.Mutex // held by Handle around the inner handler's Write
	prefix []byte
	w      io.Writer
	buf    []byte
}

// Write writes the prefix and p in one Write, so that the line reaches
// journald whole.
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(append(p.buf[:0], p.prefix...), b...)
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

// IsStream reports whether f is the journal's stream: systemd sets
// JOURNAL_STREAM (passed as stream) to "DEVICE:INODE" of the stream it
// connects stdout and stderr to, and f is that stream if it is the same
// file. A redirected stderr (2>file in a unit's ExecStart) is not.
func IsStream(f *os.File, stream string) bool {
	if stream == "" || f == nil {
		return false
	}
	var dev, ino uint64
	if n, err := fmt.Sscanf(stream, "%d:%d", &dev, &ino); n != 2 || err != nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == dev && uint64(st.Ino) == ino //nolint:unconvert // the types differ by arch
}
