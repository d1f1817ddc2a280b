package view

import (
	"fmt"
	"io"
)

// Vetted says the apps in dir passed archy vet, counting the warnings
// printed above.
func Vetted(w io.Writer, dir string, apps, warnings int) {
	fmt.Fprintf(w, "%s: %s ok", dir, Count(apps, "app"))
	if warnings > 0 {
		fmt.Fprintf(w, " (%s)", Count(warnings, "warning"))
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
