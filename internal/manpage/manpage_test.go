package manpage

import (
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
)

type testCLI struct {
	Dir string `help:"Where -x lives." env:"T_DIR" placeholder:"DIR" default:"/tmp"`

	Run struct {
		App  string `arg:"" help:"The app."`
		Fast bool   `help:"Go fast."`
	} `cmd:"" help:"Run an app.\n\n.Not a macro, a \\ backslash."`
	Group struct {
		Sub struct{} `cmd:"" help:"A subcommand."`
	} `cmd:"" help:"A group."`
	Secret struct{} `cmd:"" hidden:"" help:"Hidden."`
}

func TestWrite(t *testing.T) {
	var cli testCLI
	k, err := kong.New(&cli, kong.Name("tool"), kong.Description("tool does things. More."))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p := Page{Section: 1, Source: "tool 1.0", Manual: "User Commands",
		Sections: []Section{{Title: "Exit status", Items: []Item{{Tag: "0", Text: "Fine."}}}}}
	if err := p.Write(&b, k.Model); err != nil {
		t.Fatal(err)
	}
	want := `.TH TOOL 1 "" "tool 1.0" "User Commands"
.nh
.ad l
.SH NAME
tool \- tool does things.
.SH SYNOPSIS
.B tool
[\fIflags\fR] \fIcommand\fR [\fIargs\fR]
.SH DESCRIPTION
tool does things. More.
.SH COMMANDS
.TP
.B
tool run <app>
Run an app.
.IP
\&.Not a macro, a \e backslash.
.RS
.TP
.B
\-\-fast
Go fast.
.RE
.TP
.B
tool group <command>
A group.
.TP
.B
tool group sub
A subcommand.
.SH GLOBAL FLAGS
Every command takes these.
.TP
.B
\-\-dir=DIR
Where \-x lives. Default: /tmp. Environment: T_DIR.
.SH ENVIRONMENT
.TP
.B
T_DIR
As \-\-dir.
.SH EXIT STATUS
.TP
.B
0
Fine.
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}
