package view

import (
	"fmt"
	"io"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// ImagePruneDocument is the JSON form of archy prune --images
// (docs/json.md).
type ImagePruneDocument struct {
	FormatVersion int                  `json:"format_version"`
	Removed       []engine.PrunedImage `json:"removed"`
	Failed        []PruneFailure       `json:"failed,omitempty"`
	BytesFreed    int64                `json:"bytes_freed"`
}

// PruneFailure is an image whose removal failed, and why.
type PruneFailure struct {
	engine.PrunedImage
	Error string `json:"error"`
}

// ImagePruneJSON writes a prune of images as JSON.
func ImagePruneJSON(w io.Writer, p engine.ImagePrune) error {
	doc := ImagePruneDocument{FormatVersion: plan.FormatVersion, Removed: p.Removed, BytesFreed: p.Freed}
	if doc.Removed == nil {
		doc.Removed = []engine.PrunedImage{}
	}
	for _, f := range p.Failed {
		doc.Failed = append(doc.Failed, PruneFailure{PrunedImage: f, Error: f.Err.Error()})
	}
	return writeJSON(w, doc)
}

// ImagePrune renders a prune of images: one line per image, then the
// space freed.
func ImagePrune(w io.Writer, p engine.ImagePrune) error {
	for _, img := range p.Removed {
		fmt.Fprintf(w, "removed image %s (%s)\n", imageName(img), Bytes(img.Size))
	}
	for _, img := range p.Failed {
		fmt.Fprintf(w, "kept image %s: %v\n", imageName(img), img.Err)
	}
	_, err := fmt.Fprintf(w, "%s removed, %s freed (%d bytes)\n", Count(len(p.Removed), "image"), Bytes(p.Freed), p.Freed)
	return err
}

// imageName is an image's first reference, or its short id.
func imageName(img engine.PrunedImage) string {
	id := img.ID
	if len(id) > 12 {
		id = id[:12]
	}
	if len(img.Tags) > 0 {
		return img.Tags[0] + " " + id
	}
	return id
}

// Bytes is n in binary units: 0 B, 512 B, 1.5 KiB, 3.2 MiB, …
func Bytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	for f /= 1024; f >= 1024 && unit < len(units)-1; f /= 1024 {
		unit++
	}
	return fmt.Sprintf("%.1f %s", f, units[unit])
}
