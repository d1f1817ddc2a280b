package catalog

import (
	"fmt"
	"sort"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"

	"archy.dev/archy/schema"
)

// Diagnostic is one problem found in a catalogue, pointing at the user's
// source.
type Diagnostic struct {
	Pos     schema.Pos
	App     string // app id, when the problem belongs to one
	Path    string // field path inside the app, e.g. "container.source.tag"
	Msg     string
	Warning bool
}

// String renders "file.cue:LINE:COL: [warning: ]app "id": path: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning: ")
	}
	if d.App != "" {
		fmt.Fprintf(&b, "app %q: ", d.App)
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Diagnostics is every problem found; as an error it prints one per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the diagnostics that are not warnings.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(false) }

// Warnings returns the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(true) }

func (ds Diagnostics) filter(warning bool) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Warning == warning {
			out = append(out, d)
		}
	}
	return out
}

// Sorted returns the diagnostics ordered by position.
func (ds Diagnostics) Sorted() Diagnostics {
	out := append(Diagnostics(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

func (ds Diagnostics) has(d Diagnostic) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// fromCUE turns CUE errors into diagnostics: positions from the user's
// syntax, the app id from the path, and the messages CUE gives for an
// enum mismatch folded into one line naming the allowed values.
func fromCUE(errs []cueerrors.Error, positions posIndex, rel func(string) string) Diagnostics {
	type group struct {
		sels []string
		errs []cueerrors.Error
	}
	var order []string
	groups := map[string]*group{}
	for _, e := range errs {
		key := strings.Join(e.Path(), "\x00")
		g, ok := groups[key]
		if !ok {
			g = &group{sels: e.Path()}
			groups[key] = g
			order = append(order, key)
		}
		g.errs = append(g.errs, e)
	}

	var out Diagnostics
	badID := map[string]bool{}
	for _, key := range order {
		if app, field := splitAppPath(groups[key].sels); field == "id" {
			badID[app] = true
		}
	}
	for _, key := range order {
		g := groups[key]
		app, field := splitAppPath(g.sels)
		if field == "container_name" && badID[app] {
			continue // computed from the id, which is reported
		}
		pos := positions.at(g.sels)
		if !pos.IsValid() {
			pos = userPos(g.errs[0], rel)
		}
		if !pos.IsValid() {
			pos = positions.first()
		}
		for _, msg := range messages(g.errs, g.sels) {
			out = append(out, Diagnostic{Pos: pos, App: app, Path: field, Msg: msg})
		}
	}
	return out
}

// splitAppPath splits apps.<id>.<rest> into the id and the rest.
func splitAppPath(sels []string) (app, field string) {
	if len(sels) >= 2 && sels[0] == "apps" {
		return pathString(sels[1:2]), pathString(sels[2:])
	}
	return "", pathString(sels)
}

// userPos picks the first position of an error that is not in the schema.
func userPos(e cueerrors.Error, rel func(string) string) schema.Pos {
	for _, p := range append(e.InputPositions(), e.Position()) {
		if p.IsValid() && !strings.HasPrefix(p.Filename(), "schema/") {
			return toPos(p, rel)
		}
	}
	return schema.Pos{}
}

// messages renders the errors of one path.
func messages(errs []cueerrors.Error, sels []string) []string {
	var msgs []string
	var conflicts [][2]string
	for _, e := range errs {
		format, args := e.Msg()
		switch {
		case strings.Contains(format, "errors in empty disjunction"):
			continue // a header; its parts follow as errors of their own
		case format == "conflicting values %s and %s" && len(args) == 2:
			conflicts = append(conflicts, [2]string{fmt.Sprint(args[0]), fmt.Sprint(args[1])})
			continue
		case format == "field not allowed":
			msgs = append(msgs, "unknown field")
			continue
		case strings.HasPrefix(format, "incomplete value") || strings.HasPrefix(format, "non-concrete value"):
			msgs = append(msgs, missingMessage(fmt.Sprint(args...)))
			continue
		case len(sels) == 3 && sels[2] == "id" && strings.Contains(format, "out of bound"):
			msgs = append(msgs, "invalid app id: use lower-case letters, digits and dashes, starting with a letter (at most 63)")
			continue
		}
		msgs = append(msgs, fmt.Sprintf(format, args...))
	}
	if len(conflicts) > 0 {
		msgs = append(conflictMessages(conflicts), msgs...)
	}
	return dedupe(msgs)
}

// missingMessage names what a missing required field wants, when that is
// short enough to read.
func missingMessage(want string) string {
	if len(want) > 40 {
		return "missing required field"
	}
	return fmt.Sprintf("missing required field (want %s)", want)
}

// conflictMessages folds "conflicting values A and X", "... B and X" into
// `X is not allowed; want one of A, B`.
func conflictMessages(pairs [][2]string) []string {
	if len(pairs) == 1 {
		return []string{fmt.Sprintf("conflicting values %s and %s", pairs[0][0], pairs[0][1])}
	}
	count := map[string]int{}
	for _, p := range pairs {
		count[p[0]]++
		if p[1] != p[0] {
			count[p[1]]++
		}
	}
	for _, given := range []string{pairs[0][1], pairs[0][0]} {
		if count[given] != len(pairs) {
			continue
		}
		var allowed []string
		for _, p := range pairs {
			other := p[0]
			if other == given {
				other = p[1]
			}
			allowed = append(allowed, other)
		}
		sort.Strings(allowed)
		return []string{fmt.Sprintf("%s is not allowed; want one of %s", given, strings.Join(dedupe(allowed), ", "))}
	}
	var msgs []string
	for _, p := range pairs {
		msgs = append(msgs, fmt.Sprintf("conflicting values %s and %s", p[0], p[1]))
	}
	return msgs
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
