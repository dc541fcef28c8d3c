package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/webhooks"
)

// TestWebhookResult labels real delivery attempts: answered 2xx, answered otherwise, no answer in
// time, and no connection.
func TestWebhookResult(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/fail":
			w.WriteHeader(http.StatusBadGateway)
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nobody listens there now

	send := func(ctx context.Context, url string) webhooks.Result {
		return webhooks.Send(ctx, srv.Client(), url, "msg_1", time.Now(), []byte(`{}`), []byte("secret"))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	for _, c := range []struct {
		res  webhooks.Result
		want string
	}{
		{send(t.Context(), srv.URL+"/ok"), "ok"},
		{send(t.Context(), srv.URL+"/fail"), "http_error"},
		{send(ctx, srv.URL+"/slow"), "timeout"},
		{send(t.Context(), closed), "network"},
		{webhooks.Result{Err: fmt.Errorf("wrapped: %w", context.DeadlineExceeded)}, "timeout"},
		{webhooks.Result{Err: errors.New("tls: handshake failure")}, "network"},
	} {
		if got := webhookResult(c.res); got != c.want {
			t.Errorf("webhookResult(%+v) = %q, want %q", c.res, got, c.want)
		}
	}
}
