package main

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
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

// notify-wait REGEXP COUNT WAIT: at least COUNT datagrams matching REGEXP
// (multi-line: ^ and $ match at each assignment, READY=1, ^STATUS=7 apps)
// arrive within WAIT; the last match goes to stdout.
func cmdNotifyWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: notify-wait REGEXP COUNT WAIT")
	}
	log := notifyLogOf(ts)
	re, err := regexp.Compile("(?m)" + args[0])
	ts.Check(err)
	count, err := strconv.Atoi(args[1])
	ts.Check(err)
	wait, err := time.ParseDuration(args[2])
	ts.Check(err)
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		log.mu.Lock()
		var matched []string
		for _, m := range log.msgs {
			if re.MatchString(m) {
				matched = append(matched, m)
			}
		}
		all := slices.Clone(log.msgs)
		log.mu.Unlock()
		if len(matched) >= count {
			fmt.Fprintln(ts.Stdout(), matched[len(matched)-1])
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%d of %d notifications matching %s within %s; got %q", len(matched), count, args[0], wait, all)
		}
	}
}

// notify-order FIRST SECOND: a datagram matching FIRST arrived before the
// first matching SECOND (which arrived).
func cmdNotifyOrder(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: notify-order FIRST SECOND")
	}
	log := notifyLogOf(ts)
	first, err := regexp.Compile("(?m)" + args[0])
	ts.Check(err)
	second, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, m := range log.msgs {
		switch {
		case first.MatchString(m):
			return
		case second.MatchString(m):
			ts.Fatalf("%q (matching %s) came before any notification matching %s; got %q", m, args[1], args[0], log.msgs)
		}
	}
	ts.Fatalf("no notification matching %s nor %s; got %q", args[0], args[1], log.msgs)
}

func notifyLogOf(ts *testscript.TestScript) *notifyLog {
	v, ok := notifySockets.Load(ts.Getenv("NOTIFY_SOCKET"))
	if !ok {
		ts.Fatalf("notify-wait without notify-listen")
	}
	return v.(*notifyLog)
}

// signal-daemon SIGNAL: send SIGNAL (HUP, TERM) to the process serving
// $ARCHY_SOCKET, found through the socket's peer credentials: testscript's
// kill knows only INT and KILL, and a pid found by name could be another
// archy's.
func cmdSignalDaemon(ts *testscript.TestScript, neg bool, args []string) {
	sigs := map[string]syscall.Signal{"HUP": syscall.SIGHUP, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT}
	sig, ok := sigs[strings.TrimPrefix(strings.Join(args, ""), "SIG")]
	if neg || len(args) != 1 || !ok {
		ts.Fatalf("usage: signal-daemon HUP|TERM|INT")
	}
	conn, err := net.Dial("unix", ts.Getenv("ARCHY_SOCKET"))
	ts.Check(err)
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	ts.Check(err)
	var cred *unix.Ucred
	var credErr error
	ts.Check(raw.Control(func(fd uintptr) { cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }))
	ts.Check(credErr)
	ts.Logf("sending SIG%s to the daemon, pid %d", args[0], cred.Pid)
	ts.Check(syscall.Kill(int(cred.Pid), sig))
}
