package view

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"archy.dev/archy/plan"
)

// Style says how to decorate human output.
type Style struct {
	Color bool
}

const (
	green  = "\033[32m"
	yellow = "\033[33m"
	red    = "\033[31m"
	cyan   = "\033[36m"
	bold   = "\033[1m"
	reset  = "\033[0m"
)

func (s Style) paint(color, text string) string {
	if !s.Color || color == "" {
		return text
	}
	return color + text + reset
}

// symbol is one mark per step, by its most telling action.
func symbol(st plan.Step) (string, string) {
	switch {
	case st.Blocked != "":
		return "!", red
	case st.Has(plan.Remove):
		return "-", red
	case st.Has(plan.Recreate):
		return "~", yellow
	case st.Has(plan.Create):
		return "+", green
	case st.Has(plan.Adopt):
		return "=", cyan
	case st.Has(plan.Stop):
		return "#", yellow
	case st.Has(plan.Start):
		return ">", green
	case len(st.Actions) > 0:
		return "*", cyan
	}
	return " ", ""
}

// summaryOrder is the order actions are counted in the summary line.
var summaryOrder = []struct {
	action plan.Action
	verb   string
}{
	{plan.Build, "to build"}, {plan.Pull, "to pull"}, {plan.Adopt, "to adopt"},
	{plan.Create, "to create"}, {plan.Recreate, "to recreate"}, {plan.Start, "to start"},
	{plan.Stop, "to stop"}, {plan.Remove, "to remove"},
}

// Summary is the one-line count: "Plan: 1 to build, 2 to create, …".
func Summary(p plan.Plan) string {
	counts := p.Count()
	var parts []string
	for _, s := range summaryOrder {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s.action], s.verb))
	}
	jobs := 0
	for _, st := range p.Steps {
		if len(st.Jobs) > 0 {
			jobs++
		}
	}
	if jobs > 0 { // only then, so that plans without jobs read as before
		parts = append(parts, fmt.Sprintf("%d with jobs to run", jobs))
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

// Plan renders a plan for people: one line per app that changes, with its
// actions and, indented below, the reasons and notes.
func Plan(w io.Writer, p plan.Plan, st Style) error {
	if !p.Busy() {
		_, err := fmt.Fprintln(w, "No changes. Every app matches its declaration.")
		notes(w, p, st)
		return err
	}
	fmt.Fprintln(w, "archy will make these changes (in dependency order):")
	fmt.Fprintln(w)
	// Pad by hand: colour codes would throw a tabwriter's widths off.
	width := 0
	for _, s := range p.Steps {
		width = max(width, len(s.App))
	}
	unchanged := 0
	for _, s := range p.Steps {
		if len(s.Actions) == 0 && s.Blocked == "" {
			if s.Level > 0 { // not an undeclared container
				unchanged++
			}
			continue
		}
		sym, color := symbol(s)
		what := joinActions(s.Actions)
		if s.Refresh && !s.Changes() {
			what += " (refresh)"
		}
		if s.Blocked != "" {
			what = "blocked"
		}
		fmt.Fprintf(w, "  %s %-*s  %s\n", st.paint(color, sym), width, s.App, st.paint(bold, what))
		for _, r := range detail(s) {
			fmt.Fprintf(w, "    %*s  %s\n", width, "", r)
		}
	}
	for _, n := range p.RemoveNetworks {
		fmt.Fprintf(w, "  %s network %s  %s\n", st.paint(red, "-"), n, st.paint(bold, "remove"))
		fmt.Fprintf(w, "    no declared app joins it and no container is attached\n")
	}
	fmt.Fprintln(w)
	if unchanged > 0 {
		fmt.Fprintf(w, "%d unchanged.\n", unchanged)
	}
	notes(w, p, st)
	_, err := fmt.Fprintln(w, Summary(p))
	return err
}

// notes prints the notes of steps that change nothing (adopted drift,
// undeclared containers), which matter even when nothing changes.
func notes(w io.Writer, p plan.Plan, st Style) {
	for _, s := range p.Steps {
		if len(s.Actions) == 0 && s.Blocked == "" && len(s.Notes) > 0 {
			who := s.App
			if s.Level == 0 { // an undeclared app: its container is what there is
				who = "container " + s.Container
			}
			fmt.Fprintf(w, "  note: %s: %s\n", who, strings.Join(append(slices.Clone(s.Reasons), s.Notes...), "; "))
		}
	}
}

func detail(s plan.Step) []string {
	var out []string
	if s.Blocked != "" {
		out = append(out, s.Blocked)
	}
	if len(s.Reasons) > 0 {
		out = append(out, strings.Join(s.Reasons, "; "))
	}
	for _, n := range s.Notes {
		out = append(out, "note: "+n)
	}
	return out
}

func joinActions(as []plan.Action) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = string(a)
	}
	return strings.Join(parts, ", ")
}

// SavePlanDocument saves a plan for apply --plan (plan --out).
func SavePlanDocument(path string, doc plan.Document) error {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving plan: %w", err)
	}
	return nil
}

// ReadPlanDocument reads a saved plan, refusing another format version.
func ReadPlanDocument(path string) (plan.Document, error) {
	var doc plan.Document
	b, err := os.ReadFile(path)
	if err != nil {
		return doc, fmt.Errorf("reading saved plan: %w", err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return doc, fmt.Errorf("reading saved plan %s: %w", path, err)
	}
	if doc.FormatVersion != plan.FormatVersion {
		return doc, fmt.Errorf("saved plan %s has format version %d; this archy reads %d", path, doc.FormatVersion, plan.FormatVersion)
	}
	return doc, nil
}

// PlanJSON writes the plan as indented JSON.
func PlanJSON(w io.Writer, p plan.Plan) error {
	return writeJSON(w, p.Document())
}
