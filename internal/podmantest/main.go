package podmantest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
)

// Required reports whether ARCHY_INTEGRATION=1, which turns an unusable
// Podman from a skip into a failure.
func Required() bool { return os.Getenv("ARCHY_INTEGRATION") == "1" }

// TestingM is what [M] wraps and returns: *testing.M, or anything else with
// a Run method (testscript.Main accepts the same interface).
type TestingM interface{ Run() int }

// shared is the package-wide Env of one test binary, started on first use.
var shared struct {
	mu      sync.Mutex
	inMain  bool // M's Run is active, so someone will tear the Env down
	started bool
	env     *Env
	err     error
}

// Main runs the package's tests and then tears down the Env that [Shared]
// started, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { podmantest.Main(m) }
func Main(m *testing.M) { os.Exit(M(m).Run()) }

// M wraps m so that its Run also tears down the shared Env, for a TestMain
// that hands m to something else that calls os.Exit, e.g.
//
//	testscript.Main(podmantest.M(m), commands)
func M(m TestingM) TestingM { return mainRunner{m} }

type mainRunner struct{ m TestingM }

func (r mainRunner) Run() int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	// Ctrl-C or a kill must not leave the service and its containers running.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "podmantest: %v: tearing down the podman service\n", sig)
		if err := closeShared(); err != nil {
			fmt.Fprintf(os.Stderr, "podmantest: teardown: %v\n", err)
		}
		os.Exit(1)
	}()

	code := r.m.Run()
	signal.Stop(sigs)
	close(sigs)
	if err := closeShared(); err != nil {
		fmt.Fprintf(os.Stderr, "podmantest: teardown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func closeShared() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.env == nil {
		return nil
	}
	env := shared.env
	shared.env = nil
	shared.err = fmt.Errorf("the shared podman service was torn down")
	return env.Close()
}

// Shared returns the package's Env, starting it on first use. It needs
// [Main] (or [M]) in TestMain, which tears the Env down after all tests.
//
// If Podman is unusable, t fails when ARCHY_INTEGRATION=1 and is skipped
// otherwise, with the reason. Without ARCHY_INTEGRATION=1 it also skips
// under -short. A failed start is not retried: every later test reports the
// same reason at once.
func Shared(t testing.TB) *Env {
	t.Helper()
	if !Required() && testing.Short() {
		t.Skip("podmantest: integration test skipped in -short mode (ARCHY_INTEGRATION=1 runs it)")
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("podmantest.Shared needs podmantest.Main(m) or podmantest.M(m) in TestMain, which tears the service down")
	}
	if !shared.started {
		shared.started = true
		shared.env, shared.err = Start(context.Background())
	}
	if shared.err != nil {
		if Required() {
			t.Fatalf("podman is not usable and ARCHY_INTEGRATION=1: %v", shared.err)
		}
		t.Skipf("podman is not usable (ARCHY_INTEGRATION=1 makes this a failure): %v", shared.err)
	}
	return shared.env
}

// Own starts an Env of the test's own with opts (a small storage root,
// say), closed when t ends. The policy is Shared's: with ARCHY_INTEGRATION=1
// an unusable Podman fails t; otherwise t is skipped.
func Own(t testing.TB, opts Options) *Env {
	t.Helper()
	if !Required() && testing.Short() {
		t.Skip("podmantest: integration test skipped in -short mode (ARCHY_INTEGRATION=1 runs it)")
	}
	env, err := StartWith(context.Background(), opts)
	if err != nil {
		if Required() {
			t.Fatalf("podman is not usable and ARCHY_INTEGRATION=1: %v", err)
		}
		t.Skipf("podman is not usable (ARCHY_INTEGRATION=1 makes this a failure): %v", err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("closing the test's own podman: %v", err)
		}
	})
	return env
}
