// Package podmantest is the test harness for everything in archy that
// touches containers: it owns a private Podman service and a private image
// registry per test process.
//
// [Start] launches `podman system service` with its own --root, --runroot,
// --tmpdir, unix socket and bridge network, plus Debian's docker-registry on
// 127.0.0.1, all under one temp dir, configured by the files in conf/ (the
// same files scripts/podman-env.sh renders). [Env.Close] removes every
// container, stops both processes, unmounts whatever is left and deletes the
// dir; the next Start also cleans up after a test process that was killed
// before it could close. Tests normally share one Env per package:
//
//	func TestMain(m *testing.M) { podmantest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		env := podmantest.Shared(t)  // started once, torn down by Main
//		ctx := env.Context(t)        // derived from the connection context
//		dir := podmantest.BusyboxContext(t, "testdata/images/web")
//		report, err := images.Build(ctx, []string{filepath.Join(dir, "Dockerfile")}, …)
//		…
//		_, err = podmantest.WaitForHTTP(ctx, url, "<title>marker</title>", 10*time.Second)
//	}
//
// [Env.StopService], [Env.StartService] and [Env.RestartService] stop and
// start the service on the same state and socket while containers keep
// running (the chaos matrix's "Podman service restart"); [Env.Conn] keeps
// working across them, and [Env.ContainerPID] finds a container's process
// without the service. See service.go.
//
// A test that needs a Podman of its own (one whose storage is a small
// tmpfs, for the disk guard) calls [Own] with [Options]; it is closed, and
// the tmpfs unmounted, when the test ends.
//
// A testscript TestMain uses testscript.Main(podmantest.M(m), commands) and
// passes [Env.Environ] to its scripts, so the archy binary finds the service.
//
// Policy: with ARCHY_INTEGRATION=1 an unusable Podman fails the test with
// the reason; without it the test is skipped with the reason, and also under
// `go test -short`.
//
// It must not touch the host's containers, images, networks or /etc, and it
// must not shell out to the podman CLI for anything a test asserts on: tests
// talk to the service through the v5 bindings, like archy itself.
package podmantest
