package podman

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/containers/podman/v5/pkg/bindings"
)

// nudgeSize is the request body that makes the service collect its
// garbage (see releaseFailedStart).
const nudgeSize = 8 << 20

// releaseFailedStart frees the published ports of a container whose
// start failed. Podman 4.3 binds them in its service before it runs the
// container and, when the runtime fails (a command that does not exist,
// say), returns without closing the sockets: they stay listening until a
// garbage collection in the service finalises them, up to two minutes
// later, and any container started on those ports meanwhile (the old one
// an upgrade puts back) fails with "address already in use". A request
// whose body the service must buffer whole (an unterminated JSON string,
// refused: nothing is created) makes it allocate enough to collect at once.
func (p *Podman) releaseFailedStart(ctx context.Context) {
	c, err := bindings.GetClient(ctx)
	if err != nil {
		return
	}
	body := io.MultiReader(strings.NewReader(`{"name":"`), io.LimitReader(zeros{}, nudgeSize))
	r, err := c.DoRequest(ctx, body, http.MethodPost, "/containers/create", nil, http.Header{"Content-Type": {"application/json"}})
	if err == nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
}

// zeros reads as an endless run of '0' bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = '0'
	}
	return len(b), nil
}
