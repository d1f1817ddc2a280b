package main

import (
	"reflect"
	"testing"

	"github.com/alecthomas/kong"

	"archy.dev/archy/engine"
)

// TestVerbTags checks that every command VerbCmd (or NodeVerbCmd) runs names, by its verb
// tag, a verb of the engine's table that takes no option.
func TestVerbTags(t *testing.T) {
	var cli CLI
	parser, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, cmd := range parser.Model.Children {
		if t := cmd.Target.Type(); t != reflect.TypeFor[VerbCmd]() && t != reflect.TypeFor[NodeVerbCmd]() {
			continue
		}
		n++
		kctx, err := parser.Parse([]string{cmd.Name, "some-app"})
		if err != nil {
			t.Fatalf("%s: %v", cmd.Name, err)
		}
		name := kctx.Selected().Tag.Get("verb")
		v, ok := engine.VerbNamed(engine.Action(name))
		if !ok || v.Option != "" {
			t.Errorf("archy %s: verb tag %q names no verb without options in engine.Verbs", cmd.Name, name)
		}
	}
	if n == 0 {
		t.Fatal("no command runs VerbCmd")
	}
}
