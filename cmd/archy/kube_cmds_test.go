package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/containers/podman/v5/pkg/bindings/kube"
	"github.com/containers/podman/v5/pkg/bindings/pods"
	"github.com/containers/podman/v5/pkg/bindings/secrets"
	"github.com/rogpeppe/go-internal/testscript"

	"archy.dev/archy/internal/podmantest"
	archykube "archy.dev/archy/kube"
)

// cmdKube is Podman's kube play as an operator runs it, on the harness's
// service and network (kube_play.txtar):
//
//	kube check FILE         FILE decodes strictly into Kubernetes types
//	kube secret NAME VALUE  a Podman secret kube play reads for a
//	                        secretKeyRef with key NAME
//	kube play FILE          podman kube play; kube down at the script's end
//	kube down FILE          podman kube down; then no pod may be left
func cmdKube(ts *testscript.TestScript, env *podmantest.Env, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: kube check|secret|play|down ARGS")
	}
	ctx := context.WithoutCancel(env.Conn)
	switch args[0] {
	case "check":
		objs, err := archykube.Decode(strings.NewReader(ts.ReadFile(args[1])))
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%d objects decoded\n", len(objs))
	case "secret":
		// Podman 4.3 reads a secretKeyRef's Secret as JSON of base64
		// values (a kube play'd Secret is YAML, which it only mounts).
		data, err := json.Marshal(map[string]string{args[1]: base64.StdEncoding.EncodeToString([]byte(args[2]))})
		ts.Check(err)
		_, err = secrets.Create(ctx, bytes.NewReader(data), new(secrets.CreateOptions).WithName(args[1]))
		ts.Check(err)
	case "play":
		f, err := os.Open(ts.MkAbs(args[1]))
		ts.Check(err)
		defer f.Close()
		// The harness's network: kube play's own default network would
		// take a bridge and subnet shared by every Podman on the host.
		report, err := kube.PlayWithBody(ctx, f, new(kube.PlayOptions).WithNetwork([]string{env.Network}))
		ts.Check(err)
		for _, p := range report.Pods {
			fmt.Fprintf(ts.Stdout(), "pod %s: %d containers\n", p.ID[:12], len(p.Containers))
		}
		body := ts.ReadFile(args[1])
		ts.Defer(func() { kube.DownWithBody(ctx, strings.NewReader(body), kube.DownOptions{}) })
	case "down":
		_, err := kube.DownWithBody(ctx, strings.NewReader(ts.ReadFile(args[1])), kube.DownOptions{})
		ts.Check(err)
		left, err := pods.List(ctx, nil)
		ts.Check(err)
		if len(left) > 0 {
			ts.Fatalf("%d pods left after kube down", len(left))
		}
	default:
		ts.Fatalf("unknown kube command %q", args[0])
	}
}
