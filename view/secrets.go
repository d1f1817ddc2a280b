package view

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// SecretsDocument is the JSON form of archy secrets (docs/json.md).
type SecretsDocument struct {
	FormatVersion int                      `json:"format_version"`
	Secrets       []engine.GeneratedSecret `json:"secrets"`
}

// Secrets renders the generated secrets as a table: never a value.
func Secrets(w io.Writer, secs []engine.GeneratedSecret) error {
	if len(secs) == 0 {
		_, err := fmt.Fprintln(w, "no generated secrets declared (secrets: <name>: generate: {...} beside apps)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGENERATOR\tCREATED\tCONSUMERS")
	for _, s := range secs {
		created := "not yet (made by the next apply that starts a consumer)"
		if s.Created != nil {
			created = s.Created.Local().Format("2006-01-02 15:04:05") // time.DateTime
		}
		consumers := strings.Join(s.Consumers, ", ")
		if consumers == "" {
			consumers = "-"
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s\n", s.Name, s.Type, s.Detail, created, consumers)
	}
	return tw.Flush()
}

// SecretsJSON writes the generated secrets as JSON.
func SecretsJSON(w io.Writer, secs []engine.GeneratedSecret) error {
	return writeJSON(w, SecretsDocument{FormatVersion: plan.FormatVersion, Secrets: secs})
}
