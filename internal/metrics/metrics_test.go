package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parleyhq/parley/internal/metrics"
)

// TestLabelsStayBounded: values outside a label's fixed set are counted as "other", never as given.
func TestLabelsStayBounded(t *testing.T) {
	m := metrics.New("test")
	m.WebhookDelivery("ok")
	m.WebhookDelivery("502 from https://hooks.acme.example/x?id=cu_123")
	m.EmailDelivery("sent")
	m.EmailDelivery("no such result")
	m.MessageStored("robot", true)
	m.Request("", "BREW", 999, time.Millisecond)
	m.Request("GET /healthz", "GET", 0, time.Millisecond)

	want := `
# HELP parley_webhook_deliveries_total Webhook delivery attempts, by result.
# TYPE parley_webhook_deliveries_total counter
parley_webhook_deliveries_total{result="http_error"} 0
parley_webhook_deliveries_total{result="network"} 0
parley_webhook_deliveries_total{result="ok"} 1
parley_webhook_deliveries_total{result="other"} 1
parley_webhook_deliveries_total{result="timeout"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "parley_webhook_deliveries_total"); err != nil {
		t.Error(err)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"other": true, "unmatched": true, "GET /healthz": true, "GET": true, "200": true, "sent": true,
		"ok": true, "true": true, "retrying": true, "failed": true, "http_error": true, "network": true,
		"timeout": true, "widget": true, "console": true, "test": true}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "go_") || strings.HasPrefix(f.GetName(), "process_") {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if !allowed[l.GetValue()] {
					t.Errorf("%s{%s=%q}: a value from outside the fixed set", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestNilRecordsNothing: code paths without metrics call a nil *Metrics.
func TestNilRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.Request("GET /healthz", "GET", 200, time.Millisecond)
	m.SocketOpened(metrics.SocketWidget)()
	m.MessageStored(metrics.SenderAgent, false)
	m.WidgetLogin("ok")
	m.EmailDelivery("sent")
	m.WebhookDelivery("ok")
	m.RelayReconnected()
	m.RelayLag(time.Second)
}

// TestHandlerServesOnlyMetrics: the metrics listener answers /metrics and nothing else.
func TestHandlerServesOnlyMetrics(t *testing.T) {
	h := metrics.New("test").Handler()
	for path, want := range map[string]int{"/metrics": 200, "/": 404, "/v1/widget/session": 404, "/debug/pprof/": 404} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("GET %s = %d, want %d", path, w.Code, want)
		}
	}
}
