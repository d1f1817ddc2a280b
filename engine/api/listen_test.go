package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListenModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "archy")
	sock := filepath.Join(dir, "archy.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o755 {
		t.Errorf("directory mode %v, want 0755", di.Mode().Perm())
	}
	l.Close()
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind after Close: %v", err)
	}
}

func TestListenRefusesLiveDaemon(t *testing.T) {
	sock := serve(t, newFake())
	_, err := Listen(sock)
	if err == nil || !strings.Contains(err.Error(), "another archy daemon answers on "+sock) {
		t.Fatalf("second Listen: %v, want a refusal", err)
	}
	// The first daemon still answers.
	dial(t, sock)
}

func TestListenReplacesStaleSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "archy.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // a daemon that died: the file stays, nobody answers
	if _, err := os.Lstat(sock); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := Dial(context.Background(), sock); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Dial on a stale socket: %v, want ErrNoDaemon", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Dial took %v", d)
	}
	serveAt(t, sock, NewServer(newFake(), nil))
	dial(t, sock)
}

func TestListenLeavesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archy.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("the file was touched")
	}
}

func TestDialNoDaemon(t *testing.T) {
	start := time.Now()
	_, err := Dial(context.Background(), filepath.Join(t.TempDir(), "none.sock"))
	if !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Dial: %v, want ErrNoDaemon", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Dial took %v", d)
	}
}

// Something that accepts connections but never answers is no daemon
// either, and Dial gives up on it within about a second.
func TestDialSilentListener(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "silent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(context.Background(), sock)
	if !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Dial: %v, want ErrNoDaemon", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Dial took %v", d)
	}
}

// A server that answers but is not an archy daemon is not mistaken for
// "no daemon": the CLI must not act behind its back.
func TestDialNotArchy(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "other.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go srv.Serve(l)
	defer srv.Close()
	_, err = Dial(context.Background(), sock)
	if err == nil || errors.Is(err, ErrNoDaemon) {
		t.Errorf("Dial: %v, want an error other than ErrNoDaemon", err)
	}
}
