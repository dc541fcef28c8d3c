package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parleyhq/parley/internal/metrics"
)

// BenchmarkMetricsMiddleware compares, in one run, a cheap route (GET /healthz) served by the bare
// mux, by the API's middleware without metrics, and with metrics: what recording costs per request.
func BenchmarkMetricsMiddleware(b *testing.B) {
	bare := New(Config{})
	measured := New(Config{Metrics: metrics.New("bench")})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare-mux", bare.mux},
		{"middleware", bare},
		{"middleware+metrics", measured},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/healthz", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
