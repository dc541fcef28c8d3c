package main

import (
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// The load tool against the real handler: every message it sends is delivered and measured.
func TestLoadToolMeasuresDeliveries(t *testing.T) {
	svc, srv, ws := loadTarget(t, dbtest.Open(t))
	var out strings.Builder
	o := options{workspace: ws.ID, post: []string{srv.URL}, watch: []string{srv.URL}, visitors: 3, duration: 500 * time.Millisecond}
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`delivered (\d+) messages: \d+ msgs/s; errors (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("report:\n%s", out.String())
	}
	delivered, _ := strconv.Atoi(m[1])
	if delivered == 0 || m[2] != "0" {
		t.Fatalf("report:\n%s", out.String())
	}
	if n := dbtest.Count(t, svc.Store(), "SELECT COUNT(*) FROM messages"); n != delivered {
		t.Errorf("%d messages stored, %d reported delivered", n, delivered)
	}
	t.Log(out.String())
}

// With -typing, the typists' frames go out during the run and none is refused (each types in its own
// conversation); the messages are still all delivered.
func TestLoadToolSendsTyping(t *testing.T) {
	_, srv, ws := loadTarget(t, dbtest.Open(t))
	var out strings.Builder
	o := options{workspace: ws.ID, post: []string{srv.URL}, watch: []string{srv.URL}, visitors: 2, duration: 500 * time.Millisecond, typing: 40, typists: 4}
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "typing: sent 40 frames from 4 sockets") || !strings.Contains(out.String(), "refused 0") ||
		!regexp.MustCompile(`errors 0\n`).MatchString(out.String()) {
		t.Fatalf("report:\n%s", out.String())
	}
	t.Log(out.String())
}

// With -pg-stats, the tool reads the servers' PostgreSQL counters before and after the run and reports
// the rows read per delivered message. The test database is shared with other tests, so only the
// report's shape and a nonzero count are checked: the run itself reads rows of Parley's tables.
func TestLoadToolReportsDatabaseReads(t *testing.T) {
	_, srv, ws := loadTarget(t, dbtest.Postgres(t))
	var out strings.Builder
	o := options{workspace: ws.ID, post: []string{srv.URL}, watch: []string{srv.URL}, visitors: 2, duration: 500 * time.Millisecond,
		stats: pgStats{url: dbtest.PostgresURL(), settle: pgStatsSettle}}
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`rows of Parley's tables read \(pg_stat_user_tables seq_tup_read \+ idx_tup_fetch\): \d+; per delivered message: ([\d.]+)\n`).
		FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "database rows read (pg_stat_database): tup_returned ") {
		t.Fatalf("report:\n%s", out.String())
	}
	if per, _ := strconv.ParseFloat(m[1], 64); per < 1 {
		t.Fatalf("report:\n%s", out.String())
	}
	t.Log(out.String())
}

// With -idle, every socket is authenticated (its first frame is "ready", or the run fails) and the
// report gives the server's memory per socket; here the server is this test process.
func TestIdleModeOpensAuthenticatedSockets(t *testing.T) {
	svc, srv, ws := loadTarget(t, dbtest.Open(t))
	var out strings.Builder
	o := idleOptions{sockets: 20, serverPID: os.Getpid(), sources: 2}
	if err := runIdle(context.Background(), srv.URL, ws.ID, o, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^idle sockets 20: parley RSS \d+ → \d+ KiB: -?[\d.]+ KiB per socket\n$`).MatchString(out.String()) {
		t.Fatalf("report:\n%s", out.String())
	}
	if n := dbtest.Count(t, svc.Store(), "SELECT COUNT(*) FROM sessions"); n != 20 {
		t.Errorf("%d sessions, want 20", n)
	}
}

// loadTarget is the real widget API on st, served on loopback for the tool, with a workspace to load.
func loadTarget(t *testing.T, st store.Store) (*chat.Service, *httptest.Server, store.Workspace) {
	t.Helper()
	hub := realtime.NewHub()
	svc := chattest.Start(t, chat.Config{Store: st, Events: hub}, hub)
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub})
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.CloseClientConnections(); api.Shutdown(context.Background()); srv.Close() })
	ws, err := svc.CreateWorkspace(context.Background(), "Load")
	if err != nil {
		t.Fatal(err)
	}
	return svc, srv, ws
}
