package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/secrets"
	"github.com/containers/podman/v5/pkg/bindings/volumes"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/specgen"
	"github.com/rogpeppe/go-internal/testscript"
	nettypes "go.podman.io/common/libnetwork/types"

	"archy.dev/archy/internal/podmantest"
)

// TestNode runs testdata/node-script/*.txtar: archy against a real Podman
// service (the harness's), on the simulated node of testdata/node. Each
// script gets a fresh copy of the node (so it may edit build contexts), its
// own ports, data dir and secrets file; scripts run one at a time because
// the node's container names are fixed, and each starts from an empty
// service.
func TestNode(t *testing.T) {
	env := podmantest.Shared(t)
	node := prepareNode(t, env)
	var serial sync.Mutex
	port := 24000
	testscript.Run(t, testscript.Params{
		Dir:                filepath.Join("testdata", "node-script"),
		RequireUniqueNames: true,
		Setup: func(e *testscript.Env) error {
			serial.Lock()
			e.Defer(serial.Unlock)
			if err := emptyService(env); err != nil {
				return err
			}
			work := filepath.Join(e.WorkDir, "node")
			if err := os.CopyFS(work, os.DirFS(node)); err != nil {
				return err
			}
			port += 10
			for _, kv := range env.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				e.Setenv(k, v)
			}
			secretsFile := filepath.Join(e.WorkDir, "secrets.env")
			if err := os.WriteFile(secretsFile, []byte("lnd-wallet-password=s3cret-wallet-value\n"), 0o600); err != nil {
				return err
			}
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("NO_COLOR", "1")
			e.Setenv("ARCHY_APPS", filepath.Join(work, "apps"))
			e.Setenv("ARCHY_DATA_DIR", filepath.Join(e.WorkDir, "state"))
			e.Setenv("ARCHY_SECRETS_FILE", secretsFile)
			e.Setenv("ARCHY_TAGS", fmt.Sprintf("port_base=%d,registry=%s", port, env.Registry))
			for n := 1; n <= 9; n++ { // the node's host ports: port_base + n
				e.Setenv(fmt.Sprintf("P%d", n), fmt.Sprint(port+n))
			}
			e.Setenv("REGISTRY", env.Registry)
			e.Setenv("SECRET_VALUE", "s3cret-wallet-value")
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"http":         cmdHTTP,
			"http-field":   cmdHTTPField,
			"ctr-id":       func(ts *testscript.TestScript, neg bool, args []string) { cmdCtrID(ts, env, neg, args) },
			"ctr-state":    func(ts *testscript.TestScript, neg bool, args []string) { cmdCtrState(ts, env, neg, args) },
			"ctr-handmade": func(ts *testscript.TestScript, neg bool, args []string) { cmdHandmade(ts, env, neg, args) },
			"volume-exists": func(ts *testscript.TestScript, neg bool, args []string) {
				ok, err := volumes.Exists(env.Conn, args[0], nil)
				ts.Check(err)
				if ok == neg {
					ts.Fatalf("volume %s exists: %t", args[0], ok)
				}
			},
		},
	})
}

// prepareNode copies testdata/node with busybox in every context and
// publishes the explorer image to the harness's registry, once.
func prepareNode(t *testing.T, env *podmantest.Env) string {
	dir := t.TempDir()
	prepare := exec.Command("bash", filepath.Join("..", "..", "testdata", "node", "prepare.sh"), dir)
	if out, err := prepare.CombinedOutput(); err != nil {
		t.Fatalf("preparing the simulated node: %v\n%s", err, out)
	}
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
	return dir
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
		if _, err := containers.Remove(ctx, c.ID, new(containers.RemoveOptions).WithForce(true).WithTimeout(0)); err != nil {
			return err
		}
	}
	if _, err := volumes.Prune(ctx, nil); err != nil {
		return err
	}
	if _, errs := images.Remove(ctx, nil, new(images.RemoveOptions).WithAll(true).WithForce(true)); len(errs) > 0 {
		return errors.Join(errs...)
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

// http URL [MARKER]: GET until it answers 200 (and contains MARKER), at
// most 10 s; the body goes to stdout. Negated: it does not answer 200.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: http URL [MARKER]")
	}
	marker := ""
	if len(args) > 1 {
		marker = args[1]
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
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
