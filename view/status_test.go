package view

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
)

// The status document is the API's GET /v1/status: format_version, and
// an empty list rather than null when there are no apps.
func TestStatusJSON(t *testing.T) {
	var b bytes.Buffer
	if err := StatusJSON(&b, engine.NodeStatus{}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "format_version": 1,
  "apps": []
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("status JSON (-want +got):\n%s", diff)
	}
}
