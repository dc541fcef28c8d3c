package httpapi_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/metrics"
)

// newMetricsEnv is an env recording into metrics of its own, the store's collectors included.
func newMetricsEnv(t *testing.T) (*env, *metrics.Metrics) {
	m := metrics.New("test")
	e := newEnv(t, func(c *httpapi.Config) { c.Metrics = m })
	e.svc.UseMetrics(m)
	m.WatchStore(e.st, nil, nil)
	return e, m
}

// series returns the value of the series of name whose labels include want, and whether it exists.
func series(t *testing.T, m *metrics.Metrics, name string, want map[string]string) (float64, bool) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			return value(s), true
		}
	}
	return 0, false
}

func value(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	}
	return 0
}

// TestMetricsRouteLabelsBounded: a path with an id is labelled with the pattern that routed it, never
// with the id; unknown paths and methods fold into fixed values.
func TestMetricsRouteLabelsBounded(t *testing.T) {
	e, m := newMetricsEnv(t)
	session := e.session()
	var ids []string
	for range 3 {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := "cv_" + hex.EncodeToString(b)
		ids = append(ids, id)
		expect(t, e.request("GET", "/v1/widget/conversations/"+id+"/messages", session, nil), 404, "conversation_not_found")
	}
	route := "GET /v1/widget/conversations/{id}/messages"
	if v, _ := series(t, m, "parley_http_requests_total", map[string]string{"route": route, "method": "GET", "code": "404"}); v != 3 {
		t.Errorf("requests to %s with code 404 = %v, want 3", route, v)
	}
	if v, _ := series(t, m, "parley_http_request_duration_seconds", map[string]string{"route": route, "method": "GET"}); v != 3 {
		t.Errorf("timed requests to %s = %v, want 3", route, v)
	}
	res, err := e.client.Get(e.srv.URL + "/no/such/page-" + ids[0]) // not JSON: no e.request
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if v, _ := series(t, m, "parley_http_requests_total", map[string]string{"route": metrics.Unmatched, "code": "404"}); v != 1 {
		t.Errorf("unmatched requests = %v, want 1", v)
	}
	e.request("BREW", "/v1/widget/session", session, nil)
	if _, ok := series(t, m, "parley_http_requests_total", map[string]string{"method": "other"}); !ok {
		t.Error("a request with an unknown method is not counted with method other")
	}
	var out int
	out, err = testutil.GatherAndCount(m.Registry())
	if err != nil || out == 0 {
		t.Fatalf("gather: %d series, %v", out, err)
	}
	families, _ := m.Registry().Gather()
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				for _, id := range ids {
					if strings.Contains(l.GetValue(), strings.TrimPrefix(id, "cv_")) {
						t.Errorf("%s has a label %s=%q carrying a request's id", f.GetName(), l.GetName(), l.GetValue())
					}
				}
				if l.GetValue() == "BREW" {
					t.Errorf("%s is labelled with a client's method", f.GetName())
				}
			}
		}
	}
}

// TestMetricsTraffic: messages by sender and trust, logins by result, the widget's sockets, and a
// registry the library's linter finds nothing wrong with.
func TestMetricsTraffic(t *testing.T) {
	e, m := newMetricsEnv(t)
	anon := e.session()
	expect(t, e.send(anon, "hello", ""), 201, "")
	expect(t, e.send(anon, "anyone there?", ""), 201, "")
	expect(t, e.login(e.session(), "not-a-token"), 401, "token_malformed")
	verified := e.verified(claims(nil))
	expect(t, e.send(verified, "it is me", ""), 201, "")

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"parley_messages_stored_total", map[string]string{"sender": "customer", "trusted": "false"}, 2},
		{"parley_messages_stored_total", map[string]string{"sender": "customer", "trusted": "true"}, 1},
		{"parley_widget_logins_total", map[string]string{"result": "token_malformed"}, 1},
		{"parley_widget_logins_total", map[string]string{"result": "ok"}, 1},
		{"parley_websocket_connections", map[string]string{"kind": "widget"}, 0},
	} {
		if v, _ := series(t, m, c.name, c.labels); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}

	c := wsDial(t, e, "")
	if v, _ := series(t, m, "parley_websocket_connections", map[string]string{"kind": "widget"}); v != 1 {
		t.Errorf("widget sockets while one is open = %v, want 1", v)
	}
	if v, _ := series(t, m, "parley_http_requests_total", map[string]string{"route": "GET /v1/widget/ws", "code": "101"}); v != 0 {
		t.Errorf("an open socket counted as an answered request (%v)", v)
	}
	c.CloseNow()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := series(t, m, "parley_websocket_connections", map[string]string{"kind": "widget"})
		if v == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("widget sockets after closing the only one = %v, want 0", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, _ := series(t, m, "parley_http_requests_total", map[string]string{"route": "GET /v1/widget/ws", "code": "101"}); v != 1 {
		t.Errorf("closed sockets counted = %v, want 1", v)
	}
	// An authenticated socket is served on a goroutine of its own once ready, after its handler has
	// returned: it is counted the same way, open until it closes.
	c = wsConnect(t, e, anon)
	if v, _ := series(t, m, "parley_websocket_connections", map[string]string{"kind": "widget"}); v != 1 {
		t.Errorf("widget sockets while an authenticated one is open = %v, want 1", v)
	}
	if v, _ := series(t, m, "parley_http_requests_total", map[string]string{"route": "GET /v1/widget/ws", "code": "101"}); v != 1 {
		t.Errorf("an open authenticated socket counted as an answered request (%v counted, want 1)", v)
	}
	c.CloseNow()
	for deadline := time.Now().Add(10 * time.Second); ; {
		v, _ := series(t, m, "parley_websocket_connections", map[string]string{"kind": "widget"})
		if v == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("widget sockets after closing the authenticated one = %v, want 0", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, _ := series(t, m, "parley_http_requests_total", map[string]string{"route": "GET /v1/widget/ws", "code": "101"}); v != 2 {
		t.Errorf("closed sockets counted = %v, want 2", v)
	}
	if v, _ := series(t, m, "parley_jobs_queue_scrape_ok", nil); v != 1 {
		t.Error("the job queue is not watched, or cannot be read")
	}
	// The connection pool: pgx's on PostgreSQL, database/sql's writer and readers on SQLite.
	pg, _ := series(t, m, "parley_db_pool_max_connections", nil)
	sqlite, _ := series(t, m, "go_sql_max_open_connections", map[string]string{"db_name": "writer"})
	if pg < 1 && sqlite != 1 {
		t.Errorf("no pool statistics: PostgreSQL max %v, SQLite writer max %v", pg, sqlite)
	}

	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
