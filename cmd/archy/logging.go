package main

import (
	"io"
	"log/slog"
	"os"

	"archy.dev/archy/internal/journal"
)

// logger is the daemon's: to stderr at --log-level, as text, JSON or
// journal lines. auto is journal when stderr is systemd's journal stream
// (JOURNAL_STREAM, as systemd documents it), text otherwise.
func (g *Globals) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.LogLevel)); err != nil {
		level = slog.LevelInfo // kong's enum lets none through
	}
	opts := &slog.HandlerOptions{Level: level}
	format := g.LogFormat
	if format == "auto" {
		format = "text"
		if f, ok := g.stderr.(*os.File); ok && journal.IsStream(f, os.Getenv("JOURNAL_STREAM")) {
			format = "journal"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	case "journal":
		// journald stamps each line itself; the priority prefix lets
		// journalctl -p filter.
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
		return slog.New(journal.New(g.stderr, func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, opts) }))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}
