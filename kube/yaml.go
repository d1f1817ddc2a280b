package kube

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes the objects as one YAML stream, a document each, after
// a comment saying what must exist before they are applied.
func (e *Export) WriteYAML(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# Made by archy export kube; the mapping is in archy's docs/kube.md.\n")
	if len(e.Secrets) > 0 {
		b.WriteString("# Secrets to create first, each holding one key named like the Secret\n")
		b.WriteString("# (values are never exported): " + strings.Join(e.Secrets, ", ") + "\n")
	}
	if len(e.Built) > 0 {
		b.WriteString("# Images archy builds, to push first (archy push --image-registry REG APP...,\n")
		b.WriteString("# then export with the same --image-registry):\n")
		for _, bi := range e.Built {
			b.WriteString("#   " + bi.App + ": " + bi.Image + "\n")
		}
	}
	for _, o := range e.Objects {
		doc, err := marshal(o)
		if err != nil {
			return fmt.Errorf("writing %s: %w", o.GetObjectKind().GroupVersionKind().Kind, err)
		}
		b.WriteString("---\n")
		b.Write(doc)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Decode reads a YAML stream of the kinds archy exports, strictly: a field
// the Kubernetes type lacks, or a duplicate one, is an error.
func Decode(r io.Reader) ([]runtime.Object, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []runtime.Object
	for n := 1; ; n++ {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		var tm struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if tm.Kind == "" && len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue // only comments
		}
		var obj runtime.Object
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "v1 PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		default:
			return nil, fmt.Errorf("document %d: unexpected kind %q (apiVersion %q)", n, tm.Kind, tm.APIVersion)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", n, tm.Kind, err)
		}
		out = append(out, obj)
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// marshal writes an object without its status, which only a cluster
// fills in.
func marshal(o runtime.Object) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	return yaml.Marshal(m)
}
