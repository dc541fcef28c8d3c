package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
)

// rawToken assembles a token from a literal header and payload, signed with secret (HS256), so tests can
// produce shapes no library would.
func rawToken(header, payload, secret string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(input, []byte(secret))
	if err != nil {
		panic(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func nowSec() float64 { return float64(time.Now().UnixMilli()) / 1000 }

func TestLoginVerifiesAndRotatesSession(t *testing.T) {
	e := newEnv(t)
	anon := e.session()
	r := e.login(anon, e.sign(claims(map[string]any{"given_name": "Ada"})))
	expect(t, r, 200, "")
	if r.str("identity", "level") != "verified" || r.str("identity", "email") != "ada@example.com" ||
		r.str("identity", "name") != "Ada Lovelace" || r.str("identity", "first_name") != "Ada" || r.str("identity", "customer_id") == "" {
		t.Fatalf("identity = %s", r.raw)
	}
	next := r.str("session_token")
	if next == "" || next == anon {
		t.Fatalf("session token did not rotate: %q", next)
	}
	// Rule 1: the pre-login token is dead; the new one carries the verified identity.
	expect(t, e.request("GET", "/v1/widget/session", anon, nil), 401, "session_invalid")
	got := e.request("GET", "/v1/widget/session", next, nil)
	expect(t, got, 200, "")
	if got.str("identity", "level") != "verified" {
		t.Fatalf("session after login: %s", got.raw)
	}
}

func TestLoginTokenErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secret := e.key.Secret
	now := nowSec()
	validPayload := func(extra string) string {
		b, _ := json.Marshal(map[string]any{"sub": "u1", "email": "ada@example.com", "iat": now, "exp": now + 300})
		s := string(b)
		if extra != "" {
			s = s[:len(s)-1] + "," + extra + "}"
		}
		return s
	}
	hdr := `{"alg":"HS256","typ":"JWT","kid":"` + e.key.ID + `"}`
	good := e.sign(claims(nil))
	parts := strings.Split(good, ".")

	other, err := e.svc.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := e.svc.CreateKey(ctx, other.ID, "HS256")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		token  string
		status int
		code   string
		// message must contain this, so the integrator learns what to fix
		hint string
	}{
		{"empty", "", 401, "token_malformed", "empty"},
		{"garbage", "not a token", 401, "token_malformed", "whitespace"},
		{"two segments", parts[0] + "." + parts[1], 401, "token_malformed", "3"},
		{"four segments", good + ".x", 401, "token_malformed", "3"},
		{"padding", good + "=", 401, "token_malformed", "base64url"},
		{"standard base64 chars", strings.Replace(good, "-", "+", 1) + "+", 401, "token_malformed", ""},
		{"non-canonical base64", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + nonCanonicalLast(parts[2]), 401, "token_malformed", "base64url"},
		{"JSON serialization", `{"payload":"x"}`, 401, "token_malformed", "compact"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("hello")) + "." + parts[1] + "." + parts[2], 401, "token_malformed", "header"},
		{"header is array", rawToken(`["HS256"]`, validPayload(""), secret), 401, "token_malformed", "object"},
		{"duplicate header member", rawToken(`{"alg":"HS256","alg":"none"}`, validPayload(""), secret), 401, "token_malformed", "more than once"},
		{"jwk header", rawToken(`{"alg":"HS256","jwk":{"kty":"oct","k":"AA"}}`, validPayload(""), secret), 401, "token_malformed", "jwk"},
		{"jku header", rawToken(`{"alg":"HS256","jku":"https://evil.example/keys"}`, validPayload(""), secret), 401, "token_malformed", "jku"},
		{"x5c header", rawToken(`{"alg":"HS256","x5c":["MII"]}`, validPayload(""), secret), 401, "token_malformed", "x5c"},
		{"x5u header", rawToken(`{"alg":"HS256","x5u":"https://evil.example/cert"}`, validPayload(""), secret), 401, "token_malformed", "x5u"},
		{"crit header", rawToken(`{"alg":"HS256","crit":["exp"]}`, validPayload(""), secret), 401, "token_malformed", "crit"},
		{"wrong typ", rawToken(`{"alg":"HS256","typ":"at+jwt"}`, validPayload(""), secret), 401, "token_malformed", "typ"},
		{"payload not JSON object", rawToken(hdr, `"just a string"`, secret), 401, "token_malformed", "object"},
		{"too large", strings.Repeat("a", 8<<10+1), 413, "token_too_large", "8192"},

		{"alg none", rawToken(`{"alg":"none"}`, validPayload(""), secret), 401, "token_alg_not_allowed", "none"},
		{"alg NONE", rawToken(`{"alg":"NoNe"}`, validPayload(""), secret), 401, "token_alg_not_allowed", "none"},
		{"alg RS256", rawToken(`{"alg":"RS256"}`, validPayload(""), secret), 401, "token_alg_not_allowed", "RS256"},
		{"alg HS512 with an HS256 key", signWith(t, "HS512", "", secret, claims(nil)), 401, "token_alg_not_allowed", "HS512"},
		{"kid's alg differs", signWith(t, "HS384", e.key.ID, secret, claims(nil)), 401, "token_alg_not_allowed", e.key.ID},

		{"unknown kid", signWith(t, "HS256", "k_nope", secret, claims(nil)), 401, "token_unknown_key", "k_nope"},
		{"other workspace's kid", signWith(t, "HS256", otherKey.ID, otherKey.Secret, claims(nil)), 401, "token_unknown_key", otherKey.ID},

		{"wrong secret", signWith(t, "HS256", e.key.ID, "psk_not-the-secret", claims(nil)), 401, "token_bad_signature", e.key.ID},
		{"other workspace's secret without kid", signWith(t, "HS256", "", otherKey.Secret, claims(nil)), 401, "token_bad_signature", ""},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(validPayload(`"name":"Mallory"`))) + "." + parts[2], 401, "token_bad_signature", ""},

		{"expired beyond leeway", e.sign(claims(map[string]any{"iat": now - 400, "exp": now - 90})), 401, "token_expired", "leeway is 60s"},
		{"nbf in the future", e.sign(claims(map[string]any{"nbf": now + 120})), 401, "token_not_yet_valid", "nbf"},
		{"iat in the future", e.sign(claims(map[string]any{"iat": now + 120, "exp": now + 300})), 401, "token_not_yet_valid", "future"},
		{"lifetime too long", e.sign(claims(map[string]any{"exp": now + 3600})), 401, "token_lifetime_too_long", "10m00s"},

		{"missing exp", e.sign(claims(map[string]any{"exp": nil})), 401, "token_claims_invalid", `"exp" is required`},
		{"missing iat", e.sign(claims(map[string]any{"iat": nil})), 401, "token_claims_invalid", `"iat" is required`},
		{"exp as string", e.sign(claims(map[string]any{"exp": "1999999999"})), 401, "token_claims_invalid", "JSON number"},
		{"exp in milliseconds", e.sign(claims(map[string]any{"exp": now * 1000})), 401, "token_claims_invalid", "milliseconds"},
		{"exp before iat", e.sign(claims(map[string]any{"exp": now - 10, "iat": now})), 401, "token_claims_invalid", "after"},
		{"no sub nor email", e.sign(claims(map[string]any{"sub": nil, "email": nil})), 401, "token_claims_invalid", `"sub"`},
		{"bad email", e.sign(claims(map[string]any{"email": "not-an-email"})), 401, "token_claims_invalid", "email"},
		{"email as number", e.sign(claims(map[string]any{"email": 42})), 401, "token_claims_invalid", "string"},
		{"name as null", e.sign(claims(map[string]any{"name": json.RawMessage("null")})), 401, "token_claims_invalid", "null"},
		{"wrong-case claim", e.sign(claims(map[string]any{"Email": "mallory@example.com"})), 401, "token_claims_invalid", `use "email"`},
		{"duplicate claim", rawToken(hdr, validPayload(`"email":"mallory@example.com"`), secret), 401, "token_claims_invalid", "more than once"},
		{"control character in name", e.sign(claims(map[string]any{"name": "Ada\u0000"})), 401, "token_claims_invalid", "control"},

		{"audience of another workspace", e.sign(claims(map[string]any{"aud": other.ID})), 401, "token_audience_mismatch", e.ws.ID},
		{"audience list without workspace", e.sign(claims(map[string]any{"aud": []string{"a", "b"}})), 401, "token_audience_mismatch", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.login(e.session(), tc.token)
			expect(t, r, tc.status, tc.code)
			if !strings.Contains(r.message(), tc.hint) {
				t.Errorf("message %q does not mention %q", r.message(), tc.hint)
			}
			if strings.Contains(r.message(), secret) {
				t.Errorf("message leaks the secret: %q", r.message())
			}
		})
	}
}

// nonCanonicalLast returns the last base64url character of s with its unused low bits set, which decodes
// to the same bytes under a lenient decoder.
func nonCanonicalLast(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	// A 32-byte HMAC encodes to 43 characters: the last carries 4 bits of data and 2 unused bits.
	return string(alphabet[last|0b11])
}

func TestLoginTimesAndLeeway(t *testing.T) {
	e := newEnv(t)
	now := nowSec()
	ok := []struct {
		name string
		c    map[string]any
	}{
		{"fractional iat and exp (Date.now()/1000)", map[string]any{"iat": now + 0.123456, "exp": now + 300.987}},
		{"expired within leeway", map[string]any{"iat": now - 200, "exp": now - 30}},
		{"nbf within leeway", map[string]any{"nbf": now + 30}},
		{"iat slightly ahead within leeway", map[string]any{"iat": now + 30, "exp": now + 300}},
		{"lifetime exactly the maximum", map[string]any{"iat": now, "exp": now + 600}},
		{"audience naming the workspace", map[string]any{"aud": e.ws.ID}},
		{"audience list including the workspace", map[string]any{"aud": []string{"other", e.ws.ID}}},
		{"unknown extra claims are ignored", map[string]any{"plan": "gold", "roles": []string{"x"}}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, e.login(e.session(), e.sign(claims(tc.c))), 200, "")
		})
	}
	// The workspace's maximum lifetime is honoured in both directions.
	lifetime := 2 * time.Minute
	e.update(chat.SettingsPatch{MaxTokenLifetime: &lifetime})
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"exp": now + 300}))), 401, "token_lifetime_too_long")
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"exp": now + 120}))), 200, "")
}

func TestLoginKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.key
	// With one key, kid is optional.
	expect(t, e.login(e.session(), signWith(t, "HS256", "", first.Secret, claims(nil))), 200, "")

	second, err := e.svc.CreateKey(ctx, e.ws.ID, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	// During rotation both keys verify, with or without kid.
	for _, k := range []chat.NewKey{first, second} {
		expect(t, e.login(e.session(), signWith(t, "HS256", k.ID, k.Secret, claims(nil))), 200, "")
		expect(t, e.login(e.session(), signWith(t, "HS256", "", k.Secret, claims(nil))), 200, "")
	}
	// A kid must match its own key: the second key's kid with the first key's secret fails.
	expect(t, e.login(e.session(), signWith(t, "HS256", second.ID, first.Secret, claims(nil))), 401, "token_bad_signature")

	// A revoked key is refused at once, with kid and without.
	if _, err := e.svc.RevokeKey(ctx, e.ws.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	r := e.login(e.session(), signWith(t, "HS256", first.ID, first.Secret, claims(nil)))
	expect(t, r, 401, "token_unknown_key")
	if !strings.Contains(r.message(), "revoked") {
		t.Errorf("message %q does not say the key was revoked", r.message())
	}
	expect(t, e.login(e.session(), signWith(t, "HS256", "", first.Secret, claims(nil))), 401, "token_bad_signature")
	expect(t, e.login(e.session(), signWith(t, "HS256", "", second.Secret, claims(nil))), 200, "")

	// With every key revoked, nothing verifies.
	if _, err := e.svc.RevokeKey(ctx, e.ws.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, e.login(e.session(), signWith(t, "HS256", "", second.Secret, claims(nil))), 401, "token_unknown_key")

	// Each HMAC algorithm works with a key of its own.
	for _, alg := range []string{"HS384", "HS512"} {
		k, err := e.svc.CreateKey(ctx, e.ws.ID, alg)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, e.login(e.session(), signWith(t, alg, k.ID, k.Secret, claims(nil))), 200, "")
	}
	keys, err := e.svc.Keys(ctx, e.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.LastUsedAt.IsZero() {
			t.Errorf("key %s has no last-used time after a login", k.ID)
		}
		if k.Secret != nil {
			t.Errorf("Keys returned the secret of %s", k.ID)
		}
	}
}

func TestLoginReplayedJTI(t *testing.T) {
	e := newEnv(t)
	tok := e.sign(claims(map[string]any{"jti": "login-42"}))
	expect(t, e.login(e.session(), tok), 200, "")
	expect(t, e.login(e.session(), tok), 401, "token_replayed")
	// A different jti, and the same jti in another workspace's namespace, are fine.
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"jti": "login-43"}))), 200, "")
	// Without jti the same token may be used again until it expires (the business chose not to ask for
	// single use).
	plain := e.sign(claims(nil))
	expect(t, e.login(e.session(), plain), 200, "")
	expect(t, e.login(e.session(), plain), 200, "")
}

func TestLoginEmailDomainFilter(t *testing.T) {
	e := newEnv(t)
	domains := []string{"bank.example"}
	e.update(chat.SettingsPatch{AllowedEmailDomains: &domains})
	r := e.login(e.session(), e.sign(claims(map[string]any{"email": "ada@evil.example"})))
	expect(t, r, 403, "email_domain_not_allowed")
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"email": "eve@sub.bank.example"}))), 403, "email_domain_not_allowed")
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"email": nil}))), 403, "email_domain_not_allowed")
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"email": "Ada@Bank.Example"}))), 200, "")
}

func TestLoginCustomerIdentity(t *testing.T) {
	e := newEnv(t)
	login := func(c map[string]any) response {
		t.Helper()
		r := e.login(e.session(), e.sign(claims(c)))
		expect(t, r, 200, "")
		return r
	}
	// Canonical email: case and surrounding space fold to one customer; nothing else does.
	a := login(map[string]any{"sub": nil, "email": "Ada@Example.COM"})
	b := login(map[string]any{"sub": nil, "email": " ada@example.com "})
	if a.str("identity", "customer_id") != b.str("identity", "customer_id") {
		t.Fatal("Ada@Example.COM and ada@example.com are different customers")
	}
	if a.str("identity", "email") != "ada@example.com" {
		t.Fatalf("email not canonical: %s", a.raw)
	}
	for _, other := range []string{"ada+x@example.com", "a.da@example.com", "ada@exаmple.com" /* Cyrillic а */} {
		r := login(map[string]any{"sub": nil, "email": other})
		if r.str("identity", "customer_id") == a.str("identity", "customer_id") {
			t.Errorf("%s was folded into ada@example.com", other)
		}
	}
	// sub keys the customer when present: the same sub with a new email is the same customer, updated.
	s1 := login(map[string]any{"sub": "u-7", "email": "old@example.com"})
	s2 := login(map[string]any{"sub": "u-7", "email": "new@example.com", "name": nil, "displayName": "Grace H."})
	if s1.str("identity", "customer_id") != s2.str("identity", "customer_id") {
		t.Fatal("same sub gave two customers")
	}
	if s2.str("identity", "email") != "new@example.com" || s2.str("identity", "name") != "Grace H." || s2.str("identity", "first_name") != "Grace" {
		t.Fatalf("profile not refreshed from the token: %s", s2.raw)
	}
	// A sub-keyed customer is not the email-keyed customer with the same email.
	s3 := login(map[string]any{"sub": "u-8", "email": "ada@example.com"})
	if s3.str("identity", "customer_id") == a.str("identity", "customer_id") {
		t.Fatal("a token with sub was merged into the email-keyed customer")
	}
	// first_name is taken from given_name or first_name.
	f := login(map[string]any{"sub": "u-9", "first_name": "Augusta"})
	if f.str("identity", "first_name") != "Augusta" {
		t.Fatalf("first_name claim ignored: %s", f.raw)
	}
}

// TestLoginFailureGrantsNothing checks that a bad token never downgrades to something usable: the
// session keeps its level and its token (no fallback, no half-login).
func TestLoginFailureGrantsNothing(t *testing.T) {
	e := newEnv(t)
	anon := e.session()
	expect(t, e.send(anon, "hello", "c1"), 201, "")
	r := e.login(anon, signWith(t, "HS256", e.key.ID, "psk_wrong", claims(nil)))
	expect(t, r, 401, "token_bad_signature")
	if r.str("session_token") != "" {
		t.Fatal("a failed login returned a session token")
	}
	s := e.request("GET", "/v1/widget/session", anon, nil)
	expect(t, s, 200, "")
	if s.str("identity", "level") != "anonymous" {
		t.Fatalf("failed login changed the session: %s", s.raw)
	}
	m := e.send(anon, "still me", "c2")
	expect(t, m, 201, "")
	if m.body["message"].(map[string]any)["trusted"] != false {
		t.Fatal("message after a failed login is trusted")
	}
}
