package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/metrics"
	"github.com/parleyhq/parley/internal/store"
)

// metricsAddrUsage describes serve's --metrics-addr.
const metricsAddrUsage = "listen address HOST:PORT of a second listener serving Prometheus metrics at /metrics, and nothing else; keep it off the public network (env PARLEY_METRICS_ADDR; default off)"

// startMetrics starts the metrics listener on addr and returns the server's Metrics, with the store's
// job queue and connection pool watched, and a function that stops the listener. It is called before
// anything records, so every series starts at the process's start.
func startMetrics(addr string, st store.Store, now func() time.Time, log *slog.Logger) (*metrics.Metrics, func(), error) {
	m := metrics.New("")
	m.WatchStore(st, now, log)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s (--metrics-addr): %w", addr, err)
	}
	srv := &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String(), "url", baseURL(ln.Addr())+"/metrics")
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return m, stop, nil
}
