// Package metrics is Parley's Prometheus instrumentation. A server owns one Metrics, with a registry of
// its own (never the library's global one), and hands it to the packages that record; each declares the
// few methods it calls. The listener serving it (parley serve --metrics-addr) serves /metrics only.
//
// No label takes a value from a request or a database row: routes are ServeMux patterns, methods and
// results are fixed sets (anything else counts as "other"), and nothing is labelled with a workspace,
// customer, session or conversation id.
package metrics

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics records Parley's series. The zero value is not usable; a nil *Metrics records nothing, so
// that code paths without metrics (the CLI, tests) need no checks.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	sockets         *prometheus.GaugeVec
	messages        *prometheus.CounterVec
	logins          *prometheus.CounterVec
	emails          *prometheus.CounterVec
	webhooks        *prometheus.CounterVec
	relayReconnects prometheus.Counter
	relayLag        prometheus.Histogram
}

// Unmatched is the route label of a request no pattern matched (404, 405, redirects of the mux).
const Unmatched = "unmatched"

// Other stands for a value outside a label's fixed set.
const Other = "other"

// New returns Metrics with Parley's series and the Go runtime, process and build information
// collectors registered. version labels parley_build_info ("" means the module version the binary was
// built with, or "devel").
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total",
			Help: "HTTP requests answered, by ServeMux route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method (WebSocket upgrades excluded: their handler lasts as long as the socket).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		sockets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parley_websocket_connections",
			Help: "Open WebSocket connections: the widget's and the agent console's.",
		}, []string{"kind"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_stored_total",
			Help: "Messages committed, by sender (customer, agent, system, or note for agents' internal notes) and whether they are trusted (sent by a verified session).",
		}, []string{"sender", "trusted"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_widget_logins_total",
			Help: "Widget logins (POST /v1/widget/login), by result: ok or the error code.",
		}, []string{"result"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_email_deliveries_total",
			Help: "Email delivery attempts, by result: sent, retrying (a passing failure; another attempt follows) or failed (for good).",
		}, []string{"result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by result.",
		}, []string{"result"}),
		relayReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_relay_reconnects_total",
			Help: "Times the PostgreSQL event relay lost its listening connection and listened again (events in between were lost; clients resumed from the database).",
		}),
		relayLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_relay_lag_seconds",
			Help:    "Time from announcing an event inside its transaction to hearing it back from PostgreSQL, on any instance (includes the rest of the transaction and clock differences between instances).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	if version == "" {
		version = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "parley_build_info",
		Help:        "Always 1; the version label names the running build.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	reg.MustRegister(m.requests, m.requestDuration, m.sockets, m.messages, m.logins, m.emails, m.webhooks,
		m.relayReconnects, m.relayLag, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	// Both kinds are exported from the start, so "no console connected" reads 0, not absent.
	for _, kind := range []string{SocketWidget, SocketConsole} {
		m.sockets.WithLabelValues(kind)
	}
	for _, r := range []string{"sent", "retrying", "failed"} {
		m.emails.WithLabelValues(r)
	}
	for _, r := range WebhookResults {
		m.webhooks.WithLabelValues(r)
	}
	return m
}

// Registry is where collectors of the server's own (database pool, job queue) are registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves /metrics and nothing else (404), for the metrics listener.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	return mux
}

// methods are the HTTP methods kept as labels; any other method a client sends counts as "other".
var methods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Request records an answered HTTP request. route is the ServeMux pattern that matched ("" when none
// did); code 0 means the handler wrote nothing (net/http answers 200). A 101 (a WebSocket) is counted
// but not timed.
func (m *Metrics) Request(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = Unmatched
	}
	if !methods[method] {
		method = Other
	}
	if code == 0 {
		code = http.StatusOK
	}
	c := Other
	if code >= 100 && code <= 599 {
		c = strconv.Itoa(code)
	}
	m.requests.WithLabelValues(route, method, c).Inc()
	if code != http.StatusSwitchingProtocols {
		m.requestDuration.WithLabelValues(route, method).Observe(d.Seconds())
	}
}

// WebSocket kinds.
const (
	SocketWidget  = "widget"
	SocketConsole = "console"
)

// SocketOpened counts an open WebSocket of kind (SocketWidget or SocketConsole) until the returned
// function is called.
func (m *Metrics) SocketOpened(kind string) (closed func()) {
	if m == nil {
		return func() {}
	}
	g := m.sockets.WithLabelValues(kind)
	g.Inc()
	return g.Dec
}

// Message senders, as labels.
const (
	SenderCustomer = "customer"
	SenderAgent    = "agent"
	SenderSystem   = "system"
	SenderNote     = "note"
)

// MessageStored counts a committed message. sender is one of the Sender constants.
func (m *Metrics) MessageStored(sender string, trusted bool) {
	if m == nil {
		return
	}
	switch sender {
	case SenderCustomer, SenderAgent, SenderSystem, SenderNote:
	default:
		sender = Other
	}
	m.messages.WithLabelValues(sender, strconv.FormatBool(trusted)).Inc()
}

// WidgetLogin counts a widget login by result: "ok" or an error code the caller has already bounded
// to a fixed set (Other for the rest).
func (m *Metrics) WidgetLogin(result string) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(result).Inc()
}

// EmailDelivery counts one attempt to send an email: "sent", "retrying" or "failed".
func (m *Metrics) EmailDelivery(result string) {
	if m == nil {
		return
	}
	switch result {
	case "sent", "retrying", "failed":
	default:
		result = Other
	}
	m.emails.WithLabelValues(result).Inc()
}

// WebhookResults are the results parley_webhook_deliveries_total knows; WebhookDelivery counts any
// other as "other".
var WebhookResults = []string{
	"ok",         // a 2xx answer
	"http_error", // any other status
	"timeout",    // no answer in time
	"network",    // no answer: connection refused or reset, DNS, TLS, or a target the address guard refused
}

// WebhookDelivery counts one attempt to deliver a webhook, by one of WebhookResults.
func (m *Metrics) WebhookDelivery(result string) {
	if m == nil {
		return
	}
	known := false
	for _, r := range WebhookResults {
		known = known || r == result
	}
	if !known {
		result = Other
	}
	m.webhooks.WithLabelValues(result).Inc()
}

// RelayReconnected counts a reconnection of the PostgreSQL event relay.
func (m *Metrics) RelayReconnected() {
	if m == nil {
		return
	}
	m.relayReconnects.Inc()
}

// RelayLag records how long an event took from its announcement to its delivery through the relay.
// Negative values (clocks of two instances apart) are recorded as 0.
func (m *Metrics) RelayLag(d time.Duration) {
	if m == nil {
		return
	}
	m.relayLag.Observe(max(d, 0).Seconds())
}
