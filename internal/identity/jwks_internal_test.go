package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBlockedReason(t *testing.T) {
	tests := []struct {
		ip   string
		want string // "" means public
	}{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.1", ""},
		{"169.253.255.255", ""},
		{"223.255.255.255", ""},
		{"127.0.0.1", "a loopback"},
		{"127.255.255.254", "a loopback"},
		{"10.0.0.1", "a private"},
		{"172.16.0.1", "a private"},
		{"172.31.255.255", "a private"},
		{"192.168.1.1", "a private"},
		{"169.254.169.254", "a link-local"},
		{"100.64.0.1", "a carrier-grade NAT (shared)"},
		{"100.127.255.255", "a carrier-grade NAT (shared)"},
		{"0.0.0.0", "an unspecified"},
		{"0.1.2.3", `a "this network"`},
		{"224.0.0.1", "a link-local"}, // 224.0.0.0/24 is link-local multicast
		{"239.1.2.3", "a multicast"},
		{"255.255.255.255", "a reserved"},
		{"240.0.0.1", "a reserved"},
		{"198.18.0.1", "a benchmarking"},
		{"192.0.0.8", "an IETF protocol"},

		{"2001:4860:4860::8888", ""},
		{"2606:4700::1111", ""},
		{"::1", "a loopback"},
		{"::", "an unspecified"},
		{"fe80::1", "a link-local"},
		{"fe80::1%eth0", "a link-local"},
		{"febf:ffff::1", "a link-local"},
		{"fc00::1", "a private"},
		{"fd12:3456::1", "a private"},
		{"ff02::1", "a link-local"},
		{"ff05::2", "a multicast"},
		{"ff01::1", "a multicast"},
		{"fec0::1", "a site-local (deprecated)"},
		{"::7f00:1", "an IPv4-compatible (deprecated)"},

		// IPv4-mapped and NAT64 addresses are judged by the IPv4 address inside.
		{"::ffff:8.8.8.8", ""},
		{"::ffff:127.0.0.1", "a loopback"},
		{"::ffff:10.1.2.3", "a private"},
		{"::ffff:169.254.169.254", "a link-local"},
		{"::ffff:100.64.0.1", "a carrier-grade NAT (shared)"},
		{"::ffff:0.0.0.0", "an unspecified"},
		{"64:ff9b::808:808", ""},
		{"64:ff9b::7f00:1", "a loopback"},
		{"64:ff9b::a9fe:a9fe", "a link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := blockedReason(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Fatalf("blockedReason(%s) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
	if blockedReason(netip.Addr{}) == "" {
		t.Error("the zero Addr is allowed")
	}
}

// The dial-time check refuses what the name resolves to, whatever the URL says: here the URL check is
// bypassed (as a DNS answer that changed after it would bypass it), and the dialer still refuses.
func TestJWKSDialGuard(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	f := NewJWKSFetcher(JWKSOptions{})
	for _, url := range []string{
		srv.URL,
		strings.Replace(srv.URL, "127.0.0.1", "localhost", 1),
		strings.Replace(srv.URL, "http://", "https://", 1),
		strings.Replace(strings.Replace(srv.URL, "http://", "https://", 1), "127.0.0.1", "localhost", 1),
	} {
		_, _, err := f.fetch(context.Background(), JWKSSource{URL: url})
		var blocked *blockedAddressError
		if !errors.As(err, &blocked) || blocked.Why != "a loopback" {
			t.Fatalf("%s: %v, want a refusal at dial time", url, err)
		}
		if !strings.Contains(err.Error(), "--jwks-allow-networks") || strings.Contains(strings.ReplaceAll(err.Error(), url, ""), "127.0.0.1") {
			t.Errorf("error %q does not say how to allow it, or names the address the host resolved to", err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
	// Plain http to a public address is refused too: plain http goes to the allowed networks only.
	f = NewJWKSFetcher(JWKSOptions{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if _, _, err := f.fetch(context.Background(), JWKSSource{URL: srv.URL}); err == nil || hits.Load() != 0 {
		t.Fatalf("127.0.0.1 outside the allowed 10.0.0.0/8: %v", err)
	}
	// Its network allowed by the operator, the same address is fetched (the empty set is then refused as such).
	f = NewJWKSFetcher(JWKSOptions{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	_, _, err := f.fetch(context.Background(), JWKSSource{URL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "the key set is empty") || hits.Load() != 1 {
		t.Fatalf("allowed: %v, %d requests", err, hits.Load())
	}
}

// The cache forgets sources nobody asked for in 2×MaxAge, so a workspace that removed or changed its
// JWKS URL does not keep an entry forever; sources in use, and fetches in flight, stay.
func TestJWKSSweep(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f := NewJWKSFetcher(JWKSOptions{MaxAge: time.Hour, Now: func() time.Time { return now }})
	old := JWKSSource{URL: "https://idp.example/old.json"}
	used := JWKSSource{URL: "https://idp.example/used.json"}
	busy := JWKSSource{URL: "https://idp.example/busy.json"}
	f.sets[old] = &jwksSet{usedAt: now.Add(-3 * time.Hour)}
	f.sets[used] = &jwksSet{usedAt: now.Add(-90 * time.Minute)}
	f.sets[busy] = &jwksSet{usedAt: now.Add(-5 * time.Hour), inflight: &jwksFetch{done: make(chan struct{})}}

	f.sweep(now)
	if _, ok := f.sets[old]; ok || f.cached() != 2 {
		t.Fatalf("after a sweep: %d sets, old kept %v", f.cached(), ok)
	}
	// At most one sweep per MaxAge: a source that goes stale meanwhile waits for the next one.
	f.sets[old] = &jwksSet{usedAt: now.Add(-3 * time.Hour)}
	f.sweep(now.Add(30 * time.Minute))
	if f.cached() != 3 {
		t.Fatalf("swept again within MaxAge: %d sets", f.cached())
	}
	f.sweep(now.Add(61 * time.Minute))
	if _, ok := f.sets[used]; ok {
		t.Error("a source unused for 2×MaxAge was kept")
	}
	if _, ok := f.sets[busy]; !ok {
		t.Error("a source with a fetch in flight was forgotten")
	}
}
