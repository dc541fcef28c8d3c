package identity_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
)

// jwksServer is a JWKS endpoint on 127.0.0.1 whose answer a test can change, and which counts requests.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu      sync.Mutex
	status  int
	body    string
	headers map[string]string
	handler http.HandlerFunc // replaces the canned answer when set
}

func newJWKSServer(t *testing.T, body string) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK, body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		status, body, headers, handler := s.status, s.body, s.headers, s.handler
		s.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(status int, body string, headers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body, s.headers = status, body, headers
}

func (s *jwksServer) source() identity.JWKSSource {
	return identity.JWKSSource{URL: s.URL + "/.well-known/jwks.json"}
}

// loopback is the allow-list of the tests' fetchers: their JWKS servers listen on 127.0.0.1.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// testClock is a clock that moves only when told.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer collects log output written from the fetcher's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newFetcher(o identity.JWKSOptions) (*identity.JWKSFetcher, *testClock, *syncBuffer) {
	clock := &testClock{now: testNow}
	logs := &syncBuffer{}
	if o.Now == nil {
		o.Now = clock.Now
	}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.AllowNetworks == nil {
		o.AllowNetworks = loopback // the operator allowed the network the test servers listen on
	}
	return identity.NewJWKSFetcher(o), clock, logs
}

func jwksOf(keys ...[]byte) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = string(k)
	}
	return `{"keys":[` + strings.Join(parts, ",") + `]}`
}

func loginClaims() string {
	return `{"sub":"u1","iat":` + at(-10) + `,"exp":` + at(290) + `}`
}

func TestJWKSFetchAndVerify(t *testing.T) {
	srv := newJWKSServer(t, jwksOf(
		jwkOf(t, &rsaKey().PublicKey, "r1", "RS256", "sig"),
		jwkOf(t, &p256Key().PublicKey, "e1", "ES256", ""),
		jwkOf(t, edKey().Public(), "d1", "EdDSA", "sig"),
	))
	f, _, _ := newFetcher(identity.JWKSOptions{})
	src := srv.source()
	keys, errs := f.Collect(context.Background(), "e1", []identity.Key{testKey}, []identity.JWKSSource{src})
	if len(errs) != 0 || len(keys) != 4 {
		t.Fatalf("Collect: %d keys, errors %v", len(keys), errs)
	}
	for _, k := range keys[1:] {
		if k.Source != src.URL || k.Public == nil || k.Secret != nil {
			t.Errorf("key %+v", k)
		}
	}
	for _, tc := range []struct {
		header string
		method jwt.SigningMethod
		priv   crypto.Signer
		kid    string
	}{
		{`{"alg":"ES256","kid":"e1"}`, jwt.SigningMethodES256, p256Key(), "e1"},
		{`{"alg":"RS256","kid":"r1"}`, jwt.SigningMethodRS256, rsaKey(), "r1"},
		{`{"alg":"EdDSA"}`, jwt.SigningMethodEdDSA, edKey(), "d1"},
	} {
		v, err := identity.Verify(signWith(t, tc.method, tc.priv, tc.header, loginClaims()), keys, testPolicy)
		if err != nil {
			t.Fatalf("%s: %v", tc.header, err)
		}
		if v.Key.ID != tc.kid || v.Key.Source != src.URL {
			t.Errorf("%s: verified by %+v", tc.header, v.Key)
		}
	}
	// A wrong signature names the JWKS the key came from, and asks for the private key, not a secret.
	_, err := identity.Verify(signWith(t, jwt.SigningMethodES256, p256Key2(), `{"alg":"ES256","kid":"e1"}`, loginClaims()), keys, testPolicy)
	p := wantProblem(t, err, "token_bad_signature")
	if !strings.Contains(p.Message, src.URL) || !strings.Contains(p.Message, "private key") || strings.Contains(p.Message, "secret") {
		t.Errorf("message %q", p.Message)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A fetched set is served from the cache for Cache-Control's max-age, clamped to [MinRefresh, MaxAge].
func TestJWKSCache(t *testing.T) {
	body := jwksOf(jwkOf(t, &p256Key().PublicKey, "e1", "ES256", "sig"))
	tests := []struct {
		name         string
		cacheControl string
		keptFor      time.Duration // refreshed after this long, not before
	}{
		{"no header: MinRefresh", "", 5 * time.Minute},
		{"max-age honoured", "public, max-age=1200", 20 * time.Minute},
		{"short max-age raised to MinRefresh", "max-age=10", 5 * time.Minute},
		{"no-store raised to MinRefresh", "no-store", 5 * time.Minute},
		{"long max-age lowered to MaxAge", "max-age=86400", time.Hour},
		{"huge max-age lowered to MaxAge", "max-age=99999999999999999999", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, body)
			if tt.cacheControl != "" {
				srv.set(http.StatusOK, body, map[string]string{"Cache-Control": tt.cacheControl})
			}
			f, clock, _ := newFetcher(identity.JWKSOptions{})
			get := func() {
				t.Helper()
				if keys, err := f.Keys(context.Background(), srv.source()); err != nil || len(keys) != 1 {
					t.Fatalf("Keys: %d keys, %v", len(keys), err)
				}
			}
			get()
			get()
			clock.Advance(tt.keptFor - time.Second)
			get()
			if n := srv.hits.Load(); n != 1 {
				t.Fatalf("%d requests before the set was due, want 1", n)
			}
			clock.Advance(time.Second)
			get()
			get()
			if n := srv.hits.Load(); n != 2 {
				t.Fatalf("%d requests once the set was due, want 2", n)
			}
		})
	}
}

// A token signed with a key just added to the JWKS verifies at once; unknown kids cannot make Parley
// fetch the JWKS more than once per UnknownKidInterval.
func TestJWKSRotation(t *testing.T) {
	k1 := jwkOf(t, &p256Key().PublicKey, "k1", "ES256", "sig")
	k2 := jwkOf(t, &p256Key2().PublicKey, "k2", "ES256", "sig")
	srv := newJWKSServer(t, jwksOf(k1))
	f, clock, _ := newFetcher(identity.JWKSOptions{UnknownKidInterval: time.Minute})
	src := []identity.JWKSSource{srv.source()}
	ctx := context.Background()
	verify := func(kid string) error {
		t.Helper()
		keys, errs := f.Collect(ctx, kid, nil, src)
		if len(errs) != 0 {
			t.Fatalf("Collect: %v", errs)
		}
		priv := p256Key()
		if kid != "k1" {
			priv = p256Key2()
		}
		_, err := identity.Verify(signWith(t, jwt.SigningMethodES256, priv, `{"alg":"ES256","kid":"`+kid+`"}`, loginClaims()), keys, testPolicy)
		return err
	}
	wantHits := func(n int64) {
		t.Helper()
		if got := srv.hits.Load(); got != n {
			t.Fatalf("%d requests, want %d", got, n)
		}
	}

	if err := verify("k1"); err != nil {
		t.Fatal(err)
	}
	wantHits(1)
	srv.set(http.StatusOK, jwksOf(k1, k2), nil) // the business rotates in k2

	if err := verify("k2"); err != nil {
		t.Fatalf("token with the new kid: %v", err)
	}
	wantHits(2)
	if err := verify("k1"); err != nil { // a known kid never refetches
		t.Fatal(err)
	}
	wantHits(2)

	// Made-up kids: the first within the interval finds the cache fresh from k2's refetch.
	err := verify("k3")
	p := wantProblem(t, err, "token_unknown_key")
	// The public message names the token's kid only: not the workspace's JWKS address nor its keys.
	if !strings.Contains(p.Message, `no active key "k3"`) || strings.Contains(p.Message, src[0].URL) || strings.Contains(p.Message, "k1") {
		t.Errorf("message %q: want the token's kid and nothing of the workspace's keys", p.Message)
	}
	wantHits(2)
	clock.Advance(30 * time.Second)
	wantProblem(t, verify("k4"), "token_unknown_key")
	wantHits(2)
	// After the interval, an unknown kid may refetch again — once.
	clock.Advance(31 * time.Second)
	wantProblem(t, verify("k5"), "token_unknown_key")
	wantHits(3)
	wantProblem(t, verify("k6"), "token_unknown_key")
	wantHits(3)
}

func TestJWKSFetchErrors(t *testing.T) {
	good := string(jwkOf(t, &p256Key().PublicKey, "e1", "ES256", "sig"))
	padTo := func(n int) string { // a valid set of exactly n bytes
		s := `{"keys":[` + good + `]}`
		return s + strings.Repeat(" ", n-len(s))
	}
	tests := []struct {
		name    string
		opts    identity.JWKSOptions
		status  int
		body    string
		headers map[string]string
		slow    bool
		want    string // "" means the fetch succeeds
	}{
		{"slow response", identity.JWKSOptions{Timeout: 200 * time.Millisecond}, 200, "", nil, true, "no complete answer within 200ms"},
		{"body of exactly MaxBytes", identity.JWKSOptions{MaxBytes: 1024}, 200, padTo(1024), nil, false, ""},
		{"body over MaxBytes", identity.JWKSOptions{MaxBytes: 1024}, 200, padTo(1025), nil, false, "too large: more than 1024 bytes"},
		{"body far over the default", identity.JWKSOptions{}, 200, padTo(identity.DefaultJWKSMaxBytes * 3), nil, false, "too large"},
		{"not found", identity.JWKSOptions{}, 404, "not here", nil, false, "answered with an HTTP error"},
		{"server error", identity.JWKSOptions{}, 500, padTo(200), nil, false, "answered with an HTTP error"},
		{"redirect", identity.JWKSOptions{}, 302, "", map[string]string{"Location": "http://169.254.169.254/latest/meta-data/"}, false, "a redirect, which Parley does not follow"},
		{"not JSON", identity.JWKSOptions{}, 200, "<html>hello</html>", nil, false, "not a JWK Set"},
		{"truncated JSON", identity.JWKSOptions{}, 200, `{"keys":[` + good, nil, false, "not a JWK Set"},
		{"duplicate members", identity.JWKSOptions{}, 200, `{"keys":[],"keys":[` + good + `]}`, nil, false, "not a JWK Set"},
		{"a JWK, not a set", identity.JWKSOptions{}, 200, good, nil, false, "not a JWK Set"},
		{"keys not an array", identity.JWKSOptions{}, 200, `{"keys":{}}`, nil, false, "not a JWK Set"},
		{"empty set", identity.JWKSOptions{}, 200, `{"keys":[]}`, nil, false, "the key set is empty"},
		{"no usable key", identity.JWKSOptions{}, 200, jwksOf(jwkOf(t, &p256Key().PublicKey, "e1", "ES256", "enc")), nil, false, "none of the set's keys can verify tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, tt.body)
			srv.set(tt.status, tt.body, tt.headers)
			if tt.slow {
				srv.mu.Lock()
				srv.handler = func(w http.ResponseWriter, r *http.Request) {
					select { // far longer than the timeout; returns as soon as the client gives up
					case <-r.Context().Done():
					case <-time.After(30 * time.Second):
					}
				}
				srv.mu.Unlock()
			}
			f, _, _ := newFetcher(tt.opts)
			keys, err := f.Keys(context.Background(), srv.source())
			if tt.want == "" {
				if err != nil || len(keys) != 1 {
					t.Fatalf("Keys: %d keys, %v", len(keys), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Keys = %d keys, %v; want an error containing %q", len(keys), err, tt.want)
			}
			if !strings.Contains(err.Error(), srv.source().URL) {
				t.Errorf("error %q does not name the URL", err)
			}
			if keys != nil {
				t.Errorf("keys along with an error: %v", keys)
			}
			if fe, ok := errors.AsType[*identity.FetchError](err); !ok || fe.URL != srv.source().URL {
				t.Errorf("error %#v is not a FetchError for the URL", err)
			}
			if n := srv.hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// A JWKS on a private address is fetched only when the operator allowed its network: refused before
// any request otherwise. Nothing about the source can widen that (there is no per-source permission).
func TestJWKSPrivateAddressRefused(t *testing.T) {
	srv := newJWKSServer(t, jwksOf(jwkOf(t, &p256Key().PublicKey, "e1", "ES256", "sig")))
	urls := []string{
		srv.URL + "/jwks.json",
		strings.Replace(srv.URL, "http://", "https://", 1) + "/jwks.json",
		strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/jwks.json",
		strings.Replace(srv.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1) + "/jwks.json",
	}
	for _, allow := range [][]netip.Prefix{{}, {netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}} {
		f, _, _ := newFetcher(identity.JWKSOptions{AllowNetworks: allow})
		for _, url := range urls {
			src := identity.JWKSSource{URL: url}
			_, err := f.Keys(context.Background(), src)
			if err == nil {
				t.Fatalf("%s: fetched with %v allowed", url, allow)
			}
			keys, errs := f.Collect(context.Background(), "e1", []identity.Key{testKey}, []identity.JWKSSource{src})
			if len(keys) != 1 || keys[0].ID != testKey.ID || len(errs) != 1 {
				t.Fatalf("Collect: keys %v, errors %v", keys, errs)
			}
		}
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
	// The same server, its network allowed by the operator: fetched, by address, by an IPv4-mapped
	// address and by name.
	f, _, _ := newFetcher(identity.JWKSOptions{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for _, url := range []string{urls[0], urls[2], urls[3]} {
		if keys, err := f.Keys(context.Background(), identity.JWKSSource{URL: url}); err != nil || len(keys) != 1 {
			t.Fatalf("%s allowed: %d keys, %v", url, len(keys), err)
		}
	}
}

// The answer of a JWKS URL that is not a key set never reaches the error: not the status line, not a
// redirect's Location, not the body. Whoever sets the URL must not read other servers through Parley.
func TestJWKSErrorsDoNotEchoTheAnswer(t *testing.T) {
	const secretBody = "internal-secret-body-7f3a"
	for _, tc := range []struct {
		name    string
		status  int
		headers map[string]string
		body    string
		want    string
	}{
		{"redirect", 302, map[string]string{"Location": "http://secret.internal/x"}, secretBody, "redirect"},
		{"server error", 500, nil, secretBody, "HTTP error"},
		{"custom status text", 418, nil, secretBody, "HTTP error"},
		{"not JSON", 200, map[string]string{"Content-Type": "text/html"}, "<html>" + secretBody + "</html>", "not a JWK Set"},
		{"JSON, not a set", 200, nil, `{"` + secretBody + `":1}`, "not a JWK Set"},
		{"bad key", 200, nil, `{"keys":[{"kty":"` + secretBody + `","kid":"k","alg":"ES256"}]}`, "none of the set's keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, tc.body)
			srv.set(tc.status, tc.body, tc.headers)
			f, _, logs := newFetcher(identity.JWKSOptions{})
			_, err := f.Keys(context.Background(), srv.source())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error saying %q", err, tc.want)
			}
			said := strings.ReplaceAll(err.Error(), srv.source().URL, "") // the URL's port may hold any digits
			for _, leak := range []string{secretBody, "secret.internal", strconv.Itoa(tc.status), http.StatusText(tc.status), "Location"} {
				if strings.Contains(said, leak) {
					t.Errorf("error %q repeats %q from the answer", err, leak)
				}
			}
			if tc.status != 200 && !strings.Contains(logs.String(), strconv.Itoa(tc.status)) {
				t.Errorf("the operator's log does not have the status:\n%s", logs)
			}
		})
	}
}

func TestCheckJWKSURL(t *testing.T) {
	own := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	const allowPrivate, publicOnly = true, false
	tests := []struct {
		url          string
		allowPrivate bool   // with the allow-list own, else none
		want         string // "" accepts
	}{
		{"https://auth.example.com/.well-known/jwks.json", false, ""},
		{"https://auth.example.com:8443/jwks?tenant=a", false, ""},
		{"https://8.8.8.8/jwks.json", false, ""},
		{"https://[2606:4700::1111]/jwks.json", false, ""},
		{"http://10.0.0.5:8080/jwks.json", true, ""},
		{"https://localhost/jwks.json", true, ""},
		{"http://[::1]/jwks.json", true, ""},
		{"https://[::ffff:10.1.2.3]/jwks.json", allowPrivate, ""},
		{"http://idp.corp.example/jwks.json", allowPrivate, ""}, // the dialer checks what it resolves to
		{"http://8.8.8.8/jwks.json", allowPrivate, "must use https"},
		{"https://192.168.0.10/jwks.json", allowPrivate, "a private address"},
		{"https://169.254.169.254/latest/meta-data/", allowPrivate, "a link-local address"},
		{"http://10.0.0.5:8080/jwks.json", publicOnly, "must use https"},
		{"https://localhost/jwks.json", publicOnly, "loopback name"},

		{"", false, "is empty"},
		{"https://auth.example.com/" + strings.Repeat("a", 2048), false, "at most 2048"},
		{"/.well-known/jwks.json", false, "absolute URL"},
		{"auth.example.com/jwks.json", false, "absolute URL"},
		{"https:///jwks.json", false, "absolute URL"},
		{"https:jwks.json", false, "absolute URL"},
		{"http://auth.example.com/jwks.json", false, "must use https"},
		{"ftp://auth.example.com/jwks.json", true, `scheme "ftp"`},
		{"file:///etc/passwd", true, "absolute URL"},
		{"https://user:pass@auth.example.com/jwks.json", false, "user name or password"},
		{"https://user@auth.example.com/jwks.json", true, "user name or password"},
		{"https://auth.example.com/jwks.json#keys", false, "fragment"},
		{"https://auth.example.com/jwks.json#", false, "fragment"},
		{"https://auth.example.com/jwks .json", false, "space or control character"},
		{"https://auth.example.com/jwks.json\n", false, "space or control character"},
		{"https://auth.example.com:99999/jwks.json", false, `port "99999"`},
		{"https://auth.example.com:0/jwks.json", false, `port "0"`},
		{"https://127.0.0.1/jwks.json", false, "a loopback address"},
		{"https://10.1.2.3/jwks.json", false, "a private address"},
		{"https://192.168.0.10/jwks.json", false, "a private address"},
		{"https://169.254.169.254/latest/meta-data/", false, "a link-local address"},
		{"https://100.64.0.1/jwks.json", false, "carrier-grade NAT"},
		{"https://0.0.0.0/jwks.json", false, "unspecified"},
		{"https://[::1]/jwks.json", false, "a loopback address"},
		{"https://[fd00::1]/jwks.json", false, "a private address"},
		{"https://[fe80::1%25eth0]/jwks.json", false, "a link-local address"},
		{"https://[::ffff:169.254.169.254]/jwks.json", false, "a link-local address"},
		{"https://localhost/jwks.json", false, "loopback name"},
		{"https://LocalHost./jwks.json", false, "loopback name"},
		{"https://api.localhost/jwks.json", false, "loopback name"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			var allow []netip.Prefix
			if tt.allowPrivate {
				allow = own
			}
			err := identity.CheckJWKSURL(tt.url, allow)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Code != "invalid_field" || p.Status != 422 || p.Field != "jwks_url" {
				t.Fatalf("got %#v, want a 422 invalid_field problem for jwks_url", err)
			}
			if !strings.Contains(p.Message, tt.want) {
				t.Fatalf("message %q does not contain %q", p.Message, tt.want)
			}
		})
	}
}

// Keys Parley cannot use are skipped and logged; the rest of the set still verifies.
func TestJWKSSkipsUnusableKeys(t *testing.T) {
	with := func(jwk []byte, name string, value any) []byte {
		var m map[string]any
		if err := json.Unmarshal(jwk, &m); err != nil {
			t.Fatal(err)
		}
		if value == nil {
			delete(m, name)
		} else {
			m[name] = value
		}
		b, _ := json.Marshal(m)
		return b
	}
	privateEC := jwkPrivate(p256Key(), "private", "ES256")
	skipped := [][]byte{
		jwkOf(t, &rsaKey2().PublicKey, "enc", "RSA-OAEP", "enc"),
		with(jwkOf(t, &rsaKey2().PublicKey, "enc2", "RS256", ""), "use", "enc"),
		with(jwkOf(t, &rsaKey2().PublicKey, "ops", "RS256", ""), "key_ops", []string{"encrypt"}),
		privateEC,
		jwkOf(t, &rsaKey1024().PublicKey, "short", "RS256", "sig"),
		jwkOf(t, &p384Key().PublicKey, "", "ES384", "sig"),         // no kid
		jwkOf(t, &p384Key().PublicKey, "noalg", "", "sig"),         // no alg
		jwkOf(t, &p384Key().PublicKey, "wrongalg", "ES256", "sig"), // P-384 key claiming ES256
		jwkOf(t, &rsaKey2().PublicKey, "rs1", "RS1", "sig"),
		[]byte(`{"kty":"oct","kid":"sym","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}`),
		[]byte(`{"kty":"OKP","crv":"X25519","kid":"x","alg":"ECDH-ES","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`),
		[]byte(`{"kty":"ML-KEM","kid":"pq","alg":"X"}`),
		[]byte(`"not an object"`),
		jwkOf(t, &p256Key2().PublicKey, "g1", "ES256", "sig"), // a second "g1": the first one wins
	}
	good := [][]byte{
		jwkOf(t, &p256Key().PublicKey, "g1", "ES256", "sig"),
		jwkOf(t, edKey().Public(), "g2", "EdDSA", ""),
	}
	srv := newJWKSServer(t, jwksOf(append(append([][]byte{good[0]}, skipped...), good[1])...))
	f, _, logs := newFetcher(identity.JWKSOptions{})
	keys, err := f.Keys(context.Background(), srv.source())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "g1" || keys[0].Alg != "ES256" || keys[1].ID != "g2" || keys[1].Alg != "EdDSA" {
		t.Fatalf("keys %+v", keys)
	}
	if _, err := identity.Verify(signWith(t, jwt.SigningMethodES256, p256Key(), `{"alg":"ES256","kid":"g1"}`, loginClaims()), keys, testPolicy); err != nil {
		t.Fatalf("the first g1 must be the one kept: %v", err)
	}
	if n := strings.Count(logs.String(), "skipping a key"); n != len(skipped)-1 {
		t.Errorf("%d keys skipped in the log, want %d:\n%s", n, len(skipped)-1, logs)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"jwks: the set publishes private key material") {
		t.Errorf("the private key is not reported as such:\n%s", logs)
	}
	if strings.Contains(logs.String(), `"d"`) || strings.Contains(logs.String(), "c2VjcmV0") {
		t.Errorf("the log shows key material:\n%s", logs)
	}
}

// jwkPrivate is a private JWK, as a careless JWKS might publish one.
func jwkPrivate(priv crypto.PrivateKey, kid, alg string) json.RawMessage {
	b, err := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: alg, Use: "sig"})
	if err != nil {
		panic(err)
	}
	return b
}

// When a refresh fails the last good set is served, until 2×MaxAge after it was fetched.
func TestJWKSStaleOnError(t *testing.T) {
	body := jwksOf(jwkOf(t, &p256Key().PublicKey, "e1", "ES256", "sig"))
	srv := newJWKSServer(t, body)
	f, clock, logs := newFetcher(identity.JWKSOptions{MinRefresh: 5 * time.Minute, MaxAge: time.Hour, UnknownKidInterval: time.Minute})
	ctx := context.Background()
	keys := func() ([]identity.Key, error) { return f.Keys(ctx, srv.source()) }
	wantHits := func(n int64) {
		t.Helper()
		if got := srv.hits.Load(); got != n {
			t.Fatalf("%d requests, want %d", got, n)
		}
	}
	if k, err := keys(); err != nil || len(k) != 1 {
		t.Fatal(k, err)
	}
	srv.set(http.StatusInternalServerError, "down", nil)

	clock.Advance(5 * time.Minute) // due for a refresh, which fails: the old set is served
	if k, err := keys(); err != nil || len(k) != 1 || k[0].ID != "e1" {
		t.Fatalf("stale set: %v, %v", k, err)
	}
	wantHits(2)
	if !strings.Contains(logs.String(), "serving the last good set") {
		t.Errorf("the failed refresh is not logged:\n%s", logs)
	}
	// Logins do not retry a failed source at once; an explicit Keys does.
	collect := func() []identity.Key {
		t.Helper()
		k, errs := f.Collect(ctx, "", nil, []identity.JWKSSource{srv.source()})
		if len(errs) != 0 {
			t.Fatalf("Collect: %v", errs)
		}
		return k
	}
	clock.Advance(30 * time.Second)
	if k := collect(); len(k) != 1 {
		t.Fatalf("stale set: %v", k)
	}
	wantHits(2)
	clock.Advance(31 * time.Second)
	if k := collect(); len(k) != 1 {
		t.Fatalf("stale set: %v", k)
	}
	wantHits(3)
	if k, err := keys(); err != nil || len(k) != 1 {
		t.Fatalf("stale set: %v, %v", k, err)
	}
	wantHits(4)

	clock.Advance(2*time.Hour - 5*time.Minute - 61*time.Second) // exactly 2×MaxAge after the good fetch
	if k, err := keys(); err == nil || k != nil || !strings.Contains(err.Error(), "HTTP error") {
		t.Fatalf("after 2×MaxAge: %v, %v; want the error", k, err)
	}
	wantHits(5)
	k, errs := f.Collect(ctx, "", []identity.Key{testKey}, []identity.JWKSSource{srv.source()})
	if len(k) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "HTTP error") {
		t.Fatalf("Collect after 2×MaxAge: %v, %v; want the static key and the error", k, errs)
	}
	wantHits(5) // the failure a moment ago is reported, not retried

	srv.set(http.StatusOK, body, nil)
	if k, err := keys(); err != nil || len(k) != 1 {
		t.Fatalf("recovered: %v, %v", k, err)
	}
	wantHits(6)
}

// Callers that need a set while it is being fetched wait for that fetch instead of starting their own.
func TestJWKSConcurrentCallersShareAFetch(t *testing.T) {
	body := jwksOf(jwkOf(t, &p256Key().PublicKey, "e1", "ES256", "sig"))
	srv := newJWKSServer(t, body)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv.handler = func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		<-release
		_, _ = w.Write([]byte(body))
	}
	f, _, _ := newFetcher(identity.JWKSOptions{})
	const callers = 20
	var wg sync.WaitGroup
	results := make([]error, callers)
	call := func(i int) {
		keys, err := f.Keys(context.Background(), srv.source())
		if err == nil && len(keys) != 1 {
			err = fmt.Errorf("%d keys", len(keys))
		}
		results[i] = err
	}
	wg.Go(func() { call(0) })
	<-entered // the first fetch is in flight and cannot finish until released
	for i := 1; i < callers; i++ {
		wg.Go(func() { call(i) })
	}
	// Every other caller either joins the fetch in flight or, arriving after it, finds the cache fresh;
	// neither starts a second request.
	close(release)
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// Collect puts static keys first, drops source keys whose kid is taken, and reports failing sources.
func TestJWKSCollect(t *testing.T) {
	srv := newJWKSServer(t, jwksOf(
		jwkOf(t, &p256Key().PublicKey, "k1", "ES256", "sig"), // the same kid as a workspace key
		jwkOf(t, &p256Key2().PublicKey, "k2", "ES256", "sig"),
	))
	broken := newJWKSServer(t, "oops")
	broken.set(http.StatusBadGateway, "oops", nil)
	f, _, _ := newFetcher(identity.JWKSOptions{})
	keys, errs := f.Collect(context.Background(), "", []identity.Key{testKey}, []identity.JWKSSource{broken.source(), srv.source()})
	if len(keys) != 2 || keys[0].ID != "k1" || keys[0].Alg != "HS256" || keys[1].ID != "k2" {
		t.Fatalf("keys %+v", keys)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), broken.source().URL) || !strings.Contains(errs[0].Error(), "HTTP error") {
		t.Fatalf("errors %v", errs)
	}
	// The JWKS's own k1 cannot verify: the workspace's k1 is the one that kid names.
	_, err := identity.Verify(signWith(t, jwt.SigningMethodES256, p256Key(), `{"alg":"ES256","kid":"k1"}`, loginClaims()), keys, testPolicy)
	wantProblem(t, err, "token_alg_not_allowed")
	if _, err := identity.Verify(signWith(t, jwt.SigningMethodES256, p256Key2(), `{"alg":"ES256","kid":"k2"}`, loginClaims()), keys, testPolicy); err != nil {
		t.Fatal(err)
	}
	// A workspace without sources is just its static keys.
	keys, errs = f.Collect(context.Background(), "k9", []identity.Key{testKey}, nil)
	if len(keys) != 1 || errs != nil {
		t.Fatalf("no sources: %v, %v", keys, errs)
	}
}
