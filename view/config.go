package view

import (
	"bytes"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"archy.dev/archy/catalog"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// ConfigDocument is archy config's output, in JSON or YAML (docs/json.md):
// the apps as archy evaluated them, every default filled in, and the
// generated secrets' declarations. It holds no secret value: the schema
// has no field for one (apps name secrets; values live in Podman and the
// secrets file, which are not read here).
type ConfigDocument struct {
	FormatVersion int                         `json:"format_version"`
	Apps          map[string]ConfigApp        `json:"apps"`
	Secrets       map[string]schema.SecretGen `json:"secrets"`
}

// ConfigApp is an app of archy config: the app, with its stop settings
// spelt out even when they are the defaults (the app's own JSON leaves
// those out, to keep the spec hash of older containers).
type ConfigApp struct {
	schema.App
	Stop ConfigStop `json:"stop"`
}

// ConfigStop is how the app's container is stopped.
type ConfigStop struct {
	Signal  string          `json:"signal"`
	Timeout schema.Duration `json:"timeout"`
}

// NewConfigDocument makes the document of a loaded catalogue. Each app is
// shown normalised, as archy acts on it: the legacy image shorthand only
// as the pull source it means, build contexts as the absolute directories
// they resolve to.
func NewConfigDocument(cat *catalog.Catalog) ConfigDocument {
	doc := ConfigDocument{
		FormatVersion: plan.FormatVersion,
		Apps:          map[string]ConfigApp{},
		Secrets:       map[string]schema.SecretGen{},
	}
	for id, app := range cat.Apps {
		a := *app
		a.Container = schema.Container{Source: app.Container.Source}
		if src := app.Container.Source; src != nil && src.ContextDir != "" {
			s := *src
			s.Context = s.ContextDir
			a.Container.Source = &s
		}
		if a.Dependencies == nil {
			a.Dependencies = []schema.Dependency{}
		}
		if a.Extensions == nil {
			a.Extensions = map[string]any{}
		}
		doc.Apps[id] = ConfigApp{App: a, Stop: ConfigStop{
			Signal:  a.Stop.SignalName(),
			Timeout: schema.Duration(a.Stop.TimeoutOrDefault()),
		}}
	}
	for name, g := range cat.Secrets {
		doc.Secrets[name] = *g
	}
	return doc
}

// ConfigJSON writes the document as JSON.
func ConfigJSON(w io.Writer, doc ConfigDocument) error {
	return writeJSON(w, doc)
}

// ConfigYAML writes the document as YAML: the JSON document's fields and
// values, in the same order (format_version, then the apps; each app's
// fields as in JSON), in block style.
func ConfigYAML(w io.Writer, doc ConfigDocument) error {
	var b bytes.Buffer
	if err := writeJSON(&b, doc); err != nil {
		return err
	}
	// JSON is YAML: decoded into a node, the order of fields is kept.
	var n yaml.Node
	if err := yaml.Unmarshal(b.Bytes(), &n); err != nil {
		return fmt.Errorf("writing the config as YAML: %w", err)
	}
	blockStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return fmt.Errorf("writing the config as YAML: %w", err)
	}
	return enc.Close()
}

// blockStyle drops the JSON styles (quoted strings, flow collections),
// leaving the encoder to quote only what needs it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
