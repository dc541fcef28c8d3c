// Package ratelimit counts requests per client (an IP address, a session, an email address) with token
// buckets, and tells who the client is when requests come through trusted load balancers.
package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleyhq/parley/internal/problem"
)

// Rate is a sustained rate with a burst allowance.
type Rate struct {
	Every time.Duration // one token per Every; zero disables the limit
	Burst int
}

// Limiter keeps one token bucket per key and forgets idle ones, so memory is bounded by recent traffic
// rather than by everyone who ever connected. A nil Limiter allows everything.
type Limiter struct {
	rate Rate
	now  func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleAfter is how long an untouched bucket is kept; by then it has refilled completely anyway.
const idleAfter = 10 * time.Minute

// New returns a limiter allowing r per key; now reads the clock (nil means time.Now).
func New(r Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: r, now: now, buckets: make(map[string]*bucket)}
}

// Allow takes a token for key or returns a 429 problem saying when to retry.
func (l *Limiter) Allow(key string) error {
	if l == nil || l.rate.Every <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idleAfter {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.rate.Every), max(1, l.rate.Burst))}
		l.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	l.mu.Unlock()
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		return problem.RateLimited(delay)
	}
	return nil
}

// ClientIP returns the address a request came from. X-Forwarded-For is believed only when the direct
// peer is a trusted proxy, and then the rightmost address that is not itself a trusted proxy wins: the
// leftmost entries are whatever the client chose to send.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !isTrusted(addr, trusted) {
			return addr.String()
		}
	}
	return host
}

// FromTrustedProxy reports whether the request's direct peer is a trusted proxy, whose forwarding
// headers (X-Forwarded-For, X-Forwarded-Proto) may be believed.
func FromTrustedProxy(r *http.Request, trusted []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	return err == nil && isTrusted(peer, trusted)
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
