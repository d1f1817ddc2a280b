package api

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_up", Help: "1 when the app's container runs."}, []string{"app"})
	reg.MustRegister(up)
	up.WithLabelValues("bitcoin-ui").Set(1)
	up.WithLabelValues("lnd").Set(0)
	f := newFake()
	f.metricsH = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	code, h, body := request(t, raw(serve(t, f)), "GET", "/metrics")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %q: %s", code, h.Get("Content-Type"), body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%v:\n%s", err, body)
	}
	mf := families["archy_app_up"]
	if mf == nil || len(mf.Metric) != 2 {
		t.Fatalf("archy_app_up: %v", mf)
	}
	got := map[string]float64{}
	for _, m := range mf.Metric {
		got[m.Label[0].GetValue()] = m.Gauge.GetValue()
	}
	if got["bitcoin-ui"] != 1 || got["lnd"] != 0 {
		t.Errorf("archy_app_up %v", got)
	}
}
