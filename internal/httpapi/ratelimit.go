package httpapi

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/parleyhq/parley/internal/ratelimit"
)

// Rate is a sustained rate with a burst allowance (see package ratelimit).
type Rate = ratelimit.Rate

// limiter is the handlers' view of a ratelimit.Limiter.
type limiter struct{ l *ratelimit.Limiter }

func newLimiter(r Rate, now func() time.Time) *limiter { return &limiter{ratelimit.New(r, now)} }

// allow takes a token for key or returns a 429 problem saying when to retry.
func (l *limiter) allow(key string) error { return l.l.Allow(key) }

// clientIP returns the address a request came from, believing X-Forwarded-For only from trusted proxies.
func clientIP(r *http.Request, trusted []netip.Prefix) string { return ratelimit.ClientIP(r, trusted) }
