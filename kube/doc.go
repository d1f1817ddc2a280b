// Package kube maps a loaded catalogue onto Kubernetes objects: one
// Deployment per app, a Service for its ports, a PersistentVolumeClaim per
// named volume, probes from health checks, Secrets referenced by name. The
// objects are the real API types (k8s.io/api), so whatever reads the YAML
// (kubectl, Podman's kube play) decodes it into what was built here.
//
// It is pure: apps in, objects and warnings out, YAML on an io.Writer. It
// must not read files, talk to Podman or a cluster, or put a secret value
// anywhere. Whatever in an app has no Kubernetes equivalent is mapped to the
// nearest thing or reported as a Warning naming the app and the field,
// never dropped silently. docs/kube.md documents the mapping.
package kube
