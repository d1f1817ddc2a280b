package daemon

import (
	"os/exec"
	"testing"
	"time"
)

func TestExitWatcher(t *testing.T) {
	exited := make(chan string, 4)
	w := newExitWatcher(func(key string) { exited <- key })
	defer w.Close()

	sleeper := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	a, b, c := sleeper(), sleeper(), sleeper()
	if !w.Watch("a", a.Process.Pid) || !w.Watch("b", b.Process.Pid) {
		t.Fatal("pidfds not available")
	}
	// Watching "b" again with another process drops the first one: its
	// death is not reported.
	if !w.Watch("b", c.Process.Pid) {
		t.Fatal("re-watch failed")
	}
	b.Process.Kill()
	a.Process.Kill()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-exited:
			if got != want {
				t.Fatalf("exit reported for %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no exit reported for %q", want)
		}
	}
	expect("a")
	c.Process.Kill()
	expect("b")
	select {
	case got := <-exited:
		t.Fatalf("unexpected exit report for %q", got)
	case <-time.After(100 * time.Millisecond):
	}
	// A process that is gone cannot be watched.
	a.Wait()
	if w.Watch("a", a.Process.Pid) {
		t.Error("watching a reaped pid succeeded")
	}
	if w.Watch("z", 0) {
		t.Error("pid 0 is watched")
	}
}
