package main

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// The load tool against the real handler: every message it sends is delivered and measured.
func TestLoadToolMeasuresDeliveries(t *testing.T) {
	hub := realtime.NewHub()
	svc := chattest.Start(t, chat.Config{Store: dbtest.Open(t), Events: hub}, hub)
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub})
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.CloseClientConnections(); api.Shutdown(context.Background()); srv.Close() })
	ws, err := svc.CreateWorkspace(context.Background(), "Load")
	if err != nil {
		t.Fatal(err)
	}
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
	hub := realtime.NewHub()
	svc := chattest.Start(t, chat.Config{Store: dbtest.Open(t), Events: hub}, hub)
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub})
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.CloseClientConnections(); api.Shutdown(context.Background()); srv.Close() })
	ws, err := svc.CreateWorkspace(context.Background(), "Load")
	if err != nil {
		t.Fatal(err)
	}
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
