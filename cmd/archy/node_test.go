package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/network"
	"github.com/containers/podman/v5/pkg/bindings/secrets"
	"github.com/containers/podman/v5/pkg/bindings/volumes"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/specgen"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rogpeppe/go-internal/testscript"
	nettypes "go.podman.io/common/libnetwork/types"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api"
	"archy.dev/archy/internal/podmantest"
	"archy.dev/archy/schema"
)

// nodeServices is how many Podman services the node scripts share out.
// A script needs a service of its own, emptied first (the node's
// container names are fixed); with two, two scripts run side by side
// (go test's -parallel defaults to the machine's 2 cores).
const nodeServices = 2

// TestNode runs testdata/node-script/*.txtar: archy against a real Podman
// service (one of the harness's), on the simulated node of testdata/node.
// Each script gets a fresh copy of the node (so it may edit build
// contexts), its own ports, data dir and secrets file, and a service of
// its own for as long as it runs, emptied before it starts.
func TestNode(t *testing.T) {
	envs := []*podmantest.Env{podmantest.Shared(t)}
	for len(envs) < nodeServices {
		envs = append(envs, podmantest.Own(t, podmantest.Options{}))
	}
	node := prepareNode(t)
	pool := make(chan *podmantest.Env, len(envs))
	for _, env := range envs {
		publishExplorer(t, env, node)
		pool <- env
	}
	var assigned sync.Map // $WORK -> the script's *podmantest.Env
	envOf := func(ts *testscript.TestScript) *podmantest.Env {
		env, _ := assigned.Load(ts.Getenv("WORK"))
		return env.(*podmantest.Env)
	}
	var ports sync.Mutex
	params := testscript.Params{
		Dir:                filepath.Join("testdata", "node-script"),
		RequireUniqueNames: true,
		Setup: func(e *testscript.Env) error {
			env := <-pool
			assigned.Store(e.WorkDir, env)
			e.Defer(func() {
				assigned.Delete(e.WorkDir)
				pool <- env
			})
			if err := emptyService(env); err != nil {
				return err
			}
			work := filepath.Join(e.WorkDir, "node")
			if err := os.CopyFS(work, os.DirFS(node)); err != nil {
				return err
			}
			ports.Lock()
			port, err := freePortRange(10)
			ports.Unlock()
			if err != nil {
				return err
			}
			for _, kv := range env.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				e.Setenv(k, v)
			}
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("NO_COLOR", "1")
			e.Setenv("ARCHY_SOCKET", filepath.Join(e.WorkDir, "archy.sock"))
			e.Setenv("ARCHY_APPS", filepath.Join(work, "apps"))
			e.Setenv("ARCHY_DATA_DIR", filepath.Join(e.WorkDir, "state"))
			// No secrets file: the node's secrets are generated. A script
			// that wants one writes it and sets ARCHY_SECRETS_FILE.
			// Its own app network name: Podman 4.3 shares a network's DNS
			// table among all the services of the host, by name.
			e.Setenv("ARCHY_TAGS", fmt.Sprintf("port_base=%d,registry=%s,network=archy-sim-%d", port, env.Registry, port))
			e.Setenv("NETWORK", fmt.Sprintf("archy-sim-%d", port))
			for n := 1; n <= 9; n++ { // the node's host ports: port_base + n
				e.Setenv(fmt.Sprintf("P%d", n), fmt.Sprint(port+n))
			}
			e.Setenv("REGISTRY", env.Registry)
			e.Setenv("SECRET_VALUE", "s3cret-wallet-value")
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"http":         cmdHTTP,
			"chaos":        func(ts *testscript.TestScript, neg bool, args []string) { cmdChaos(ts, envOf(ts), neg, args) },
			"ctr-stop-all": func(ts *testscript.TestScript, neg bool, args []string) { cmdStopAll(ts, envOf(ts)) },
			"api-get":      cmdAPIGet,
			"api-wait":     cmdAPIWait,
			"events-wait":  cmdEventsWait,
			"events-order": cmdEventsOrder,
			"node-order":   cmdNodeOrder,
			"api-storm":    cmdAPIStorm,
			"metrics-parse": func(ts *testscript.TestScript, neg bool, args []string) {
				p := expfmt.NewTextParser(model.UTF8Validation)
				_, err := p.TextToMetricFamilies(strings.NewReader(ts.ReadFile(args[0])))
				ts.Check(err)
			},
			"http-field":   cmdHTTPField,
			"ctr-id":       func(ts *testscript.TestScript, neg bool, args []string) { cmdCtrID(ts, envOf(ts), neg, args) },
			"ctr-state":    func(ts *testscript.TestScript, neg bool, args []string) { cmdCtrState(ts, envOf(ts), neg, args) },
			"ctr-handmade": func(ts *testscript.TestScript, neg bool, args []string) { cmdHandmade(ts, envOf(ts), neg, args) },
			"volume-exists": func(ts *testscript.TestScript, neg bool, args []string) {
				ok, err := volumes.Exists(envOf(ts).Conn, args[0], nil)
				ts.Check(err)
				if ok == neg {
					ts.Fatalf("volume %s exists: %t", args[0], ok)
				}
			},
			// Podman service restart (converge_podman_restart.txtar).
			"podman-service":   func(ts *testscript.TestScript, neg bool, args []string) { cmdPodmanService(ts, envOf(ts), neg, args) },
			"ctr-kill-process": func(ts *testscript.TestScript, neg bool, args []string) { cmdKillProcess(ts, envOf(ts), neg, args) },
			"ctr-started":      func(ts *testscript.TestScript, neg bool, args []string) { cmdCtrStarted(ts, envOf(ts), neg, args) },
			"since":            cmdSince,
			"notify-listen":    cmdNotifyListen,
			"notify-wait":      cmdNotifyWait,
			"notify-order":     cmdNotifyOrder,
			"signal-daemon":    cmdSignalDaemon,
			"kube":             func(ts *testscript.TestScript, neg bool, args []string) { cmdKube(ts, envOf(ts), neg, args) },
			"tmpfs":            cmdTmpfs,
			"took-at-least":    cmdTookAtLeast,
			"volume-file":      func(ts *testscript.TestScript, neg bool, args []string) { cmdVolumeFile(ts, envOf(ts), neg, args) },
			"volume-rm": func(ts *testscript.TestScript, neg bool, args []string) {
				v, err := volumes.Inspect(envOf(ts).Conn, args[0], nil)
				ts.Check(err)
				ts.Check(os.Remove(filepath.Join(v.Mountpoint, args[1])))
			},
			"ctr-exit": func(ts *testscript.TestScript, neg bool, args []string) { cmdCtrExit(ts, envOf(ts), neg, args) },
		},
	}
	maps.Copy(params.Cmds, pageCmds())
	testscript.Run(t, params)
}

// prepareNode copies testdata/node with busybox in every context, and the
// stopper image's context beside it, once.
func prepareNode(t *testing.T) string {
	dir := t.TempDir()
	prepare := exec.Command("bash", filepath.Join("..", "..", "testdata", "node", "prepare.sh"), dir)
	if out, err := prepare.CombinedOutput(); err != nil {
		t.Fatalf("preparing the simulated node: %v\n%s", err, out)
	}
	// The stand-in daemon that takes time to stop (stop_*.txtar build it
	// from $WORK/node/images/stopper).
	stopper := filepath.Join("..", "..", "testdata", "images", "stopper")
	if err := podmantest.CopyBusyboxContext(filepath.Join(dir, "images", "stopper"), stopper); err != nil {
		t.Fatalf("preparing the stopper image's context: %v", err)
	}
	return dir
}

// publishExplorer publishes the explorer image of the prepared node dir to
// env's registry, so that archy pulls it from there.
func publishExplorer(t *testing.T, env *podmantest.Env, dir string) {
	ctx := env.Context(t)
	ref := env.Registry + "/archy-sim/explorer:1.0"
	explorer := filepath.Join(dir, "images", "explorer")
	_, err := images.Build(ctx, []string{filepath.Join(explorer, "Dockerfile")}, types.BuildOptions{BuildOptions: define.BuildOptions{
		ContextDirectory: explorer, Output: ref, Out: io.Discard, Err: io.Discard, ReportWriter: io.Discard,
	}})
	if err != nil {
		t.Fatalf("building explorer: %v", err)
	}
	if err := images.Push(ctx, ref, ref, new(images.PushOptions).WithQuiet(true)); err != nil {
		t.Fatalf("pushing explorer: %v", err)
	}
	if _, err := images.Remove(ctx, []string{ref}, nil); err != nil {
		t.Fatalf("removing explorer after the push: %v", err)
	}
}

// emptyService removes every container, volume and secret a previous
// script left, so that each starts from a fresh node.
func emptyService(env *podmantest.Env) error {
	ctx := env.Conn
	list, err := containers.List(ctx, new(containers.ListOptions).WithAll(true))
	if err != nil {
		return err
	}
	for _, c := range list {
		// One may be gone meanwhile (a build's working container, say).
		_, err := containers.Remove(ctx, c.ID, new(containers.RemoveOptions).WithForce(true).WithTimeout(0))
		if err != nil && !strings.Contains(err.Error(), "no such container") {
			return err
		}
	}
	if _, err := volumes.Prune(ctx, nil); err != nil {
		return err
	}
	if _, errs := images.Remove(ctx, nil, new(images.RemoveOptions).WithAll(true).WithForce(true)); len(errs) > 0 {
		return errors.Join(errs...)
	}
	nets, err := network.List(ctx, nil)
	if err != nil {
		return err
	}
	for _, n := range nets { // app networks a script made; the service's own stays
		if n.Name != env.Network && n.Name != "podman" {
			if _, err := network.Remove(ctx, n.Name, new(network.RemoveOptions).WithForce(true)); err != nil {
				return err
			}
		}
	}
	ss, err := secrets.List(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range ss {
		if err := secrets.Remove(ctx, s.ID); err != nil {
			return err
		}
	}
	return nil
}

// http URL [MARKER [WAIT]]: GET until it answers 200 (and contains
// MARKER), at most WAIT (10s); the body goes to stdout. Negated: it does
// not answer 200.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: http URL [MARKER]")
	}
	marker := ""
	if len(args) > 1 {
		marker = args[1]
	}
	client := &http.Client{Timeout: 2 * time.Second}
	wait := 10 * time.Second
	if len(args) > 2 {
		d, err := time.ParseDuration(args[2])
		ts.Check(err)
		wait = d
	}
	deadline := time.Now().Add(wait)
	var last string
	for {
		resp, err := client.Get(args[0])
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), marker) {
				if neg {
					ts.Fatalf("%s answered 200", args[0])
				}
				ts.Stdout().Write(body)
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		if neg || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !neg {
		ts.Fatalf("GET %s: no 200 with %q within 10s; last: %s", args[0], marker, last)
	}
}

// http-field URL FIELD VAR: set VAR to FIELD of the JSON URL answers.
func cmdHTTPField(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: http-field URL FIELD VAR")
	}
	var body bytes.Buffer
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(args[0])
		if err == nil {
			body.Reset()
			_, err = io.Copy(&body, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("GET %s: no answer within 10s: %v", args[0], err)
		}
	}
	var doc map[string]any
	ts.Check(json.Unmarshal(body.Bytes(), &doc))
	v, ok := doc[args[1]]
	if !ok {
		ts.Fatalf("%s has no field %s: %s", args[0], args[1], body.String())
	}
	ts.Setenv(args[2], fmt.Sprint(v))
}

// ctr-id NAME VAR: set VAR to the container's id.
func cmdCtrID(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	data, err := containers.Inspect(env.Conn, args[0], nil)
	ts.Check(err)
	ts.Setenv(args[1], data.ID)
}

// ctr-state NAME STATE: the container is in STATE (running, exited, …,
// or missing).
func cmdCtrState(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	state := "missing"
	if data, err := containers.Inspect(env.Conn, args[0], nil); err == nil {
		state = data.State.Status
	}
	if (state == args[1]) == neg {
		ts.Fatalf("%s is %s", args[0], state)
	}
}

// ctr-handmade NAME IMAGE HOSTPORT:CTRPORT [stopped]: create a container
// by hand, as another tool would (no archy labels).
func cmdHandmade(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: ctr-handmade NAME IMAGE HOSTPORT:CTRPORT [stopped]")
	}
	var host, ctr uint16
	if _, err := fmt.Sscanf(args[2], "%d:%d", &host, &ctr); err != nil {
		ts.Fatalf("bad port mapping %q", args[2])
	}
	s := specgen.NewSpecGenerator(args[1], false)
	s.Name = args[0]
	s.PortMappings = []nettypes.PortMapping{{HostIP: "127.0.0.1", HostPort: host, ContainerPort: ctr, Protocol: "tcp"}}
	ctx := context.WithoutCancel(env.Conn)
	_, err := containers.CreateWithSpec(ctx, s, nil)
	ts.Check(err)
	if len(args) < 4 || args[3] != "stopped" {
		ts.Check(containers.Start(ctx, args[0], nil))
	}
}

// chaos CONTAINER stop|kill|rm|restart URL MARKER: do that to the
// container behind archy's back, then wait (at most 10 s) for URL to serve
// MARKER again; the recovery time is logged.
func cmdChaos(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if len(args) != 4 {
		ts.Fatalf("usage: chaos CONTAINER stop|kill|rm|restart URL MARKER")
	}
	ctx := context.WithoutCancel(env.Conn)
	name := args[0]
	var err error
	start := time.Now()
	switch args[1] {
	case "stop":
		err = containers.Stop(ctx, name, new(containers.StopOptions).WithTimeout(0))
	case "kill":
		err = containers.Kill(ctx, name, new(containers.KillOptions).WithSignal("KILL"))
	case "rm":
		_, err = containers.Remove(ctx, name, new(containers.RemoveOptions).WithForce(true).WithTimeout(0))
	case "restart":
		// Podman's restart is a stop then a start; archy may start the
		// container in between, and Podman's own start then fails. What
		// counts is that the page comes back.
		if err := containers.Restart(ctx, name, new(containers.RestartOptions).WithTimeout(0)); err != nil {
			ts.Logf("podman restart %s: %v", name, err)
		}
	default:
		ts.Fatalf("unknown chaos %q", args[1])
	}
	ts.Check(err)
	// Wait until the page is gone or back, then until it is back.
	took, err := podmantest.WaitForHTTP(context.Background(), args[2], args[3], 10*time.Second)
	if err != nil {
		ts.Fatalf("%s after %s: not serving again within 10s: %v", name, args[1], err)
	}
	_ = took
	ts.Logf("recovery: %s %s: %s", name, args[1], time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(ts.Stdout(), "recovered %s %s in %s\n", name, args[1], time.Since(start).Round(time.Millisecond))
}

// ctr-stop-all: stop every container, as a reboot does.
func cmdStopAll(ts *testscript.TestScript, env *podmantest.Env) {
	ctx := context.WithoutCancel(env.Conn)
	list, err := containers.List(ctx, nil)
	ts.Check(err)
	for _, c := range list {
		ts.Check(containers.Stop(ctx, c.ID, new(containers.StopOptions).WithTimeout(0)))
	}
}

// api-get PATH: GET PATH from the daemon's socket ($ARCHY_SOCKET); the
// body goes to stdout.
func cmdAPIGet(ts *testscript.TestScript, neg bool, args []string) {
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", ts.Getenv("ARCHY_SOCKET"))
	}}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://archy" + args[0])
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if (resp.StatusCode == 200) == neg {
		ts.Fatalf("GET %s: %s: %s", args[0], resp.Status, body)
	}
	ts.Stdout().Write(body)
}

// api-storm APP ACTION N: N concurrent requests of ACTION for APP through
// the daemon's API; every one must succeed.
func cmdAPIStorm(ts *testscript.TestScript, neg bool, args []string) {
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	ctx := context.Background()
	c, err := api.Dial(ctx, ts.Getenv("ARCHY_SOCKET"))
	ts.Check(err)
	defer c.Close()
	errs := make(chan error, n)
	for range n {
		go func() { errs <- c.Act(ctx, args[0], engine.Action(args[1]), false) }()
	}
	for range n {
		if err := <-errs; err != nil {
			ts.Fatalf("%s %s: %v", args[1], args[0], err)
		}
	}
}

// podman-service stop|start|restart: stop the harness's Podman service
// (containers keep running), start it again on the same state and socket,
// or both. The time the service was back is recorded in
// $PODMAN_SERVICE_UP (for since). A service this script stopped is started
// again when the script ends, even if it fails, so that later scripts and
// the teardown find it.
func cmdPodmanService(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: podman-service stop|start|restart")
	}
	if args[0] == "stop" || args[0] == "restart" {
		ts.Defer(func() {
			if !env.ServiceRunning() {
				if err := env.StartService(context.Background()); err != nil {
					ts.Logf("starting the podman service again after the script: %v", err)
				}
			}
		})
	}
	start := time.Now()
	switch args[0] {
	case "stop":
		ts.Check(env.StopService())
	case "start":
		ts.Check(env.StartService(context.Background()))
	case "restart":
		ts.Check(env.RestartService(context.Background()))
	default:
		ts.Fatalf("usage: podman-service stop|start|restart")
	}
	took := time.Since(start).Round(time.Millisecond)
	if args[0] != "stop" {
		ts.Setenv("PODMAN_SERVICE_UP", time.Now().Format(time.RFC3339Nano))
	}
	ts.Logf("podman service %s took %s", args[0], took)
	fmt.Fprintf(ts.Stdout(), "podman service %s took %s\n", args[0], took)
}

// ctr-kill-process NAME: SIGKILL the main process of a running container
// without the Podman API (it works while the service is down): its PID
// comes from the container store's files. Waits until the process is gone.
func cmdKillProcess(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: ctr-kill-process NAME")
	}
	pid, err := env.ContainerPID(args[0])
	ts.Check(err)
	ts.Check(syscall.Kill(pid, syscall.SIGKILL))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("process %d of %s still there 5 s after SIGKILL", pid, args[0])
		}
	}
	fmt.Fprintf(ts.Stdout(), "killed %s's process %d\n", args[0], pid)
}

// ctr-started NAME VAR: set VAR to the time the container last started.
func cmdCtrStarted(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: ctr-started NAME VAR")
	}
	data, err := containers.Inspect(env.Conn, args[0], nil)
	ts.Check(err)
	ts.Setenv(args[1], data.State.StartedAt.Format(time.RFC3339Nano))
}

// since VAR LABEL: print and log how long ago the time in $VAR (RFC 3339)
// was, as "LABEL: DURATION".
func cmdSince(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: since VAR LABEL")
	}
	t, err := time.Parse(time.RFC3339Nano, ts.Getenv(args[0]))
	ts.Check(err)
	took := time.Since(t).Round(time.Millisecond)
	ts.Logf("%s: %s", args[1], took)
	fmt.Fprintf(ts.Stdout(), "%s: %s\n", args[1], took)
}

// took-at-least DUR archy ARGS...: run archy (its output is the script's
// stdout and stderr, as exec's) and fail unless it succeeded and took at
// least DUR: a stop that let the app flush.
func cmdTookAtLeast(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: took-at-least DUR archy ARGS...")
	}
	least, err := time.ParseDuration(args[0])
	ts.Check(err)
	start := time.Now()
	ts.Check(ts.Exec(args[1], args[2:]...))
	took := time.Since(start).Round(time.Millisecond)
	ts.Logf("%s took %s", strings.Join(args[1:], " "), took)
	if took < least {
		ts.Fatalf("%s took %s, less than %s", strings.Join(args[1:], " "), took, least)
	}
}

// volume-file VOLUME FILE REGEXP [WAIT]: the file in a named volume (read
// on this host, from its mountpoint) matches REGEXP, within WAIT if given;
// its content goes to stdout. Negated: it does not match (or is missing).
func cmdVolumeFile(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if len(args) < 3 || len(args) > 4 || (neg && len(args) == 4) {
		ts.Fatalf("usage: volume-file VOLUME FILE REGEXP [WAIT]")
	}
	re, err := regexp.Compile(args[2])
	ts.Check(err)
	var wait time.Duration
	if len(args) == 4 {
		wait, err = time.ParseDuration(args[3])
		ts.Check(err)
	}
	v, err := volumes.Inspect(env.Conn, args[0], nil)
	ts.Check(err)
	path := filepath.Join(v.Mountpoint, args[1])
	var b []byte
	for deadline := time.Now().Add(wait); ; time.Sleep(250 * time.Millisecond) {
		b, _ = os.ReadFile(path)
		if re.Match(b) != neg {
			ts.Stdout().Write(b)
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	ts.Fatalf("%s in volume %s: match for %s is %t after %s; it holds %q", args[1], args[0], args[2], !neg, wait, b)
}

// ctr-exit NAME CODE: the container exited with CODE.
func cmdCtrExit(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: ctr-exit NAME CODE")
	}
	data, err := containers.Inspect(env.Conn, args[0], nil)
	ts.Check(err)
	if got := strconv.Itoa(int(data.State.ExitCode)); (got == args[1]) == neg {
		ts.Fatalf("%s exited with %s (%s)", args[0], got, data.State.Status)
	}
}

// freePortRange finds n consecutive free ports on 127.0.0.1 and returns
// the one before the first (the node's port_base): test processes running
// at once must not publish the same ports.
// handedOut marks the blocks of 16 ports that freePortRange handed out
// (callers serialise calls).
var handedOut = map[int]bool{}

func freePortRange(n int) (int, error) {
	for try := 0; try < 50; try++ {
		// Below Linux's ephemeral ports (32768 and up), which the
		// system hands out to outgoing connections meanwhile; and never a
		// range handed out before in this run (scripts run side by side
		// and bind their ports only later).
		base := 10000 + mathrand.IntN(22000-n)
		if handedOut[base/16] || handedOut[(base+n)/16] {
			continue
		}
		free := true
		for p := base + 1; p <= base+n && free; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			handedOut[base/16], handedOut[(base+n)/16] = true, true
			return base, nil
		}
	}
	return 0, errors.New("no free range of ports")
}

// api-wait PATH REGEXP WAIT: GET PATH from the daemon's socket until the
// body matches REGEXP, at most WAIT; the last body goes to stdout.
func cmdAPIWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: api-wait PATH REGEXP WAIT")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	wait, err := time.ParseDuration(args[2])
	ts.Check(err)
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", ts.Getenv("ARCHY_SOCKET"))
	}}, Timeout: 10 * time.Second}
	var body []byte
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		resp, err := client.Get("http://archy" + args[0])
		if err != nil {
			continue
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if re.Match(body) {
			ts.Stdout().Write(body)
			return
		}
	}
	ts.Fatalf("GET %s: no match for %s within %s; last: %s", args[0], args[1], wait, body)
}

// tmpfs DIR SIZE: mount a tmpfs of SIZE (a #Size: 16Mi) on DIR, made if
// missing, for a small disk; it is unmounted when the script ends.
func cmdTmpfs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: tmpfs DIR SIZE")
	}
	size, err := schema.ParseSize(args[1])
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)))
	ts.Defer(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			ts.Logf("unmounting %s: %v", dir, err)
		}
	})
}

// events-wait TYPE REGEXP WAIT CMD...: subscribe to the daemon's event
// stream, run the archy command CMD (in the background of this command),
// and wait at most WAIT for an event of TYPE whose message matches REGEXP.
func cmdEventsWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 4 {
		ts.Fatalf("usage: events-wait TYPE REGEXP WAIT archy-args...")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	wait, err := time.ParseDuration(args[2])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	events, closeEvents := subscribe(ts, ctx)
	defer closeEvents()
	go ts.Exec("archy", args[3:]...) // its outcome is not this command's business
	for {
		select {
		case e, ok := <-events:
			if !ok {
				ts.Fatalf("event stream ended before a %s event matching %s", args[0], args[1])
			}
			if e.Type == args[0] && re.MatchString(e.App+": "+e.Message) {
				fmt.Fprintf(ts.Stdout(), "%s %s: %s\n", e.Type, e.App, e.Message)
				return
			}
		case <-ctx.Done():
			ts.Fatalf("no %s event matching %s within %s", args[0], args[1], wait)
		}
	}
}

// subscribe follows the daemon's event stream (over $ARCHY_SOCKET) until
// ctx ends or close is called.
func subscribe(ts *testscript.TestScript, ctx context.Context) (events <-chan engine.Event, close func()) {
	c, err := api.Dial(ctx, ts.Getenv("ARCHY_SOCKET"))
	ts.Check(err)
	events, err = c.Events(ctx)
	if err != nil {
		c.Close()
		ts.Fatalf("following events: %v", err)
	}
	return events, func() { c.Close() }
}
