package catalog

import (
	"strings"
	"testing"

	"archy.dev/archy/schema"
)

func TestSelect(t *testing.T) {
	apps := map[string]*schema.App{
		"core": {ID: "core"},
		"ln":   {ID: "ln", Dependencies: []schema.Dependency{{AppID: "core"}}},
		"ui":   {ID: "ui", Dependencies: []schema.Dependency{{AppID: "ln"}}},
		"misc": {ID: "misc"},
	}
	ids := func(only []string, without bool) string {
		got, err := (&Catalog{Apps: apps}).Select(only, !without)
		if err != nil {
			return err.Error()
		}
		var s []string
		for _, a := range got {
			s = append(s, a.ID)
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		only    []string
		without bool
		want    string
	}{
		{nil, false, "core ln misc ui"},
		{[]string{"ui"}, false, "core ln ui"},
		{[]string{"ui"}, true, "ui"},
		{[]string{"ui", "misc"}, true, "misc ui"},
		{[]string{"uii"}, false, `no app "uii" (the apps are: core, ln, misc, ui)`},
	} {
		if got := ids(tc.only, tc.without); got != tc.want {
			t.Errorf("Select(%v, %t) = %s, want %s", tc.only, tc.without, got, tc.want)
		}
	}
}
