package shellcomp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFlagValues(t *testing.T) {
	for _, tc := range []struct {
		line  string
		long  string
		short rune
		want  []string
	}{
		{"archy restart ", "apps", 0, nil},
		{"archy --apps x restart ", "apps", 0, []string{"x"}},
		{"archy restart --apps=y ", "apps", 0, []string{"y"}},
		{"archy --apps x --apps=y restart", "apps", 0, []string{"x", "y"}},
		{"archy restart --apps", "apps", 0, nil}, // no value yet
		{"archy --apps-dir x vet", "apps", 0, nil},
		{"archy vet -- --apps x", "apps", 0, nil},
		{"archy -t a=1 -tb=2 -t=c=3 --tag d=4 vet", "tag", 't', []string{"a=1", "b=2", "c=3", "d=4"}},
	} {
		got := FlagValues(strings.Fields(tc.line), tc.long, tc.short)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("FlagValues(%q) (-want +got):\n%s", tc.line, diff)
		}
	}
}

func TestScript(t *testing.T) {
	for _, shell := range Shells {
		s, err := Script(shell, "archy")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s, "NAME") {
			t.Errorf("%s script keeps a NAME placeholder:\n%s", shell, s)
		}
	}
	if _, err := Script("tcsh", "archy"); err == nil {
		t.Error("Script(tcsh): no error")
	}
}
