package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The TCP listener (archy converge --http) serves the same API and the
// status page to browsers and scripts, behind a token. The unix socket
// needs none: its file mode decides who may connect.
const (
	// TokenFile is the token's file in the data dir.
	TokenFile = "http-token"
	// CookieName is the cookie a browser keeps the token in, once it has
	// presented it as ?token=.
	CookieName = "archy_token"
	// RequestHeader marks a mutating request as made by a script or by
	// the status page: a form or image on another site cannot set it, so
	// such a page cannot stop an app through a logged-in browser.
	RequestHeader = "X-Archy-Request"
)

// cookieAge is how long a browser keeps the token: a phone should not
// need the link again each week.
const cookieAge = 90 * 24 * time.Hour

// ListenHTTP listens on addr (host:port) for the status page and the API.
// The token is read from dataDir's TokenFile, which is made (32 random
// bytes, mode 0600) when missing only for a loopback address: a listener
// others can reach starts only with a token the operator has already got.
func ListenHTTP(addr, dataDir string) (net.Listener, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("--http %q: %w", addr, err)
	}
	path := filepath.Join(dataDir, TokenFile)
	token, err := readToken(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && loopback(host):
		if token, err = makeToken(path); err != nil {
			return nil, "", err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("--http %s is not a loopback address and %s does not exist: "+
			"start once on 127.0.0.1 to make it, or write one (mode 0600), before opening the page to the network", addr, path)
	case err != nil:
		return nil, "", err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listening on %s: %w", addr, err)
	}
	return l, token, nil
}

// loopback tells an address only this host can reach.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is open to others (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(b))
	if len(token) < 16 {
		return "", fmt.Errorf("%s holds no usable token (16 characters at least)", path)
	}
	return token, nil
}

func makeToken(path string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	// O_EXCL: two daemons starting at once must not each write their own.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readToken(path)
	}
	if err != nil {
		return "", fmt.Errorf("making the http token: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("making the http token: %w", err)
	}
	return token, f.Close()
}

// Protect lets through only requests that present the token: as the
// cookie a browser got from ?token=, or as "Authorization: Bearer". A
// mutating request must also come from this origin (or from no browser)
// and be one a cross-site form cannot make (RequestHeader, or a JSON body).
func Protect(h http.Handler, token string) http.Handler {
	return &protect{h: h, token: []byte(token)}
}

type protect struct {
	h     http.Handler
	token []byte
}

func (p *protect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if t := q.Get("token"); t != "" && r.Method == http.MethodGet {
		if !p.valid(t) {
			p.refuse(w, r, http.StatusUnauthorized, "wrong token")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: t, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, MaxAge: int(cookieAge.Seconds())})
		// The token leaves the address bar (and the history) at once.
		q.Del("token")
		to := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to.String(), http.StatusSeeOther)
		return
	}
	if !p.authorized(r) {
		p.refuse(w, r, http.StatusUnauthorized, "this needs archy's token: open the address with ?token=… "+
			"(the token is in the daemon's data dir, file "+TokenFile+"), or send Authorization: Bearer TOKEN")
		return
	}
	if mutating(r.Method) {
		if why := crossSite(r); why != "" {
			p.refuse(w, r, http.StatusForbidden, why)
			return
		}
	}
	p.h.ServeHTTP(w, r)
}

func (p *protect) valid(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), p.token) == 1
}

func (p *protect) authorized(r *http.Request) bool {
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return p.valid(strings.TrimSpace(auth))
	}
	c, err := r.Cookie(CookieName)
	return err == nil && p.valid(c.Value)
}

func mutating(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// crossSite says why a mutating request may come from another site's
// page, "" when it cannot.
func crossSite(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return "cross-origin request refused (Origin " + o + ")"
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "cross-site request refused"
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Header.Get(RequestHeader) == "" && mt != "application/json" {
		return "a request that changes something needs the header " + RequestHeader + ": 1 (or a JSON body)"
	}
	return ""
}

// refuse answers JSON to the API and metrics, and plain words to a
// person at the page.
func (p *protect) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/v1/") || r.URL.Path == "/metrics" {
		writeJSON(w, code, ErrorDocument{Error: msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "archy: %s\n", msg)
}
