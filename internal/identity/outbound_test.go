package identity_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/identity"
)

// OutboundClient: the operator's network policy, no redirects, bodies bounded, requests bounded in time.
func TestOutboundClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact":
			io.WriteString(w, strings.Repeat("a", 100))
		case "/over":
			io.WriteString(w, strings.Repeat("a", 101))
		case "/redirect":
			http.Redirect(w, r, "/exact", http.StatusFound)
		case "/hang":
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		}
	}))
	defer srv.Close()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	c := identity.NewJWKSFetcher(identity.JWKSOptions{AllowNetworks: loopback, Timeout: 300 * time.Millisecond}).OutboundClient(100)
	read := func(path string) (int, []byte, error) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	if _, b, err := read("/exact"); err != nil || len(b) != 100 {
		t.Errorf("a body at the limit: %d bytes, %v", len(b), err)
	}
	if _, _, err := read("/over"); !errors.Is(err, identity.ErrResponseTooLarge) {
		t.Errorf("a body over the limit: %v; want ErrResponseTooLarge", err)
	}
	if status, _, err := read("/redirect"); err != nil || status != http.StatusFound {
		t.Errorf("a redirect: %d, %v; want it not followed", status, err)
	}
	if _, _, err := read("/hang"); err == nil {
		t.Error("a server that never answers: no error")
	}

	// Without the operator's permission, loopback is refused at dial time, over http and https alike.
	strict := identity.NewJWKSFetcher(identity.JWKSOptions{}).OutboundClient(100)
	if resp, err := strict.Get(srv.URL + "/exact"); err == nil {
		resp.Body.Close()
		t.Error("plain http to loopback without the operator's permission was fetched")
	}
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tls.Close()
	if resp, err := strict.Get(tls.URL); err == nil {
		resp.Body.Close()
		t.Error("https to loopback without the operator's permission was fetched")
	}
	if _, err := c.Get("ftp://127.0.0.1/x"); err == nil {
		t.Error("another scheme was fetched")
	}
}
