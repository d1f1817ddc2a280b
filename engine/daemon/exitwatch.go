package daemon

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// exitWatcher tells the moment a container's main process ends, which
// Podman's event stream reports only later (its file event log is tailed
// by polling: some 150-250 ms). It holds a pidfd per process, waited on by
// Go's network poller: no thread and no polling per container. It is an
// accelerator only: a process it misses (it died before it was watched,
// Podman is remote, pidfds are not available) is still seen through the
// events, and a wrong guess (a reused pid) costs one reconcile that finds
// nothing to do.
type exitWatcher struct {
	onExit func(key string)

	mu      sync.Mutex
	watched map[string]*pidWatch // by key (app id)
}

type pidWatch struct {
	pid  int
	file *os.File
}

func newExitWatcher(onExit func(key string)) *exitWatcher {
	return &exitWatcher{onExit: onExit, watched: map[string]*pidWatch{}}
}

// Watch follows pid for key, replacing the process watched for it before;
// pid 0 stops watching key. It reports whether pid is watched.
func (w *exitWatcher) Watch(key string, pid int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old := w.watched[key]; old != nil {
		if old.pid == pid {
			return true
		}
		old.file.Close() // its goroutine ends without a call
		delete(w.watched, key)
	}
	if pid <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return false // gone already, another pid namespace, or an old kernel
	}
	// A non-blocking descriptor handed to os.NewFile joins the poller.
	pw := &pidWatch{pid: pid, file: os.NewFile(uintptr(fd), "pidfd")}
	w.watched[key] = pw
	go w.wait(key, pw)
	return true
}

// wait blocks until the process ends (its pidfd turns readable) or the
// watch is dropped (the file is closed).
func (w *exitWatcher) wait(key string, pw *pidWatch) {
	rc, err := pw.file.SyscallConn()
	if err != nil {
		return
	}
	polled := false
	err = rc.Read(func(uintptr) bool {
		done := polled // the first call only asks the poller to wait
		polled = true
		return done
	})
	w.mu.Lock()
	current := w.watched[key] == pw
	if current {
		delete(w.watched, key)
		pw.file.Close()
	}
	w.mu.Unlock()
	if err == nil && current {
		w.onExit(key)
	}
}

// Close drops every watch.
func (w *exitWatcher) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, pw := range w.watched {
		pw.file.Close()
		delete(w.watched, key)
	}
}
