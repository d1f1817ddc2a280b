package schema

import (
	"embed"
	"io/fs"
)

//go:embed *.cue
var files embed.FS

// FS returns the CUE schema files, the same ones `cue vet` sees in this
// directory, so Go and CUE never drift apart.
func FS() fs.FS { return files }
