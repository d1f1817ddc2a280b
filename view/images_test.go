package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"archy.dev/archy/engine"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB", 2 << 40: "2.0 TiB", 3 << 50: "3072.0 TiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestImagePruneViews(t *testing.T) {
	p := engine.ImagePrune{
		Removed: []engine.PrunedImage{{ID: "0123456789abcdef", Tags: []string{"localhost/ui:local"}, Size: 2048}, {ID: "fedcba9876543210", Size: 1024}},
		Failed:  []engine.PrunedImage{{ID: "aa", Err: errors.New("in use")}},
		Freed:   3072,
	}
	var b bytes.Buffer
	if err := ImagePrune(&b, p); err != nil {
		t.Fatal(err)
	}
	want := "removed image localhost/ui:local 0123456789ab (2.0 KiB)\nremoved image fedcba987654 (1.0 KiB)\nkept image aa: in use\n2 images removed, 3.0 KiB freed (3072 bytes)\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := ImagePruneJSON(&b, engine.ImagePrune{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["format_version"] != float64(1) || doc["bytes_freed"] != float64(0) || doc["removed"] == nil {
		t.Errorf("empty prune document: %s", b.String())
	}
}
