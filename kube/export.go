package kube

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"archy.dev/archy/graph"
	"archy.dev/archy/schema"
)

// Labels and annotations archy puts on what it exports.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelComponent = "app.kubernetes.io/component"
	LabelVersion   = "app.kubernetes.io/version"
	ManagedBy      = "archy"

	AnnotationDependsOn   = "archy.dev/depends-on"
	AnnotationDisplayName = "archy.dev/display-name"
	AnnotationDescription = "archy.dev/description"
	AnnotationUsedBy      = "archy.dev/used-by"
	AnnotationVersion     = "archy.dev/version" // when it cannot be a label
)

// DefaultVolumeSize is what a PersistentVolumeClaim requests when the
// operator names no size: the schema has none, a cluster needs one.
const DefaultVolumeSize = "1Gi"

// Options are the operator's choices for an export.
type Options struct {
	// Namespace, when set, goes into every object's metadata.
	Namespace string

	// ImageRegistry, when set, replaces the registry of every built image
	// (localhost/ui:local -> REG/ui:local); the images must be pushed there
	// (archy push).
	ImageRegistry string

	// WaitImage, when set, adds to each Deployment an init container per
	// dependency of condition "healthy" that waits until the dependency
	// accepts connections. The image needs sh and nc (busybox has both).
	WaitImage string

	// VolumeSizes are the storage requests of the claims by volume name;
	// others request DefaultVolumeSize, or VolumeSizes[""] when set.
	VolumeSizes map[string]string
}

// Warning is something of an app that has no exact Kubernetes equivalent.
type Warning struct {
	App   string
	Field string // the app's field, as in the CUE file: security.user
	Msg   string
}

func (w Warning) String() string { return fmt.Sprintf("%s: %s: %s", w.App, w.Field, w.Msg) }

// Export is the result of mapping a set of apps.
type Export struct {
	// Objects in the order they are written: the claims, then each app's
	// Service and Deployment in dependency order.
	Objects  []runtime.Object
	Warnings []Warning

	// Built lists the apps whose image is built locally, with the image
	// the Deployment names: it must reach the cluster's registry first.
	Built []BuiltImage

	// Secrets names the Secrets the Deployments refer to; each must hold
	// one key, the secret's own name.
	Secrets []string
}

// BuiltImage is a built app's image as the export names it.
type BuiltImage struct {
	App   string
	Tag   string // the tag archy builds
	Image string // what the Deployment runs (Tag under Options.ImageRegistry)
}

// Build maps apps onto Kubernetes objects. Every app a dependency names
// should be among apps; one that is not is assumed to run elsewhere in the
// namespace (its Service is waited for all the same). Names Kubernetes
// would refuse are errors naming the app and field, all reported at once.
func Build(apps []*schema.App, opts Options) (*Export, error) {
	x := &exporter{opts: opts, apps: map[string]*schema.App{}, claims: map[string]*corev1.PersistentVolumeClaim{}}
	for _, a := range apps {
		x.apps[a.ID] = a
	}
	if opts.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(opts.Namespace) {
			x.errorf("--namespace %q is not a valid namespace: %s", opts.Namespace, msg)
		}
	}
	if err := x.checkVolumeSizes(); err != nil {
		return nil, err
	}
	levels, err := graph.Levels(graph.DependencyGraph(apps))
	if err != nil {
		return nil, err
	}
	var workloads []runtime.Object
	for _, level := range levels {
		for _, id := range level {
			workloads = append(workloads, x.app(x.apps[id])...)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(x.claims)) {
		x.out.Objects = append(x.out.Objects, x.claims[name])
	}
	x.out.Objects = append(x.out.Objects, workloads...)
	for _, o := range x.out.Objects {
		x.validateMeta(o)
	}
	x.out.Secrets = slices.Sorted(maps.Keys(x.secrets))
	if len(x.errs) > 0 {
		return nil, errors.Join(x.errs...)
	}
	return &x.out, nil
}

type exporter struct {
	opts    Options
	apps    map[string]*schema.App
	claims  map[string]*corev1.PersistentVolumeClaim
	secrets map[string]bool
	out     Export
	errs    []error
}

func (x *exporter) warn(app *schema.App, field, format string, args ...any) {
	x.out.Warnings = append(x.out.Warnings, Warning{App: app.ID, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (x *exporter) errorf(format string, args ...any) {
	x.errs = append(x.errs, fmt.Errorf(format, args...))
}

// checkName records an error for each reason Kubernetes would refuse name
// (by check, one of validation's Is* functions) as the app's field.
func (x *exporter) checkName(app *schema.App, field, name string, check func(string) []string) bool {
	msgs := check(name)
	for _, msg := range msgs {
		x.errorf("%s: %s %q cannot be a Kubernetes name: %s", app.ID, field, name, msg)
	}
	return len(msgs) == 0
}

func (x *exporter) checkVolumeSizes() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(x.opts.VolumeSizes)) {
		if _, err := resource.ParseQuantity(x.opts.VolumeSizes[name]); err != nil {
			errs = append(errs, fmt.Errorf("volume size %q of %s: %w", x.opts.VolumeSizes[name], orDefault(name), err))
		}
	}
	return errors.Join(errs...)
}

func orDefault(name string) string {
	if name == "" {
		return "the default"
	}
	return "volume " + name
}

// meta is the metadata of an object of app: its labels, the namespace.
func (x *exporter) meta(app *schema.App, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: x.opts.Namespace, Labels: x.labels(app)}
}

func (x *exporter) labels(app *schema.App) map[string]string {
	l := map[string]string{LabelName: app.ID, LabelManagedBy: ManagedBy, LabelComponent: app.Role}
	if len(validation.IsValidLabelValue(app.Version)) == 0 {
		l[LabelVersion] = app.Version
	}
	return l
}

// selector picks an app's pods; it is immutable in a Deployment, so it
// holds the one label that never changes.
func selector(app *schema.App) map[string]string { return map[string]string{LabelName: app.ID} }

// app returns the app's Service (when it has ports) and Deployment, and
// records its claims.
func (x *exporter) app(app *schema.App) []runtime.Object {
	x.checkName(app, "id", app.ID, validation.IsDNS1035Label)
	if len(validation.IsValidLabelValue(app.Version)) > 0 {
		x.warn(app, "version", "%q is not a valid label value; kept as annotation %s only", app.Version, AnnotationVersion)
	}
	for i, d := range app.Dependencies {
		if _, ok := x.apps[d.AppID]; !ok {
			x.warn(app, fmt.Sprintf("dependencies[%d]", i), "%s is not in this export: it must run elsewhere in the namespace", d.AppID)
		}
		if d.OnDependencyRestart == "restart" {
			x.warn(app, fmt.Sprintf("dependencies[%d].on_dependency_restart", i),
				`"restart" has no Kubernetes equivalent: %s's pod is not restarted when %s's is`, app.ID, d.AppID)
		}
	}
	if app.Upgrade.SnapshotVolumes {
		x.warn(app, "upgrade.snapshot_volumes", "has no Kubernetes equivalent: a failed rollout does not restore the volumes")
	}
	var objs []runtime.Object
	if svc := x.service(app); svc != nil {
		objs = append(objs, svc)
	}
	return append(objs, x.deployment(app))
}

func (x *exporter) deployment(app *schema.App) *appsv1.Deployment {
	pod := x.podSpec(app)
	annotations := map[string]string{AnnotationDisplayName: app.Name}
	if len(validation.IsValidLabelValue(app.Version)) > 0 {
		annotations[AnnotationVersion] = app.Version
	}
	if app.Description != "" {
		annotations[AnnotationDescription] = app.Description
	}
	if deps := dependsOn(app); deps != "" {
		annotations[AnnotationDependsOn] = deps
	}
	m := x.meta(app, app.ID)
	m.Annotations = annotations
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: m,
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			// One container per app, as on the node: the old pod goes
			// before the new one starts (volumes, host ports).
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			// archy's upgrade.health_timeout: a rollout not ready by then is
			// reported failed (Kubernetes does not roll back by itself).
			ProgressDeadlineSeconds: progressDeadline(app),
			Selector:                &metav1.LabelSelector{MatchLabels: selector(app)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: x.labels(app)},
				Spec:       pod,
			},
		},
	}
}

// progressDeadline is upgrade.health_timeout in whole seconds (nil when
// unset: Kubernetes' default).
func progressDeadline(app *schema.App) *int32 {
	t := time.Duration(app.Upgrade.HealthTimeout)
	if t <= 0 {
		return nil
	}
	return ptr(int32((t + time.Second - 1) / time.Second))
}

// dependsOn is the depends-on annotation: id=condition, comma-separated.
func dependsOn(app *schema.App) string {
	var parts []string
	for _, d := range app.Dependencies {
		parts = append(parts, d.AppID+"="+d.Condition)
	}
	return strings.Join(parts, ",")
}

// service exposes the app's ports inside the cluster under the app's id,
// or returns nil when no port is reachable from another pod.
func (x *exporter) service(app *schema.App) *corev1.Service {
	ports := servicePorts(app)
	if len(ports) == 0 {
		return nil
	}
	var sp []corev1.ServicePort
	for _, p := range ports {
		name := portName(p)
		x.checkName(app, "ports", name, validation.IsValidPortName)
		sp = append(sp, corev1.ServicePort{
			Name: name, Port: int32(p.Container), TargetPort: intOrPort(p.Container), Protocol: protocol(p.Protocol),
		})
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: x.meta(app, app.ID),
		Spec:       corev1.ServiceSpec{Selector: selector(app), Ports: sp},
	}
}

// servicePorts are the ports another pod can reach: all of a pod with its
// own network (host_ip only limits publishing on the host), and those of a
// host-network app not bound to loopback (those are the node's business).
func servicePorts(app *schema.App) []schema.Port {
	var out []schema.Port
	seen := map[string]bool{}
	for _, p := range app.Ports {
		if hostNetwork(app) && isLoopback(p.HostIP) {
			continue
		}
		if k := portName(p); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

func portName(p schema.Port) string { return fmt.Sprintf("%s-%d", p.Protocol, p.Container) }

func protocol(p string) corev1.Protocol {
	if p == "udp" {
		return corev1.ProtocolUDP
	}
	return corev1.ProtocolTCP
}

func hostNetwork(app *schema.App) bool { return app.Security.NetworkPolicy == schema.NetworkHost }

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// claim records the PersistentVolumeClaim of a named volume, once however
// many apps mount it: the first app in dependency order owns its labels,
// and every user is listed in an annotation.
func (x *exporter) claim(app *schema.App, v schema.Volume) {
	if c, ok := x.claims[v.Name]; ok {
		if users := strings.Split(c.Annotations[AnnotationUsedBy], ","); !slices.Contains(users, app.ID) {
			c.Annotations[AnnotationUsedBy] += "," + app.ID
		}
		return
	}
	size, ok := x.opts.VolumeSizes[v.Name]
	if !ok {
		size, ok = x.opts.VolumeSizes[""]
	}
	if !ok {
		size = DefaultVolumeSize
	}
	m := x.meta(app, v.Name)
	m.Annotations = map[string]string{AnnotationUsedBy: app.ID}
	x.claims[v.Name] = &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: m,
		Spec: corev1.PersistentVolumeClaimSpec{
			// Once per node: apps sharing a volume on the node share it
			// here when they land on one node (docs/kube.md).
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			},
		},
	}
}

// validateMeta checks an object's metadata as the API server would (name,
// labels, annotations).
func (x *exporter) validateMeta(o runtime.Object) {
	acc, ok := o.(metav1.Object)
	if !ok {
		return
	}
	kind := o.GetObjectKind().GroupVersionKind().Kind
	for _, e := range apivalidation.ValidateObjectMetaAccessor(acc, x.opts.Namespace != "", apivalidation.NameIsDNSSubdomain, nil) {
		x.errorf("%s %s: %s", kind, acc.GetName(), e.Error())
	}
}

func ptr[T any](v T) *T { return &v }
