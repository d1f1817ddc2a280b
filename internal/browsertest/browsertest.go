// Package browsertest gives tests a real headless Chromium driven through
// chromedp: the status page is checked as a browser runs it, not as a
// string. Debian's chromium-headless-shell or chromium is found on PATH
// (scripts/deps.sh installs the first).
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// Candidates are the browsers tried, in order.
var Candidates = []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"}

// Find returns the path of the first browser of Candidates on PATH.
func Find() (string, error) {
	var first error
	for _, name := range Candidates {
		p, err := exec.LookPath(name)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", first
}

// New starts a headless browser for t and returns a chromedp context on a
// tab of it; both end with t. Without a browser, t fails when
// ARCHY_INTEGRATION=1 (CI must not pass by skipping) and is skipped
// otherwise.
func New(t testing.TB) context.Context {
	t.Helper()
	if testing.Short() && os.Getenv("ARCHY_INTEGRATION") != "1" {
		t.Skip("browsertest: browser test skipped in -short mode (ARCHY_INTEGRATION=1 runs it)")
	}
	if _, err := Find(); err != nil {
		if os.Getenv("ARCHY_INTEGRATION") == "1" {
			t.Fatalf("no headless browser (%v) and ARCHY_INTEGRATION=1: run scripts/deps.sh", err)
		}
		t.Skipf("no headless browser (%v); scripts/deps.sh installs chromium-headless-shell (ARCHY_INTEGRATION=1 makes this a failure)", err)
	}
	ctx, stop, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return ctx
}

// Start starts a headless browser with its profile in dir and returns a
// chromedp context on a tab of it, and the function that ends both. For
// callers without a testing.TB (testscript commands); tests use New.
func Start(dir string) (context.Context, func(), error) {
	bin, err := Find()
	if err != nil {
		return nil, nil, fmt.Errorf("no headless browser: %w (scripts/deps.sh installs chromium-headless-shell)", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // root in a container: Chromium's sandbox cannot start
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1000, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	stop := func() { cancel(); cancelAlloc() }
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		stop()
		return nil, nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	return ctx, stop, nil
}

// Screenshot saves a full-page PNG of the tab as NAME.png in the
// directory ARCHY_ARTIFACTS names (default: the test's temp dir, kept only
// while it runs), and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("ARCHY_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path, err := Save(ctx, dir, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Save writes a full-page PNG of the tab to dir/NAME.png. (FullScreenshot
// makes a PNG only at quality 100; below it, a JPEG.)
func Save(ctx context.Context, dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", fmt.Errorf("screenshot %s: %w", name, err)
	}
	path := filepath.Join(dir, name+".png")
	return path, os.WriteFile(path, png, 0o644)
}
