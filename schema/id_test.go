package schema

import (
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"bitcoin-core":          true,
		"lnd":                   true,
		"a1-b2":                 true,
		"":                      false,
		"Bitcoin":               false,
		"-core":                 false,
		"core-":                 false,
		"a--b":                  false,
		"1abc":                  false,
		"a/b":                   false,
		"../etc":                false,
		strings.Repeat("a", 63): true,
		strings.Repeat("a", 64): false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %t, want %t", id, got, want)
		}
	}
}
