package catalog

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"

	"archy.dev/archy/schema"
)

// Diagnostic is one problem found in a catalogue, pointing at the user's
// source.
type Diagnostic struct {
	Pos      schema.Pos
	App      string // app id, when the problem belongs to one
	Path     string // field path inside the app, e.g. "container.source.tag"
	Msg      string
	Severity Severity
}

// Severity says what a diagnostic asks of the user.
type Severity int

const (
	// SeverityError fails vet and every command that loads the apps.
	SeverityError Severity = iota
	// SeverityWarning is printed by every command that loads the apps.
	SeverityWarning
	// SeverityNote is advice that only vet prints: something that works
	// but has a known risk and a better way.
	SeverityNote
)

// String renders "file.cue:LINE:COL: [warning: |note: ]app "id": path: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	switch d.Severity {
	case SeverityWarning:
		b.WriteString("warning: ")
	case SeverityNote:
		b.WriteString("note: ")
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

// Errors returns the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(SeverityError) }

// Warnings returns the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(SeverityWarning) }

// Notes returns the notes.
func (ds Diagnostics) Notes() Diagnostics { return ds.filter(SeverityNote) }

func (ds Diagnostics) filter(severities ...Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if slices.Contains(severities, d.Severity) {
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

// fromCUE turns CUE errors into diagnostics: positions from the user's
// syntax, the app id from the path, and the messages CUE gives for an
// enum mismatch folded into one line naming the allowed values.
func fromCUE(errs []cueerrors.Error, positions posIndex, rel func(string) string, rules messageRules) Diagnostics {
	type group struct {
		sels []string
		errs []cueerrors.Error
	}
	var order []string
	groups := map[string]*group{}
	for _, e := range errs {
		key := strings.Join(e.Path(), "\x00")
		if len(e.Path()) == 0 { // syntax and load errors: one per place
			key = "\x00" + e.Position().String()
		}
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
		also := alsoAt(g.errs, pos, positions, rel)
		for _, msg := range rules.messages(g.errs, g.sels) {
			out = append(out, Diagnostic{Pos: pos, App: app, Path: field, Msg: msg + also})
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

// alsoAt names the other places in app files that contributed to an
// error (the second half of a conflict), so the user sees both sides.
func alsoAt(errs []cueerrors.Error, pos schema.Pos, positions posIndex, rel func(string) string) string {
	var others []string
	for _, e := range errs {
		for _, p := range e.InputPositions() {
			q := toPos(p, rel)
			if q.IsValid() && (q.Line != pos.Line || q.File != pos.File) {
				if positions.appFiles[q.File] && !slices.Contains(others, q.String()) {
					others = append(others, q.String())
				}
			}
		}
	}
	if len(others) == 0 {
		return ""
	}
	sort.Strings(others)
	return " (also set at " + strings.Join(others, ", ") + ")"
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

// boundHelp says in words what the schema's patterns want, keyed by the
// definition that holds the pattern; CUE would print the regular expression.
var boundHelp = map[string]string{
	"#ImageRef":      "an image reference such as docker.io/library/nginx:1.27 or localhost/app:local",
	"#Duration":      "a duration such as 30s, 1m30s or 500ms",
	"#BaseURL":       "a base URL without a path, such as http://127.0.0.1:8080",
	"#Size":          "a size in bytes with an optional Ki, Mi, Gi or Ti suffix, such as 128Mi",
	"#ContainerName": nameHelp,
	"#VolumeName":    nameHelp, // one text for equal patterns: map order must not matter
	"#SecretName":    nameHelp,
	"#EnvName":       envNameHelp,
	"#ID":            "an app id: lower-case letters, digits and dashes, starting with a letter",
	"#AbsPath":       "an absolute path",
	"#Capability":    "a capability such as NET_ADMIN or CAP_NET_ADMIN",
	"#Owner":         "a numeric owner UID:GID, such as 1000:1000",
	"#Mode":          "octal permissions such as 0750",
	"#RPCUser":       "a user name without : or white space",
}

const (
	nameHelp    = "a name: letters, digits, _ . and -, starting with a letter or digit"
	envNameHelp = "a variable name: letters, digits and _, not starting with a digit"
)

// messageRules turns CUE's messages into the user's terms.
type messageRules struct {
	bounds map[string]string // formatted pattern -> what it wants
	// kindAt is the kind the schema wants at an error's path, when the
	// errors are one app's; nil otherwise.
	kindAt func(sels []string) (cue.Kind, bool)
}

// wrongType renders "conflicting values A and B (mismatched types KA and
// KB)" as what the user gave and what the schema wants. CUE puts the two
// sides in the order it met them, which is not always the schema's first:
// the side whose kind the schema allows is the one wanted.
func (r messageRules) wrongType(sels []string, args []any) string {
	vals := [2]string{fmt.Sprint(args[0]), fmt.Sprint(args[1])}
	kinds := [2]string{fmt.Sprint(args[2]), fmt.Sprint(args[3])}
	got := 0
	if want, ok := r.kindFor(sels); ok {
		if kindNamed(kinds[0])&want == 0 && kindNamed(kinds[1])&want != 0 {
			got = 0
		} else if kindNamed(kinds[1])&want == 0 && kindNamed(kinds[0])&want != 0 {
			got = 1
		}
	} else if vals[0] == kinds[0] && vals[1] != kinds[1] {
		got = 1 // a bare type (int) against a value: the type is wanted
	}
	want := 1 - got
	if vals[got] == kinds[got] { // the user wrote a type, not a value
		return fmt.Sprintf("wrong type: got %s, want %s", article(kinds[got]), article(kinds[want]))
	}
	return fmt.Sprintf("wrong type: %s is %s, want %s", vals[got], article(kinds[got]), article(kinds[want]))
}

func (r messageRules) kindFor(sels []string) (cue.Kind, bool) {
	if r.kindAt == nil {
		return 0, false
	}
	return r.kindAt(sels)
}

// kindNamed reads a kind as CUE's messages print it ("int", "number",
// "int|string").
func kindNamed(s string) cue.Kind {
	names := map[string]cue.Kind{"null": cue.NullKind, "bool": cue.BoolKind, "int": cue.IntKind,
		"float": cue.FloatKind, "number": cue.NumberKind, "string": cue.StringKind, "bytes": cue.BytesKind,
		"list": cue.ListKind, "struct": cue.StructKind}
	var k cue.Kind
	for part := range strings.SplitSeq(s, "|") {
		k |= names[strings.TrimSpace(part)]
	}
	return k
}

func newMessageRules(sch cue.Value) messageRules {
	r := messageRules{bounds: map[string]string{}}
	for def, help := range boundHelp {
		if v := sch.LookupPath(cue.ParsePath(def)); v.Exists() {
			r.bounds[fmt.Sprint(v)] = help
			// A bound that fails names only its own part of a
			// definition such as =~"..." & time.Duration.
			if op, parts := v.Expr(); op == cue.AndOp {
				for _, part := range parts {
					r.bounds[fmt.Sprint(part)] = help
				}
			}
		}
	}
	return r
}

// messages renders the errors of one path.
func (r messageRules) messages(errs []cueerrors.Error, sels []string) []string {
	field := ""
	if len(sels) > 0 {
		field = sels[len(sels)-1]
	}
	parent := ""
	if len(sels) > 1 {
		parent = sels[len(sels)-2]
	}
	var msgs []string
	var conflicts [][2]string
	for _, e := range errs {
		format, args := e.Msg()
		switch {
		case strings.Contains(format, "errors in empty disjunction"):
			continue // a header; its parts follow as errors of their own
		case strings.HasPrefix(format, "invalid left-hand value") || strings.HasPrefix(format, "invalid right-hand value"):
			continue // a knock-on of an error reported on its own
		case len(sels) == 3 && field == "id" && format == "conflicting values %s and %s":
			msgs = append(msgs, fmt.Sprintf("id must equal the app's key %s", sels[1]))
		case len(sels) == 3 && field == "id":
			msgs = append(msgs, "invalid app id: use lower-case letters, digits and dashes, starting with a letter (at most 63)")
		case len(sels) == 3 && field == "container_name":
			msgs = append(msgs, "container_name is computed (extensions.container_name, else archy-<id> for a ui app, else the id): set extensions.container_name instead")
		case format == "conflicting values %s and %s" && len(args) == 2:
			conflicts = append(conflicts, [2]string{fmt.Sprint(args[0]), fmt.Sprint(args[1])})
		case format == "field not allowed" && isVarMap(parent):
			msgs = append(msgs, invalidVarName)
		case format == "field not allowed":
			msgs = append(msgs, "unknown field")
		case strings.HasPrefix(format, "incomplete value") || strings.HasPrefix(format, "non-concrete value"):
			msgs = append(msgs, r.missing(fmt.Sprint(args...)))
		case strings.HasPrefix(format, "unresolved disjunction") && len(args) > 0 && (field == "source" || field == "health_check"):
			msgs = append(msgs, fmt.Sprintf("missing type; want one of %v", args[0]))
		case strings.HasPrefix(format, "unresolved disjunction") && len(args) > 0:
			msgs = append(msgs, fmt.Sprintf("missing value; want one of %v", args[0]))
		case strings.Contains(format, "(out of bound") && len(args) == 2 && (fmt.Sprint(args[1]) == `!=""` || fmt.Sprint(args[0]) == `""`):
			msgs = append(msgs, "must not be empty")
		case strings.Contains(format, "(mismatched types") && len(args) == 4:
			msgs = append(msgs, r.wrongType(sels, args))
		case strings.Contains(format, "does not satisfy") && len(args) == 2 && fmt.Sprint(args[1]) == "time.Duration":
			// The pattern passed: only the range is left.
			msgs = append(msgs, fmt.Sprintf("duration %v out of range; want at most %s (about 292 years)", args[0], maxDuration))
		case strings.HasPrefix(format, "incompatible list lengths"):
			msgs = append(msgs, "want a list of at least one element")
		case strings.Contains(format, "(out of bound") && len(args) == 2 && r.bounds[fmt.Sprint(args[1])] != "":
			msgs = append(msgs, fmt.Sprintf("invalid value %v; want %s", args[0], r.bounds[fmt.Sprint(args[1])]))
		default:
			msgs = append(msgs, fmt.Sprintf(format, args...))
		}
	}
	// Conflicts next to a real message are the losing branches of a
	// disjunction (a default, an enum): noise.
	if len(conflicts) > 0 && len(msgs) == 0 {
		msgs = conflictMessages(conflicts)
	}
	return dedupe(msgs)
}

// maxDuration is the longest duration Go (and so archy) can hold, in
// whole hours: 2562047h.
var maxDuration = fmt.Sprintf("%dh", time.Duration(math.MaxInt64)/time.Hour)

// invalidVarName is the message for a bad key of environment or build_args.
const invalidVarName = "invalid variable name: use letters, digits and _, not starting with a digit"

func isVarMap(field string) bool { return field == "environment" || field == "build_args" }

// article puts "a" or "an" before a kind: "an int", "a struct".
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// missing names what a missing required field wants, when that is
// short enough to read.
func (r messageRules) missing(want string) string {
	if help, ok := r.bounds[want]; ok {
		return "missing required field; want " + help
	}
	if len(want) > 40 || strings.Contains(want, "=~") || strings.Contains(want, "!=") || strings.HasPrefix(want, "string") {
		return "missing required field"
	}
	return fmt.Sprintf("missing required field; want %s", want)
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
