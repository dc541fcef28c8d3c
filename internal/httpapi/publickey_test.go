package httpapi_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Logins signed with the business's own private keys, registered as PEM, as JWK, or published in a
// JWKS: through the real widget API, with the rules of DESIGN.md holding for every algorithm.

type keyPair struct {
	alg    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

func newKeyPair(t *testing.T, alg string) keyPair {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key pair for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{alg: alg, method: jwt.GetSigningMethod(alg), priv: priv}
}

func (k keyPair) publicPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwk returns the public key as a JWK with kid and alg, written by hand so the test does not share the
// server's JWK code.
func (k keyPair) jwk(kid string) map[string]string {
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	out := map[string]string{"kid": kid, "alg": k.alg, "use": "sig"}
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		out["kty"], out["n"], out["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		ecdh, _ := pub.ECDH()
		raw := ecdh.Bytes() // 0x04 || X || Y
		out["kty"], out["crv"], out["x"], out["y"] = "EC", "P-256", b64(raw[1:33]), b64(raw[33:])
	case ed25519.PublicKey:
		out["kty"], out["crv"], out["x"] = "OKP", "Ed25519", b64(pub)
	}
	return out
}

func (k keyPair) sign(t *testing.T, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoginWithRegisteredPublicKeys(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			pair := newKeyPair(t, alg)
			pemKey, err := e.svc.RegisterPublicKey(ctx, e.ws.ID, alg, "", pair.publicPEM(t))
			if err != nil {
				t.Fatal(err)
			}
			jwkJSON, _ := json.Marshal(pair.jwk("from-jwk"))
			other := newKeyPair(t, alg)
			otherJWK, _ := json.Marshal(other.jwk("other-jwk"))
			if _, err := e.svc.RegisterPublicKey(ctx, e.ws.ID, "", "", otherJWK); err != nil {
				t.Fatalf("registering a JWK: %v", err)
			}
			// The same public key registered again as a JWK under its own kid is a separate key.
			if _, err := e.svc.RegisterPublicKey(ctx, e.ws.ID, "", "", jwkJSON); err != nil {
				t.Fatalf("registering a JWK: %v", err)
			}

			// Signed with the private key, named by kid: verified, trusted messages.
			r := e.login(e.session(), pair.sign(t, pemKey.ID, claims(nil)))
			expect(t, r, 200, "")
			session := r.str("session_token")
			if m := apiMessage(t, e.send(session, "hello", "c1")); m["trusted"] != true {
				t.Fatalf("message after a %s login: %v", alg, m)
			}
			events := e.events(e.conversations(session)[0]["id"].(string))
			if !strings.Contains(strings.Join(eventTypes(events), ","), "started") {
				t.Fatalf("timeline: %v", eventTypes(events))
			}
			expect(t, e.login(e.session(), pair.sign(t, "from-jwk", claims(nil))), 200, "")
			// Without kid, every active key of the algorithm is tried.
			expect(t, e.login(e.session(), pair.sign(t, "", claims(nil))), 200, "")

			// The other key's kid with this key's signature: bad signature, not a fallback.
			expect(t, e.login(e.session(), pair.sign(t, "other-jwk", claims(nil))), 401, "token_bad_signature")
			// The rules of the server issue, for this algorithm too.
			expect(t, e.login(e.session(), pair.sign(t, pemKey.ID, claims(map[string]any{"exp": 1000.0, "iat": 900.0}))), 401, "token_expired")
			expect(t, e.login(e.session(), pair.sign(t, pemKey.ID, claims(map[string]any{"aud": "ws_other"}))), 401, "token_audience_mismatch")
			expect(t, e.login(e.session(), pair.sign(t, "nope", claims(nil))), 401, "token_unknown_key")
			expect(t, e.login(e.session(), pair.sign(t, pemKey.ID, claims(map[string]any{"exp": claims(nil)["iat"].(float64) + 3600}))), 401, "token_lifetime_too_long")
			jti := claims(map[string]any{"jti": "once"})
			expect(t, e.login(e.session(), pair.sign(t, pemKey.ID, jti)), 200, "")
			expect(t, e.login(e.session(), pair.sign(t, pemKey.ID, jti)), 401, "token_replayed")

			// HS/RS confusion: an HMAC token whose secret is the registered public key, kid or not.
			for _, secret := range [][]byte{pair.publicPEM(t), jwkJSON} {
				for _, kid := range []string{pemKey.ID, ""} {
					tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
					if kid != "" {
						tok.Header["kid"] = kid
					}
					s, _ := tok.SignedString(secret)
					r := e.login(e.session(), s)
					if r.status != 401 || (r.code() != "token_alg_not_allowed" && r.code() != "token_bad_signature") {
						t.Errorf("HS256 with the public key as secret (kid %q): %d %s", kid, r.status, r.raw)
					}
				}
			}

			// Revoked: refused at once.
			if _, err := e.svc.RevokeKey(ctx, e.ws.ID, pemKey.ID); err != nil {
				t.Fatal(err)
			}
			expect(t, e.login(e.session(), pair.sign(t, pemKey.ID, claims(nil))), 401, "token_unknown_key")
		})
	}
}

func TestRegisterPublicKeyRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	shortDER, _ := x509.MarshalPKIXPublicKey(&short.PublicKey)
	ec := newKeyPair(t, "ES256")
	ecPrivDER, _ := x509.MarshalPKCS8PrivateKey(ec.priv)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	for name, c := range map[string]struct {
		alg  string
		data []byte
	}{
		"RSA 1024":         {"RS256", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: shortDER})},
		"private key PEM":  {"ES256", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPrivDER})},
		"P-384 for ES256":  {"ES256", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p384DER})},
		"EC key for RS256": {"RS256", ec.publicPEM(t)},
		"garbage":          {"RS256", []byte("not a key")},
		"HMAC alg":         {"HS256", ec.publicPEM(t)},
		"PEM without alg":  {"", ec.publicPEM(t)},
		"symmetric JWK":    {"", []byte(`{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"x"}`)},
		"JWK with private part": {"", mustJSON(t, func() map[string]string {
			j := ec.jwk("k")
			d := ec.priv.(*ecdsa.PrivateKey).D.FillBytes(make([]byte, 32))
			j["d"] = base64.RawURLEncoding.EncodeToString(d)
			return j
		}())},
	} {
		if k, err := e.svc.RegisterPublicKey(ctx, e.ws.ID, c.alg, "", c.data); err == nil {
			t.Errorf("%s: registered as %s", name, k.ID)
		}
	}
	// Kids that could not survive in a console URL path.
	for _, kid := range []string{".", "..", "with space", strings.Repeat("k", 129)} {
		if k, err := e.svc.RegisterPublicKey(ctx, e.ws.ID, "ES256", kid, ec.publicPEM(t)); err == nil {
			t.Errorf("kid %.20q: registered as %s", kid, k.ID)
		}
	}
	keys, _ := e.svc.Keys(ctx, e.ws.ID)
	if len(keys) != 1 { // the HMAC key of the harness
		t.Errorf("refused registrations left %d keys", len(keys))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksServer publishes a JWKS that the test can change, counting requests.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	keys     []map[string]string
	requests int
}

func newJWKSServer(t *testing.T, keys ...map[string]string) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests++
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(keys ...map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func TestLoginWithJWKS(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, second := newKeyPair(t, "ES256"), newKeyPair(t, "RS256")
	idp := newJWKSServer(t, first.jwk("2026-11"))

	// A private address outside the operator's allow-list (loopback here) is refused.
	if _, _, err := e.svc.AddJWKS(ctx, e.ws.ID, strings.Replace(idp.URL, "127.0.0.1", "[::1]", 1)+"/jwks.json"); err == nil {
		t.Fatal("a JWKS URL outside the allowed networks was accepted")
	}
	if idp.count() != 0 {
		t.Fatalf("the refused JWKS was fetched %d times", idp.count())
	}
	src, n, err := e.svc.AddJWKS(ctx, e.ws.ID, idp.URL+"/jwks.json")
	if err != nil || n != 1 || src.Kind != store.KeyJWKS {
		t.Fatalf("AddJWKS = %+v, %d, %v", src, n, err)
	}
	viaFirst := e.login(e.session(), first.sign(t, "2026-11", claims(nil)))
	expect(t, viaFirst, 200, "")
	fetched := idp.count()

	// Rotation: the identity provider publishes a new key; a token naming it triggers one refetch.
	idp.publish(first.jwk("2026-11"), second.jwk("2026-12"))
	expect(t, e.login(e.session(), second.sign(t, "2026-12", claims(nil))), 200, "")
	if idp.count() != fetched+1 {
		t.Fatalf("rotation: %d fetches, want %d", idp.count(), fetched+1)
	}
	// Unknown kids do not make Parley hammer the identity provider.
	for range 5 {
		expect(t, e.login(e.session(), second.sign(t, "never-published", claims(nil))), 401, "token_unknown_key")
	}
	if idp.count() > fetched+2 {
		t.Fatalf("unknown kids caused %d fetches", idp.count()-fetched-1)
	}
	// The token checker sees the JWKS keys too.
	checks, err := e.svc.CheckToken(ctx, e.ws.ID, second.sign(t, "2026-12", claims(nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Message)
		}
	}
	// Revoking the JWKS source stops its keys at once, and ends the sessions any of them verified.
	hmacSession := e.verified(claims(map[string]any{"sub": "by-secret"}))
	ended, err := e.svc.RevokeKey(ctx, e.ws.ID, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ended != 2 {
		t.Errorf("revoking the JWKS source ended %d sessions; want the 2 its keys verified", ended)
	}
	expect(t, e.request("GET", "/v1/widget/session", viaFirst.str("session_token"), nil), 401, "session_invalid")
	expect(t, e.request("GET", "/v1/widget/session", hmacSession, nil), 200, "")
	expect(t, e.login(e.session(), first.sign(t, "2026-11", claims(nil))), 401, "token_unknown_key")
}
