package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"

	"archy.dev/archy/schema"
)

// Options are the operator's choices that checks depend on.
type Options struct {
	// ContextRoots are the directories build contexts must stay inside once
	// symlinks are resolved. Default: the parent of the apps directory (the
	// catalogue root, holding apps/ and docker/).
	ContextRoots []string

	// DataDir is archy's data dir. No host-path volume may expose it,
	// except its HostVolumesDir subdirectory, which is a host-path root.
	DataDir string

	// OwnPaths are archy's files outside the data dir, which no host-path
	// volume may expose either (the secrets file, the sockets).
	OwnPaths []OwnPath

	// HostPathRoots are the directories host-path volumes must be under.
	HostPathRoots []string

	// AllowPrivileged lists the app ids the operator lets run privileged
	// or with a capability that amounts to root on the host.
	AllowPrivileged []string

	// Tags set values of fields marked @tag(name) in the app files,
	// "name=value" as with cue -t (ports of a test node, say).
	Tags []string

	// Overlay replaces or adds files (absolute path -> content) in place of
	// the disk; tests and the fuzzer use it.
	Overlay map[string][]byte
}

// Catalog is a loaded, checked set of apps.
type Catalog struct {
	Dir  string
	Apps map[string]*schema.App
	// Secrets are the generated secrets declared beside apps, by name.
	Secrets  map[string]*schema.SecretGen
	Warnings Diagnostics
	// Notes are advice only vet prints (an env-injected secret, say).
	Notes Diagnostics

	opts Options // as loaded: Refusals checks with them
}

// IDs returns the app ids in sorted order.
func (c *Catalog) IDs() []string {
	ids := make([]string, 0, len(c.Apps))
	for id := range c.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// List returns the apps in id order.
func (c *Catalog) List() []*schema.App {
	apps := make([]*schema.App, 0, len(c.Apps))
	for _, id := range c.IDs() {
		apps = append(apps, c.Apps[id])
	}
	return apps
}

// Load reads every .cue file of package apps in dir, unifies the apps with
// the embedded schema, decodes them and runs the checks that need more than
// one app or the file system. On failure the error is Diagnostics holding
// every problem found; warnings are returned in both cases.
func Load(dir string, opts Options) (*Catalog, error) {
	l, err := newLoader(dir, opts)
	if err != nil {
		return nil, err
	}
	return l.load()
}

type loader struct {
	dir       string // absolute
	display   string // dir as the user wrote it, for messages
	firstFile string // for problems that have no position of their own
	rules     messageRules
	appSchema cue.Value // #App, for finding unknown fields
	opts      Options
	tags      map[string][]tagDecl // the @tag attributes, when -t is given
	cwd       string
	diags     Diagnostics
	seen      map[Diagnostic]bool // diags as a set: a load records each once
}

func newLoader(dir string, opts Options) (*loader, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("apps directory %s: %w", dir, err)
	}
	cwd, _ := os.Getwd()
	if len(opts.ContextRoots) == 0 {
		opts.ContextRoots = []string{filepath.Dir(abs)}
	}
	// Roots given relative are relative to the working directory.
	if opts.ContextRoots, err = absAll(opts.ContextRoots); err != nil {
		return nil, err
	}
	if opts.HostPathRoots, err = absAll(opts.HostPathRoots); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	opts.OwnPaths = slices.Clone(opts.OwnPaths) // the caller's stays as given
	for i, p := range opts.OwnPaths {
		if p.Path != "" {
			if opts.OwnPaths[i].Path, err = filepath.Abs(p.Path); err != nil {
				return nil, fmt.Errorf("%s: %w", p.What, err)
			}
		}
	}
	return &loader{dir: abs, display: dir, opts: opts, cwd: cwd}, nil
}

func absAll(dirs []string) ([]string, error) {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		a, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		out[i] = a
	}
	return out, nil
}

func (l *loader) load() (*Catalog, error) {
	files, err := l.cueFiles()
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, Diagnostics{{Pos: schema.Pos{File: l.display}, Msg: "no .cue files in the apps directory"}}
	}

	sort.Strings(files)
	l.firstFile = l.rel(files[0])
	if !l.checkPackageClauses(files) {
		return nil, l.diags
	}
	if len(l.opts.Tags) > 0 {
		l.tags = l.tagDecls(files)
		if !l.checkTags(l.tags) {
			return nil, l.diags
		}
	}
	cfg, err := l.loadConfig()
	if err != nil {
		return nil, err
	}
	insts := load.Instances([]string{"."}, cfg)
	inst := insts[0]
	if inst.Err != nil {
		l.addLoadErrors(inst.Err)
		return nil, l.diags
	}
	positions := collectPositions(inst.Files, l.rel)

	ctx := cuecontext.New()
	sch, err := buildSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("embedded schema: %w", err)
	}
	l.rules = newMessageRules(sch)
	l.appSchema = sch.LookupPath(cue.ParsePath("#App"))
	v := ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		// An error inside one app (reachable when the files bind the schema
		// themselves) is reported with all the others when each app is
		// validated below; only give up when there is nothing to walk.
		if !v.LookupPath(cue.ParsePath("apps")).Exists() {
			l.addCUE(err, positions)
			return nil, l.diags
		}
		l.addCUE(outsideApps(err), positions)
	}
	l.checkTopLevel(v, positions)

	apps := v.LookupPath(cue.ParsePath("apps"))
	if !apps.Exists() {
		l.add(positions.first(), "", "", "no apps declared: write each app as apps: <id>: {...}")
		return nil, l.diags
	}
	// Before apps meet #Apps: a catalogue that embeds apps at the top
	// would otherwise grow the apps' own secrets lists there.
	secrets := l.decodeSecrets(v, sch, positions)
	v = v.FillPath(cue.ParsePath("apps"), sch.LookupPath(cue.ParsePath("#Apps")))
	apps = v.LookupPath(cue.ParsePath("apps"))

	cat := &Catalog{Dir: l.dir, Apps: map[string]*schema.App{}, Secrets: secrets, opts: l.opts}
	known := map[string]bool{}
	iter, err := apps.Fields()
	if err != nil {
		l.addCUE(err, positions)
		return nil, l.diags
	}
	for iter.Next() {
		id := iter.Selector().Unquoted()
		known[id] = true
		if app := l.decodeApp(id, iter.Value(), positions); app != nil {
			cat.Apps[id] = app
		}
	}
	l.check(cat, known)

	cat.Warnings = l.diags.Warnings()
	cat.Notes = l.diags.Notes().Sorted()
	if errs := l.diags.Errors(); len(errs) > 0 {
		return cat, l.diags.filter(SeverityError, SeverityWarning).Sorted()
	}
	return cat, nil
}

// cueFiles lists the .cue files directly in the apps directory.
func (l *loader) cueFiles() ([]string, error) {
	var names []string
	for name := range l.opts.Overlay {
		if filepath.Dir(name) == l.dir && strings.HasSuffix(name, ".cue") {
			names = append(names, name)
		}
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil && !(os.IsNotExist(err) && len(names) > 0) {
		return nil, Diagnostics{{Pos: schema.Pos{File: l.display}, Msg: fmt.Sprintf("reading apps directory: %v", unwrapPathErr(err))}}
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".cue") {
			names = append(names, filepath.Join(l.dir, e.Name()))
		}
	}
	// CUE skips files whose names start with _ or .; say so rather than
	// let an app vanish without a word.
	kept := names[:0]
	for _, name := range names {
		if base := filepath.Base(name); strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
			l.warn(schema.Pos{File: l.rel(name), Line: 1, Col: 1}, "", "", "file ignored: CUE skips files whose names begin with _ or .")
			continue
		}
		kept = append(kept, name)
	}
	return kept, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkPackageClauses requires every file to be package apps, before CUE
// would silently skip or reject a file with a confusing message.
func (l *loader) checkPackageClauses(files []string) bool {
	ok := true
	for _, name := range files {
		var src any
		if b, found := l.opts.Overlay[name]; found {
			src = b
		}
		if pos, b, bad := l.invalidUTF8(name); bad {
			// CUE takes such bytes into strings as they are.
			l.add(pos, "", "", fmt.Sprintf("invalid UTF-8 (byte %#x): app files must be UTF-8 text", b))
			ok = false
			continue
		}
		f, err := parser.ParseFile(name, src, parser.PackageClauseOnly)
		if err != nil {
			l.addCUE(err, posIndex{files: []string{l.rel(name)}})
			ok = false
			continue
		}
		switch pkg := f.PackageName(); pkg {
		case "apps":
		case "":
			l.add(schema.Pos{File: l.rel(name), Line: 1, Col: 1}, "", "", "missing package clause: app files begin with `package apps`")
			ok = false
		default:
			pos := schema.Pos{File: l.rel(name)}
			for _, d := range f.Decls {
				if p, isPkg := d.(*ast.Package); isPkg {
					pos = toPos(p.Name.Pos(), l.rel)
				}
			}
			l.add(pos, "", "", fmt.Sprintf("package %s: app files must be package apps", pkg))
			ok = false
		}
	}
	return ok
}

// invalidUTF8 finds the first byte of a file that is not UTF-8 text.
// A file it cannot read is left to the parser to report.
func (l *loader) invalidUTF8(name string) (schema.Pos, byte, bool) {
	b, found := l.opts.Overlay[name]
	if !found {
		var err error
		if b, err = os.ReadFile(name); err != nil {
			return schema.Pos{}, 0, false
		}
	}
	if utf8.Valid(b) {
		return schema.Pos{}, 0, false
	}
	line, col := 1, 1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return schema.Pos{File: l.rel(name), Line: line, Col: col}, b[0], true
		}
		col += size // CUE counts columns in bytes
		if r == '\n' {
			line, col = line+1, 1
		}
		b = b[size:]
	}
	return schema.Pos{}, 0, false
}

// loadConfig makes app files load wherever they live. Inside a CUE module
// (this repository) imports resolve as usual. Elsewhere the apps directory
// becomes a virtual archy.dev/archy module holding the embedded schema, so
// that `import "archy.dev/archy/schema"` works without any setup.
func (l *loader) loadConfig() (*load.Config, error) {
	cfg := &load.Config{Dir: l.dir, Tags: l.opts.Tags, Overlay: map[string]load.Source{}}
	for name, src := range l.opts.Overlay {
		cfg.Overlay[name] = load.FromBytes(src)
	}
	if root := findModuleRoot(l.dir, l.opts.Overlay); root != "" {
		return cfg, nil
	}
	cfg.ModuleRoot = l.dir
	cfg.Overlay[filepath.Join(l.dir, "cue.mod", "module.cue")] = load.FromString(
		"module: \"archy.dev/archy@v0\"\nlanguage: version: \"v0.17.0\"\n")
	err := fs.WalkDir(schema.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.FS(), path)
		if err != nil {
			return err
		}
		cfg.Overlay[filepath.Join(l.dir, "schema", path)] = load.FromBytes(b)
		return nil
	})
	return cfg, err
}

func findModuleRoot(dir string, overlay map[string][]byte) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, ok := overlay[filepath.Join(d, "cue.mod", "module.cue")]; ok {
			return d
		}
		if fi, err := os.Stat(filepath.Join(d, "cue.mod")); err == nil && fi.IsDir() {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// buildSchema evaluates the embedded schema package in ctx.
func buildSchema(ctx *cue.Context) (cue.Value, error) {
	insts := load.Instances([]string{"."}, &load.Config{
		FS:         schema.FS(),
		FromFSPath: func(p string) string { return "schema/" + strings.TrimPrefix(p, "/") },
	})
	if err := insts[0].Err; err != nil {
		return cue.Value{}, err
	}
	v := ctx.BuildInstance(insts[0])
	return v, v.Err()
}

// outsideApps keeps the errors that do not belong to one app.
func outsideApps(err error) error {
	var out cueerrors.Error
	for _, e := range cueerrors.Errors(err) {
		if p := e.Path(); len(p) < 2 || p[0] != "apps" {
			out = cueerrors.Append(out, e)
		}
	}
	if out == nil {
		return nil
	}
	return out
}

// checkTopLevel rejects regular top-level fields other than apps: they
// are almost always a misspelt apps.
func (l *loader) checkTopLevel(v cue.Value, positions posIndex) {
	iter, err := v.Fields()
	if err != nil {
		return
	}
	for iter.Next() {
		name := iter.Selector().String()
		if name != "apps" && name != "secrets" {
			l.add(positions.at([]string{name}), "", "", fmt.Sprintf("unknown top-level field %s%s: apps are declared under apps: <id>: {...}, generated secrets under secrets: <name>: generate: {...}", name, suggest(name, map[string]bool{"apps": true, "secrets": true})))
		}
	}
}

// secretName is #SecretName.
var secretName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// decodeSecrets validates the generated secrets (secrets: <name>:
// generate: {...}) against #Secrets and decodes them; bad ones are
// recorded and left out.
func (l *loader) decodeSecrets(v, sch cue.Value, positions posIndex) map[string]*schema.SecretGen {
	out := map[string]*schema.SecretGen{}
	if !v.LookupPath(cue.ParsePath("secrets")).Exists() {
		return out
	}
	v = v.FillPath(cue.ParsePath("secrets"), sch.LookupPath(cue.ParsePath("#Secrets")))
	iter, err := v.LookupPath(cue.ParsePath("secrets")).Fields()
	if err != nil {
		l.addCUE(err, positions)
		return out
	}
	genSchema := sch.LookupPath(cue.ParsePath("#GeneratedSecret"))
	for iter.Next() {
		name := iter.Selector().Unquoted()
		sv := iter.Value()
		if !secretName.MatchString(name) { // else CUE blames its fields
			l.add(positions.at([]string{"secrets", name}), "", pathString([]string{"secrets", name}), "invalid secret name; want "+nameHelp)
			continue
		}
		if err := sv.Validate(cue.Concrete(true)); err != nil {
			prefix := pathString([]string{"secrets", name}) + "."
			for _, d := range l.fromCUE(err, positions) {
				if rel, ok := strings.CutPrefix(d.Path, prefix); ok && d.Msg == "unknown field" {
					d.Msg += suggestField(genSchema, sv, rel)
				}
				l.addDiag(d)
			}
			continue
		}
		var decl struct {
			Generate schema.SecretGen `json:"generate"`
		}
		if err := sv.Decode(&decl); err != nil {
			l.addCUE(err, positions)
			continue
		}
		g := decl.Generate
		g.Name = name
		g.Pos = positions.at([]string{"secrets", name})
		out[name] = &g
	}
	// An rpcauth generator also makes <name>-rpcauth, a tls one
	// <name>-cert: no other generated secret may have that name.
	for _, g := range out {
		for _, n := range g.SecretNames()[1:] {
			if other, ok := out[n]; ok {
				what := "rpcauth line"
				if g.Type == schema.GenTLS {
					what = "certificate"
				}
				l.add(other.Pos, "", "secrets."+n, fmt.Sprintf("name taken by the %s of secret %s (%s)", what, g.Name, g.Pos))
			}
		}
	}
	return out
}

// decodeApp validates one app against the schema and decodes it. It
// returns nil when the app has errors (already recorded).
func (l *loader) decodeApp(id string, v cue.Value, positions posIndex) *schema.App {
	if err := v.Validate(cue.Concrete(true)); err != nil {
		bad := l.unknownFields(id, v, positions)
		rules := l.rules
		rules.kindAt = func(sels []string) (cue.Kind, bool) { return l.schemaKind(v, sels) }
		for _, d := range fromCUE(cueerrors.Errors(err), positions, l.rel, rules) {
			if d.App != id || !underAnyField(d.Path, bad) {
				l.addDiag(d)
			}
		}
		return nil
	}
	var app schema.App
	if err := v.Decode(&app); err != nil {
		// The schema should have caught it; Decode's errors name no
		// field, so at least name the app.
		l.add(positions.at([]string{"apps", id}), id, "", err.Error())
		return nil
	}
	app.Pos = positions.at([]string{"apps", id})
	app.SetPositions(positions.under([]string{"apps", id}))
	return &app
}

// schemaKind is the kind #App wants at an error's path (apps.<id>...)
// inside app, the user's value of it.
func (l *loader) schemaKind(app cue.Value, sels []string) (cue.Kind, bool) {
	if len(sels) < 3 || sels[0] != "apps" {
		return 0, false
	}
	var path []cue.Selector
	for _, s := range sels[2:] {
		if i, err := strconv.Atoi(s); err == nil {
			path = append(path, cue.Index(i))
			continue
		}
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
		path = append(path, cue.Str(s))
	}
	v := schemaAt(l.appSchema, app, path)
	if !v.Exists() {
		return 0, false
	}
	return v.IncompleteKind(), true
}

// rel turns an absolute file name into the form shown to the user:
// relative to the working directory when inside it.
func (l *loader) rel(name string) string {
	if l.cwd != "" && filepath.IsAbs(name) {
		if r, err := filepath.Rel(l.cwd, name); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return name
}

// add records an error. A problem CUE cannot place (a field produced by an
// embedding, say) is pinned to the apps directory's first file.
func (l *loader) add(pos schema.Pos, app, path, msg string) {
	l.addDiag(Diagnostic{Pos: pos, App: app, Path: path, Msg: msg})
}

// warn records a warning.
func (l *loader) warn(pos schema.Pos, app, path, msg string) {
	l.addDiag(Diagnostic{Pos: pos, App: app, Path: path, Msg: msg, Severity: SeverityWarning})
}

// note records a note.
func (l *loader) note(pos schema.Pos, app, path, msg string) {
	l.addDiag(Diagnostic{Pos: pos, App: app, Path: path, Msg: msg, Severity: SeverityNote})
}

// inlinePos matches the "file.cue:LINE:COL: " CUE puts inside the text of
// a wrapped load error.
var inlinePos = regexp.MustCompile(`\S+\.cue:\d+:\d+: `)

// addLoadErrors records errors of loading (syntax, imports): they carry
// a position but no field path, and their causes only in their text.
func (l *loader) addLoadErrors(err error) {
	for _, e := range cueerrors.Errors(err) {
		msg := inlinePos.ReplaceAllString(e.Error(), "")
		if len(e.Path()) > 0 { // the module or package that failed, not a field
			msg = strings.TrimPrefix(msg, strings.Join(e.Path(), ".")+": ")
		}
		if d, ok := l.tagError(msg, l.tags); ok {
			l.addDiag(d)
			continue
		}
		l.add(toPos(e.Position(), l.rel), "", "", msg)
	}
}

// addCUE records every error in a CUE error list, pointing each at the
// user's own source.
func (l *loader) addCUE(err error, positions posIndex) {
	if err == nil {
		return
	}
	for _, d := range l.fromCUE(err, positions) {
		l.addDiag(d)
	}
}

func (l *loader) fromCUE(err error, positions posIndex) Diagnostics {
	return fromCUE(cueerrors.Errors(err), positions, l.rel, l.rules)
}

// addDiag records a diagnostic once, pinned to a file if CUE could not
// place it.
func (l *loader) addDiag(d Diagnostic) {
	if !d.Pos.IsValid() {
		d.Pos = schema.Pos{File: l.firstFile, Line: 1, Col: 1}
	}
	if l.seen == nil {
		l.seen = map[Diagnostic]bool{}
	}
	if !l.seen[d] {
		l.seen[d] = true
		l.diags = append(l.diags, d)
	}
}
