package catalog

import (
	"slices"
	"sort"
	"strings"

	"cuelang.org/go/cue"
)

// unknownFields finds the fields of one app that the schema does not
// allow, by walking what the user wrote against #App. CUE reports an
// unknown field only while the rest of its struct is sound, so next to
// another error a typo would go unreported (or be named by its child).
// It returns the field paths it reported, relative to the app.
func (l *loader) unknownFields(id string, app cue.Value, positions posIndex) map[string]bool {
	bad := map[string]bool{}
	prefix := pathString([]string{"apps", id})
	var paths []string
	for p := range positions.sels {
		if strings.HasPrefix(p, prefix+".") {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths) // parents before children
	for _, p := range paths {
		rel := strings.TrimPrefix(p, prefix+".")
		if underAnyField(rel, bad) {
			continue
		}
		sels := positions.sels[p][2:]
		last := sels[len(sels)-1]
		if last.Type() == cue.IndexLabel {
			continue
		}
		parent := l.schemaAt(app, sels[:len(sels)-1])
		if !parent.Exists() || parent.IncompleteKind() != cue.StructKind || parent.Allows(last) {
			continue
		}
		bad[rel] = true
		msg := "unknown field"
		if len(sels) > 1 && isVarMap(sels[len(sels)-2].String()) {
			msg = invalidVarName
		}
		l.add(positions.byPath[p], id, rel, msg)
	}
	return bad
}

// schemaAt returns the schema of the field at sels inside #App. Where the
// schema picks fields by type (sources, health checks), the user's type
// is filled in first, so that the chosen type's fields are allowed.
func (l *loader) schemaAt(app cue.Value, sels []cue.Selector) cue.Value {
	v := l.appSchema
	for i, sel := range sels {
		if sel.Type() == cue.IndexLabel {
			sel = cue.AnyIndex
		}
		v = v.LookupPath(cue.MakePath(sel))
		if !v.Exists() {
			return v
		}
		if v.LookupPath(cue.ParsePath("type")).Exists() {
			typ := app.LookupPath(cue.MakePath(append(slices.Clip(sels[:i+1]), cue.Str("type"))...))
			if s, err := typ.String(); err == nil {
				v = v.FillPath(cue.ParsePath("type"), s)
			}
		}
	}
	return v
}

// underAnyField reports whether path is one of fields or below one.
func underAnyField(path string, fields map[string]bool) bool {
	for f := range fields {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return true
		}
	}
	return false
}
