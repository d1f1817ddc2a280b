package podman

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/errorhandling"

	"archy.dev/archy/engine"
)

var _ engine.Runtime = (*Podman)(nil)

// Podman is a connection to one Podman service. It is safe for concurrent
// use.
type Podman struct {
	// conn is the context bindings.NewConnection returned: the bindings find
	// their HTTP client in it, so every call's context derives from it.
	conn  context.Context
	close context.CancelFunc
	url   string

	// graphRoot is where the service stores images, asked once (a
	// system info call is slow, and the answer does not change).
	graphRootMu sync.Mutex
	graphRoot   string

	// networkMu makes the creates of one app network one at a time: the
	// apps of a level are created in parallel, and may share it.
	networkMu sync.Mutex
}

// New connects to the Podman service at url (unix:///run/podman/podman.sock,
// tcp://…, ssh://…) and checks that it answers. ctx bounds the connecting
// only; the connection lives until Close.
func New(ctx context.Context, url string) (*Podman, error) {
	// The connection's context must outlive ctx, yet the ping in
	// NewConnection should stop when ctx does.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connecting to podman at %s: %w", url, context.Cause(ctx))
	}
	base, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	conn, err := bindings.NewConnection(base, url)
	if !stop() || err != nil {
		cancel()
		if err == nil {
			err = context.Cause(ctx)
		}
		return nil, fmt.Errorf("connecting to podman at %s: %w", url, err)
	}
	if c, err := bindings.GetClient(conn); err == nil {
		if t, ok := c.Client.Transport.(*http.Transport); ok {
			// The daemon probes and inspects its apps side by side:
			// with Go's default of two idle connections the rest were
			// closed after each call and dialled again for the next.
			t.MaxIdleConnsPerHost = maxIdleConns
		}
	}
	return &Podman{conn: conn, close: cancel, url: url}, nil
}

// maxIdleConns is how many idle connections to the Podman service are
// kept for reuse: a connection per app the daemon works on at once.
const maxIdleConns = 32

// Close ends the connection: calls in flight are cancelled and idle
// connections closed. The Podman must not be used afterwards.
func (p *Podman) Close() error {
	p.close()
	if c, err := bindings.GetClient(p.conn); err == nil {
		c.Client.CloseIdleConnections()
	}
	return nil
}

// call returns a context for one Podman call: a child of the connection's
// context that also ends when ctx ends (with ctx's deadline and cause).
// The caller must call the returned cancel.
func (p *Podman) call(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancelCause := context.WithCancelCause(p.conn)
	cancelDeadline := context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		c, cancelDeadline = context.WithDeadline(c, dl)
	}
	if ctx.Err() != nil {
		// Cancel now rather than in AfterFunc's goroutine: the call must
		// not start.
		cancelCause(context.Cause(ctx))
	}
	stop := context.AfterFunc(ctx, func() { cancelCause(context.Cause(ctx)) })
	return c, func() {
		stop()
		cancelDeadline()
		cancelCause(context.Canceled)
	}
}

// notFound marks a Podman 404: errors.Is(err, engine.ErrNotFound) holds
// while the message stays Podman's ("no such container").
type notFound struct{ err error }

func (e notFound) Error() string        { return e.err.Error() }
func (e notFound) Unwrap() error        { return e.err }
func (e notFound) Is(target error) bool { return target == engine.ErrNotFound }

// wrap adds context to err ("starting container x: …") and marks Podman's
// 404 answers as engine.ErrNotFound. It returns nil for a nil err.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if isNotFound(err) && !errors.Is(err, engine.ErrNotFound) {
		err = notFound{err}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// isNotFound reports whether err is Podman's answer 404.
func isNotFound(err error) bool { return responseCode(err) == http.StatusNotFound }

// responseCode is the HTTP status of Podman's error answer in err, or 0.
// The bindings return their error model by pointer; the value is checked
// too in case a binding ever returns it so.
func responseCode(err error) int {
	var pe *errorhandling.ErrorModel
	if errors.As(err, &pe) {
		return pe.ResponseCode
	}
	var ve errorhandling.ErrorModel
	if errors.As(err, &ve) {
		return ve.ResponseCode
	}
	return 0
}
