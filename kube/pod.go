package kube

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"archy.dev/archy/schema"
)

// podSpec is the pod of one app: its container, volumes and, with a wait
// image, an init container per dependency to wait for.
func (x *exporter) podSpec(app *schema.App) corev1.PodSpec {
	c := corev1.Container{
		Name:            app.ID,
		Image:           x.image(app),
		ImagePullPolicy: pullPolicy(app.Container.Source),
		Command:         app.Entrypoint, // Kubernetes' command is the ENTRYPOINT,
		Args:            app.Command,    // its args the CMD
		Ports:           x.containerPorts(app),
		Env:             x.env(app),
		Resources:       x.resources(app),
		SecurityContext: x.securityContext(app),
	}
	spec := corev1.PodSpec{
		// archy's apps never talk to the Kubernetes API, and read no
		// variables about other Services (lnd would get LND_PORT=tcp://…).
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
	}
	switch app.Security.NetworkPolicy {
	case schema.NetworkHost:
		spec.HostNetwork = true
		// Still resolve Service names (the wait init containers do).
		spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	case schema.NetworkNone:
		x.warn(app, "security.network_policy", `"none" has no Kubernetes equivalent: the pod joins the cluster network`)
	}
	// App networks have no Kubernetes equivalent: pods reach each other
	// through Services, named by app id, on the declared ports. Say so
	// where the names or the reach differ.
	if len(app.Networks) > 0 {
		switch {
		case len(servicePorts(app)) == 0:
			x.warn(app, "networks", "no Kubernetes equivalent, and the app declares no port: other pods cannot reach it by name")
		case app.ContainerName != app.ID:
			x.warn(app, "networks", "no Kubernetes equivalent: other pods reach it as %s (its Service), not %s", app.ID, app.ContainerName)
		}
	}
	if !app.Stop.IsZero() {
		// What Podman's stop timeout is to archy: the time between the stop
		// signal and SIGKILL.
		spec.TerminationGracePeriodSeconds = ptr(int64(x.seconds(app, "stop.timeout", app.Stop.Timeout)))
		if app.Stop.SignalName() != schema.DefaultStopSignal {
			x.warn(app, "stop.signal", "%s has no Kubernetes equivalent: the pod is stopped with SIGTERM (or the image's STOPSIGNAL)", app.Stop.SignalName())
		}
	}
	c.VolumeMounts, spec.Volumes = x.volumes(app)
	c.ReadinessProbe, c.LivenessProbe, c.StartupProbe = x.probes(app)
	spec.InitContainers = x.waits(app)
	spec.InitContainers = append(spec.InitContainers, x.jobs(app, &spec)...)
	spec.Containers = []corev1.Container{c}
	x.extensions(app)
	return spec
}

// jobs are the app's "before" jobs as init containers, after the waits
// for dependencies: Kubernetes runs them at every start of the pod,
// whatever their when says (a warning). After-healthy jobs have no
// equivalent and are left out (a warning). A job's named volumes are the
// pod's claims; its host paths and file secrets are left out.
func (x *exporter) jobs(app *schema.App, spec *corev1.PodSpec) []corev1.Container {
	var out []corev1.Container
	for i, j := range app.Jobs {
		field := fmt.Sprintf("jobs[%d]", i)
		if j.Phase != schema.JobBefore {
			x.warn(app, field, "after-healthy job %s has no Kubernetes equivalent; left out: run it by hand once the pod is ready", j.Name)
			continue
		}
		if j.When != schema.JobEveryStart {
			x.warn(app, field+".when", "%q: the init container %s runs at every start of the pod; make it safe to repeat", j.When, "job-"+j.Name)
		}
		image := j.Image
		if j.SameAsApp {
			image = x.image(app)
		}
		shell := &schema.App{ID: app.ID, ContainerConfig: schema.ContainerConfig{Environment: j.Env}}
		for k, s := range j.Secrets {
			if s.Env != "" {
				shell.Secrets = append(shell.Secrets, s)
			} else {
				x.warn(app, fmt.Sprintf("%s.secrets[%d]", field, k), "a job's file secret is left out of its init container")
			}
		}
		c := corev1.Container{Name: "job-" + j.Name, Image: image, Command: j.Entrypoint, Args: j.Command,
			Env: x.env(shell), Resources: x.resources(app), SecurityContext: x.securityContext(app)}
		for k, v := range j.Volumes {
			if v.Name == "" {
				x.warn(app, fmt.Sprintf("%s.volumes[%d]", field, k), "a job's host path is left out of its init container")
				continue
			}
			if !x.checkName(app, fmt.Sprintf("%s.volumes[%d].name", field, k), v.Name, validation.IsDNS1123Label) {
				continue
			}
			if !slices.ContainsFunc(spec.Volumes, func(pv corev1.Volume) bool { return pv.Name == v.Name }) {
				x.claim(app, v)
				spec.Volumes = append(spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.Name}}})
			}
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: v.Target, ReadOnly: v.Readonly})
		}
		out = append(out, c)
	}
	return out
}

func (x *exporter) extensions(app *schema.App) {
	for _, k := range slices.Sorted(maps.Keys(app.Extensions)) {
		if k == "container_name" {
			continue // Podman's name for the container; the pod's is the id
		}
		x.warn(app, "extensions."+k, "has no Kubernetes equivalent; left out")
	}
}

// image is what the container runs: the pulled image, or the built tag,
// moved under the image registry when there is one.
func (x *exporter) image(app *schema.App) string {
	src := app.Container.Source
	if src.Type != schema.SourceBuild {
		if src.ImageSignature != "" {
			x.warn(app, "container.source.image_signature", "has no Kubernetes equivalent: verify signatures with the cluster's admission policy")
		}
		return src.Image
	}
	img := src.Tag
	if x.opts.ImageRegistry != "" {
		ref, err := RegistryRef(src.Tag, x.opts.ImageRegistry)
		if err != nil {
			x.errorf("%s: container.source.tag: %v", app.ID, err)
		}
		img = ref
	}
	x.out.Built = append(x.out.Built, BuiltImage{App: app.ID, Tag: src.Tag, Image: img})
	return img
}

// pullPolicy maps archy's pull policies; "newer" is Kubernetes' Always,
// which pulls only when the registry's digest differs. A built image is
// pulled only when the node lacks it.
func pullPolicy(src *schema.Source) corev1.PullPolicy {
	switch {
	case src.Type == schema.SourceBuild:
		return corev1.PullIfNotPresent
	case src.PullPolicy == "always" || src.PullPolicy == "newer":
		return corev1.PullAlways
	case src.PullPolicy == "never":
		return corev1.PullNever
	}
	return corev1.PullIfNotPresent
}

// containerPorts lists the ports published on the host, as hostPort. The
// others are left to the Service: container ports are informational in
// Kubernetes, and Podman 4.3's kube play publishes every listed port on
// the host (and refuses any with host networking).
func (x *exporter) containerPorts(app *schema.App) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, p := range app.PublishedPorts() {
		out = append(out, corev1.ContainerPort{
			ContainerPort: int32(p.Container), HostPort: int32(p.Host), HostIP: p.HostIP, Protocol: protocol(p.Protocol),
		})
	}
	return out
}

// env is the plain variables (sorted) and then the secrets given as
// variables, which refer to their Secret's key by name, never to a value.
func (x *exporter) env(app *schema.App) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(app.Environment)) {
		out = append(out, corev1.EnvVar{Name: k, Value: app.Environment[k]})
	}
	for i, s := range app.Secrets {
		if s.Env == "" {
			continue
		}
		x.secret(app, i, s)
		out = append(out, corev1.EnvVar{Name: s.Env, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: s.Name}, Key: s.Name},
		}})
	}
	return out
}

// secret records that the export refers to Secret s.Name.
func (x *exporter) secret(app *schema.App, i int, s schema.Secret) {
	if x.checkName(app, fmt.Sprintf("secrets[%d].name", i), s.Name, validation.IsDNS1123Subdomain) {
		if x.secrets == nil {
			x.secrets = map[string]bool{}
		}
		x.secrets[s.Name] = true
	}
}

// volumes mounts named volumes as claims, host paths as hostPath, tmpfs
// mounts as memory-backed emptyDirs and file secrets as one key of their
// Secret at the target path.
func (x *exporter) volumes(app *schema.App) ([]corev1.VolumeMount, []corev1.Volume) {
	var mounts []corev1.VolumeMount
	var vols []corev1.Volume
	for i, v := range app.Volumes {
		field := fmt.Sprintf("volumes[%d]", i)
		var src corev1.VolumeSource
		name := v.Name
		if v.HostPath != "" {
			name = fmt.Sprintf("host-%d", i)
			src.HostPath = &corev1.HostPathVolumeSource{Path: v.HostPath, Type: ptr(corev1.HostPathDirectory)}
		} else {
			if !x.checkName(app, field+".name", v.Name, validation.IsDNS1123Label) {
				continue
			}
			x.claim(app, v)
			src.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.Name, ReadOnly: v.Readonly}
		}
		vols = append(vols, corev1.Volume{Name: name, VolumeSource: src})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: v.Target, ReadOnly: v.Readonly})
	}
	for i, t := range app.Tmpfs {
		// A tmpfs is a memory-backed emptyDir: empty at every start.
		src := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
		if t.Size != "" {
			q, err := resource.ParseQuantity(t.Size)
			if err != nil {
				x.errorf("%s: tmpfs[%d].size %q: %v", app.ID, i, t.Size, err)
				continue
			}
			src.SizeLimit = &q
		}
		name := fmt.Sprintf("tmpfs-%d", i)
		vols = append(vols, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: t.Target})
	}
	for i, s := range app.Secrets {
		if s.Env != "" {
			continue
		}
		x.secret(app, i, s)
		target := s.Target
		if target == "" {
			target = path.Join("/run/secrets", s.Name)
		}
		name := "secret-" + s.Name
		if !x.checkName(app, fmt.Sprintf("secrets[%d].name", i), name, validation.IsDNS1123Label) {
			continue
		}
		if !slices.ContainsFunc(vols, func(v corev1.Volume) bool { return v.Name == name }) {
			vols = append(vols, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: s.Name, DefaultMode: ptr(int32(0o400)),
				// Kubernetes' default, said out loud: Podman 4.3 crashes
				// (nil pointer) on a secret volume without it.
				Optional: ptr(false),
			}}})
		}
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: target, SubPath: s.Name, ReadOnly: true})
	}
	return mounts, vols
}

// resources caps memory and CPU; the requests equal the limits, as the API
// server would default them anyway.
func (x *exporter) resources(app *schema.App) corev1.ResourceRequirements {
	list := corev1.ResourceList{}
	if m := app.Resources.MemoryLimit; m != "" {
		q, err := resource.ParseQuantity(m)
		if err != nil {
			x.errorf("%s: resources.memory_limit %q: %v", app.ID, m, err)
		} else {
			list[corev1.ResourceMemory] = q
		}
	}
	if c := app.Resources.CPUs; c > 0 {
		list[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Ceil(c*1000)), resource.DecimalSI)
	}
	if len(list) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Limits: list, Requests: list.DeepCopy()}
}

// securityContext sets only what the app asks for, so that the cluster's
// defaults (and Pod Security admission) apply to the rest.
func (x *exporter) securityContext(app *schema.App) *corev1.SecurityContext {
	sec := app.Security
	sc := &corev1.SecurityContext{}
	if sec.ReadonlyRoot {
		sc.ReadOnlyRootFilesystem = ptr(true)
	}
	if sec.Privileged {
		sc.Privileged = ptr(true)
	}
	for _, c := range sec.CapAdd {
		if sc.Capabilities == nil {
			sc.Capabilities = &corev1.Capabilities{}
		}
		sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(strings.TrimPrefix(c, "CAP_")))
	}
	if sec.User != "" {
		uid, gid, err := parseUser(sec.User)
		if err != nil {
			x.warn(app, "security.user", "%q: %v; the image's user runs", sec.User, err)
		} else {
			sc.RunAsUser = uid
			sc.RunAsGroup = gid
		}
	}
	if *sc == (corev1.SecurityContext{}) {
		return nil
	}
	return sc
}

// parseUser reads uid[:gid]; Kubernetes knows users by number only.
func parseUser(s string) (uid, gid *int64, err error) {
	u, g, hasGroup := strings.Cut(s, ":")
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil {
		return nil, nil, fmt.Errorf("not a numeric uid[:gid], and Kubernetes takes users by number only")
	}
	uid = &n
	if hasGroup {
		m, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("not a numeric uid[:gid], and Kubernetes takes groups by number only")
		}
		gid = &m
	}
	return uid, gid, nil
}

// probes turn the health check into a readiness probe (the Service sends
// traffic, and dependents stop waiting, once it passes) and a liveness
// probe (retries failures in a row restart the container). A start period
// becomes a startup probe that allows it before the other two begin.
func (x *exporter) probes(app *schema.App) (readiness, liveness, startup *corev1.Probe) {
	hc := app.HealthCheck
	if hc == nil {
		return nil, nil, nil
	}
	handler, ok := x.probeHandler(app, hc)
	if !ok {
		return nil, nil, nil
	}
	period := x.seconds(app, "health_check.interval", hc.Interval)
	timeout := x.seconds(app, "health_check.timeout", hc.Timeout)
	probe := func(failures int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: *handler.DeepCopy(), PeriodSeconds: period, TimeoutSeconds: timeout, FailureThreshold: failures}
	}
	readiness, liveness = probe(int32(hc.Retries)), probe(int32(hc.Retries))
	if hc.StartPeriod > 0 || hc.StartTimeout > 0 {
		// The startup probe allows the start period and a warm-up (which
		// Kubernetes cannot tell from a failure) before liveness counts.
		grace := int32(0)
		if hc.StartPeriod > 0 {
			grace += x.seconds(app, "health_check.start_period", hc.StartPeriod)
		}
		if hc.StartTimeout > 0 {
			grace += x.seconds(app, "health_check.start_timeout", hc.StartTimeout)
		}
		startup = probe(int32(hc.Retries) + (grace+period-1)/period)
	}
	return readiness, liveness, startup
}

// seconds rounds d up to whole seconds (at least 1), as probes count them.
func (x *exporter) seconds(app *schema.App, field string, d schema.Duration) int32 {
	dd := time.Duration(d)
	s := int32(math.Ceil(dd.Seconds()))
	if s < 1 {
		s = 1
	}
	if time.Duration(s)*time.Second != dd {
		x.warn(app, field, "%s rounded to %ds: probes count whole seconds", dd, s)
	}
	return s
}

func (x *exporter) probeHandler(app *schema.App, hc *schema.HealthCheck) (corev1.ProbeHandler, bool) {
	switch hc.Type {
	case schema.HealthExec:
		return corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: hc.Command}}, true
	case schema.HealthTCP:
		host, port := x.probeTarget(app, hc.Host, hc.Port)
		return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: host, Port: intOrPort(port)}}, true
	case schema.HealthHTTP:
		scheme, host, port, err := parseEndpoint(hc.Endpoint)
		if err != nil {
			x.errorf("%s: health_check.endpoint %q: %v", app.ID, hc.Endpoint, err)
			return corev1.ProbeHandler{}, false
		}
		host, port = x.probeTarget(app, host, port)
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: host, Port: intOrPort(port), Path: hc.Path, Scheme: scheme}}, true
	}
	x.warn(app, "health_check.type", "unknown type %q: no probes", hc.Type)
	return corev1.ProbeHandler{}, false
}

// probeTarget translates a check's address as seen from the host into the
// kubelet's. With host networking it is the same address (127.0.0.1 is
// the node's loopback, where such apps often listen). Otherwise the probe
// goes to the pod's own address, at the container port behind the
// published host port.
func (x *exporter) probeTarget(app *schema.App, host string, port int) (string, int) {
	if hostNetwork(app) {
		if host == "localhost" {
			host = "127.0.0.1"
		}
		return host, port
	}
	if !isLoopback(host) {
		x.warn(app, "health_check", "checks %s from the host; the probe checks the pod's own address instead", host)
	}
	for _, p := range app.Ports {
		if p.Host == port {
			return "", p.Container
		}
	}
	return "", port
}

// parseEndpoint splits a check's base URL; the port defaults to the
// scheme's.
func parseEndpoint(endpoint string) (scheme corev1.URIScheme, host string, port int, err error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", "", 0, err
	}
	scheme, port = corev1.URISchemeHTTP, 80
	if u.Scheme == "https" {
		scheme, port = corev1.URISchemeHTTPS, 443
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", "", 0, err
		}
	}
	return scheme, u.Hostname(), port, nil
}

// endpointPort is the port of a check's base URL, or 0.
func endpointPort(endpoint string) int {
	_, _, port, err := parseEndpoint(endpoint)
	if err != nil {
		return 0
	}
	return port
}

func intOrPort(p int) intstr.IntOrString { return intstr.FromInt32(int32(p)) }
