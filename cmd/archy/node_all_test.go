package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
)

// stepLine is a line of progress or of the event stream, "APP: WHAT".
var stepLine = regexp.MustCompile(`^([a-z][a-z0-9-]*): (.*)$`)

// checkNodeOrder fails unless the apps the lines say were stopped (or
// started) come in an order the dependency graph of the script's apps
// ($ARCHY_APPS) allows: for stop, every app after every app that depends
// on it; for start, after every app it depends on. Every app but those
// in except must be there, and none of those. It prints the order found.
func checkNodeOrder(ts *testscript.TestScript, action string, lines []string, except []string) {
	var tags []string
	if t := ts.Getenv("ARCHY_TAGS"); t != "" {
		tags = strings.Split(t, ",")
	}
	cat, err := catalog.Load(ts.Getenv("ARCHY_APPS"), catalog.Options{Tags: tags})
	ts.Check(err)
	word := map[string]string{"stop": "stopped", "start": "started"}[action]
	at := map[string]int{}
	var order []string
	for _, l := range lines {
		m := stepLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || !strings.Contains(m[2], word) {
			continue
		}
		if _, seen := at[m[1]]; !seen {
			at[m[1]] = len(order)
			order = append(order, m[1])
		}
	}
	fmt.Fprintf(ts.Stdout(), "%s order: %s\n", action, strings.Join(order, ", "))
	for _, app := range cat.List() {
		i, ok := at[app.ID]
		if slices.Contains(except, app.ID) {
			if ok {
				ts.Fatalf("%s: %s %s: %s", action, app.ID, word, strings.Join(order, ", "))
			}
			continue
		}
		if !ok {
			ts.Fatalf("%s: no line says %s %s: %s", action, app.ID, word, strings.Join(lines, "\n"))
		}
		for _, d := range app.Dependencies {
			j, ok := at[d.AppID]
			if !ok {
				continue
			}
			if action == "stop" && j < i {
				ts.Fatalf("%s stopped before its dependent %s: %s", d.AppID, app.ID, strings.Join(order, ", "))
			}
			if action == "start" && j > i {
				ts.Fatalf("%s started before its dependency %s: %s", app.ID, d.AppID, strings.Join(order, ", "))
			}
		}
	}
}

// node-order stop|start FILE [EXCEPT...]: the progress lines in FILE
// (stdout of archy stop --all or start --all) respect the dependency
// graph; the apps EXCEPT are not there.
func cmdNodeOrder(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: node-order stop|start FILE [EXCEPT...]")
	}
	checkNodeOrder(ts, args[0], strings.Split(ts.ReadFile(args[1]), "\n"), args[2:])
}

// events-order stop|start WAIT [EXCEPT...]: subscribe to the daemon's event stream,
// run archy stop --all (or start --all), which must succeed, and check
// that the step events it published, in the order they came, respect the
// dependency graph (the apps EXCEPT have none). archy's output, the
// events and the order go to stdout.
func cmdEventsOrder(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || (args[0] != "stop" && args[0] != "start") {
		ts.Fatalf("usage: events-order stop|start WAIT [EXCEPT...]")
	}
	action := args[0]
	wait, err := time.ParseDuration(args[1])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	events, closeEvents := subscribe(ts, ctx)
	defer closeEvents()
	if err := ts.Exec("archy", action, "--all"); err != nil {
		ts.Fatalf("archy %s --all: %v\n%s%s", action, err, ts.ReadFile("stdout"), ts.ReadFile("stderr"))
	}
	out := ts.ReadFile("stdout")
	var lines []string
	for done := false; !done; {
		select {
		case e, ok := <-events:
			if !ok {
				ts.Fatalf("event stream ended before %s --all's last event", action)
			}
			switch {
			case e.App == "" && e.Message == action+" --all done":
				done = true
			case e.App == "" && e.Type == engine.EventFailure:
				ts.Fatalf("%s --all failed: %s", action, e.Message)
			case e.App != "" && e.Type == engine.EventStep:
				// "stop", "create, start": as the progress line says it.
				msg := strings.NewReplacer("stop", "stopped", "start", "started").Replace(e.Message)
				lines = append(lines, e.App+": "+msg)
			}
		case <-ctx.Done():
			ts.Fatalf("%s --all: its last event did not come within %s", action, wait)
		}
	}
	fmt.Fprint(ts.Stdout(), out)
	for _, l := range lines {
		fmt.Fprintf(ts.Stdout(), "event %s\n", l)
	}
	checkNodeOrder(ts, action, lines, args[2:])
}
