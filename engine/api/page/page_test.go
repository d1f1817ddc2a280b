package page

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestPageHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script src="/page.js"`},
		{"/page.js", "text/javascript; charset=utf-8", "new EventSource('/v1/events')"},
		{"/page.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, rec.Code)
		}
		want := map[string]string{
			"Content-Type":            tc.ctype,
			"Cache-Control":           "no-cache",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": CSP,
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, v)
			}
		}
		if !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		// A revalidation with the ETag is answered without the body.
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		rec2 := httptest.NewRecorder()
		h.ServeHTTP(rec2, req)
		if rec2.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", tc.path, rec2.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/index.html", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /index.html: %d, want 404", rec.Code)
	}
}

// TestPageNothingInline keeps the page within its CSP (no inline script,
// style or handler), and its script from writing markup with data.
func TestPageNothingInline(t *testing.T) {
	read := func(name string) string {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	html := read("index.html")
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("index.html: inline script %s", tag)
		}
	}
	for _, re := range []string{`\sstyle=`, `<style`, `\son[a-z]+=`, `javascript:`} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("index.html: %q matches %s", m, re)
		}
	}
	js := read("page.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", ".style."} {
		if strings.Contains(js, bad) {
			t.Errorf("page.js uses %s", bad)
		}
	}
}
