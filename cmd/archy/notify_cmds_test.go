package main

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// notifySockets are the sd_notify sockets the scripts listen on, by path,
// with what arrived.
var notifySockets sync.Map // path -> *notifyLog

type notifyLog struct {
	mu   sync.Mutex
	msgs []string
}

// notify-listen: listen on a unixgram socket as systemd would, and point
// NOTIFY_SOCKET (and a 2 s WATCHDOG_USEC) at it for what runs next.
func cmdNotifyListen(ts *testscript.TestScript, neg bool, args []string) {
	path := filepath.Join(ts.Getenv("WORK"), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	ts.Check(err)
	ts.Defer(func() { conn.Close() })
	log := &notifyLog{}
	notifySockets.Store(path, log)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			log.mu.Lock()
			log.msgs = append(log.msgs, string(buf[:n]))
			log.mu.Unlock()
		}
	}()
	ts.Setenv("NOTIFY_SOCKET", path)
	ts.Setenv("WATCHDOG_USEC", "2000000")
}

// notify-wait MESSAGE COUNT WAIT: at least COUNT datagrams containing
// MESSAGE (READY=1, WATCHDOG=1) arrive within WAIT.
func cmdNotifyWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: notify-wait MESSAGE COUNT WAIT")
	}
	v, ok := notifySockets.Load(ts.Getenv("NOTIFY_SOCKET"))
	if !ok {
		ts.Fatalf("notify-wait without notify-listen")
	}
	log := v.(*notifyLog)
	count, err := strconv.Atoi(args[1])
	ts.Check(err)
	wait, err := time.ParseDuration(args[2])
	ts.Check(err)
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		log.mu.Lock()
		n := 0
		for _, m := range log.msgs {
			if strings.Contains(m, args[0]) {
				n++
			}
		}
		log.mu.Unlock()
		if n >= count {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%d of %d %s notifications within %s", n, count, args[0], wait)
		}
	}
}
