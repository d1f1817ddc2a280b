// Package page is the daemon's status page: one HTML file, one script and
// one stylesheet, embedded in the binary and served as they are (no build
// step, nothing fetched from elsewhere). The page reads the same API as
// every other client (GET /v1/status, the events of GET /v1/events, POST
// /v1/apps/{id}/{action}); it decides nothing itself: its banners are the
// status document's problems, one each.
package page
