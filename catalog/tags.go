package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"

	"archy.dev/archy/schema"
)

// tagDecl is a field marked @tag(name,...) in an app file.
type tagDecl struct {
	pos        schema.Pos // of the @tag attribute
	shorthands []string   // short=a|b: -t a means name=a
}

// tagDecls finds every @tag attribute of the app files, by tag name. CUE
// reports tag errors without a position; these are the places to name.
// A file that does not parse is skipped: loading reports it.
func (l *loader) tagDecls(files []string) map[string][]tagDecl {
	decls := map[string][]tagDecl{}
	for _, name := range files {
		var src any
		if b, found := l.opts.Overlay[name]; found {
			src = b
		}
		f, err := parser.ParseFile(name, src)
		if err != nil {
			continue
		}
		ast.Walk(f, func(n ast.Node) bool {
			if a, ok := n.(*ast.Attribute); ok {
				if key, body := a.Split(); key == "tag" {
					tag, d := parseTagBody(body)
					d.pos = toPos(a.Pos(), l.rel)
					decls[tag] = append(decls[tag], d)
				}
			}
			return true
		}, nil)
	}
	return decls
}

// parseTagBody reads "name,type=int,short=a|b", as far as messages need.
func parseTagBody(body string) (string, tagDecl) {
	parts := strings.Split(body, ",")
	var d tagDecl
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "short" {
			d.shorthands = strings.Split(v, "|")
		}
	}
	return strings.TrimSpace(parts[0]), d
}

// checkTags checks the -t values against the @tag attributes before CUE
// does: CUE stops at the first bad one, places none and calls a tag given
// without a value unused. It reports false when one is wrong.
func (l *loader) checkTags(decls map[string][]tagDecl) bool {
	ok := true
	for _, arg := range l.opts.Tags {
		name, _, hasValue := strings.Cut(arg, "=")
		ds, declared := decls[name]
		switch {
		case hasValue && !declared:
			l.add(schema.Pos{File: l.display}, "", "", fmt.Sprintf("-t %s: no field of the app files is marked @tag(%s)%s", arg, name, declaredTags(decls)))
			ok = false
		case !hasValue && declared && !isShorthand(decls, name):
			l.add(ds[0].pos, "", "", fmt.Sprintf("-t %s: the tag needs a value: -t %s=VALUE", arg, name))
			ok = false
		}
		// A name without a value and no @tag of that name may be a
		// shorthand or an @if() condition: CUE decides.
	}
	return ok
}

func isShorthand(decls map[string][]tagDecl, s string) bool {
	for _, ds := range decls {
		for _, d := range ds {
			if slices.Contains(d.shorthands, s) {
				return true
			}
		}
	}
	return false
}

// declaredTags lists the tags the files declare, for a message.
func declaredTags(decls map[string][]tagDecl) string {
	if len(decls) == 0 {
		return ""
	}
	var names []string
	for n := range decls {
		names = append(names, n)
	}
	sort.Strings(names)
	return "; the tags are " + strings.Join(names, ", ")
}

// tagInMessage finds the tag a load error of CUE's is about.
var tagInMessage = regexp.MustCompile(`(?:tag|for) "([^"]+)"`)

// tagError rewrites a load error about a -t value (a value of the wrong
// type, say) to name the value given and the @tag it was meant for. It
// reports false for any other error.
func (l *loader) tagError(msg string, decls map[string][]tagDecl) (Diagnostic, bool) {
	m := tagInMessage.FindStringSubmatch(msg)
	if m == nil || len(l.opts.Tags) == 0 {
		return Diagnostic{}, false
	}
	name := m[1]
	arg := ""
	for _, t := range l.opts.Tags {
		if n, _, _ := strings.Cut(t, "="); n == name {
			arg = t
		}
	}
	if arg == "" {
		return Diagnostic{}, false
	}
	pos := schema.Pos{File: l.display}
	if ds := decls[name]; len(ds) > 0 {
		pos = ds[0].pos
	}
	return Diagnostic{Pos: pos, Msg: fmt.Sprintf("-t %s: %s", arg, msg)}, true
}
