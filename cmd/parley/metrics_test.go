package main

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var metricsListening = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// scrape reads the metrics listener's /metrics as Prometheus does, over HTTP in the text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// sample returns the value of the first series of name whose labels include want (a histogram's
// count), and whether there is one.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestMetricsListener: parley serve --metrics-addr serves /metrics (and nothing else) on a listener of
// its own, and after real traffic its series count what happened, on both databases.
func TestMetricsListener(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		data := t.TempDir()
		ws := cli(t, data, "workspace", "create", "--name", "Acme")["id"].(string)
		key := cli(t, data, "key", "create", "--workspace", ws)
		srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits", "--metrics-addr", "127.0.0.1:0")
		metricsAfterTraffic(t, srv, ws, key, false)
	})
	t.Run("postgres", func(t *testing.T) {
		c := newCluster(t)
		ws := c.cli(t, "workspace", "create", "--name", "Acme")["id"].(string)
		key := c.cli(t, "key", "create", "--workspace", ws)
		srv := startServerEnv(t, c.env, t.TempDir(), "127.0.0.1:0", "--no-rate-limits", "--metrics-addr", "127.0.0.1:0")
		metricsAfterTraffic(t, srv, ws, key, true)
	})
}

func metricsAfterTraffic(t *testing.T, srv *server, ws string, key map[string]any, postgres bool) {
	m := metricsListening.FindStringSubmatch(srv.log())
	if m == nil {
		t.Fatalf("no metrics listener in the log:\n%s", srv.log())
	}
	addr := m[1]
	if res, err := http.Get("http://" + addr + "/v1/widget/session"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("the metrics listener serves more than /metrics: %v %v", res.Status, err)
	}

	// An anonymous visitor writes three messages, fails a login, logs in and writes once more.
	sess := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	for i := range 3 {
		mustCall(t, "POST", srv.url()+"/v1/widget/messages", sess, map[string]string{"body": fmt.Sprint("hello ", i)}, 201)
	}
	mustCall(t, "POST", srv.url()+"/v1/widget/login", sess, map[string]string{"token": "not.a.token"}, 401)
	login := mustCall(t, "POST", srv.url()+"/v1/widget/login", sess, map[string]string{"token": signHS256(t, key["kid"].(string), key["secret"].(string))}, 200)
	token := login["session_token"].(string)
	mustCall(t, "POST", srv.url()+"/v1/widget/messages", token, map[string]string{"body": "it is me"}, 201)
	widget := dialWidget(t, srv, token)

	f := scrape(t, addr)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"parley_messages_stored_total", map[string]string{"sender": "customer", "trusted": "false"}, 3},
		{"parley_messages_stored_total", map[string]string{"sender": "customer", "trusted": "true"}, 1},
		{"parley_widget_logins_total", map[string]string{"result": "token_malformed"}, 1},
		{"parley_widget_logins_total", map[string]string{"result": "ok"}, 1},
		{"parley_http_requests_total", map[string]string{"route": "POST /v1/widget/messages", "method": "POST", "code": "201"}, 4},
		{"parley_http_requests_total", map[string]string{"route": "POST /v1/widget/login", "method": "POST", "code": "401"}, 1},
		{"parley_http_request_duration_seconds", map[string]string{"route": "POST /v1/widget/sessions", "method": "POST"}, 1},
		{"parley_websocket_connections", map[string]string{"kind": "widget"}, 1},
		{"parley_websocket_connections", map[string]string{"kind": "console"}, 0},
		{"parley_jobs_queue_scrape_ok", nil, 1},
		{"parley_relay_reconnects_total", nil, 0},
	} {
		if v, ok := sample(f, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %t), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	for _, name := range []string{"parley_build_info", "go_build_info", "go_goroutines", "process_resident_memory_bytes", "parley_email_deliveries_total", "parley_webhook_deliveries_total"} {
		if _, ok := f[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if postgres {
		if v, _ := sample(f, "parley_db_pool_max_connections", nil); v < 1 {
			t.Errorf("parley_db_pool_max_connections = %v", v)
		}
		// Every message event came back through PostgreSQL, stamped: the lag was measured.
		if v, _ := sample(f, "parley_relay_lag_seconds", nil); v < 4 {
			t.Errorf("relay lag observations = %v, want at least the 4 messages", v)
		}
	} else if v, _ := sample(f, "go_sql_max_open_connections", map[string]string{"db_name": "writer"}); v != 1 {
		t.Errorf("go_sql_max_open_connections{db_name=writer} = %v, want 1", v)
	}

	// The socket closes: the gauge comes back to 0 once the server has seen it go.
	widget.conn.CloseNow()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, _ := sample(scrape(t, addr), "parley_websocket_connections", map[string]string{"kind": "widget"})
		if v == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("widget sockets after the only one closed = %v, want 0", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
