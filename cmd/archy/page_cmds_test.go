package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rogpeppe/go-internal/testscript"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api"
	"archy.dev/archy/internal/browsertest"
)

// The status page's commands drive a real headless Chromium, one per
// script, started by the first page-open and ended with the script.

var browsers sync.Map // $WORK -> context.Context of the script's tab

func browserOf(ts *testscript.TestScript) context.Context {
	if ctx, ok := browsers.Load(ts.Getenv("WORK")); ok {
		return ctx.(context.Context)
	}
	ctx, stop, err := browsertest.Start(ts.MkAbs("browser-profile"))
	if err != nil {
		ts.Fatalf("%v", err)
	}
	browsers.Store(ts.Getenv("WORK"), ctx)
	ts.Defer(func() {
		browsers.Delete(ts.Getenv("WORK"))
		stop()
	})
	return ctx
}

func pageCmds() map[string]func(*testscript.TestScript, bool, []string) {
	return map[string]func(*testscript.TestScript, bool, []string){
		"page-open":       cmdPageOpen,
		"page-wait":       cmdPageWait,
		"page-text":       cmdPageText,
		"page-click":      cmdPageClick,
		"page-shot":       cmdPageShot,
		"page-banner":     cmdPageBanner,
		"page-eval":       cmdPageEval,
		"http-status":     cmdHTTPStatus,
		"page-cross-site": cmdPageCrossSite,
		"token-env":       cmdTokenEnv,
	}
}

// token reads the daemon's http token.
func token(ts *testscript.TestScript) string {
	b, err := os.ReadFile(filepath.Join(ts.Getenv("ARCHY_DATA_DIR"), api.TokenFile))
	ts.Check(err)
	return strings.TrimSpace(string(b))
}

// token-env NAME: set $NAME to the daemon's http token.
func cmdTokenEnv(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: token-env NAME")
	}
	ts.Setenv(args[0], token(ts))
}

// page-open URL: load URL in the script's browser; a URL ending in
// "token=" gets the daemon's token appended.
func cmdPageOpen(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: page-open URL")
	}
	u := args[0]
	if strings.HasSuffix(u, "token=") {
		u += token(ts)
	}
	ctx := browserOf(ts)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ts.Check(chromedp.Do(ctx, chromedp.Navigate(u)))
}

func evalJS[T any](ts *testscript.TestScript, js string) (T, error) {
	ctx, cancel := context.WithTimeout(browserOf(ts), 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pollPage evaluates the JavaScript boolean cond every 50 ms until it is
// true, at most wait.
func pollPage(ts *testscript.TestScript, cond string, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		ok, err := evalJS[bool](ts, cond)
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func visibleJS(sel string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.getClientRects().length > 0 })()`, jsString(sel))
}

// page-wait SELECTOR WAIT: wait at most WAIT for an element matching
// SELECTOR to be visible; with !, for none to be.
func cmdPageWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: page-wait SELECTOR WAIT")
	}
	wait, err := time.ParseDuration(args[1])
	ts.Check(err)
	cond := visibleJS(args[0])
	if neg {
		cond = "!" + cond
	}
	if !pollPage(ts, cond, wait) {
		ts.Fatalf("%s: visible is %t after %s\n%s", args[0], neg, wait, pageText(ts))
	}
}

// pageText is the page's text, for failure messages.
func pageText(ts *testscript.TestScript) string {
	s, _ := evalJS[string](ts, `document.body ? document.body.innerText : ""`)
	return s
}

// page-text SELECTOR REGEXP WAIT: wait at most WAIT for the text of the
// first element matching SELECTOR to match REGEXP; prints it.
func cmdPageText(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: page-text SELECTOR REGEXP WAIT")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	wait, err := time.ParseDuration(args[2])
	ts.Check(err)
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent : "" })()`, jsString(args[0]))
	var text string
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if text, err = evalJS[string](ts, js); err == nil && re.MatchString(text) {
			fmt.Fprintln(ts.Stdout(), text)
			return
		}
	}
	ts.Fatalf("%s: text %q does not match %s after %s", args[0], text, args[1], wait)
}

// page-click SELECTOR: click the (visible) element matching SELECTOR.
func cmdPageClick(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: page-click SELECTOR")
	}
	if !pollPage(ts, visibleJS(args[0]), 10*time.Second) {
		ts.Fatalf("%s: not visible\n%s", args[0], pageText(ts))
	}
	ctx, cancel := context.WithTimeout(browserOf(ts), 10*time.Second)
	defer cancel()
	ts.Check(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(args[0]))))
}

// page-eval JS: evaluate JS in the page and print its (string) value.
func cmdPageEval(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: page-eval JS")
	}
	v, err := evalJS[string](ts, "String("+args[0]+")")
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), v)
}

// page-shot NAME: save a screenshot as NAME.png in $ARCHY_ARTIFACTS
// (default: the system's temp dir, archy-artifacts).
func cmdPageShot(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: page-shot NAME")
	}
	dir := os.Getenv("ARCHY_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "archy-artifacts")
	}
	ctx, cancel := context.WithTimeout(browserOf(ts), 30*time.Second)
	defer cancel()
	path, err := browsertest.Save(ctx, dir, args[0])
	ts.Check(err)
	ts.Logf("screenshot: %s", path)
}

// bannerWatch records in the page when each banner (app/kind) appears and
// goes, from a MutationObserver: a banner that lives less than a polling
// interval is still seen, at the time it was.
const bannerWatch = `(() => {
	window.__banners = window.__banners || {};
	if (window.__bannerObs) return true;
	const rec = () => {
		const now = Date.now(), seen = new Set();
		document.querySelectorAll('[role=alert][data-app]').forEach(e => {
			const k = e.dataset.app + '/' + e.dataset.kind;
			seen.add(k);
			const b = window.__banners[k];
			if (!b || b.gone) window.__banners[k] = {at: now};
		});
		for (const k in window.__banners) {
			const b = window.__banners[k];
			if (!seen.has(k) && !b.gone) b.gone = now;
		}
	};
	window.__bannerObs = new MutationObserver(rec);
	window.__bannerObs.observe(document.documentElement, {childList: true, subtree: true, attributes: true});
	rec();
	return true;
})()`

// page-banner APP KIND WITHIN WAIT CMD...: run CMD (a program, in the
// background) and wait at most WAIT for a failure event of APP; the page
// must show a banner of KIND for APP no later than WITHIN after the event
// reached this test (the page follows the same stream).
func cmdPageBanner(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 5 || neg {
		ts.Fatalf("usage: page-banner APP KIND WITHIN WAIT CMD...")
	}
	app, kind := args[0], args[1]
	within, err := time.ParseDuration(args[2])
	ts.Check(err)
	wait, err := time.ParseDuration(args[3])
	ts.Check(err)
	key := jsString(app + "/" + kind)
	_, err = evalJS[bool](ts, bannerWatch)
	ts.Check(err)
	if _, err := evalJS[bool](ts, "delete window.__banners["+key+"], true"); err != nil {
		ts.Fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	events, closeEvents := subscribe(ts, ctx)
	defer closeEvents()
	go ts.Exec(args[4], args[5:]...)
	var ev engine.Event
	var evAt time.Time
	for ev.App == "" {
		select {
		case e, ok := <-events:
			if !ok {
				ts.Fatalf("event stream ended before a failure event of %s", app)
			}
			if e.Type == engine.EventFailure && e.App == app {
				ev, evAt = e, time.Now()
			}
		case <-ctx.Done():
			ts.Fatalf("no failure event of %s within %s", app, wait)
		}
	}
	fmt.Fprintf(ts.Stdout(), "failure %s: %s\n", ev.App, ev.Message)
	var at float64
	for deadline := evAt.Add(within + 5*time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if at, err = evalJS[float64](ts, "(window.__banners["+key+"] || {}).at || 0"); err == nil && at > 0 {
			break
		}
	}
	if at == 0 {
		ts.Fatalf("no %s banner for %s within %s of the failure event\n%s", kind, app, within+5*time.Second, pageText(ts))
	}
	late := time.UnixMilli(int64(at)).Sub(evAt)
	fmt.Fprintf(ts.Stdout(), "banner %s %s: %s after the event\n", app, kind, late.Round(time.Millisecond))
	if late > within {
		ts.Fatalf("the %s banner for %s came %s after the failure event, more than %s", kind, app, late, within)
	}
}

// crossSitePage is a page of another origin that tries to make the
// operator's browser (signed in to the status page) act: a fetch with the
// custom header (which needs a CORS preflight archy never grants), then,
// sent by the command, a plain form POST (which carries the cookie:
// SameSite=Strict is about sites, and 127.0.0.1 on another port is the
// same site).
const crossSitePage = `<!doctype html><title>elsewhere</title>
<form id=f method=POST action=%[1]q><input name=x value=1></form>
<script>
fetch(%[1]q, {method: 'POST', credentials: 'include', headers: {'X-Archy-Request': '1'}})
	.then(r => { document.title = 'fetch answered ' + r.status })
	.catch(() => { document.title = 'fetch blocked' });
</script>`

// page-cross-site URL: from a page of another origin, the script's browser
// tries to POST to URL, by fetch and then by a form; prints what the fetch
// got and the text of the form's answer.
func cmdPageCrossSite(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: page-cross-site URL")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, crossSitePage, args[0])
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(browserOf(ts), 30*time.Second)
	defer cancel()
	ts.Check(chromedp.Do(ctx, chromedp.Navigate(srv.URL)))
	if !pollPage(ts, `document.title.startsWith("fetch ")`, 20*time.Second) {
		ts.Fatalf("the cross-site fetch did not end")
	}
	title, err := evalJS[string](ts, `document.title`)
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), title)
	_, err = evalJS[bool](ts, `document.getElementById('f').submit(), true`)
	ts.Check(err)
	// The form's answer replaces the page.
	if !pollPage(ts, `location.href.startsWith(`+jsString(args[0])+`)`, 20*time.Second) {
		ts.Fatalf("the cross-site form was not sent\n%s", pageText(ts))
	}
	fmt.Fprintln(ts.Stdout(), pageText(ts))
}

// http-status METHOD URL CODE [NAME=VALUE...]: the request, with those
// headers, must answer CODE. Two short names: bearer=T sends
// "Authorization: Bearer T", cookie=T the status page's cookie.
func cmdHTTPStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || neg {
		ts.Fatalf("usage: http-status METHOD URL CODE [HEADER=VALUE...]")
	}
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	req, err := http.NewRequest(args[0], args[1], nil)
	ts.Check(err)
	for _, h := range args[3:] {
		k, v, ok := strings.Cut(h, "=")
		if !ok {
			ts.Fatalf("header %q: want NAME=VALUE", h)
		}
		switch k {
		case "bearer":
			req.Header.Set("Authorization", "Bearer "+v)
		case "cookie":
			req.AddCookie(&http.Cookie{Name: api.CookieName, Value: v})
		default:
			req.Header.Set(k, v)
		}
	}
	client := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	ts.Check(err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ts.Stdout().Write(body)
	if resp.StatusCode != want {
		ts.Fatalf("%s %s: %d, want %d: %s", args[0], args[1], resp.StatusCode, want, body)
	}
}
