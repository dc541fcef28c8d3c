package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/problem"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := New(Rate{Every: time.Minute, Burst: 2}, func() time.Time { return now })
	for i := 0; i < 2; i++ {
		if err := l.Allow("a"); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	err := l.Allow("a")
	p, ok := problem.As(err)
	if !ok || p.Status != 429 || p.RetryAfter != time.Minute {
		t.Fatalf("third: %v", err)
	}
	if err := l.Allow("b"); err != nil {
		t.Fatalf("another key: %v", err)
	}
	now = now.Add(time.Minute)
	if err := l.Allow("a"); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	// Idle buckets are forgotten.
	now = now.Add(time.Hour)
	_ = l.Allow("c")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets kept", n)
	}
	var nilLimiter *Limiter
	if nilLimiter.Allow("x") != nil || New(Rate{}, nil).Allow("x") != nil {
		t.Fatal("a disabled limiter refused")
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		peer, xff, want string
		viaProxy        bool
	}{
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7", false},
		{"10.0.0.2:5000", "198.51.100.1", "198.51.100.1", true},
		{"10.0.0.2:5000", "1.2.3.4, 198.51.100.1, 10.0.0.3", "198.51.100.1", true},
		{"10.0.0.2:5000", "", "10.0.0.2", true},
		{"10.0.0.2:5000", "garbage", "10.0.0.2", true},
		{"[::ffff:10.0.0.2]:5000", "198.51.100.1", "198.51.100.1", true},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ClientIP(r, trusted); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.peer, tc.xff, got, tc.want)
		}
		if got := FromTrustedProxy(r, trusted); got != tc.viaProxy {
			t.Errorf("%s: FromTrustedProxy %v", tc.peer, got)
		}
	}
}
