package podmantest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/pods"
	"github.com/moby/sys/mountinfo"
)

const (
	startTimeout = 30 * time.Second // service or registry ready
	stopTimeout  = 10 * time.Second // graceful shutdown before SIGKILL
	cleanTimeout = 60 * time.Second // removing every container at Close
)

// Env is one private Podman service and one local registry.
//
// Conn is the context bindings.NewConnection returned: every Podman call
// must derive its context from it (see [Env.Context]). It is derived from
// context.Background, so it outlives the context given to [Start].
type Env struct {
	Conn          context.Context
	URL           string // the service's socket, "unix:///…/podman.sock"
	Registry      string // the registry's address, "127.0.0.1:PORT"
	Dir           string // temp dir holding all state; removed by Close
	Network       string // the service's default (bridge) network
	SubnetPool    string // "10.x.y.0/20": the default network's /24 and those of networks the service creates
	StorageDriver string // "overlay", or "vfs" where overlay does not work

	containersConf string
	registriesConf string
	storageConf    string
	podman         string // the podman binary
	storageSize    int64  // Options.StorageSize
	registry       *proc
	closed         bool

	svcMu         sync.Mutex // guards the fields below (StopService, StartService, Close)
	service       *proc      // nil while stopped
	serviceDown   bool       // stopped by StopService and not started again
	serviceStarts int        // starts so far, to name each start's log
}

// Start launches a private Podman service and registry in a new temp dir and
// waits until both answer. ctx bounds the start only. The caller must Close
// the Env; on error nothing is left behind.
func Start(ctx context.Context) (*Env, error) { return StartWith(ctx, Options{}) }

// Options shape an Env that a test starts for itself.
type Options struct {
	// StorageSize, when set, puts the service's storage root (its graph
	// root, where images and containers live) on a tmpfs of that many
	// bytes: a small disk for the disk guard's tests. Close unmounts it.
	StorageSize int64
}

// StartWith is Start with options.
func StartWith(ctx context.Context, opts Options) (_ *Env, err error) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		return nil, fmt.Errorf("podman not found (run scripts/deps.sh): %w", err)
	}
	registry, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, fmt.Errorf("docker-registry not found (run scripts/deps.sh): %w", err)
	}
	// Not fatal: what is left of a crashed run must not fail this one.
	if err := reapStale(podman); err != nil {
		fmt.Fprintf(os.Stderr, "podmantest: %v\n", err)
	}
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return nil, fmt.Errorf("creating podman test dir: %w", err)
	}
	e := &Env{Dir: dir, storageSize: opts.StorageSize}
	defer func() {
		if err != nil {
			if cerr := e.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleaning up after failed start: %w", cerr))
			}
		}
	}()
	if err := writeOwner(dir); err != nil {
		return nil, err
	}
	if err := e.writeConfs(); err != nil {
		return nil, err
	}
	if err := e.startRegistry(ctx, registry); err != nil {
		return nil, fmt.Errorf("starting registry: %w", err)
	}
	// Overlay is faster and is what a real node uses; vfs works everywhere
	// (e.g. when the temp dir is itself on overlayfs).
	var errs []error
	for _, driver := range []string{"overlay", "vfs"} {
		err := e.startService(ctx, podman, driver)
		if err == nil {
			return e, nil
		}
		errs = append(errs, fmt.Errorf("with storage driver %s: %w", driver, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("starting podman service: %w", errors.Join(errs...))
}

// writeConfs renders conf/ into the Env's dir.
func (e *Env) writeConfs() error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	prefix, third, err := pickSubnet()
	if err != nil {
		return err
	}
	suffix := randomHex(3)
	e.Registry = "127.0.0.1:" + strconv.Itoa(port)
	e.Network = "archytest-" + suffix
	e.SubnetPool = fmt.Sprintf("%s.%d.0/20", prefix, third)
	netDir := filepath.Join(e.Dir, "networks")
	if err := os.Mkdir(netDir, 0o755); err != nil {
		return fmt.Errorf("creating network config dir: %w", err)
	}
	vars := map[string]string{
		"NETWORK":      e.Network,
		"NETWORK_ID":   randomHex(32),
		"NETWORK_DIR":  netDir,
		"BRIDGE":       "archy" + suffix, // interface names are at most 15 bytes
		"SUBNET":       fmt.Sprintf("%s.%d", prefix, third),
		"SUBNET_POOL":  e.SubnetPool,
		"REGISTRY":     e.Registry,
		"REGISTRY_DIR": filepath.Join(e.Dir, "registry"),
		"ROOT":         filepath.Join(e.Dir, "root"),
		"RUNROOT":      filepath.Join(e.Dir, "runroot"),
	}
	e.containersConf = filepath.Join(e.Dir, "containers.conf")
	e.registriesConf = filepath.Join(e.Dir, "registries.conf")
	e.storageConf = filepath.Join(e.Dir, "storage.conf")
	for name, dst := range map[string]string{
		"containers.conf": e.containersConf,
		"registries.conf": e.registriesConf,
		"storage.conf":    e.storageConf,
		"registry.yml":    filepath.Join(e.Dir, "registry.yml"),
		"network.json":    filepath.Join(netDir, e.Network+".json"),
	} {
		if err := writeConf(dst, name, vars); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) startRegistry(ctx context.Context, bin string) error {
	p, err := startProc("registry", filepath.Join(e.Dir, "registry.log"), os.Environ(),
		bin, "serve", filepath.Join(e.Dir, "registry.yml"))
	if err != nil {
		return err
	}
	e.registry = p
	url := "http://" + e.Registry + "/v2/"
	client := &http.Client{Timeout: time.Second}
	return p.waitReady(ctx, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (e *Env) startService(ctx context.Context, podman, driver string) error {
	e.podman = podman
	e.URL = "unix://" + e.socketPath()
	e.StorageDriver = driver
	var p *proc
	err := e.mountStorage()
	if err == nil {
		p, err = e.launchService(ctx, "service-"+driver+".log")
	}
	var conn context.Context
	if err == nil {
		// NewConnection pings the service once more and keeps its version.
		if conn, err = bindings.NewConnection(context.Background(), e.URL); err != nil {
			_ = p.stop()
			err = fmt.Errorf("connecting to the podman service: %w", err)
		}
	}
	if err != nil {
		// Leave nothing of this attempt behind: storage refuses to reopen
		// its root with another driver.
		for _, dir := range e.stateDirs() {
			_ = unmountAll(dir)
			_ = os.RemoveAll(dir)
		}
		return err
	}
	e.svcMu.Lock()
	e.service, e.Conn = p, conn
	e.serviceStarts = 1
	e.svcMu.Unlock()
	return nil
}

// mountStorage puts the storage root on a tmpfs of Options.StorageSize
// (each start attempt afresh: a failed one unmounts it).
func (e *Env) mountStorage() error {
	if e.storageSize <= 0 {
		return nil
	}
	root := e.stateDirs()[0]
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("creating storage root: %w", err)
	}
	if err := syscall.Mount("tmpfs", root, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", e.storageSize)); err != nil {
		return fmt.Errorf("mounting a %d-byte tmpfs on %s: %w", e.storageSize, root, err)
	}
	return nil
}

// socketPath is the service's unix socket; it stays the same across
// [Env.RestartService].
func (e *Env) socketPath() string { return filepath.Join(e.Dir, "podman.sock") }

// stateDirs are the service's --root, --runroot and --tmpdir.
func (e *Env) stateDirs() []string {
	return []string{filepath.Join(e.Dir, "root"), filepath.Join(e.Dir, "runroot"), filepath.Join(e.Dir, "tmp")}
}

// launchService runs `podman system service` on the Env's state dirs,
// socket, storage driver and conf files, logging to logName in Dir, and
// waits until it answers a ping. On error the process is stopped.
func (e *Env) launchService(ctx context.Context, logName string) (*proc, error) {
	sock := e.socketPath()
	state := e.stateDirs()
	// A service that failed with another driver, or one that was killed,
	// may have left its socket.
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale socket: %w", err)
	}
	p, err := startProc("podman service", filepath.Join(e.Dir, logName), e.serviceEnviron(),
		e.podman,
		"--root", state[0],
		"--runroot", state[1],
		"--tmpdir", state[2],
		"--storage-driver", e.StorageDriver,
		"system", "service", "--time=0", e.URL)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, func() bool { return ping(ctx, sock) }); err != nil {
		_ = p.stop()
		return nil, err
	}
	return p, nil
}

// serviceEnviron is the service's environment: this process's, without
// anything that would point podman elsewhere, plus the rendered conf files.
func (e *Env) serviceEnviron() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "CONTAINER_") || strings.HasPrefix(kv, "CONTAINERS_") ||
			strings.HasPrefix(kv, "STORAGE_DRIVER=") || strings.HasPrefix(kv, "STORAGE_OPTS=")
	})
	return append(env,
		"CONTAINERS_CONF="+e.containersConf,
		"CONTAINERS_REGISTRIES_CONF="+e.registriesConf,
		"CONTAINERS_STORAGE_CONF="+e.storageConf,
	)
}

// Environ returns the variables a child process (the archy binary in a
// testscript, a podman --remote client) needs to use this Env:
// CONTAINER_HOST, CONTAINERS_CONF, CONTAINERS_REGISTRIES_CONF and
// ARCHY_TEST_REGISTRY.
func (e *Env) Environ() []string {
	return []string{
		"CONTAINER_HOST=" + e.URL,
		"CONTAINERS_CONF=" + e.containersConf,
		"CONTAINERS_REGISTRIES_CONF=" + e.registriesConf,
		"ARCHY_TEST_REGISTRY=" + e.Registry,
	}
}

// Context returns a context for Podman calls in t: derived from Conn and
// cancelled when t ends.
func (e *Env) Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(e.Conn)
	t.Cleanup(cancel)
	return ctx
}

// Close removes every pod and container, stops the service and the
// registry, unmounts what is left under Dir and removes Dir. It reports
// everything that went wrong, and is safe to call twice. A service stopped
// with [Env.StopService] is started again first, so that the containers go
// through Podman.
func (e *Env) Close() error {
	e.svcMu.Lock()
	defer e.svcMu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	// A test that stopped the service and failed before starting it again
	// must not leak its containers: bring the service back to remove them.
	if e.serviceDown {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		if err := e.startServiceLocked(ctx); err != nil {
			errs = append(errs, fmt.Errorf("starting the stopped podman service to clean up: %w", err))
		}
		cancel()
	}
	if e.service != nil && e.Conn != nil {
		if err := e.removeAll(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range []*proc{e.service, e.registry} {
		if p != nil {
			if err := p.stop(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Container monitors (conmon) leave the service's process group; catch
	// any that survived a failed removal by their paths under Dir. A
	// monitor of a container just removed may still be on its way out
	// (it runs its exit command first): give those a moment.
	waitLeftovers(e.Dir, leftoverGrace)
	if err := killLeftovers(e.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := unmountAll(e.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", e.Dir, err))
	}
	return errors.Join(errs...)
}

// removeAll force-removes every pod and container, so that their
// processes, mounts and network set-up go away through Podman itself.
func (e *Env) removeAll() error {
	ctx, cancel := context.WithTimeout(e.Conn, cleanTimeout)
	defer cancel()
	var errs []error
	podList, err := pods.List(ctx, nil)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing pods: %w", err))
	}
	for _, p := range podList {
		if _, err := pods.Remove(ctx, p.Id, new(pods.RemoveOptions).WithForce(true).WithTimeout(0)); err != nil {
			errs = append(errs, fmt.Errorf("removing pod %s: %w", p.Name, err))
		}
	}
	list, err := containers.List(ctx, new(containers.ListOptions).WithAll(true))
	if err != nil {
		errs = append(errs, fmt.Errorf("listing containers: %w", err))
	}
	for _, c := range list {
		opts := new(containers.RemoveOptions).WithForce(true).WithVolumes(true).WithTimeout(0).WithIgnore(true)
		if _, err := containers.Remove(ctx, c.ID, opts); err != nil {
			errs = append(errs, fmt.Errorf("removing container %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// leftoverGrace is how long Close lets the processes of removed
// containers end by themselves before it kills them as leftovers.
const leftoverGrace = 10 * time.Second

// waitLeftovers waits up to grace until no process but finished exec
// sessions' monitors mentions dir.
func waitLeftovers(dir string, grace time.Duration) {
	for deadline := time.Now().Add(grace); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if len(leftovers(dir)) == 0 {
			return
		}
	}
}

// leftovers are the processes whose command line mentions dir, except
// finished exec sessions' monitors, which linger for Podman's
// exit_command_delay and have no API to end them (Podman 4.3): not a leak
// of the test's.
func leftovers(dir string) []process {
	all, _ := under(dir)
	return slices.DeleteFunc(all, func(p process) bool { return strings.Contains(p.cmdline, "--exec-attach") })
}

// process is a process by pid and command line (arguments space-separated).
type process struct {
	pid     int
	cmdline string
}

// under lists every process whose command line mentions dir.
func under(dir string) ([]process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var out []process
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), dir+"/") {
			continue
		}
		out = append(out, process{pid, strings.ReplaceAll(strings.TrimSpace(string(cmdline)), "\x00", " ")})
	}
	return out, nil
}

// killLeftovers SIGKILLs every process whose command line mentions dir,
// and reports the leftovers (see leftovers) among them.
func killLeftovers(dir string) error {
	all, err := under(dir)
	if err != nil {
		return err
	}
	var killed []string
	for _, p := range all {
		if syscall.Kill(p.pid, syscall.SIGKILL) == nil && !strings.Contains(p.cmdline, "--exec-attach") {
			killed = append(killed, p.cmdline)
		}
	}
	if len(killed) > 0 {
		return fmt.Errorf("killed %d process(es) left running: %s", len(killed), strings.Join(killed, "; "))
	}
	return nil
}

// unmountAll lazily unmounts everything mounted under dir, deepest first
// (overlay's layers and its bind mount of its own home, container shm).
func unmountAll(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("listing mounts under %s: %w", dir, err)
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int {
		return len(b.Mountpoint) - len(a.Mountpoint)
	})
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m.Mountpoint, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}
