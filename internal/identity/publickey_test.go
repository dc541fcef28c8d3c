package identity_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
)

// Keys are generated once per test binary: RSA generation is slow, and every test only needs a few.
var (
	rsaKey     = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaKey2    = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaKey1024 = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(1024) })
	p256Key    = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	p256Key2   = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	p384Key    = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P384()) })
	p521Key    = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P521()) })
	edKey      = sync.OnceValue(func() ed25519.PrivateKey { return mustEd() })
	edKey2     = sync.OnceValue(func() ed25519.PrivateKey { return mustEd() })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEd() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// signWith assembles a token from literal header and payload JSON and signs it with golang-jwt, not
// with the code under test.
func signWith(t testing.TB, method jwt.SigningMethod, priv crypto.PrivateKey, header, payload string) string {
	t.Helper()
	input := seg(header) + "." + seg(payload)
	sig, err := method.Sign(input, priv)
	if err != nil {
		t.Fatalf("%s sign: %v", method.Alg(), err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func pemOf(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	s, err := identity.MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jwkOf(t testing.TB, pub crypto.PublicKey, kid, alg, use string) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: use})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// register turns a public key into a workspace key the way the admin API does: PEM in, ParsePublicKey.
func register(t testing.TB, id, alg string, pub crypto.PublicKey) identity.Key {
	t.Helper()
	pk, err := identity.ParsePublicKey([]byte(pemOf(t, pub)), alg)
	if err != nil {
		t.Fatalf("register %s key %s: %v", alg, id, err)
	}
	return identity.Key{ID: id, Alg: pk.Alg, Public: pk.Key}
}

// wantInvalidKey fails unless err is a 422 invalid_key problem whose message contains want.
func wantInvalidKey(t *testing.T, err error, want string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Code != "invalid_key" || p.Status != 422 {
		t.Fatalf("got %#v, want a 422 invalid_key problem", err)
	}
	if !strings.Contains(p.Message, want) {
		t.Fatalf("message %q does not contain %q", p.Message, want)
	}
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func selfSignedCert(t *testing.T, priv crypto.Signer) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tokens.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(-time.Minute), // expired: a certificate is only a container here
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("CERTIFICATE", der)
}

func TestParsePublicKey(t *testing.T) {
	rsaPub, p256Pub, edPub := &rsaKey().PublicKey, &p256Key().PublicKey, edKey().Public().(ed25519.PublicKey)
	pkcs8 := func(k any) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemBlock("PRIVATE KEY", der)
	}
	ecDER, err := x509.MarshalECPrivateKey(p256Key())
	if err != nil {
		t.Fatal(err)
	}
	privateJWK, err := json.Marshal(jose.JSONWebKey{Key: rsaKey(), KeyID: "k1", Algorithm: "RS256"})
	if err != nil {
		t.Fatal(err)
	}
	withMember := func(jwk []byte, name string, value any) string {
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
		return string(b)
	}
	rsaJWK := jwkOf(t, rsaPub, "k1", "", "")
	// The identity point of Ed25519: a low-order public key, for which signatures verify for any message.
	lowOrder := ed25519.PublicKey(append([]byte{1}, make([]byte, 31)...))
	lowOrderDER, err := x509.MarshalPKIXPublicKey(lowOrder)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, data, alg string
		want            string // "" accepts; otherwise a fragment of the invalid_key message
		wantAlg, kid    string
	}{
		{"SPKI PEM, RSA", pemOf(t, rsaPub), "RS256", "", "RS256", ""},
		{"SPKI PEM, RSA for PS512", pemOf(t, rsaPub), "PS512", "", "PS512", ""},
		{"SPKI PEM with surrounding whitespace", "\n  " + pemOf(t, rsaPub) + "\n\n", "RS384", "", "RS384", ""},
		{"PKCS#1 PEM", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(rsaPub)), "RS256", "", "RS256", ""},
		{"certificate (expired: only its key counts)", selfSignedCert(t, rsaKey()), "RS256", "", "RS256", ""},
		{"certificate, EC", selfSignedCert(t, p256Key()), "ES256", "", "ES256", ""},
		{"SPKI PEM, P-256", pemOf(t, p256Pub), "ES256", "", "ES256", ""},
		{"SPKI PEM, P-384", pemOf(t, &p384Key().PublicKey), "ES384", "", "ES384", ""},
		{"SPKI PEM, P-521", pemOf(t, &p521Key().PublicKey), "ES512", "", "ES512", ""},
		{"SPKI PEM, Ed25519", pemOf(t, edPub), "EdDSA", "", "EdDSA", ""},
		{"JWK with alg", string(jwkOf(t, rsaPub, "k1", "RS256", "sig")), "", "", "RS256", "k1"},
		{"JWK with alg, same alg chosen", string(jwkOf(t, rsaPub, "k1", "RS256", "")), "RS256", "", "RS256", "k1"},
		{"JWK without alg, alg chosen", string(rsaJWK), "PS256", "", "PS256", "k1"},
		{"JWK EC", string(jwkOf(t, p256Pub, "e1", "ES256", "sig")), "", "", "ES256", "e1"},
		{"JWK OKP Ed25519", string(jwkOf(t, edPub, "d1", "EdDSA", "")), "", "", "EdDSA", "d1"},
		{"JWK with key_ops verify", withMember(rsaJWK, "key_ops", []string{"verify"}), "RS256", "", "RS256", "k1"},
		{"JWK with unknown members", withMember(rsaJWK, "x-note", "from our HSM"), "RS256", "", "RS256", "k1"},

		{"empty", "", "RS256", "the key is empty", "", ""},
		{"garbage", "hello", "RS256", "paste a PEM public key", "", ""},
		{"too large", strings.Repeat(" ", 65<<10) + pemOf(t, rsaPub), "RS256", "at most 64 KiB", "", ""},
		{"OpenSSH public key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA user@host", "EdDSA", "ssh-keygen -e -m PKCS8", "", ""},
		{"damaged PEM", "-----BEGIN PUBLIC KEY-----\nMIIB\n", "RS256", "PEM block is damaged", "", ""},
		{"PEM of garbage", pemBlock("PUBLIC KEY", []byte("not DER")), "RS256", "cannot be read", "", ""},
		{"PEM without alg", pemOf(t, rsaPub), "", "choose the algorithm", "", ""},
		{"two PEM blocks", pemOf(t, rsaPub) + pemOf(t, p256Pub), "RS256", "exactly one PEM block", "", ""},
		{"PEM with headers", "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\n" + strings.SplitN(pemOf(t, rsaPub), "\n", 2)[1], "RS256", "headers", "", ""},
		{"other PEM type", pemBlock("CERTIFICATE REQUEST", []byte{0x30}), "RS256", "not a public key", "", ""},
		{"PKCS#8 private key, RSA", pkcs8(rsaKey()), "RS256", "paste the public key only", "", ""},
		{"PKCS#8 private key, Ed25519", pkcs8(edKey()), "EdDSA", "paste the public key only", "", ""},
		{"PKCS#1 private key", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey())), "RS256", "paste the public key only", "", ""},
		{"SEC 1 private key", pemBlock("EC PRIVATE KEY", ecDER), "ES256", "paste the public key only", "", ""},
		{"public key followed by its private key", pemOf(t, rsaPub) + pkcs8(rsaKey()), "RS256", "paste the public key only", "", ""},
		{"private JWK", string(privateJWK), "", "paste the public key only", "", ""},
		{"JWK with an empty d", withMember(rsaJWK, "d", ""), "RS256", "paste the public key only", "", ""},
		{"oct JWK", `{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}`, "", "symmetric (oct) keys cannot be registered", "", ""},
		{"JWK Set", `{"keys":[` + string(rsaJWK) + `]}`, "RS256", "JWK Set", "", ""},
		{"JWK use enc", withMember(rsaJWK, "use", "enc"), "RS256", `"use" is "enc"`, "", ""},
		{"JWK key_ops without verify", withMember(rsaJWK, "key_ops", []string{"encrypt"}), "RS256", `must list "verify"`, "", ""},
		{"JWK key_ops as one string", withMember(rsaJWK, "key_ops", []string{"sign, verify"}), "RS256", `must list "verify"`, "", ""},
		{"JWK alg differs from the chosen one", string(jwkOf(t, rsaPub, "k1", "RS256", "")), "PS256", "they must agree", "", ""},
		{"JWK without alg, none chosen", string(rsaJWK), "", `has no "alg"`, "", ""},
		{"JWK without kty", `{"n":"AQAB","e":"AQAB"}`, "RS256", `needs "kty"`, "", ""},
		{"JWK with duplicate members", `{"kty":"RSA","kty":"EC"}`, "RS256", "not a valid JSON object", "", ""},
		{"JWK X25519", `{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`, "EdDSA", `"OKP X25519" is not supported`, "", ""},
		{"JWK EC not on the curve", withMember(jwkOf(t, p256Pub, "e1", "ES256", ""), "y", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "", "cannot be read", "", ""},
		{"JWK kid too long", string(jwkOf(t, rsaPub, strings.Repeat("k", 129), "RS256", "")), "", "at most 128", "", ""},
		{"RSA 1024, PEM", pemOf(t, &rsaKey1024().PublicKey), "RS256", "RSA keys must be at least 2048 bits; this one has 1024", "", ""},
		{"RSA 1024, JWK", string(jwkOf(t, &rsaKey1024().PublicKey, "k1", "RS256", "")), "", "RSA keys must be at least 2048 bits; this one has 1024", "", ""},
		{"RSA even exponent", withMember(rsaJWK, "e", "BA"), "RS256", "public exponent 4", "", ""},
		{"RSA key for ES256", pemOf(t, rsaPub), "ES256", "ES256 needs an EC key on curve P-256; this is an RSA key", "", ""},
		{"P-384 key for ES256", pemOf(t, &p384Key().PublicKey), "ES256", "needs an EC key on curve P-256; this one is on P-384", "", ""},
		{"P-256 key for ES512", pemOf(t, p256Pub), "ES512", "curve P-521", "", ""},
		{"EC key for RS256", pemOf(t, p256Pub), "RS256", "RS256 needs an RSA key", "", ""},
		{"Ed25519 key for ES256", pemOf(t, edPub), "ES256", "this is an Ed25519 key", "", ""},
		{"EC key for EdDSA", pemOf(t, p256Pub), "EdDSA", "EdDSA needs an Ed25519 key", "", ""},
		{"low-order Ed25519 key, PEM", pemBlock("PUBLIC KEY", lowOrderDER), "EdDSA", "low-order", "", ""},
		{"low-order Ed25519 key, JWK", string(`{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`), "EdDSA", "low-order", "", ""},
		{"public key for HS256", pemOf(t, rsaPub), "HS256", "never with a public key", "", ""},
		{"JWK claiming HS256", string(jwkOf(t, rsaPub, "k1", "HS256", "")), "", "never with a public key", "", ""},
		{"alg none", pemOf(t, rsaPub), "none", `algorithm "none" is not supported`, "", ""},
		{"alg in the wrong case", pemOf(t, rsaPub), "rs256", `algorithm "rs256" is not supported`, "", ""},
		{"ES521", string(jwkOf(t, &p521Key().PublicKey, "k1", "ES521", "")), "", "P-521 keys sign ES512 tokens", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pk, err := identity.ParsePublicKey([]byte(tt.data), tt.alg)
			if tt.want != "" {
				wantInvalidKey(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pk.Alg != tt.wantAlg || pk.Kid != tt.kid || pk.Key == nil {
				t.Fatalf("got alg %q kid %q key %T; want %q %q", pk.Alg, pk.Kid, pk.Key, tt.wantAlg, tt.kid)
			}
			// Stored as PEM and read back, it is the same key.
			stored, err := identity.MarshalPublicKeyPEM(pk.Key)
			if err != nil {
				t.Fatal(err)
			}
			again, err := identity.ParsePublicKey([]byte(stored), pk.Alg)
			if err != nil || again.Fingerprint() != pk.Fingerprint() || pk.Fingerprint() == "" {
				t.Fatalf("PEM round trip: %v, fingerprint %q then %q", err, pk.Fingerprint(), again.Fingerprint())
			}
		})
	}
}

// The fingerprint is RFC 7638's thumbprint: the RFC's own example, and one value whatever the key's form.
func TestPublicKeyFingerprint(t *testing.T) {
	const rfc7638 = `{"kty":"RSA","alg":"RS256","kid":"2011-04-29","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}`
	pk, err := identity.ParsePublicKey([]byte(rfc7638), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pk.Fingerprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("RFC 7638 §3.1 example: fingerprint %q, want %q", got, want)
	}
	forms := map[string][2][]byte{ // alg → PEM, JWK
		"RS256": {[]byte(pemOf(t, &rsaKey().PublicKey)), jwkOf(t, &rsaKey().PublicKey, "a", "RS256", "")},
		"ES256": {[]byte(pemOf(t, &p256Key().PublicKey)), jwkOf(t, &p256Key().PublicKey, "b", "ES256", "")},
		"EdDSA": {[]byte(pemOf(t, edKey().Public())), jwkOf(t, edKey().Public(), "c", "EdDSA", "")},
	}
	seen := map[string]bool{}
	for alg, f := range forms {
		a, err1 := identity.ParsePublicKey(f[0], alg)
		b, err2 := identity.ParsePublicKey(f[1], "")
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a.Fingerprint() != b.Fingerprint() || len(a.Fingerprint()) != 43 || seen[a.Fingerprint()] {
			t.Errorf("%s: PEM fingerprint %q, JWK fingerprint %q", alg, a.Fingerprint(), b.Fingerprint())
		}
		seen[a.Fingerprint()] = true
	}
	if (identity.PublicKey{}).Fingerprint() != "" {
		t.Error("an empty key has a fingerprint")
	}
}

func TestSupportedAlgs(t *testing.T) {
	got := identity.SupportedAlgs()
	want := []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("SupportedAlgs() = %v", got)
	}
	for _, alg := range want {
		if identity.IsHMAC(alg) == identity.IsPublicKeyAlg(alg) {
			t.Errorf("%s: IsHMAC %v, IsPublicKeyAlg %v", alg, identity.IsHMAC(alg), identity.IsPublicKeyAlg(alg))
		}
	}
	for _, alg := range []string{"", "none", "rs256", "ES521", "ed25519", "Ed448", "HS256 ", "RSA-OAEP"} {
		if identity.IsPublicKeyAlg(alg) || identity.IsHMAC(alg) {
			t.Errorf("%q is reported as supported", alg)
		}
	}
}

// publicAlg is one public-key algorithm with a signer and a second, unregistered key of the same kind.
type publicAlg struct {
	alg         string
	method      jwt.SigningMethod
	priv, other crypto.Signer
	otherAlg    string // another algorithm a token might claim for the same key
}

func publicAlgs() []publicAlg {
	return []publicAlg{
		{identity.RS256, jwt.SigningMethodRS256, rsaKey(), rsaKey2(), identity.RS384},
		{identity.PS256, jwt.SigningMethodPS256, rsaKey(), rsaKey2(), identity.RS256},
		{identity.ES256, jwt.SigningMethodES256, p256Key(), p256Key2(), identity.ES384},
		{identity.EdDSA, jwt.SigningMethodEdDSA, edKey(), edKey2(), identity.ES256},
	}
}

// Every rule of the HMAC verifier tests holds for public keys too.
func TestVerifyPublicKeyRules(t *testing.T) {
	claims := func(extra string) string {
		return `{"sub":"u1","email":"Ada@Example.com","iat":` + at(-10) + `,"exp":` + at(290) + extra + `}`
	}
	for _, a := range publicAlgs() {
		t.Run(a.alg, func(t *testing.T) {
			active := register(t, "k1", a.alg, a.priv.Public())
			revoked := register(t, "k0", a.alg, a.other.Public())
			revoked.RevokedAt = testNow.Add(-time.Hour)
			hmacKey := identity.Key{ID: "k_hs", Alg: identity.HS256, Secret: testSecret}
			keys := []identity.Key{revoked, active, hmacKey}
			hdr := func(kid string) string {
				if kid == "" {
					return `{"alg":"` + a.alg + `","typ":"JWT"}`
				}
				return `{"alg":"` + a.alg + `","kid":"` + kid + `"}`
			}
			tests := []struct {
				name, token, code, message string
			}{
				{"valid with kid", signWith(t, a.method, a.priv, hdr("k1"), claims(`,"aud":"ws_test"`)), "", ""},
				{"valid without kid", signWith(t, a.method, a.priv, hdr(""), claims("")), "", ""},
				{"expired", signWith(t, a.method, a.priv, hdr("k1"), `{"sub":"u1","iat":`+at(-400)+`,"exp":`+at(-100)+`}`), "token_expired", ""},
				{"not yet valid", signWith(t, a.method, a.priv, hdr("k1"), claims(`,"nbf":`+at(120))), "token_not_yet_valid", ""},
				{"issued in the future", signWith(t, a.method, a.priv, hdr("k1"), `{"sub":"u1","iat":`+at(120)+`,"exp":`+at(300)+`}`), "token_not_yet_valid", ""},
				{"lifetime too long", signWith(t, a.method, a.priv, hdr("k1"), `{"sub":"u1","iat":`+at(-10)+`,"exp":`+at(3600)+`}`), "token_lifetime_too_long", ""},
				{"audience of another workspace", signWith(t, a.method, a.priv, hdr("k1"), claims(`,"aud":"ws_other"`)), "token_audience_mismatch", ""},
				{"unknown kid", signWith(t, a.method, a.priv, hdr("k9"), claims("")), "token_unknown_key", `no active key "k9" in this workspace; sign with an active key`},
				{"revoked key", signWith(t, a.method, a.other, hdr("k0"), claims("")), "token_unknown_key", "revoked"},
				{"revoked key without kid", signWith(t, a.method, a.other, hdr(""), claims("")), "token_bad_signature", "sign with the private key matching key \"k1\""},
				{"another private key", signWith(t, a.method, a.other, hdr("k1"), claims("")), "token_bad_signature", "sign with the private key matching key \"k1\""},
				{"header names another alg", strings.Replace(signWith(t, a.method, a.priv, hdr("k1"), claims("")), seg(hdr("k1")), seg(`{"alg":"`+a.otherAlg+`","kid":"k1"}`), 1), "token_alg_not_allowed", "each key has exactly one algorithm"},
				{"alg none", seg(`{"alg":"none","kid":"k1"}`) + "." + seg(claims("")) + "." + seg("x"), "token_alg_not_allowed", `"none"`},
				{"tampered payload", func() string {
					tok := signWith(t, a.method, a.priv, hdr("k1"), claims(""))
					parts := strings.Split(tok, ".")
					return parts[0] + "." + seg(`{"sub":"admin","iat":`+at(-10)+`,"exp":`+at(290)+`}`) + "." + parts[2]
				}(), "token_bad_signature", ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					v, err := identity.Verify(tt.token, keys, testPolicy)
					p := wantProblem(t, err, tt.code)
					if tt.code == "" {
						if v.Key.ID != "k1" || v.Key.Alg != a.alg || v.Claims.Subject != "u1" || v.Claims.Email != "ada@example.com" {
							t.Fatalf("verified = %+v, %+v", v.Key, v.Claims)
						}
						return
					}
					if !strings.Contains(p.Message, tt.message) {
						t.Errorf("message %q does not contain %q", p.Message, tt.message)
					}
					if strings.Contains(p.Message, "secret") {
						t.Errorf("message about a public key mentions a secret: %q", p.Message)
					}
				})
			}
			// CheckSteps agrees with Verify, step by step.
			steps, c := identity.CheckSteps(tests[0].token, keys, testPolicy)
			for _, s := range steps {
				if !s.OK {
					t.Errorf("CheckSteps of a valid token: step %s failed: %s", s.Name, s.Message)
				}
			}
			if c == nil || len(steps) != 6 {
				t.Errorf("CheckSteps: %d steps, claims %v", len(steps), c)
			}
		})
	}
}

// ECDSA's "psychic signature" (CVE-2022-21449): r = s = 0 verifies for every message in a verifier that
// does not check the range of r and s, and so does r = s = n reduced mod n.
func TestPsychicSignatures(t *testing.T) {
	for _, tc := range []struct {
		alg    string
		method jwt.SigningMethod
		priv   *ecdsa.PrivateKey
	}{
		{identity.ES256, jwt.SigningMethodES256, p256Key()},
		{identity.ES384, jwt.SigningMethodES384, p384Key()},
		{identity.ES512, jwt.SigningMethodES512, p521Key()},
	} {
		key := register(t, "k1", tc.alg, &tc.priv.PublicKey)
		size := (tc.priv.Curve.Params().BitSize + 7) / 8
		n := tc.priv.Curve.Params().N.FillBytes(make([]byte, size))
		input := seg(`{"alg":"`+tc.alg+`","kid":"k1"}`) + "." + seg(`{"sub":"admin","iat":`+at(-10)+`,"exp":`+at(290)+`}`)
		for name, sig := range map[string][]byte{
			"r = s = 0":             make([]byte, 2*size),
			"r = s = n":             append(append([]byte(nil), n...), n...),
			"r = 0, s = n":          append(make([]byte, size), n...),
			"r = s = 0, short form": {0, 0},
		} {
			t.Run(tc.alg+" "+name, func(t *testing.T) {
				raw := input + "." + b64.EncodeToString(sig)
				_, err := identity.Verify(raw, []identity.Key{key}, testPolicy)
				wantProblem(t, err, "token_bad_signature")
			})
		}
		// The genuine signature of the same input does verify: the refusals above are about r and s.
		if _, err := identity.Verify(signWith(t, tc.method, tc.priv, `{"alg":"`+tc.alg+`","kid":"k1"}`, `{"sub":"admin","iat":`+at(-10)+`,"exp":`+at(290)+`}`), []identity.Key{key}, testPolicy); err != nil {
			t.Errorf("%s: genuine signature: %v", tc.alg, err)
		}
	}
}

// No token can make Parley use public-key material as an HMAC secret (the RS256 → HS256 confusion).
func TestAlgorithmConfusion(t *testing.T) {
	pub := &rsaKey().PublicKey
	rs := register(t, "k_rs", identity.RS256, pub)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	payload := `{"sub":"admin","iat":` + at(-10) + `,"exp":` + at(290) + `}`
	secrets := map[string][]byte{
		"PEM":          []byte(pemOf(t, pub)),
		"PEM, trimmed": []byte(strings.TrimSpace(pemOf(t, pub))),
		"DER":          der,
		"PKCS#1 DER":   x509.MarshalPKCS1PublicKey(pub),
		"JWK":          jwkOf(t, pub, "k_rs", "RS256", "sig"),
	}
	hs := identity.Key{ID: "k_hs", Alg: identity.HS256, Secret: testSecret}
	for name, secret := range secrets {
		for _, header := range []string{`{"alg":"HS256","kid":"k_rs"}`, `{"alg":"HS256"}`} {
			t.Run(name+" "+header, func(t *testing.T) {
				raw := signHS256(header, payload, secret)
				_, err := identity.Verify(raw, []identity.Key{rs}, testPolicy)
				wantProblem(t, err, "token_alg_not_allowed")
				// Beside an HMAC key, the token reaches that key only, whose secret it does not know.
				_, err = identity.Verify(raw, []identity.Key{rs, hs}, testPolicy)
				if !problem.HasCode(err, "token_alg_not_allowed") && !problem.HasCode(err, "token_bad_signature") {
					t.Fatalf("with an HMAC key beside: %v", err)
				}
				tok, err := identity.ParseCompact(raw)
				if err != nil {
					t.Fatal(err)
				}
				wantProblem(t, identity.VerifySignature(tok, rs), "token_alg_not_allowed")
				// Even a key built by hand with the public key as its secret does not verify: the secret
				// is recognised as public-key material.
				wantProblem(t, identity.VerifySignature(tok, identity.Key{ID: "k_bad", Alg: identity.HS256, Secret: secret}), "token_alg_not_allowed")
			})
		}
	}
	t.Run("HMAC key carrying a public key", func(t *testing.T) {
		tok, _ := identity.ParseCompact(signHS256(`{"alg":"HS256"}`, payload, testSecret))
		wantProblem(t, identity.VerifySignature(tok, identity.Key{ID: "k", Alg: identity.HS256, Secret: testSecret, Public: pub}), "token_alg_not_allowed")
		if err := identity.VerifySignature(tok, identity.Key{ID: "k", Alg: identity.HS256, Secret: testSecret}); err != nil {
			t.Fatalf("the same key without the public key: %v", err)
		}
	})
	t.Run("RS256 key without a public key", func(t *testing.T) {
		tok, _ := identity.ParseCompact(signWith(t, jwt.SigningMethodRS256, rsaKey(), `{"alg":"RS256"}`, payload))
		wantProblem(t, identity.VerifySignature(tok, identity.Key{ID: "k", Alg: identity.RS256, Secret: []byte(pemOf(t, pub))}), "token_alg_not_allowed")
	})
}

// A token carrying its own key in the header (CVE-2018-0114 and kin) is refused before any key is used.
func TestEmbeddedJWKHeader(t *testing.T) {
	attacker := p256Key2()
	jwk := string(jwkOf(t, &attacker.PublicKey, "k1", "ES256", "sig"))
	key := register(t, "k1", identity.ES256, &p256Key().PublicKey)
	for _, header := range []string{
		`{"alg":"ES256","kid":"k1","jwk":` + jwk + `}`,
		`{"alg":"ES256","jwk":` + jwk + `}`,
		`{"alg":"ES256","kid":"k1","jku":"https://attacker.example/jwks.json"}`,
	} {
		raw := signWith(t, jwt.SigningMethodES256, attacker, header, `{"sub":"admin","iat":`+at(-10)+`,"exp":`+at(290)+`}`)
		_, err := identity.ParseCompact(raw)
		wantProblem(t, err, "token_malformed")
		_, err = identity.Verify(raw, []identity.Key{key}, testPolicy)
		wantProblem(t, err, "token_malformed")
	}
}

// Keys that registration refuses are refused again at verification, should one be built by hand.
func TestVerifySignatureKeyChecks(t *testing.T) {
	payload := `{"sub":"u1","iat":` + at(-10) + `,"exp":` + at(290) + `}`
	tests := []struct {
		name    string
		token   string
		key     identity.Key
		code    string
		message string
	}{
		{"ES256 token, P-384 key", signWith(t, jwt.SigningMethodES256, p256Key(), `{"alg":"ES256"}`, payload),
			identity.Key{ID: "k", Alg: identity.ES256, Public: &p384Key().PublicKey}, "token_alg_not_allowed", "this one is on P-384"},
		{"ES384 token signed by a P-384 key, registered as ES256", signWith(t, jwt.SigningMethodES384, p384Key(), `{"alg":"ES256"}`, payload),
			identity.Key{ID: "k", Alg: identity.ES256, Public: &p384Key().PublicKey}, "token_alg_not_allowed", "curve P-256"},
		{"RS256 with a 1024-bit key", signWith(t, jwt.SigningMethodRS256, rsaKey1024(), `{"alg":"RS256"}`, payload),
			identity.Key{ID: "k", Alg: identity.RS256, Public: &rsaKey1024().PublicKey}, "token_alg_not_allowed", "RSA keys must be at least 2048 bits; this one has 1024"},
		{"RS256 with an EC key", signWith(t, jwt.SigningMethodRS256, rsaKey(), `{"alg":"RS256"}`, payload),
			identity.Key{ID: "k", Alg: identity.RS256, Public: &p256Key().PublicKey}, "token_alg_not_allowed", "needs an RSA key"},
		{"EdDSA with a private key as the public key", signWith(t, jwt.SigningMethodEdDSA, edKey(), `{"alg":"EdDSA"}`, payload),
			identity.Key{ID: "k", Alg: identity.EdDSA, Public: edKey()}, "token_alg_not_allowed", "needs an Ed25519 key"},
		{"EdDSA without a key", signWith(t, jwt.SigningMethodEdDSA, edKey(), `{"alg":"EdDSA"}`, payload),
			identity.Key{ID: "k", Alg: identity.EdDSA}, "token_alg_not_allowed", "no key"},
		{"RS256 token, PS256 key", signWith(t, jwt.SigningMethodRS256, rsaKey(), `{"alg":"RS256"}`, payload),
			identity.Key{ID: "k", Alg: identity.PS256, Public: &rsaKey().PublicKey}, "token_alg_not_allowed", "is a PS256 key"},
		{"PS256 token, RS256 key", signWith(t, jwt.SigningMethodPS256, rsaKey(), `{"alg":"PS256"}`, payload),
			identity.Key{ID: "k", Alg: identity.RS256, Public: &rsaKey().PublicKey}, "token_alg_not_allowed", "is a RS256 key"},
		{"PS256 header over an RS256 signature", signWith(t, jwt.SigningMethodRS256, rsaKey(), `{"alg":"PS256"}`, payload),
			identity.Key{ID: "k", Alg: identity.PS256, Public: &rsaKey().PublicKey}, "token_bad_signature", ""},
		{"RS256 header over a PS256 signature", signWith(t, jwt.SigningMethodPS256, rsaKey(), `{"alg":"RS256"}`, payload),
			identity.Key{ID: "k", Alg: identity.RS256, Public: &rsaKey().PublicKey}, "token_bad_signature", ""},
		// RFC 7518 §3.5 fixes the salt to the hash size; golang-jwt's default verifier accepts any.
		{"PS256 with a salt as long as possible", func() string {
			input := seg(`{"alg":"PS256"}`) + "." + seg(payload)
			digest := sha256.Sum256([]byte(input))
			sig, err := rsa.SignPSS(rand.Reader, rsaKey(), crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
			if err != nil {
				t.Fatal(err)
			}
			return input + "." + b64.EncodeToString(sig)
		}(), identity.Key{ID: "k", Alg: identity.PS256, Public: &rsaKey().PublicKey}, "token_bad_signature", ""},
		{"EdDSA signature of 63 bytes", func() string {
			tok := signWith(t, jwt.SigningMethodEdDSA, edKey(), `{"alg":"EdDSA"}`, payload)
			sig, _ := b64.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
			return tok[:strings.LastIndexByte(tok, '.')+1] + b64.EncodeToString(sig[:63])
		}(), identity.Key{ID: "k", Alg: identity.EdDSA, Public: edKey().Public()}, "token_bad_signature", ""},
		{"EdDSA signature of 65 bytes", func() string {
			tok := signWith(t, jwt.SigningMethodEdDSA, edKey(), `{"alg":"EdDSA"}`, payload)
			sig, _ := b64.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
			return tok[:strings.LastIndexByte(tok, '.')+1] + b64.EncodeToString(append(sig, 0))
		}(), identity.Key{ID: "k", Alg: identity.EdDSA, Public: edKey().Public()}, "token_bad_signature", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := identity.ParseCompact(tt.token)
			if err != nil {
				t.Fatal(err)
			}
			p := wantProblem(t, identity.VerifySignature(tok, tt.key), tt.code)
			if !strings.Contains(p.Message, tt.message) {
				t.Errorf("message %q does not contain %q", p.Message, tt.message)
			}
			// Verify reports the same problem for a single candidate key.
			_, err = identity.Verify(tt.token, []identity.Key{tt.key}, testPolicy)
			if tt.code == "token_alg_not_allowed" || tt.code == "token_bad_signature" {
				wantProblem(t, err, tt.code)
			}
		})
	}
}

// A valid token of each public-key algorithm passes Verify with its claims, and a key registered from a
// JWK verifies the same as one registered from PEM.
func TestVerifyPublicKeyValid(t *testing.T) {
	for _, tc := range []struct {
		alg    string
		method jwt.SigningMethod
		priv   crypto.Signer
	}{
		{identity.RS256, jwt.SigningMethodRS256, rsaKey()},
		{identity.RS384, jwt.SigningMethodRS384, rsaKey()},
		{identity.RS512, jwt.SigningMethodRS512, rsaKey()},
		{identity.PS256, jwt.SigningMethodPS256, rsaKey()},
		{identity.PS384, jwt.SigningMethodPS384, rsaKey()},
		{identity.PS512, jwt.SigningMethodPS512, rsaKey()},
		{identity.ES256, jwt.SigningMethodES256, p256Key()},
		{identity.ES384, jwt.SigningMethodES384, p384Key()},
		{identity.ES512, jwt.SigningMethodES512, p521Key()},
		{identity.EdDSA, jwt.SigningMethodEdDSA, edKey()},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			fromPEM := register(t, "k_pem", tc.alg, tc.priv.Public())
			pk, err := identity.ParsePublicKey(jwkOf(t, tc.priv.Public(), "k_jwk", tc.alg, "sig"), "")
			if err != nil {
				t.Fatal(err)
			}
			fromJWK := identity.Key{ID: pk.Kid, Alg: pk.Alg, Public: pk.Key}
			for _, key := range []identity.Key{fromPEM, fromJWK} {
				raw := signWith(t, tc.method, tc.priv, `{"alg":"`+tc.alg+`","kid":"`+key.ID+`","typ":"JWT"}`,
					`{"sub":"u1","email":"ada@example.com","name":"Ada","aud":"ws_test","jti":"j1","iat":`+at(-10)+`,"exp":`+at(290)+`}`)
				v, err := identity.Verify(raw, []identity.Key{fromPEM, fromJWK}, testPolicy)
				if err != nil {
					t.Fatalf("%s: %v", key.ID, err)
				}
				if v.Key.ID != key.ID || v.Claims.Subject != "u1" || v.Claims.Name != "Ada" || v.Claims.JTI != "j1" {
					t.Fatalf("verified %+v %+v", v.Key, v.Claims)
				}
			}
		})
	}
}

// Ed25519 (RFC 9864) and EdDSA name the same signature; a key is registered under one of them and verifies
// tokens that carry that name only.
func TestEd25519AlgName(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	sign := func(alg string) *identity.Token {
		t.Helper()
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "u", "iat": 1, "exp": 2})
		tok.Header["alg"] = alg
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := identity.ParseCompact(s)
		if err != nil {
			t.Fatal(err)
		}
		return parsed
	}
	for _, alg := range []string{identity.EdDSA, identity.Ed25519} {
		pk, err := identity.ParsePublicKey(pemKey, alg)
		if err != nil || pk.Alg != alg {
			t.Fatalf("ParsePublicKey(%s) = %+v, %v", alg, pk, err)
		}
		key := identity.Key{ID: "k", Alg: alg, Public: pk.Key}
		other := identity.EdDSA
		if alg == identity.EdDSA {
			other = identity.Ed25519
		}
		if err := identity.VerifySignature(sign(alg), key); err != nil {
			t.Errorf("%s key, %s token: %v", alg, alg, err)
		}
		if err := identity.VerifySignature(sign(other), key); err == nil {
			t.Errorf("%s key verified a token whose alg is %s", alg, other)
		}
	}
	// A JWK may name it too.
	jwk := fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":%q,"alg":"Ed25519","kid":"k"}`, base64.RawURLEncoding.EncodeToString(pub))
	if pk, err := identity.ParsePublicKey([]byte(jwk), ""); err != nil || pk.Alg != identity.Ed25519 {
		t.Fatalf("ParsePublicKey(JWK alg Ed25519) = %+v, %v", pk, err)
	}
	// Another key type is refused under either name.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if _, err := identity.ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}), identity.Ed25519); err == nil {
		t.Error("an EC key was accepted as Ed25519")
	}
}
