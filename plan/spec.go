package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/distribution/reference"

	"archy.dev/archy/schema"
)

// containerSpec is the image and configuration of an app's container,
// without secret values (only secret names and where they go). Its JSON is
// canonical (struct order, sorted map keys), so equal specs hash equal.
type containerSpec struct {
	Image string `json:"image"`
	schema.ContainerConfig
}

// SpecJSON is the normalised, secret-free spec of an app's container, as
// archy records it in the archy.spec label.
func SpecJSON(app *schema.App) string {
	s := containerSpec{Image: NormalizeRef(app.Container.Source.ImageRef()), ContainerConfig: app.ContainerConfig}
	if slices.ContainsFunc(s.Volumes, func(v schema.Volume) bool { return v.MinFree != "" || v.Owner != "" || v.Mode != "" }) {
		// min_free is the daemon's to watch, owner and mode shape the
		// volume's first creation: none shapes the container.
		s.Volumes = slices.Clone(s.Volumes)
		for i := range s.Volumes {
			s.Volumes[i].MinFree, s.Volumes[i].Owner, s.Volumes[i].Mode = "", "", ""
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("encoding spec of %s: %v", app.ID, err)) // plain data: cannot fail
	}
	return string(b)
}

// AppFromSpec is app as the archy.spec label of one of its containers
// describes it (its image as a local reference): to make an earlier
// generation again. SpecJSON of the result is spec.
func AppFromSpec(app *schema.App, spec string) (*schema.App, error) {
	var s containerSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return nil, fmt.Errorf("reading the spec of an earlier %s: %w", app.ID, err)
	}
	out := *app
	out.Container.Source = &schema.Source{Type: schema.SourcePull, Image: s.Image, PullPolicy: "never"}
	out.ContainerConfig = s.ContainerConfig
	return &out, nil
}

// SpecHash hashes SpecJSON: the archy.spec-hash label.
func SpecHash(app *schema.App) string {
	return hash(SpecJSON(app))
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// specChanges names the fields that differ between two spec JSONs:
// "environment.FOO changed", "ports[0].host changed". Unreadable input
// (a container made by an older archy) is reported as "spec changed".
func specChanges(old, cur string) []string {
	a, errA := flatten(old)
	b, errB := flatten(cur)
	if errA != nil || errB != nil {
		return []string{"spec changed"}
	}
	var out []string
	for k, v := range b {
		if ov, ok := a[k]; !ok {
			out = append(out, k+" added")
		} else if ov != v {
			out = append(out, k+" changed")
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k+" removed")
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"spec changed"}
	}
	return out
}

// flatten turns a JSON document into path -> scalar JSON text.
func flatten(doc string) (map[string]string, error) {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(join(prefix, k), x)
			}
		case []any:
			if len(v) == 0 {
				out[prefix] = "[]"
			}
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", prefix, i), x)
			}
		default:
			b, _ := json.Marshal(v)
			out[prefix] = string(b)
		}
	}
	walk("", v)
	return out, nil
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// NormalizeRef writes an image reference the way Podman lists it:
// docker.io/library/nginx:latest for nginx, with the default tag (none
// added beside a digest). A reference that does not parse (vet refuses
// those) is returned as it is.
func NormalizeRef(ref string) string {
	if n, ok := normalized.Load(ref); ok {
		return n.(string)
	}
	n := ref
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		n = reference.TagNameOnly(named).String()
	}
	normalized.Store(ref, n)
	return n
}

// normalized caches NormalizeRef: the parser's regular expressions cost
// more than the rest of a plan, and a node has few distinct references.
var normalized sync.Map // ref -> normalised ref
