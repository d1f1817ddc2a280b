package memtrim

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssKB reads the process's resident set from /proc.
func rssKB(t *testing.T, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			n, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func TestText(t *testing.T) {
	before := rssKB(t, "RssFile")
	dropped, err := Text()
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Fatal("no mapping of the executable was dropped")
	}
	after := rssKB(t, "RssFile")
	if after >= before {
		t.Errorf("file-backed RSS %d kB after dropping, %d kB before", after, before)
	}
	// The code runs on as before: its pages come back from the file.
	if _, err := Text(); err != nil {
		t.Fatal(err)
	}
	if s := strconv.Itoa(12345) + strings.Repeat("x", 2); s != "12345xx" {
		t.Fatal(s)
	}
}
