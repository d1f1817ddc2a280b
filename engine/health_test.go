package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	. "archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// bitcoindWarmUp is what bitcoind's RPC answers while it loads.
const bitcoindWarmUp = `{"result":null,"error":{"code":-28,"message":"Loading block index…"},"id":null}`

// A probe's answer is healthy, starting (with a note) or unhealthy; only
// a failed answer can be starting, and only within the warm-up.
func TestProbeClassifiesWarmUp(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name     string
		starting *schema.Starting
		status   int    // http
		code     int    // exec
		output   string // http body, exec output
		age      time.Duration
		timeout  time.Duration // start_timeout
		want     string        // HealthText of the result
	}{
		{name: "ok", status: 200, output: bitcoindWarmUp, starting: &schema.Starting{HTTPStatus: []int{503}, Output: `Loading[^"]*`}, want: "healthy"},
		{name: "no starting rules", status: 503, code: 28, output: bitcoindWarmUp, want: "unhealthy: GET %s/status: 503 Service Unavailable | unhealthy: [bitcoin-cli getblockchaininfo] exited 28"},
		{name: "status and output", status: 503, code: 28, output: bitcoindWarmUp, starting: &schema.Starting{HTTPStatus: []int{503}, ExitCodes: []int{28}, Output: `Loading block index[^"]*`}, timeout: time.Hour, want: "starting: Loading block index…"},
		{name: "output alone", status: 500, code: 1, output: "error code: -28\nerror message:\nVerifying blocks…\n", starting: &schema.Starting{Output: `(Loading|Verifying) [^"\n]*`}, timeout: time.Hour, want: "starting: Verifying blocks…"},
		{name: "code alone, first line", status: 503, code: 28, output: "\n  error code: -28  \nmore\n", starting: &schema.Starting{HTTPStatus: []int{503}, ExitCodes: []int{28}}, timeout: time.Hour, want: "starting: error code: -28"},
		{name: "code alone, no output", status: 503, code: 28, starting: &schema.Starting{HTTPStatus: []int{503}, ExitCodes: []int{28}}, timeout: time.Hour, want: "starting: 503 Service Unavailable | starting: exit 28"},
		{name: "long note cut", status: 503, code: 28, output: long, starting: &schema.Starting{HTTPStatus: []int{503}, ExitCodes: []int{28}}, timeout: time.Hour, want: "starting: " + long[:200] + "…"},
		{name: "neither code nor output", status: 500, code: 1, output: "connection refused", starting: &schema.Starting{HTTPStatus: []int{503}, ExitCodes: []int{28}, Output: "Loading"}, want: "unhealthy: GET %s/status: 500 Internal Server Error | unhealthy: [bitcoin-cli getblockchaininfo] exited 1"},
		{name: "within start_period", status: 503, code: 28, output: bitcoindWarmUp, starting: &schema.Starting{HTTPStatus: []int{503}, ExitCodes: []int{28}, Output: "Loading block index"}, want: "starting: Loading block index"},
		{name: "warm-up over", status: 503, code: 28, output: bitcoindWarmUp, starting: &schema.Starting{HTTPStatus: []int{503}, ExitCodes: []int{28}, Output: "Loading block index"}, age: 2 * time.Hour, timeout: time.Hour,
			want: "unhealthy: still starting: Loading block index after start_period 1m0s + start_timeout 1h0m0s"},
	}
	for _, tc := range tests {
		wantHTTP, wantExec, both := strings.Cut(tc.want, " | ")
		if !both {
			wantExec = wantHTTP
		}
		t.Run(tc.name+"/http", func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.output)
			}))
			defer srv.Close()
			hc := &schema.HealthCheck{Type: schema.HealthHTTP, Endpoint: srv.URL, Path: "/status"}
			got := probeWith(t, hc, tc.starting, tc.age, tc.timeout, enginetest.New())
			if want := strings.ReplaceAll(wantHTTP, "%s", srv.URL); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
		t.Run(tc.name+"/exec", func(t *testing.T) {
			f := enginetest.New()
			f.SetExec("core", tc.code, tc.output)
			if tc.status < 400 {
				f.SetExec("core", 0, tc.output)
			}
			hc := &schema.HealthCheck{Type: schema.HealthExec, Command: []string{"bitcoin-cli", "getblockchaininfo"}}
			if got := probeWith(t, hc, tc.starting, tc.age, tc.timeout, f); got != wantExec {
				t.Errorf("got  %q\nwant %q", got, wantExec)
			}
		})
	}
}

// probeWith probes app core, running for age (a minute at least), with
// check hc, its starting rules, start_period 1m and start_timeout timeout.
func probeWith(t *testing.T, hc *schema.HealthCheck, starting *schema.Starting, age, timeout time.Duration, f *enginetest.Fake) string {
	t.Helper()
	hc.Starting, hc.StartPeriod, hc.StartTimeout, hc.Timeout = starting, schema.Duration(time.Minute), schema.Duration(timeout), schema.Duration(5*time.Second)
	f.PutContainer(plan.Container{Name: "core", State: plan.StateRunning, StartedAt: time.Now().Add(-max(age, 30*time.Second))})
	app := &schema.App{ID: "core", ContainerName: "core", HealthCheck: hc}
	return HealthText(Probe(context.Background(), f, app))
}
