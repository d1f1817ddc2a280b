package kube

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"archy.dev/archy/schema"
)

// app is a minimal valid app; mods change it.
func app(id string, mods ...func(*schema.App)) *schema.App {
	a := &schema.App{
		ID: id, Name: id, Version: "1.0", Role: "service", ContainerName: id,
		Container:       schema.Container{Source: &schema.Source{Type: "pull", Image: "docker.io/example/" + id + ":1", PullPolicy: "missing"}},
		ContainerConfig: schema.ContainerConfig{Security: schema.Security{NetworkPolicy: "bridge"}},
	}
	for _, m := range mods {
		m(a)
	}
	return a
}

func deployment(t *testing.T, x *Export, id string) *appsv1.Deployment {
	t.Helper()
	for _, o := range x.Objects {
		if d, ok := o.(*appsv1.Deployment); ok && d.Name == id {
			return d
		}
	}
	t.Fatalf("no Deployment %s", id)
	return nil
}

func TestRegistryRef(t *testing.T) {
	for _, tc := range []struct{ tag, registry, want, err string }{
		{"localhost/bitcoin-ui:local", "registry.lan:5000", "registry.lan:5000/bitcoin-ui:local", ""},
		{"localhost/bitcoin-ui:local", "registry.lan:5000/node/", "registry.lan:5000/node/bitcoin-ui:local", ""},
		{"localhost/archy/ui", "127.0.0.1:5000", "127.0.0.1:5000/archy/ui", ""},
		{"ui:local", "reg.lan", "reg.lan/ui:local", ""},
		{"quay.io/me/ui:2", "reg.lan", "reg.lan/me/ui:2", ""},
		{"localhost/ui:local", "Not A Registry", "", "is no image name"},
	} {
		got, err := RegistryRef(tc.tag, tc.registry)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("RegistryRef(%q, %q): error %v, want one containing %q", tc.tag, tc.registry, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("RegistryRef(%q, %q) = %q, %v; want %q", tc.tag, tc.registry, got, err, tc.want)
		}
	}
}

// TestRefusedNames: what Kubernetes would refuse is an error naming the
// app and the field, every one at once.
func TestRefusedNames(t *testing.T) {
	apps := []*schema.App{
		app("node", func(a *schema.App) {
			a.Volumes = []schema.Volume{{Name: "Node_Data", Target: "/data"}}
			a.Secrets = []schema.Secret{{Name: "RPC_PASSWORD", Env: "PW"}}
		}),
	}
	_, err := Build(apps, Options{Namespace: "My NS", VolumeSizes: map[string]string{"": "lots"}})
	if err == nil || !strings.Contains(err.Error(), `volume size "lots" of the default`) {
		t.Fatalf("bad volume size: %v", err)
	}
	_, err = Build(apps, Options{Namespace: "My NS"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`--namespace "My NS" is not a valid namespace`,
		`node: volumes[0].name "Node_Data" cannot be a Kubernetes name`,
		`node: secrets[0].name "RPC_PASSWORD" cannot be a Kubernetes name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestWarnings: what has no Kubernetes equivalent is said, per app and
// field, never dropped silently.
func TestWarnings(t *testing.T) {
	apps := []*schema.App{
		app("core", func(a *schema.App) {
			a.Security.User = "bitcoin"
			a.Security.NetworkPolicy = "none"
			a.Container.Source.ImageSignature = "sigstore"
			a.Extensions = map[string]any{"container_name": "core", "umbrel": map[string]any{}}
			a.HealthCheck = &schema.HealthCheck{Type: "exec", Command: []string{"true"},
				Interval: schema.Duration(1500 * time.Millisecond), Timeout: schema.Duration(time.Second), Retries: 3}
		}),
		app("ui", func(a *schema.App) {
			a.Dependencies = []schema.Dependency{{AppID: "core", Condition: "healthy", OnDependencyRestart: "restart"}, {AppID: "gone", Condition: "healthy"}}
		}),
	}
	x, err := Build(apps, Options{WaitImage: "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range x.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		`core: container.source.image_signature: has no Kubernetes equivalent: verify signatures with the cluster's admission policy`,
		`core: security.user: "bitcoin": not a numeric uid[:gid], and Kubernetes takes users by number only; the image's user runs`,
		`core: security.network_policy: "none" has no Kubernetes equivalent: the pod joins the cluster network`,
		`core: health_check.interval: 1.5s rounded to 2s: probes count whole seconds`,
		`core: extensions.umbrel: has no Kubernetes equivalent; left out`,
		`ui: dependencies[0].on_dependency_restart: "restart" has no Kubernetes equivalent: ui's pod is not restarted when core's is`,
		`ui: dependencies[1]: gone is not in this export: it must run elsewhere in the namespace`,
		`ui: dependencies[0]: core has no port another pod can reach: no init container waits for it`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestProbesAndPorts(t *testing.T) {
	check := func(typ string, mods ...func(*schema.HealthCheck)) func(*schema.App) {
		return func(a *schema.App) {
			a.HealthCheck = &schema.HealthCheck{Type: typ, Interval: schema.Duration(10 * time.Second),
				Timeout: schema.Duration(time.Second), Retries: 3, StartPeriod: schema.Duration(time.Minute)}
			for _, m := range mods {
				m(a.HealthCheck)
			}
		}
	}
	bridge := app("web", check("http", func(h *schema.HealthCheck) { h.Endpoint = "https://127.0.0.1:8443"; h.Path = "/ok" }),
		func(a *schema.App) {
			a.Ports = []schema.Port{{Container: 443, Host: 8443, HostIP: "127.0.0.1", Protocol: "tcp"}, {Container: 9000, Protocol: "udp"}}
		})
	host := app("db", check("tcp", func(h *schema.HealthCheck) { h.Host = "localhost"; h.Port = 5432 }),
		func(a *schema.App) {
			a.Security.NetworkPolicy = "host"
			a.Ports = []schema.Port{{Container: 5432, HostIP: "127.0.0.1", Protocol: "tcp"}}
		})
	x, err := Build([]*schema.App{bridge, host}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	web := deployment(t, x, "web").Spec.Template.Spec.Containers[0]
	if g := web.LivenessProbe.HTTPGet; g.Host != "" || g.Port.IntValue() != 443 || g.Scheme != "HTTPS" || g.Path != "/ok" {
		t.Errorf("bridge http probe: %+v, want the pod's own port 443 over HTTPS", g)
	}
	if s := web.StartupProbe; s == nil || s.FailureThreshold != 3+6 || s.PeriodSeconds != 10 {
		t.Errorf("startup probe %+v: want 60s of start period plus 3 retries at 10s", s)
	}
	if len(web.Ports) != 1 || web.Ports[0].HostPort != 8443 || web.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("container ports %+v: want only the published one", web.Ports)
	}
	db := deployment(t, x, "db").Spec.Template.Spec
	if tcp := db.Containers[0].ReadinessProbe.TCPSocket; tcp.Host != "127.0.0.1" || tcp.Port.IntValue() != 5432 {
		t.Errorf("host-network tcp probe: %+v, want the node's loopback", tcp)
	}
	if !db.HostNetwork || db.DNSPolicy != "ClusterFirstWithHostNet" || len(db.Containers[0].Ports) != 0 {
		t.Errorf("host network pod: hostNetwork %t, dnsPolicy %s, ports %v", db.HostNetwork, db.DNSPolicy, db.Containers[0].Ports)
	}
	for _, o := range x.Objects {
		if svc, ok := o.(*corev1.Service); ok && svc.Name == "db" {
			t.Errorf("db listens on the node's loopback only, yet has a Service: %+v", svc.Spec.Ports)
		}
		if svc, ok := o.(*corev1.Service); ok && svc.Name == "web" && len(svc.Spec.Ports) != 2 {
			t.Errorf("web's Service has ports %+v, want 443 and 9000/udp", svc.Spec.Ports)
		}
	}
}

// TestWaitScriptRuns runs an init container's command with busybox (what
// the wait image is meant to be): it ends once the dependency accepts a
// connection that it keeps open.
func TestWaitScriptRuns(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("ARCHY_INTEGRATION") == "1" {
			t.Fatalf("busybox not found (scripts/deps.sh installs it): %v", err)
		}
		t.Skip("no busybox")
	}
	bin := t.TempDir()
	for _, applet := range []string{"sh", "nc", "sleep", "true", "echo"} {
		if err := os.Symlink(busybox, filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // refused at first: the script must wait

	host := func(a *schema.App) { a.Security.NetworkPolicy = "host" }
	db := app("db", host, func(a *schema.App) {
		a.Ports = []schema.Port{{Container: port, HostIP: "127.0.0.1", Protocol: "tcp"}}
		a.HealthCheck = &schema.HealthCheck{Type: "tcp", Host: "127.0.0.1", Port: port}
	})
	api := app("api", host, func(a *schema.App) { a.Dependencies = []schema.Dependency{{AppID: "db", Condition: "healthy"}} })
	x, err := Build([]*schema.App{db, api}, Options{WaitImage: "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	inits := deployment(t, x, "api").Spec.Template.Spec.InitContainers
	if len(inits) != 1 {
		t.Fatalf("init containers: %+v", inits)
	}
	cmd := exec.Command(filepath.Join(bin, inits[0].Command[0]), inits[0].Command[1:]...)
	cmd.Env = []string{"PATH=" + bin}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(2500 * time.Millisecond)
	l, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and hold, as a server waiting for a request does
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(time.Minute)
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("wait script: %v\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("wait script still waiting 10s after db listens:\n%s", out)
	}
	if !strings.Contains(out.String(), "waiting for db (127.0.0.1:"+strconv.Itoa(port)+")") {
		t.Errorf("the script never said it waited:\n%s", out)
	}
}

// TestTmpfs maps tmpfs mounts onto memory-backed emptyDirs with their size.
func TestTmpfs(t *testing.T) {
	a := app("web", func(a *schema.App) {
		a.Tmpfs = []schema.Tmpfs{{Target: "/tmp", Size: "64Mi"}, {Target: "/run"}}
	})
	x, err := Build([]*schema.App{a}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pod := deployment(t, x, "web").Spec.Template.Spec
	got := map[string]string{}
	for _, m := range pod.Containers[0].VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory {
				t.Errorf("volume %s at %s: %+v, want a memory emptyDir", v.Name, m.MountPath, v.VolumeSource)
				continue
			}
			got[m.MountPath] = ""
			if v.EmptyDir.SizeLimit != nil {
				got[m.MountPath] = v.EmptyDir.SizeLimit.String()
			}
		}
	}
	if want := map[string]string{"/tmp": "64Mi", "/run": ""}; !cmp.Equal(got, want) {
		t.Errorf("tmpfs mounts %v, want %v", got, want)
	}
}

func TestNetworksWarnWhereKubernetesDiffers(t *testing.T) {
	mk := func(id, container string, ports ...schema.Port) *schema.App {
		return &schema.App{ID: id, ContainerName: container, Role: "service",
			Container: schema.Container{Source: &schema.Source{Type: "pull", Image: "docker.io/example/" + id + ":1"}},
			ContainerConfig: schema.ContainerConfig{Networks: []string{"bitcoin"}, Ports: ports,
				Security: schema.Security{NetworkPolicy: "bridge"}}}
	}
	rpc := schema.Port{Container: 8332, Protocol: "tcp"}
	for _, tc := range []struct {
		app  *schema.App
		want string
	}{
		{mk("bitcoin-core", "bitcoin-core", rpc), ""},
		{mk("lnd-ui", "archy-lnd-ui", rpc), "other pods reach it as lnd-ui (its Service), not archy-lnd-ui"},
		{mk("worker", "worker"), "declares no port"},
	} {
		x, err := Build([]*schema.App{tc.app}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, w := range x.Warnings {
			if strings.Contains(w.String(), "networks") {
				got = w.String()
			}
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: networks warning %q, want %q", tc.app.ID, got, tc.want)
		}
	}
}

// A before job is an init container (after the waits) with a warning
// about when; an after-healthy one is left out with a warning.
func TestJobs(t *testing.T) {
	a := app("lnd", func(a *schema.App) {
		a.Volumes = []schema.Volume{{Name: "lnd-data", Target: "/data"}}
		a.Jobs = []schema.Job{
			{Name: "init", SameAsApp: true, Command: []string{"init"}, When: schema.JobFirstCreate, Phase: schema.JobBefore,
				Secrets: []schema.Secret{{Name: "pw", Env: "PW"}}, Volumes: []schema.Volume{{Name: "lnd-data", Target: "/data"}}},
			{Name: "wallet", SameAsApp: true, Command: []string{"w"}, When: schema.JobFirstCreate, Phase: schema.JobAfterHealthy},
		}
	})
	x, err := Build([]*schema.App{a}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inits := deployment(t, x, "lnd").Spec.Template.Spec.InitContainers
	if len(inits) != 1 || inits[0].Name != "job-init" || inits[0].Image != "docker.io/example/lnd:1" ||
		len(inits[0].VolumeMounts) != 1 || inits[0].VolumeMounts[0].Name != "lnd-data" ||
		len(inits[0].Env) != 1 || inits[0].Env[0].ValueFrom.SecretKeyRef.Name != "pw" {
		t.Errorf("init containers: %+v", inits)
	}
	var got []string
	for _, w := range x.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		`lnd: jobs[0].when: "first-create": the init container job-init runs at every start of the pod; make it safe to repeat`,
		`lnd: jobs[1]: after-healthy job wallet has no Kubernetes equivalent; left out: run it by hand once the pod is ready`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
