package podmantest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
)

// Restarting the service.
//
// [Env.StopService] and [Env.StartService] (or [Env.RestartService]) stop
// the private `podman system service` and start it again on the same
// --root, --runroot, --tmpdir, storage driver, conf files and socket, as a
// `systemctl restart podman` does on a node. Containers keep running
// meanwhile: each has its own conmon, which is not in the service's
// process group, and the service does not stop containers when it exits.
// A container that exits while the service is down is cleaned up by the
// `podman container cleanup` its conmon runs (not by the service), so the
// restarted service reports it exited.
//
// [Env.Conn] stays valid across a restart: the bindings' HTTP client dials
// the unix socket for each new connection, and its idle keep-alive
// connections to the old service are closed on stop and start. A context
// derived from Conn before the restart (e.g. [Env.Context]) works after it;
// calls made while the service is down fail with a connection error.
//
// These are not for tests running in parallel with others on a shared Env:
// every Podman call of theirs would fail while the service is down.

// StopService stops the Podman service (SIGTERM, SIGKILL after
// stopTimeout) and leaves its containers running. [Env.Close] starts it
// again if needed to remove them.
func (e *Env) StopService() error {
	e.svcMu.Lock()
	defer e.svcMu.Unlock()
	if e.closed {
		return errors.New("podmantest: StopService on a closed Env")
	}
	if e.service == nil {
		return errors.New("podmantest: the podman service is not running")
	}
	err := e.service.stop()
	e.service = nil
	e.serviceDown = true
	e.closeIdle()
	if err != nil {
		return fmt.Errorf("stopping the podman service: %w", err)
	}
	return nil
}

// StartService starts the Podman service that [Env.StopService] stopped,
// on the same state, conf and socket, and waits until it answers (at most
// startTimeout, or until ctx ends).
func (e *Env) StartService(ctx context.Context) error {
	e.svcMu.Lock()
	defer e.svcMu.Unlock()
	if e.closed {
		return errors.New("podmantest: StartService on a closed Env")
	}
	if e.service != nil {
		return errors.New("podmantest: the podman service is already running")
	}
	return e.startServiceLocked(ctx)
}

// startServiceLocked starts the service again; svcMu is held.
func (e *Env) startServiceLocked(ctx context.Context) error {
	e.serviceStarts++
	p, err := e.launchService(ctx, fmt.Sprintf("service-%s-%d.log", e.StorageDriver, e.serviceStarts))
	if err != nil {
		return fmt.Errorf("starting the podman service again: %w", err)
	}
	e.service, e.serviceDown = p, false
	e.closeIdle()
	return nil
}

// RestartService stops the Podman service and starts it again.
func (e *Env) RestartService(ctx context.Context) error {
	if err := e.StopService(); err != nil {
		return err
	}
	return e.StartService(ctx)
}

// ServiceRunning reports whether the Podman service runs (it is not
// stopped by [Env.StopService]).
func (e *Env) ServiceRunning() bool {
	e.svcMu.Lock()
	defer e.svcMu.Unlock()
	return e.service != nil
}

// closeIdle drops Conn's idle keep-alive connections, which lead to a
// service that is gone.
func (e *Env) closeIdle() {
	if e.Conn == nil {
		return
	}
	if c, err := bindings.GetClient(e.Conn); err == nil {
		c.Client.CloseIdleConnections()
	}
}

// ping reports whether the service on the unix socket sock answers
// GET /_ping with 200, on a connection of its own.
func ping(ctx context.Context, sock string) bool {
	if _, err := os.Stat(sock); err != nil {
		return false
	}
	client := &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			},
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://d/_ping", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ContainerPID returns the host PID of the main process of a running
// container, given its name, full ID or a unique ID prefix. It reads the
// container store's files rather than asking the service, so it works
// while the service is stopped: the name from
// <root>/<driver>-containers/containers.json, the PID from the pidfile
// the container's conmon writes under <runroot>. The PID is checked to be
// alive and in the container's cgroup, so a stale pidfile is an error.
func (e *Env) ContainerPID(nameOrID string) (int, error) {
	id, err := e.containerID(nameOrID)
	if err != nil {
		return 0, err
	}
	pidfile := filepath.Join(e.Dir, "runroot", e.StorageDriver+"-containers", id, "userdata", "pidfile")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0, fmt.Errorf("container %s: no pidfile (not running?): %w", nameOrID, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("container %s: bad pidfile %s: %q", nameOrID, pidfile, b)
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, fmt.Errorf("container %s: process %d is gone (not running?): %w", nameOrID, pid, err)
	}
	if !strings.Contains(string(cg), id) {
		return 0, fmt.Errorf("container %s: process %d is not in the container's cgroup: %s", nameOrID, pid, cg)
	}
	return pid, nil
}

// containerID resolves a container's name or ID from the container
// store's own list, without the service.
func (e *Env) containerID(nameOrID string) (string, error) {
	path := filepath.Join(e.Dir, "root", e.StorageDriver+"-containers", "containers.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the container store: %w", err)
	}
	var list []struct {
		ID    string   `json:"id"`
		Names []string `json:"names"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return "", fmt.Errorf("parsing %s: %w", path, err)
	}
	var ids []string
	for _, c := range list {
		switch {
		case c.ID == nameOrID || slices.Contains(c.Names, nameOrID):
			return c.ID, nil
		case strings.HasPrefix(c.ID, nameOrID):
			ids = append(ids, c.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no container %s in the container store", nameOrID)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("container ID prefix %s is ambiguous: %v", nameOrID, ids)
	}
}
