package daemon

import (
	"net/http"
	"runtime"

	"archy.dev/archy/engine"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics serves the daemon's Prometheus metrics.
func (d *Daemon) Metrics() http.Handler {
	return promhttp.HandlerFor(d.metrics.registry, promhttp.HandlerOpts{})
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metrics are the daemon's Prometheus metrics.
type metrics struct {
	registry         *prometheus.Registry
	reconcileSeconds prometheus.Histogram
	steps            *prometheus.CounterVec
	failures         *prometheus.CounterVec
	restarts         *prometheus.CounterVec
	rollbacks        *prometheus.CounterVec
	uncleanStops     *prometheus.CounterVec
	up               *prometheus.GaugeVec
	healthy          *prometheus.GaugeVec
	health           *prometheus.GaugeVec
	backoff          *prometheus.GaugeVec
	connected        prometheus.Gauge
	replayed         prometheus.Counter
	events           prometheus.Counter
}

// newMetrics makes the daemon's metrics; version is archy's, for
// archy_build_info.
func newMetrics(version string) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		reconcileSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "archy_reconcile_duration_seconds", Help: "Time a reconcile took.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		steps:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_steps_total", Help: "Actions done, by kind."}, []string{"action"}),
		failures:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_failures_total", Help: "Failed reconciles of an app."}, []string{"app"}),
		restarts:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_restarts_total", Help: "Times archy (re)started an app."}, []string{"app"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_rollbacks_total", Help: "Upgrades that failed their proof and were rolled back."}, []string{"app"}),
		uncleanStops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_unclean_stops_total",
			Help: "Stops by archy that had to kill the app after its stop timeout."}, []string{"app"}),
		up:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_up", Help: "1 when the app's container runs."}, []string{"app"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_healthy", Help: "1 when the app's last probe passed."}, []string{"app"}),
		health: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_health",
			Help: "1 for the state of the app's last probe (healthy, starting: warming up, unhealthy), 0 for the others."}, []string{"app", "state"}),
		backoff:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_backoff_seconds", Help: "Seconds until archy restarts a crashing app again."}, []string{"app"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "archy_podman_connected", Help: "1 while archy can reach Podman."}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "archy_podman_events_total",
			Help: "Podman container events handled (replayed ones included)."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "archy_podman_events_replayed_total",
			Help: "Podman events ignored as history: older than what archy already saw of the app (replayed after a reconnect or a rotation of Podman's event log)."}),
	}
	if version == "" {
		version = "dev"
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "archy_build_info", Help: "Always 1: the archy that serves these metrics.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	info.Set(1)
	m.registry.MustRegister(info, m.reconcileSeconds, m.steps, m.failures, m.restarts, m.rollbacks, m.uncleanStops, m.up, m.healthy, m.health, m.backoff, m.connected, m.events, m.replayed,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// forget drops every series of an app that is no longer declared, so a
// removed app does not look down (or up) for ever.
func (m *metrics) forget(app string) {
	only := prometheus.Labels{"app": app}
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.failures, m.restarts, m.rollbacks, m.uncleanStops, m.up, m.healthy, m.health, m.backoff} {
		v.DeletePartialMatch(only)
	}
}

// setHealth records the state of an app's last probe: one of the
// archy_app_health series is 1, the others 0.
func (m *metrics) setHealth(app, state string) {
	for _, s := range []string{engine.Healthy, engine.Starting, engine.Unhealthy} {
		m.health.WithLabelValues(app, s).Set(boolGauge(s == state))
	}
}
