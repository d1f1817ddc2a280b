package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"

	"archy.dev/archy/schema"
)

// posIndex maps field paths ("apps.lnd.dependencies[0].app_id") to where
// the user wrote them. It is read off the syntax, before the schema is
// applied, so positions always point into the user's files, never into the
// schema.
type posIndex struct {
	byPath   map[string]schema.Pos
	sels     map[string][]cue.Selector // the same paths as CUE selectors
	files    []string
	appFiles map[string]bool // files that declare something inside an app
	// keys and selKeys are the paths of byPath and of sels, sorted, so
	// that the paths below one app are found by binary search rather than
	// by a walk of every app's (which made a load quadratic in apps).
	keys, selKeys []string
}

func collectPositions(files []*ast.File, rel func(string) string) posIndex {
	idx := posIndex{byPath: map[string]schema.Pos{}, sels: map[string][]cue.Selector{}, appFiles: map[string]bool{}}
	for _, f := range files {
		idx.files = append(idx.files, rel(f.Filename))
		idx.walkDecls(f.Decls, nil, rel)
	}
	idx.keys = slices.Sorted(maps.Keys(idx.byPath))
	idx.selKeys = slices.Sorted(maps.Keys(idx.sels))
	return idx
}

// below returns the keys (sorted) that begin with prefix+"." or
// prefix+"[": the paths under prefix.
func below(keys []string, prefix string) []string {
	var out []string
	for _, sep := range []string{".", "["} {
		out = append(out, withPrefix(keys, prefix+sep)...)
	}
	slices.Sort(out)
	return out
}

// withPrefix returns the run of sorted keys that begin with prefix.
func withPrefix(keys []string, prefix string) []string {
	start, _ := slices.BinarySearch(keys, prefix)
	end := start
	for end < len(keys) && strings.HasPrefix(keys[end], prefix) {
		end++
	}
	return keys[start:end]
}

func (idx posIndex) walkDecls(decls []ast.Decl, sels []cue.Selector, rel func(string) string) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			name, ok := labelName(d.Label)
			if !ok {
				continue
			}
			path := append(slices.Clip(sels), cue.Str(name))
			if strings.HasPrefix(name, "#") || strings.HasPrefix(name, "_") {
				// Not data, but CUE may report an error inside one (a
				// structural cycle) without a position of its own.
				idx.walkDefinition(d, path, rel)
				continue
			}
			idx.record(path, d.Label.Pos(), rel)
			idx.walkExpr(d.Value, path, rel)
		case *ast.EmbedDecl:
			idx.walkExpr(d.Expr, sels, rel)
		}
	}
}

func (idx posIndex) walkExpr(e ast.Expr, sels []cue.Selector, rel func(string) string) {
	switch e := e.(type) {
	case *ast.StructLit:
		idx.walkDecls(e.Elts, sels, rel)
	case *ast.ListLit:
		for i, el := range e.Elts {
			path := append(slices.Clip(sels), cue.Index(i))
			idx.record(path, el.Pos(), rel)
			idx.walkExpr(el, path, rel)
		}
	case *ast.BinaryExpr: // schema.#App & {...}
		idx.walkExpr(e.X, sels, rel)
		idx.walkExpr(e.Y, sels, rel)
	case *ast.ParenExpr:
		idx.walkExpr(e.X, sels, rel)
	}
}

// walkDefinition records where a definition or hidden field and what it
// declares are, for errors only: they are no fields of an app, so they
// stay out of the selectors the unknown-field check walks.
func (idx posIndex) walkDefinition(d *ast.Field, path []cue.Selector, rel func(string) string) {
	defs := posIndex{byPath: idx.byPath, sels: map[string][]cue.Selector{}, appFiles: map[string]bool{}}
	if p := d.Label.Pos(); p.IsValid() {
		if _, ok := idx.byPath[selectorPath(path)]; !ok {
			idx.byPath[selectorPath(path)] = toPos(p, rel)
		}
	}
	defs.walkExpr(d.Value, path, rel)
}

// record keeps the first position seen for a path.
func (idx posIndex) record(sels []cue.Selector, p token.Pos, rel func(string) string) {
	if !p.IsValid() {
		return
	}
	path := selectorPath(sels)
	pos := toPos(p, rel)
	if len(sels) > 2 && sels[0].String() == "apps" {
		idx.appFiles[pos.File] = true
	}
	if _, ok := idx.byPath[path]; !ok {
		idx.byPath[path] = pos
		idx.sels[path] = sels
	}
}

// selectorPath is the index's form of a path: fields joined by dots,
// list indices as [i].
func selectorPath(sels []cue.Selector) string {
	var b strings.Builder
	for _, s := range sels {
		if s.Type() == cue.IndexLabel {
			fmt.Fprintf(&b, "[%d]", s.Index())
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(labelText(s.Unquoted()))
	}
	return b.String()
}

// labelText is a label as a message shows it: quoted (Go's %q) when it
// holds a newline, a quote or another character that would not print as
// itself, so that one diagnostic stays one line.
func labelText(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

func toPos(p token.Pos, rel func(string) string) schema.Pos {
	if !p.IsValid() {
		return schema.Pos{}
	}
	return schema.Pos{File: rel(p.Filename()), Line: p.Line(), Col: p.Column()}
}

func labelName(l ast.Label) (string, bool) {
	switch l := l.(type) {
	case *ast.Ident:
		return l.Name, true
	case *ast.BasicLit:
		if l.Kind == token.STRING {
			s, err := strconv.Unquote(l.Value)
			return s, err == nil
		}
	}
	return "", false
}

// pathString turns CUE path selectors (as errors report them) into the
// index's form: quoted labels unquoted, list indices as [i].
func pathString(sels []string) string {
	var b strings.Builder
	for _, s := range sels {
		if _, err := strconv.Atoi(s); err == nil && b.Len() > 0 {
			b.WriteString("[" + s + "]")
			continue
		}
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(labelText(s))
	}
	return b.String()
}

// at returns the position of the longest prefix of path that the user
// wrote, or an invalid Pos.
func (idx posIndex) at(sels []string) schema.Pos {
	for p := pathString(sels); p != ""; p = schema.ParentPath(p) {
		if pos, ok := idx.byPath[p]; ok {
			return pos
		}
	}
	return schema.Pos{}
}

// under returns the positions below prefix, keyed relative to it.
func (idx posIndex) under(sels []string) map[string]schema.Pos {
	prefix := pathString(sels)
	m := map[string]schema.Pos{}
	for _, p := range below(idx.keys, prefix) {
		rest := p[len(prefix):]
		if rest[0] == '.' {
			rest = rest[1:]
		}
		m[rest] = idx.byPath[p]
	}
	return m
}

// first is the first file, for errors that belong to no field.
func (idx posIndex) first() schema.Pos {
	if len(idx.files) == 0 {
		return schema.Pos{}
	}
	return schema.Pos{File: idx.files[0]}
}
