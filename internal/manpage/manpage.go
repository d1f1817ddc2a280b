package manpage

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// Page is what the model does not say.
type Page struct {
	Section int    // 1 for commands
	Source  string // the footer's left, e.g. "archy v1.2.0"
	Manual  string // the header's centre, e.g. "User Commands"
	// Summary follows the name in NAME; Description is the DESCRIPTION
	// section. Both are the application's help when empty.
	Summary, Description string
	// Sections follow the generated ones (FILES, EXIT STATUS, SEE ALSO).
	Sections []Section
	// Environment adds variables no flag reads (NO_COLOR, say).
	Environment []Section
}

// Section is a titled part of the page: Body is plain text, paragraphs
// separated by blank lines; Items, if any, follow as a tagged list.
type Section struct {
	Title string
	Body  string
	Items []Item
}

// Item is one entry of a tagged list.
type Item struct{ Tag, Text string }

// Write renders app's model as a man page.
func (p Page) Write(w io.Writer, app *kong.Application) error {
	var b strings.Builder
	name := app.Name
	fmt.Fprintf(&b, ".TH %s %d \"\" %s %s\n", strings.ToUpper(name), p.Section, quote(p.Source), quote(p.Manual))
	b.WriteString(".nh\n.ad l\n") // flag names and paths read better unhyphenated, ragged
	b.WriteString(".SH NAME\n")
	summary := p.Summary
	if summary == "" {
		summary = firstSentence(app.Help)
	}
	fmt.Fprintf(&b, "%s \\- %s\n", escape(name), escape(summary))

	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n[\\fIflags\\fR] \\fIcommand\\fR [\\fIargs\\fR]\n", escape(name))
	b.WriteString(".SH DESCRIPTION\n")
	desc := p.Description
	if desc == "" {
		desc = app.Help + "\n\n" + app.Detail
	}
	paragraphs(&b, desc, false)

	b.WriteString(".SH COMMANDS\n")
	for _, n := range commands(app.Node) {
		fmt.Fprintf(&b, ".TP\n.B\n%s %s\n", escape(name), escape(strings.TrimSuffix(n.Summary(), " [flags]")))
		paragraphs(&b, n.Help+"\n\n"+n.Detail, true)
		if flags := visible(n.Flags); len(flags) > 0 {
			b.WriteString(".RS\n")
			for _, f := range flags {
				flag(&b, f)
			}
			b.WriteString(".RE\n")
		}
	}

	if flags := visible(app.Node.Flags); len(flags) > 0 {
		b.WriteString(".SH GLOBAL FLAGS\n")
		b.WriteString("Every command takes these.\n")
		for _, f := range flags {
			flag(&b, f)
		}
	}

	env := environment(app.Node)
	env = append(env, p.Environment...)
	if len(env) > 0 {
		b.WriteString(".SH ENVIRONMENT\n")
		for _, e := range env {
			fmt.Fprintf(&b, ".TP\n.B\n%s\n", escape(e.Title))
			paragraphs(&b, e.Body, true)
		}
	}

	for _, s := range p.Sections {
		fmt.Fprintf(&b, ".SH %s\n", escape(strings.ToUpper(s.Title)))
		if s.Body != "" {
			paragraphs(&b, s.Body, false)
		}
		for _, it := range s.Items {
			fmt.Fprintf(&b, ".TP\n.B\n%s\n", escape(it.Tag))
			paragraphs(&b, it.Text, true)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// commands are the visible commands below n, depth first, each before
// its subcommands.
func commands(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, c := range n.Children {
		if c.Hidden || c.Type != kong.CommandNode {
			continue
		}
		out = append(out, c)
		out = append(out, commands(c)...)
	}
	return out
}

// visible are the flags a reader can use: not hidden, not --help.
func visible(flags []*kong.Flag) []*kong.Flag {
	return slices.DeleteFunc(slices.Clone(flags), func(f *kong.Flag) bool {
		return f.Hidden || f.Name == "help"
	})
}

func flag(b *strings.Builder, f *kong.Flag) {
	fmt.Fprintf(b, ".TP\n.B\n%s\n", escape(f.String()))
	help := f.Help
	// A placeholder hides the default the flag's summary would show.
	if f.PlaceHolder != "" && f.HasDefault && f.Default != "" {
		help += " Default: " + f.Default + "."
	}
	if len(f.Envs) > 0 {
		help += " Environment: " + strings.Join(f.Envs, ", ") + "."
	}
	paragraphs(b, help, true)
}

// environment lists the variables flags read, in the order of the flags,
// each once.
func environment(root *kong.Node) []Section {
	var out []Section
	seen := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			for _, e := range f.Envs {
				if !f.Hidden && !seen[e] {
					seen[e] = true
					out = append(out, Section{Title: e, Body: "As --" + f.Name + "."})
				}
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(root)
	return out
}

// paragraphs writes text as roff paragraphs: blank lines separate them.
// Inside a tagged item (.TP) a new paragraph keeps the item's indent.
func paragraphs(b *strings.Builder, text string, inItem bool) {
	for i, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		switch {
		case i == 0:
		case inItem:
			b.WriteString(".IP\n")
		default:
			b.WriteString(".PP\n")
		}
		for _, line := range strings.Split(strings.TrimSpace(p), "\n") {
			b.WriteString(escape(line))
			b.WriteByte('\n')
		}
	}
}

// escape makes text safe in roff: backslashes and hyphens escaped, and a
// line that would start with a control character guarded.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quote makes a .TH argument.
func quote(s string) string {
	return `"` + strings.ReplaceAll(escape(s), `"`, `\(dq`) + `"`
}

func firstSentence(s string) string {
	s = strings.TrimSpace(strings.SplitN(s, "\n", 2)[0])
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
