package identity

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleyhq/parley/internal/jsonstrict"
	"github.com/parleyhq/parley/internal/problem"
)

// Defaults of JWKSOptions.
const (
	DefaultJWKSTimeout            = 5 * time.Second
	DefaultJWKSMaxBytes           = 256 << 10
	DefaultJWKSMinRefresh         = 5 * time.Minute
	DefaultJWKSMaxAge             = time.Hour
	DefaultJWKSUnknownKidInterval = time.Minute
)

// maxJWKSURLLength bounds a configured JWKS URL.
const maxJWKSURLLength = 2048

// JWKSSource is a JWKS URL a workspace's admin configured. Whether Parley may fetch it from a private
// address is not the source's to say: the operator decides for the whole server (JWKSOptions.AllowNetworks).
type JWKSSource struct {
	URL string
}

// JWKSOptions configure a JWKSFetcher; zero fields take the defaults.
type JWKSOptions struct {
	Timeout    time.Duration // a whole request, body included; default 5s
	MaxBytes   int64         // largest response body; a bigger one is an error, not truncated; default 256 KiB
	MinRefresh time.Duration // a fetched set is kept at least this long; default 5m
	// MaxAge is the longest a fetched set is kept before it is refreshed; Cache-Control max-age is
	// honoured within [MinRefresh, MaxAge], and a set is refreshed after MinRefresh when the server
	// sends none. When refreshing fails, the last good set is still served until 2×MaxAge after it was
	// fetched. Default 1h.
	MaxAge time.Duration
	// UnknownKidInterval is the least time between two refetches of one source caused by tokens whose
	// kid no key has, and, in Collect, between attempts after a failed fetch; default 1m.
	UnknownKidInterval time.Duration
	// AllowNetworks are the private, loopback or link-local networks a JWKS may be fetched from, for an
	// identity provider on the operator's own network (parley serve --jwks-allow-networks). Empty, the
	// default, means public addresses only. Plain http is fetched only from addresses inside them. The
	// check is made on the address actually dialled, after name resolution. This is the operator's
	// decision alone: nothing a workspace admin sets widens it.
	AllowNetworks []netip.Prefix
	Now           func() time.Time // default time.Now
	Logger        *slog.Logger     // default slog.Default()
}

// JWKSFetcher fetches, caches and refreshes the keys of JWKS URLs. It is safe for concurrent use; one
// fetcher serves every workspace of a server.
type JWKSFetcher struct {
	opts JWKSOptions
	// One client per scheme, each with its own dial-time address check: https may reach public
	// addresses and the allowed networks, plain http the allowed networks only. Pooled connections skip
	// the dial-time check, so a client's pool never holds a connection its own check would refuse.
	https, plain *http.Client

	mu      sync.Mutex
	sets    map[JWKSSource]*jwksSet
	sweptAt time.Time // last time sets no longer used were forgotten
}

// jwksSet is the cached state of one source.
type jwksSet struct {
	keys         []Key
	fetchedAt    time.Time // last successful fetch; zero before the first
	refreshAt    time.Time // when the keys are due for a refresh
	failedAt     time.Time // last failed attempt since the last success
	err          error     // its error
	kidRefetchAt time.Time // last refetch caused by an unknown kid
	usedAt       time.Time // last time a caller asked for it
	inflight     *jwksFetch
}

// jwksFetch is one fetch in flight, shared by every caller that needs it.
type jwksFetch struct {
	done chan struct{}
	keys []Key
	err  error
}

// NewJWKSFetcher returns a fetcher with its own HTTP clients: no proxy from the environment (a proxy
// would connect on Parley's behalf, out of reach of the address check), no redirects, and the address
// check at dial time, on the address actually connected to, so that a DNS answer that changes between
// check and use (DNS rebinding) cannot reach a private address.
func NewJWKSFetcher(o JWKSOptions) *JWKSFetcher {
	if o.Timeout <= 0 {
		o.Timeout = DefaultJWKSTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultJWKSMaxBytes
	}
	if o.MinRefresh <= 0 {
		o.MinRefresh = DefaultJWKSMinRefresh
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultJWKSMaxAge
	}
	o.MaxAge = max(o.MaxAge, o.MinRefresh)
	if o.UnknownKidInterval <= 0 {
		o.UnknownKidInterval = DefaultJWKSUnknownKidInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.AllowNetworks = normalizeNetworks(o.AllowNetworks)
	allowed := o.AllowNetworks
	return &JWKSFetcher{
		opts: o,
		https: newJWKSClient(o.Timeout, func(addr netip.Addr) error {
			if why := blockedReason(addr); why != "" && !inNetworks(addr, allowed) {
				return &blockedAddressError{Addr: addr, Why: why}
			}
			return nil
		}),
		plain: newJWKSClient(o.Timeout, func(addr netip.Addr) error {
			if !inNetworks(addr, allowed) {
				why := blockedReason(addr)
				if why == "" {
					why = "a public"
				}
				return &blockedAddressError{Addr: addr, Why: why, Plain: true}
			}
			return nil
		}),
		sets: map[JWKSSource]*jwksSet{},
	}
}

// normalizeNetworks masks each prefix and writes IPv4-mapped ones as IPv4, so that Contains, which
// never matches across address families, sees them as the operator meant them.
func normalizeNetworks(nets []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(nets))
	for _, p := range nets {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// inNetworks reports whether ip is inside one of nets; IPv4-mapped and NAT64 IPv6 addresses are judged
// by the IPv4 address they carry, as blockedReason judges them.
func inNetworks(ip netip.Addr, nets []netip.Prefix) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range nets {
		if p.Contains(ip) {
			return true
		}
	}
	if nat64Prefix.Contains(ip) {
		b := ip.As16()
		return inNetworks(netip.AddrFrom4([4]byte(b[12:])), nets)
	}
	return false
}

// newJWKSClient returns a client whose dialer asks check about every address it is about to connect to.
func newJWKSClient(timeout time.Duration, check func(netip.Addr) error) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	// Control runs for every address actually connected to, after name resolution, which is what makes
	// the check immune to DNS rebinding.
	dialer.ControlContext = func(_ context.Context, network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("refusing to dial %s %q: %w", network, address, err)
		}
		return check(ap.Addr())
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect could lead anywhere, the URL check would not see it, and the admin configured this URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Keys returns the keys of src: from the cache while it is fresh, fetched otherwise, with concurrent
// callers sharing one fetch. When a refresh fails, the last good set is served (and the failure logged)
// until 2×MaxAge after it was fetched; then the error is returned. Unlike Collect, Keys tries again
// right after a failure, for an admin checking a JWKS they just fixed.
func (f *JWKSFetcher) Keys(ctx context.Context, src JWKSSource) ([]Key, error) {
	keys, _, err := f.load(ctx, src, loadExplicit)
	return keys, err
}

// Collect returns static followed by the keys of every source, fetched concurrently. When kid is set and
// no key has it, the sources are fetched again — a key was probably just rotated in — but at most once
// per UnknownKidInterval per source, so that tokens with made-up kids cannot make Parley hammer a JWKS.
// Collect is the login path: after a failed fetch it does not try the source again for
// UnknownKidInterval, so that a JWKS that is down costs logins one timeout per interval, not one each.
// A source's keys whose kid a static key or an earlier source already uses are dropped: a kid names
// exactly one key. Errors of sources that contribute no keys are returned for the caller to log.
func (f *JWKSFetcher) Collect(ctx context.Context, kid string, static []Key, sources []JWKSSource) ([]Key, []error) {
	type result struct {
		keys    []Key
		fetched bool
		err     error
	}
	results := make([]result, len(sources))
	each := func(fn func(i int, src JWKSSource)) {
		var wg sync.WaitGroup
		for i, src := range sources {
			wg.Go(func() { fn(i, src) })
		}
		wg.Wait()
	}
	each(func(i int, src JWKSSource) {
		r := &results[i]
		r.keys, r.fetched, r.err = f.load(ctx, src, loadLogin)
	})
	if kid != "" && !hasKid(static, kid) && !slices.ContainsFunc(results, func(r result) bool { return hasKid(r.keys, kid) }) {
		each(func(i int, src JWKSSource) {
			r := &results[i]
			if r.fetched { // fetched a moment ago by this very call: nothing newer to get
				return
			}
			if keys, fetched, err := f.load(ctx, src, loadUnknownKid); fetched || err != nil {
				r.keys, r.err = keys, err
			}
		})
	}
	out := append([]Key(nil), static...)
	seen := map[string]bool{}
	for _, k := range static {
		seen[k.ID] = true
	}
	var errs []error
	for i, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
		}
		for _, k := range r.keys {
			if seen[k.ID] {
				f.opts.Logger.Debug("jwks: key shadowed by a key with the same kid", "url", sources[i].URL, "kid", k.ID)
				continue
			}
			seen[k.ID] = true
			out = append(out, k)
		}
	}
	return out, errs
}

// loadMode says when load fetches.
type loadMode int

const (
	loadExplicit   loadMode = iota // when the cached set is due
	loadLogin                      // the same, but not again within UnknownKidInterval of a failure
	loadUnknownKid                 // even when the set is fresh, at most once per UnknownKidInterval
)

// load returns src's keys, fetching them as mode says; a fetch already in flight is always joined.
// fetched reports whether a fetch finished during the call.
func (f *JWKSFetcher) load(ctx context.Context, src JWKSSource, mode loadMode) (keys []Key, fetched bool, err error) {
	if err := CheckJWKSURL(src.URL, f.opts.AllowNetworks); err != nil {
		return nil, false, fmt.Errorf("jwks %s: %w", src.URL, err)
	}
	now := f.opts.Now()
	f.mu.Lock()
	f.sweep(now)
	s := f.sets[src]
	if s == nil {
		s = &jwksSet{}
		f.sets[src] = s
	}
	s.usedAt = now
	call := s.inflight
	if call == nil {
		if mode == loadUnknownKid {
			if !s.kidRefetchAt.IsZero() && now.Sub(s.kidRefetchAt) < f.opts.UnknownKidInterval {
				keys, err := f.served(s, now)
				f.mu.Unlock()
				return keys, false, err
			}
			s.kidRefetchAt = now
		} else {
			if !s.fetchedAt.IsZero() && now.Before(s.refreshAt) {
				keys := s.keys
				f.mu.Unlock()
				return keys, false, nil
			}
			// After a failure, wait before trying again rather than sending every login to a broken server.
			if mode == loadLogin && !s.failedAt.IsZero() && now.Sub(s.failedAt) < f.opts.UnknownKidInterval {
				keys, err := f.served(s, now)
				f.mu.Unlock()
				return keys, false, err
			}
		}
		call = &jwksFetch{done: make(chan struct{})}
		s.inflight = call
		// The fetch outlives a caller that gives up: the others waiting for it still want the answer.
		go f.run(context.WithoutCancel(ctx), src, s, call)
	}
	f.mu.Unlock()

	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("jwks %s: %w", src.URL, ctx.Err())
	}
	if call.err == nil {
		return call.keys, true, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	keys, err = f.served(s, f.opts.Now())
	return keys, true, err
}

// sweep forgets the sets nobody asked for in 2×MaxAge (a workspace removed its JWKS, or changed its
// URL), at most once per MaxAge, so the cache holds only sources in use. f.mu is held.
func (f *JWKSFetcher) sweep(now time.Time) {
	if now.Sub(f.sweptAt) < f.opts.MaxAge {
		return
	}
	f.sweptAt = now
	for src, s := range f.sets {
		if s.inflight == nil && now.Sub(s.usedAt) > 2*f.opts.MaxAge {
			delete(f.sets, src)
		}
	}
}

// cached reports how many sources the fetcher holds, for tests.
func (f *JWKSFetcher) cached() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sets)
}

// served is what a source offers while it cannot be fetched: the last good set until 2×MaxAge after it
// was fetched, else the last error. f.mu is held.
func (f *JWKSFetcher) served(s *jwksSet, now time.Time) ([]Key, error) {
	if !s.fetchedAt.IsZero() && now.Before(s.fetchedAt.Add(2*f.opts.MaxAge)) {
		return s.keys, nil
	}
	if s.err == nil { // only reachable with a stale set and no attempt yet, which load never asks for
		return nil, errors.New("jwks: no keys fetched yet")
	}
	return nil, s.err
}

// run performs one fetch and records its outcome.
func (f *JWKSFetcher) run(ctx context.Context, src JWKSSource, s *jwksSet, call *jwksFetch) {
	keys, maxAge, err := f.fetch(ctx, src)
	now := f.opts.Now()
	f.mu.Lock()
	if err == nil {
		s.keys, s.fetchedAt, s.refreshAt = keys, now, now.Add(min(max(maxAge, f.opts.MinRefresh), f.opts.MaxAge))
		s.failedAt, s.err = time.Time{}, nil
	} else {
		s.failedAt, s.err = now, err
		// The operator's log has what the error shown to admins leaves out.
		var detail string
		if fe, ok := errors.AsType[*FetchError](err); ok && fe.Detail != nil {
			detail = fe.Detail.Error()
		}
		if !s.fetchedAt.IsZero() && now.Before(s.fetchedAt.Add(2*f.opts.MaxAge)) {
			f.opts.Logger.Warn("jwks: refresh failed; serving the last good set", "url", src.URL, "err", err, "detail", detail,
				"fetched_at", s.fetchedAt, "served_until", s.fetchedAt.Add(2*f.opts.MaxAge))
		} else {
			f.opts.Logger.Warn("jwks: fetch failed", "url", src.URL, "err", err, "detail", detail)
		}
	}
	s.inflight = nil
	call.keys, call.err = keys, err
	f.mu.Unlock()
	close(call.done)
}

// FetchError is a failed fetch of a JWKS. Its Error names the URL and the kind of failure, in words the
// admin who configured it can act on, and never repeats what the remote server sent — status line,
// headers such as a redirect's Location, body — nor the address its name resolved to: whoever may set a
// JWKS URL must not be able to read other servers through Parley. Detail holds those particulars, for
// the operator's log only.
type FetchError struct {
	URL    string
	Reason string // a fixed sentence: one of the categories below, never remote text
	Detail error  // the particulars; not for the admin
}

func (e *FetchError) Error() string { return "jwks " + e.URL + ": " + e.Reason }

// Unwrap returns Detail, so that errors.Is and errors.As see the cause (a timeout, a refused address).
func (e *FetchError) Unwrap() error { return e.Detail }

// The reasons of a FetchError.
const (
	reasonHTTPError = "the JWKS URL did not answer with the key set: it answered with an HTTP error (a JWKS URL must answer 200 with the set)"
	reasonRedirect  = "the JWKS URL did not answer with the key set: it answered with a redirect, which Parley does not follow; configure the URL the set is finally served at"
	reasonConnect   = "the JWKS URL could not be reached: the name did not resolve, the connection failed, or the TLS handshake failed"
	reasonCutOff    = "the JWKS URL's answer broke off before its end"
	reasonNotASet   = `the JWKS URL's answer is not a JWK Set (a JSON object with a "keys" array)`
	reasonEmptySet  = "the key set is empty"
	reasonNoUsable  = "none of the set's keys can verify tokens (each needs a kid, an alg Parley supports, and no private parts); the server's log says why each was skipped"
	reasonBlocked   = "the JWKS URL's host resolves to an address that is not public, outside the networks this server's operator allows for JWKS URLs (parley serve --jwks-allow-networks)"
	reasonPlainHTTP = "plain http is fetched only from the networks this server's operator allows for JWKS URLs (parley serve --jwks-allow-networks), and the host resolves to an address outside them; use https"
)

// fetch downloads and parses src's JWK Set, returning its keys and the max-age the server asked for
// (0 when it gave none).
func (f *JWKSFetcher) fetch(ctx context.Context, src JWKSSource) ([]Key, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	fail := func(reason string, detail error) ([]Key, time.Duration, error) {
		return nil, 0, &FetchError{URL: src.URL, Reason: reason, Detail: detail}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return fail("the JWKS URL is not a URL Parley can request", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	client := f.https
	if req.URL.Scheme == "http" {
		client = f.plain
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(describeFetchError(err, f.opts.Timeout, reasonConnect), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode/100 == 3 {
			return fail(reasonRedirect, fmt.Errorf("answered %q, Location %q", resp.Status, resp.Header.Get("Location")))
		}
		return fail(reasonHTTPError, fmt.Errorf("answered %q", resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return fail(describeFetchError(err, f.opts.Timeout, reasonCutOff), err)
	}
	if int64(len(body)) > f.opts.MaxBytes {
		return fail(fmt.Sprintf("the JWKS URL's answer is too large: more than %d bytes", f.opts.MaxBytes), nil)
	}
	keys, reason, detail := f.parseSet(src, body)
	if reason != "" {
		return fail(reason, detail)
	}
	return keys, cacheMaxAge(resp.Header), nil
}

// parseSet reads a JWK Set. Each key is read on its own, by the same code as a registered JWK, so that
// one key Parley cannot use (an encryption key, a key type it does not know) is skipped and logged
// instead of making the whole set unreadable, as go-jose's JSONWebKeySet would. A key must carry its
// kid and alg: nothing else ties a token to it. A set that yields no key is refused with one of the
// FetchError reasons, and the particulars for the log.
func (f *JWKSFetcher) parseSet(src JWKSSource, body []byte) (keys []Key, reason string, detail error) {
	members, err := jsonstrict.Object(body)
	if err != nil {
		return nil, reasonNotASet, err
	}
	var raws []json.RawMessage
	if rawKeys, ok := members["keys"]; !ok || json.Unmarshal(rawKeys, &raws) != nil {
		return nil, reasonNotASet, errors.New(`no "keys" array`)
	}
	var skipped []string
	skip := func(i int, kid, why string) {
		skipped = append(skipped, why)
		f.opts.Logger.Info("jwks: skipping a key", "url", src.URL, "index", i, "kid", kid, "reason", why)
	}
	for i, raw := range raws {
		m, err := jsonstrict.Object(raw)
		if err != nil {
			skip(i, "", "the key is not a JSON object without repeated members")
			continue
		}
		var kid, alg string
		_ = json.Unmarshal(m["kid"], &kid)
		_ = json.Unmarshal(m["alg"], &alg)
		if slices.ContainsFunc(privateJWKMembers, func(name string) bool { _, ok := m[name]; return ok }) {
			// Worth more than a skip: whoever reads this JWKS can sign as the business.
			f.opts.Logger.Warn("jwks: the set publishes private key material; the key is skipped, and should be rotated",
				"url", src.URL, "index", i, "kid", kid)
			skipped = append(skipped, "private key")
			continue
		}
		if kid == "" {
			skip(i, "", `the key has no "kid"`)
			continue
		}
		if alg == "" {
			skip(i, kid, `the key has no "alg"; a JWKS key must name its algorithm`)
			continue
		}
		pk, err := ParsePublicKey(raw, "")
		if err != nil {
			msg := err.Error()
			if p, ok := problem.As(err); ok {
				msg = p.Message
			}
			skip(i, kid, msg)
			continue
		}
		if hasKid(keys, pk.Kid) {
			skip(i, pk.Kid, "an earlier key of the set has the same kid")
			continue
		}
		keys = append(keys, Key{ID: pk.Kid, Alg: pk.Alg, Public: pk.Key, Source: src.URL})
	}
	if len(keys) == 0 {
		if len(raws) == 0 {
			return nil, reasonEmptySet, nil
		}
		return nil, reasonNoUsable, fmt.Errorf("%d keys skipped: %s", len(raws), strings.Join(skipped, "; "))
	}
	return keys, "", nil
}

// cacheMaxAge is the max-age of a Cache-Control header, 0 when absent or when caching is refused.
func cacheMaxAge(h http.Header) time.Duration {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "no-store" || d == "no-cache" {
				return 0
			}
			if rest, ok := strings.CutPrefix(d, "max-age="); ok {
				const year = int64(365 * 24 * time.Hour / time.Second)
				n, err := strconv.ParseInt(strings.Trim(rest, `"`), 10, 64)
				if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(rest, "-") {
					n, err = year, nil // RFC 9111 §1.2.2: a delta-seconds too large to hold means "very long"
				}
				if err != nil || n < 0 {
					return 0
				}
				return time.Duration(min(n, year)) * time.Second
			}
		}
	}
	return 0
}

// describeFetchError says which FetchError reason a transport error is: a refused address, a timeout,
// or otherwise.
func describeFetchError(err error, timeout time.Duration, otherwise string) string {
	if blocked, ok := errors.AsType[*blockedAddressError](err); ok {
		if blocked.Plain {
			return reasonPlainHTTP
		}
		return reasonBlocked
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("the JWKS URL gave no complete answer within %s", timeout)
	}
	return otherwise
}

// CheckJWKSURL checks a JWKS URL before it is saved or fetched: an absolute https URL without user
// info or fragment, at most 2048 characters, not naming a loopback, private or link-local address or
// localhost unless that address is inside allowed, the networks the operator allows for JWKS URLs.
// Plain http is accepted only with allowed networks, and then never for a literal address outside
// them; for a name, the fetcher checks the address it connects to, whatever the name resolves to.
// Errors are 422 invalid_field problems for the field jwks_url.
func CheckJWKSURL(raw string, allowed []netip.Prefix) error {
	bad := func(format string, args ...any) error { return problem.InvalidField("jwks_url", format, args...) }
	const example = "https://auth.example.com/.well-known/jwks.json"
	const howToAllow = "Parley fetches from addresses that are not public only inside the networks this server's operator allows for JWKS URLs (parley serve --jwks-allow-networks)"
	allowed = normalizeNetworks(allowed)
	if raw == "" {
		return bad("is empty; enter the URL of your JWKS, such as %s", example)
	}
	if len(raw) > maxJWKSURLLength {
		return bad("is %d characters; at most %d", len(raw), maxJWKSURLLength)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] == 0x7f {
			return bad("contains a space or control character at byte %d", i)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a valid URL")
	}
	if !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return bad("must be an absolute URL such as %s", example)
	}
	plain := false
	switch u.Scheme {
	case "https":
	case "http":
		if len(allowed) == 0 {
			return bad("must use https (plain http is fetched only from the private networks this server's operator allows for JWKS URLs with parley serve --jwks-allow-networks, and it allows none)")
		}
		plain = true
	default:
		return bad("scheme %q is not supported; use https", u.Scheme)
	}
	if u.User != nil {
		return bad("must not contain a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("must not contain a fragment (#…)")
	}
	host := u.Hostname()
	if host == "" {
		return bad("has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("port %q is not valid", p)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		why := blockedReason(ip)
		switch {
		case why != "" && !inNetworks(ip, allowed):
			return bad("points at %s, %s address; %s", host, why, howToAllow)
		case plain && !inNetworks(ip, allowed):
			return bad("must use https: plain http is fetched only from the private networks this server's operator allows for JWKS URLs (parley serve --jwks-allow-networks), and %s is outside them", host)
		}
		return nil
	}
	if h := strings.TrimSuffix(strings.ToLower(host), "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		if !inNetworks(netip.IPv6Loopback(), allowed) && !inNetworks(netip.AddrFrom4([4]byte{127, 0, 0, 1}), allowed) {
			return bad("points at %s, a loopback name; %s", host, howToAllow)
		}
	}
	return nil
}

// blockedAddressError is the dial-time refusal of an address. Its text is for the operator's log: the
// admin is told only the FetchError reason.
type blockedAddressError struct {
	Addr  netip.Addr
	Why   string
	Plain bool // refused because plain http goes only to the allowed networks
}

func (e *blockedAddressError) Error() string {
	if e.Plain {
		return fmt.Sprintf("refused to connect over plain http to %s, %s address outside the networks allowed for JWKS URLs", e.Addr, e.Why)
	}
	return fmt.Sprintf("refused to connect to %s, %s address outside the networks allowed for JWKS URLs", e.Addr, e.Why)
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the low 32 bits are an IPv4 address
	// reservedPrefixes are ranges beyond netip's predicates that are never a public JWKS.
	reservedPrefixes = []struct {
		prefix netip.Prefix
		why    string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), `a "this network"`},
		{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT (shared)"},
		{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol"},
		{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking"},
		{netip.MustParsePrefix("240.0.0.0/4"), "a reserved"}, // includes the broadcast address
		{netip.MustParsePrefix("::/96"), "an IPv4-compatible (deprecated)"},
		{netip.MustParsePrefix("fec0::/10"), "a site-local (deprecated)"},
	}
)

// blockedReason says what kind of non-public address ip is ("a loopback", for messages), or "" when
// Parley may fetch from it without the operator allowing its network. IPv4-mapped and NAT64 IPv6 addresses are
// judged by the IPv4 address they carry.
func blockedReason(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64Prefix.Contains(ip) {
		b := ip.As16()
		return blockedReason(netip.AddrFrom4([4]byte(b[12:])))
	}
	switch {
	case !ip.IsValid():
		return "an invalid"
	case ip.IsUnspecified():
		return "an unspecified"
	case ip.IsLoopback():
		return "a loopback"
	case ip.IsPrivate():
		return "a private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast"
	}
	for _, r := range reservedPrefixes {
		if r.prefix.Contains(ip.WithZone("")) {
			return r.why
		}
	}
	return ""
}

func hasKid(keys []Key, kid string) bool {
	return slices.ContainsFunc(keys, func(k Key) bool { return k.ID == kid })
}

// CheckURL is CheckJWKSURL with the networks this fetcher was allowed.
func (f *JWKSFetcher) CheckURL(raw string) error { return CheckJWKSURL(raw, f.opts.AllowNetworks) }
