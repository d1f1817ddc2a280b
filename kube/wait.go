package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"archy.dev/archy/schema"
)

// waits are the init containers that hold an app back until each
// dependency of condition "healthy" accepts connections: through its
// Service, whose endpoints are its ready pods (so readiness is health), or
// on the node's loopback when both apps share the host's network (which is
// how such an app reaches its dependency anyway). "started" has no such
// wait: the dependency's pod starts alongside.
func (x *exporter) waits(app *schema.App) []corev1.Container {
	if x.opts.WaitImage == "" {
		return nil
	}
	var out []corev1.Container
	for i, d := range app.Dependencies {
		if d.Condition != "healthy" {
			continue
		}
		field := fmt.Sprintf("dependencies[%d]", i)
		dep, ok := x.apps[d.AppID]
		if !ok {
			continue // warned: not in this export
		}
		host, port, ok := waitTarget(app, dep)
		if !ok {
			x.warn(app, field, "%s has no port another pod can reach: no init container waits for it", d.AppID)
			continue
		}
		name := "wait-for-" + d.AppID
		if !x.checkName(app, field+".app_id", name, validation.IsDNS1123Label) {
			continue
		}
		out = append(out, corev1.Container{
			Name:    name,
			Image:   x.opts.WaitImage,
			Command: []string{"sh", "-c", WaitScript(d.AppID, host, port)},
		})
	}
	return out
}

// WaitScript waits until host:port accepts a TCP connection. nc -e exits
// at once after connecting (plain nc would wait for the peer to close),
// and busybox's smallest nc has it, unlike -z.
func WaitScript(dep, host string, port int) string {
	return fmt.Sprintf("until nc -w 2 %[2]s %[3]d -e true 2>/dev/null; do echo 'waiting for %[1]s (%[2]s:%[3]d)'; sleep 2; done", dep, host, port)
}

// waitTarget is where app waits for dep: the port of dep's health check
// (what archy's "healthy" means) or else its first reachable port.
func waitTarget(app, dep *schema.App) (host string, port int, ok bool) {
	if hostNetwork(app) && hostNetwork(dep) {
		if p := healthPort(dep); p != 0 {
			return "127.0.0.1", p, true
		}
		if len(dep.Ports) > 0 {
			return "127.0.0.1", dep.Ports[0].Container, true
		}
		return "", 0, false
	}
	ports := servicePorts(dep)
	if len(ports) == 0 {
		return "", 0, false
	}
	want := healthPort(dep)
	if !hostNetwork(dep) {
		// dep's check names a published host port; the Service has
		// the container port behind it.
		for _, p := range dep.Ports {
			if p.Host != 0 && p.Host == want {
				want = p.Container
			}
		}
	}
	for _, p := range ports {
		if p.Container == want && p.Protocol == "tcp" {
			return dep.ID, p.Container, true
		}
	}
	return dep.ID, ports[0].Container, true
}

// healthPort is the port an app's tcp or http check connects to, or 0.
func healthPort(app *schema.App) int {
	hc := app.HealthCheck
	switch {
	case hc == nil:
		return 0
	case hc.Type == schema.HealthTCP:
		return hc.Port
	case hc.Type == schema.HealthHTTP:
		return endpointPort(hc.Endpoint)
	}
	return 0
}
