package page

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:embed index.html page.js page.css
var files embed.FS

// CSP allows the page only its own script, stylesheet and API: no inline
// script or style, no other origin, no framing. A bug that put data into
// markup could not run it.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// assets maps the paths served to their files and types.
var assets = map[string][2]string{
	"/":         {"index.html", "text/html; charset=utf-8"},
	"/page.js":  {"page.js", "text/javascript; charset=utf-8"},
	"/page.css": {"page.css", "text/css; charset=utf-8"},
}

type asset struct {
	name, ctype, etag string
	body              []byte
}

// Handler serves the page: / (index.html), /page.js and /page.css; any
// other path is not found. Responses are revalidated every time
// (no-cache, with an ETag), so a new daemon's page shows at once.
func Handler() http.Handler {
	byPath := map[string]asset{}
	for path, a := range assets {
		body, err := files.ReadFile(a[0])
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		sum := sha256.Sum256(body)
		byPath[path] = asset{name: a[0], ctype: a[1], etag: `"` + hex.EncodeToString(sum[:8]) + `"`, body: body}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", CSP)
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
	})
}
