package podman

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containers/podman/v5/pkg/bindings/images"

	"archy.dev/archy/engine"
	"archy.dev/archy/internal/buildctx"
	"archy.dev/archy/internal/podmantest"
)

// TestPull pulls with every policy from the harness's local registry, after
// pushing the web image there. Trust in the plain-HTTP registry comes from
// the service's registries.conf.
func TestPull(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	builtID := buildWeb(ctx, t, p, nil)
	ref := env.Registry + "/archy/podman-web:1"
	var pushLog bytes.Buffer
	if err := images.Push(ctx, webTag, ref, new(images.PushOptions).WithProgressWriter(&pushLog).WithQuiet(false)); err != nil {
		t.Fatalf("pushing %s to %s: %v\n%s", webTag, ref, err, pushLog.String())
	}
	removeImage := func() {
		t.Helper()
		if _, errs := images.Remove(ctx, []string{ref}, nil); len(errs) > 0 {
			t.Fatalf("removing %s: %v", ref, errs)
		}
	}
	pull := func(policy string) (string, string, error) {
		t.Helper()
		var progress bytes.Buffer
		id, err := p.Pull(ctx, ref, policy, &progress)
		return id, progress.String(), err
	}

	// never, absent: a clear not-found error.
	_, _, err := pull("never")
	if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), ref) {
		t.Fatalf("Pull(never) of an absent image: %v, want ErrNotFound naming %s", err, ref)
	}
	t.Logf("Pull(never) of an absent image: %v", err)

	// missing, absent: pulls, with progress.
	id, progress, err := pull("missing")
	if err != nil {
		t.Fatalf("Pull(missing): %v\n%s", err, progress)
	}
	if id != builtID {
		t.Fatalf("Pull(missing) = %s, want the pushed image %s", id, builtID)
	}
	if progress == "" {
		t.Errorf("Pull(missing) of an absent image wrote no progress")
	}
	t.Logf("pull progress:\n%s", progress)

	// missing and never, present: no pull, same id.
	for _, policy := range []string{"missing", "never", ""} {
		id, progress, err := pull(policy)
		if err != nil || id != builtID {
			t.Fatalf("Pull(%q) of a present image = %s, %v; want %s", policy, id, err, builtID)
		}
		if strings.Contains(progress, "Copying") {
			t.Errorf("Pull(%q) of a present image copied blobs:\n%s", policy, progress)
		}
	}

	// always: pulls again; newer: checks the registry; both end at the same id.
	for _, policy := range []string{"always", "newer"} {
		id, progress, err := pull(policy)
		if err != nil || id != builtID {
			t.Fatalf("Pull(%q) = %s, %v; want %s\n%s", policy, id, err, builtID, progress)
		}
	}

	// newer, absent: pulls.
	removeImage()
	if id, progress, err := pull("newer"); err != nil || id != builtID {
		t.Fatalf("Pull(newer) of an absent image = %s, %v; want %s\n%s", id, err, builtID, progress)
	}

	// always, registry lacks the tag: an error naming the reference.
	missingRef := env.Registry + "/archy/podman-web:no-such-tag"
	if _, err := p.Pull(ctx, missingRef, "always", nil); err == nil || !strings.Contains(err.Error(), missingRef) {
		t.Fatalf("Pull of a tag the registry lacks: %v, want an error naming %s", err, missingRef)
	} else {
		t.Logf("Pull of a tag the registry lacks: %v", err)
	}

	if _, err := p.Pull(ctx, ref, "sometimes", nil); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("Pull with an unknown policy: %v", err)
	}
}

// TestBuildFailure: a failed RUN step's error carries the build's last
// output lines, and the progress writer saw them too.
func TestBuildFailure(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	dir := podmantest.BusyboxContext(t, "testdata/failing")
	var progress bytes.Buffer
	const tag = "localhost/archy-failing:1"
	_, err := p.Build(ctx, engine.BuildSpec{ContextDir: dir, Tag: tag}, &progress)
	if err == nil {
		t.Fatal("building a failing Dockerfile succeeded")
	}
	t.Logf("build error: %v", err)
	for _, want := range []string{"building " + tag, "archy-build-fails-here"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("build error lacks %q:\n%v", want, err)
		}
	}
	if !strings.Contains(progress.String(), "archy-build-fails-here") {
		t.Errorf("progress lacks the build output:\n%s", progress.String())
	}

	missing := t.TempDir()
	if _, err := p.Build(ctx, engine.BuildSpec{ContextDir: missing, Tag: tag}, nil); err == nil {
		t.Error("building a context without a Dockerfile succeeded")
	}
}

// TestBuildDockerfileOutsideContext: the adapter builds only a Dockerfile
// that resolves inside its context, as vet and the context hash resolve
// it (buildctx); an absolute one or a link out is refused before Podman
// is asked, so it needs no service.
func TestBuildDockerfileOutsideContext(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ctx")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "Dockerfile.shared"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../Dockerfile.shared", filepath.Join(dir, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	p := &Podman{}
	for _, df := range []string{"/etc/shadow", "../Dockerfile.shared", "Dockerfile", ""} {
		_, err := p.Build(context.Background(), engine.BuildSpec{ContextDir: dir, Dockerfile: df, Tag: "localhost/archy-escape:1"}, nil)
		var e *buildctx.Error
		if !errors.As(err, &e) {
			t.Errorf("dockerfile %q: error %v; want a buildctx.Error", df, err)
		} else if !strings.HasPrefix(err.Error(), "building localhost/archy-escape:1: dockerfile ") {
			t.Errorf("dockerfile %q: error %q does not say what was built", df, err)
		}
	}
}

// TestBuildThroughLinks: a context reached through a symlink, whose
// Dockerfile is a link to another file inside it, builds: the adapter
// hands Podman the resolved context and the resolved file in it.
func TestBuildThroughLinks(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	dir := podmantest.BusyboxContext(t, "testdata/args")
	if err := os.Symlink("Dockerfile.args", filepath.Join(dir, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "ctx")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	const tag = "localhost/archy-links:1"
	var progress bytes.Buffer
	if _, err := p.Build(ctx, engine.BuildSpec{ContextDir: link, Tag: tag}, &progress); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "ARG GREETING") {
		t.Errorf("the build did not read Dockerfile.args:\n%s", progress.String())
	}
	if _, err := images.Remove(ctx, []string{tag}, nil); len(err) > 0 {
		t.Errorf("removing %s: %v", tag, err)
	}
}

// TestBuildArgs: build args reach the build, labels the image, and a
// different Dockerfile name is honoured.
func TestBuildArgs(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	dir := podmantest.BusyboxContext(t, "testdata/args")
	const tag = "localhost/archy-args:1"
	var progress bytes.Buffer
	id, err := p.Build(ctx, engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: "Dockerfile.args",
		Tag:        tag,
		BuildArgs:  map[string]string{"GREETING": "hello-arg"},
		Labels:     map[string]string{"archy.app": "args", "archy.context-hash": "h-args"},
	}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "STEP") {
		t.Errorf("build progress lacks the steps:\n%s", progress.String())
	}
	img, err := images.GetImage(ctx, tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != id || img.Labels["archy.context-hash"] != "h-args" || img.Labels["archy.app"] != "args" {
		t.Fatalf("image %s: id %s, labels %v; want id %s and the archy labels", tag, img.ID, img.Labels, id)
	}
	const name = "archy-args"
	run(ctx, t, p, engine.ContainerSpec{Name: name, Image: tag})
	if got := sh(ctx, t, p, name, "cat /greeting"); got != "hello-arg\n" {
		t.Fatalf("/greeting = %q, want the build arg", got)
	}
}
