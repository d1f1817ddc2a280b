package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// idRegexp is the schema's #ID, read from the embedded app.cue itself, so
// that what the API accepts as an app id can never drift from what the
// schema allows.
var idRegexp = regexp.MustCompile(cuePattern("ID"))

// ValidID reports whether id can name an app (#ID: the pattern and at most
// 63 characters).
func ValidID(id string) bool {
	return utf8.RuneCountInString(id) <= 63 && idRegexp.MatchString(id)
}

// cuePattern returns the regular expression of the definition #name,
// written in app.cue as `#name: =~"…"`.
func cuePattern(name string) string {
	src, err := files.ReadFile("app.cue")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	m := regexp.MustCompile(`(?m)^#` + name + `:\s*=~("(?:[^"\\]|\\.)*")`).FindSubmatch(src)
	if m == nil {
		panic(fmt.Sprintf("schema: app.cue has no #%s: =~\"…\"", name))
	}
	p, err := strconv.Unquote(string(m[1]))
	if err != nil {
		panic(fmt.Sprintf("schema: #%s: %v", name, err))
	}
	return p
}
