package catalog

import (
	"slices"
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
	// Sorted: parents before children.
	for _, p := range withPrefix(positions.selKeys, prefix+".") {
		rel := strings.TrimPrefix(p, prefix+".")
		if underAnyField(rel, bad) {
			continue
		}
		sels := positions.sels[p][2:]
		last := sels[len(sels)-1]
		if last.Type() == cue.IndexLabel {
			continue
		}
		parent := schemaAt(l.appSchema, app, sels[:len(sels)-1])
		if !parent.Exists() || parent.IncompleteKind() != cue.StructKind || parent.Allows(last) {
			continue
		}
		bad[rel] = true
		msg := "unknown field"
		if len(sels) > 1 && isVarMap(sels[len(sels)-2].String()) {
			msg = invalidVarName
		} else if last.LabelType() == cue.StringLabel {
			msg += suggest(last.Unquoted(), fieldNames(parent))
		}
		l.add(positions.byPath[p], id, rel, msg)
	}
	return bad
}

// schemaAt returns the schema of the field at sels inside root (#App,
// say), for the user's value v of root. Where the schema picks fields by
// type (sources, health checks, generators), the user's type is filled in
// first, so that the chosen type's fields are allowed.
func schemaAt(root, value cue.Value, sels []cue.Selector) cue.Value {
	v := root
	for i, sel := range sels {
		if sel.Type() == cue.IndexLabel {
			sel = cue.AnyIndex
		}
		next := lookupField(v, sel)
		if !next.Exists() {
			return next
		}
		if next.LookupPath(cue.ParsePath("type")).Exists() {
			typ := value.LookupPath(cue.MakePath(append(slices.Clip(sels[:i+1]), cue.Str("type"))...))
			if s, err := typ.String(); err == nil {
				// Filled from the parent: filled in the value of an
				// optional field, the type's fields are allowed but not
				// listed (fieldNames needs them).
				if sel.LabelType() == cue.StringLabel {
					next = lookupField(v.FillPath(cue.MakePath(sel, cue.Str("type")), s), sel)
				} else {
					next = next.FillPath(cue.ParsePath("type"), s)
				}
			}
		}
		v = next
	}
	return v
}

// suggestField offers the closest field the schema allows beside the
// unknown one at path (dotted, relative to root's value v), or "".
func suggestField(root, v cue.Value, path string) string {
	var sels []cue.Selector
	for _, name := range strings.Split(path, ".") {
		sels = append(sels, cue.Str(name))
	}
	parent := schemaAt(root, v, sels[:len(sels)-1])
	if !parent.Exists() {
		return ""
	}
	return suggest(sels[len(sels)-1].Unquoted(), fieldNames(parent))
}

// lookupField finds a field of a schema struct whether it is regular,
// optional (health_check?) or required (name!).
func lookupField(v cue.Value, sel cue.Selector) cue.Value {
	f := v.LookupPath(cue.MakePath(sel))
	if f.Exists() || sel.LabelType() != cue.StringLabel {
		return f
	}
	if f = v.LookupPath(cue.MakePath(sel.Optional())); f.Exists() {
		return f
	}
	return v.LookupPath(cue.MakePath(sel.Required()))
}

// fieldNames are the regular fields a schema struct allows, optional and
// required ones included: the candidates for a misspelt field.
func fieldNames(v cue.Value) map[string]bool {
	names := map[string]bool{}
	iter, err := v.Fields(cue.Optional(true))
	if err != nil {
		return names
	}
	for iter.Next() {
		if sel := iter.Selector(); sel.LabelType() == cue.StringLabel {
			names[sel.Unquoted()] = true
		}
	}
	return names
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
