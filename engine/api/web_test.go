package api

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProtect(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	f := newFake()
	srv := httptest.NewServer(Protect(NewServer(f, nil), token))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, method, path string
		header             map[string]string
		want               int
	}{
		{"no token", "GET", "/v1/status", nil, 401},
		{"no token, the page", "GET", "/", nil, 401},
		{"no token, metrics", "GET", "/metrics", nil, 401},
		{"wrong bearer", "GET", "/v1/status", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"bearer", "GET", "/v1/status", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"cookie", "GET", "/v1/status", map[string]string{"Cookie": CookieName + "=" + token}, 200},
		{"wrong cookie", "GET", "/v1/status", map[string]string{"Cookie": CookieName + "=x"}, 401},
		{"wrong ?token", "GET", "/?token=nope", nil, 401},
		{"POST without the header", "POST", "/v1/apps/bitcoin-core/stop", map[string]string{"Cookie": CookieName + "=" + token}, 403},
		{"POST as a form", "POST", "/v1/apps/bitcoin-core/stop", map[string]string{"Cookie": CookieName + "=" + token, "Content-Type": "application/x-www-form-urlencoded"}, 403},
		{"POST from another origin", "POST", "/v1/apps/bitcoin-core/stop", map[string]string{"Cookie": CookieName + "=" + token, RequestHeader: "1", "Origin": "http://evil.example"}, 403},
		{"POST cross-site", "POST", "/v1/apps/bitcoin-core/stop", map[string]string{"Cookie": CookieName + "=" + token, RequestHeader: "1", "Sec-Fetch-Site": "cross-site"}, 403},
		{"DELETE without the header", "DELETE", "/v1/apps/bitcoin-core", map[string]string{"Authorization": "Bearer " + token}, 403},
		{"POST from the page", "POST", "/v1/apps/bitcoin-core/stop", map[string]string{"Cookie": CookieName + "=" + token, RequestHeader: "1", "Origin": "http://" + host}, 200},
		{"POST by a script", "POST", "/v1/apps/bitcoin-core/stop", map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}, 200},
		{"POST without a token", "POST", "/v1/apps/bitcoin-core/stop", map[string]string{RequestHeader: "1"}, 401},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
	if n := len(f.acts); n != 2 {
		t.Errorf("%d actions done, want 2 (the page's and the script's)", n)
	}

	// ?token= sets the cookie and sends the browser on without it.
	resp, err := noRedirect.Get(srv.URL + "/?token=" + token + "&x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?x=1" {
		t.Errorf("?token=: %d to %q, want 303 to /?x=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := resp.Cookies()
	if len(c) != 1 || c[0].Name != CookieName || c[0].Value != token || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %+v, want %s HttpOnly SameSite=Strict", c, CookieName)
	}
}

func TestListenHTTP(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ListenHTTP("0.0.0.0:0", dir); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("a LAN address without a token file: %v, want a refusal", err)
	}
	l, token, err := ListenHTTP("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	path := filepath.Join(dir, TokenFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || len(token) != 64 {
		t.Fatalf("token file %v %v, token %d chars: want mode 0600 and 64 hex characters", fi, err, len(token))
	}
	l, again, err := ListenHTTP("0.0.0.0:0", dir) // the file exists now
	if err != nil || again != token {
		t.Fatalf("second start: %v, token changed: %v", err, again != token)
	}
	l.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ListenHTTP("127.0.0.1:0", dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a token file others can read: %v, want a refusal", err)
	}
}
