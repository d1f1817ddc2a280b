package view

import (
	"fmt"
	"io"
	"strings"
)

// Vetted says the apps in dir passed archy vet, counting the warnings and
// notes printed above.
func Vetted(w io.Writer, dir string, apps, warnings, notes int) {
	fmt.Fprintf(w, "%s: %s ok", dir, Count(apps, "app"))
	var counts []string
	if warnings > 0 {
		counts = append(counts, Count(warnings, "warning"))
	}
	if notes > 0 {
		counts = append(counts, Count(notes, "note"))
	}
	if len(counts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(counts, ", "))
	}
	fmt.Fprintln(w)
}

// Count is n of a thing in words: "1 app", "2 apps".
func Count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
