package identity_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/jsonstrict"
	"github.com/parleyhq/parley/internal/problem"
)

// tokenCodes are the login error codes of docs/api.md that Verify may return, with their status.
var tokenCodes = map[string]int{
	"token_malformed":         401,
	"token_too_large":         413,
	"token_alg_not_allowed":   401,
	"token_unknown_key":       401,
	"token_bad_signature":     401,
	"token_expired":           401,
	"token_not_yet_valid":     401,
	"token_lifetime_too_long": 401,
	"token_claims_invalid":    401,
	"token_audience_mismatch": 401,
	"token_replayed":          401,
}

// fuzzClaims is a claim set valid under testPolicy.
func fuzzClaims(extra string) string {
	return `{"sub":"u1","email":"Ada@Example.com","name":"Ada","iat":` + at(-10) + `,"exp":` + at(290) + extra + `}`
}

func addVerifySeeds(f *testing.F) {
	valid := signHS256(`{"alg":"HS256","typ":"JWT"}`, fuzzClaims(""), testSecret)
	seeds := []string{
		valid,
		signHS256(`{"alg":"HS256","kid":"k1"}`, fuzzClaims(`,"aud":"ws_test","nbf":`+at(-5)), testSecret),
		signHS256(`{"alg":"HS256"}`, fuzzClaims(`,"aud":["x","ws_test"],"jti":"j1","given_name":"A"`), testSecret),
		signHS256(`{"alg":"HS256"}`, fuzzClaims(`,"attributes":{"plan":"gold","seats":10,"vip":true}`), testSecret),
		signHS256(`{"alg":"HS256"}`, fuzzClaims(`,"attributes":{"plan":{"x":1}}`), testSecret),
		signHS256(`{"alg":"HS256"}`, `{"email":"a@b.c","iat":`+at(-59.5)+`,"exp":`+at(540)+`}`, testSecret),
		signHS256(`{"alg":"HS256"}`, `{"sub":"u1","iat":`+at(-361)+`,"exp":`+at(-61)+`}`, testSecret),
		signHS256(`{"alg":"HS256"}`, `{"sub":"u1","iat":`+at(-100)+`,"exp":`+at(501)+`}`, testSecret),
		signHS256(`{"alg":"HS256"}`, `{"sub":"u1","iat":1748779190000,"exp":1748779490000}`, testSecret),
		signHS256(`{"alg":"HS256"}`, fuzzClaims(`,"aud":"other"`), testSecret),
		signHS256(`{"alg":"HS256"}`, `{"sub":"u1","sub":"u2","iat":1,"exp":2}`, testSecret),
		signHS256(`{"alg":"HS256","kid":"k2"}`, fuzzClaims(""), testSecret),
		signHS256(`{"alg":"none"}`, fuzzClaims(""), testSecret),
		signHS256(`{"alg":"HS256","jwk":{}}`, fuzzClaims(""), testSecret),
		signHS256(`{"alg":"HS256"}`, fuzzClaims(""), []byte("wrong")),
		valid[:strings.LastIndexByte(valid, '.')+1],
		valid + "=",
		"",
		"..",
		"e30.e30.e30",
		`{"payload":"e30"}`,
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
}

// FuzzVerify feeds arbitrary tokens to Verify. When resign is set, the harness replaces whatever
// follows the last '.' with a correct HS256 signature of what precedes it, so that the fuzzer also
// explores the code after the signature check (times, audience) instead of stopping at the MAC.
func FuzzVerify(f *testing.F) {
	addVerifySeeds(f)
	keys := []identity.Key{testKey}
	f.Fuzz(func(t *testing.T, token string, resign bool) {
		if i := strings.LastIndexByte(token, '.'); resign && i >= 0 {
			mac := hmac.New(sha256.New, testSecret)
			mac.Write([]byte(token[:i]))
			token = token[:i+1] + b64.EncodeToString(mac.Sum(nil))
		}
		v, err := identity.Verify(token, keys, testPolicy)
		if err != nil {
			p, ok := problem.As(err)
			if !ok {
				t.Fatalf("error is not a *problem.Error: %#v", err)
			}
			status, known := tokenCodes[p.Code]
			if !known || p.Status != status {
				t.Fatalf("error %q with status %d is not a login error of docs/api.md", p.Code, p.Status)
			}
			if p.Message == "" || strings.Contains(p.Message, string(testSecret)) {
				t.Fatalf("message %q is empty or reveals the secret", p.Message)
			}
			if v != nil {
				t.Fatal("a result along with an error")
			}
			return
		}
		checkVerified(t, token, v)
	})
}

// checkVerified re-checks an accepted token without Parley's code: the signature with golang-jwt's
// parser and with crypto/hmac, the claims with encoding/json and plain arithmetic on the policy.
func checkVerified(t *testing.T, token string, v *identity.Verified) {
	t.Helper()
	if v == nil || v.Claims == nil || v.Key.ID != testKey.ID {
		t.Fatalf("accepted, but the result is %+v", v)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding())
	if _, err := parser.Parse(token, func(*jwt.Token) (any, error) { return testSecret, nil }); err != nil {
		t.Fatalf("Parley accepted %q; golang-jwt refuses it: %v", token, err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted a token of %d segments", len(parts))
	}
	sig, err := b64.DecodeString(parts[2])
	mac := hmac.New(sha256.New, testSecret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		t.Fatalf("accepted %q without a valid HS256 signature by the key", token)
	}
	header, _ := b64.DecodeString(parts[0])
	var h map[string]any
	if err := json.Unmarshal(header, &h); err != nil || h["alg"] != "HS256" {
		t.Fatalf("accepted header %s", header)
	}
	payload, _ := b64.DecodeString(parts[1])
	checkClaimsPolicy(t, payload)
}

// checkClaimsPolicy fails unless payload satisfies testPolicy, computed independently. Times are
// compared as float seconds with a microsecond of slack: Parley keeps times to the microsecond.
func checkClaimsPolicy(t *testing.T, payload []byte) {
	t.Helper()
	const slack = 1e-6
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("accepted claims that are not a JSON object: %s", payload)
	}
	num := func(name string, required bool) (float64, bool) {
		n, ok := c[name].(json.Number)
		if !ok {
			if required || c[name] != nil {
				t.Fatalf("accepted %q = %v (%T) in %s", name, c[name], c[name], payload)
			}
			return 0, false
		}
		f, err := n.Float64()
		if err != nil {
			t.Fatalf("accepted %q = %s", name, n)
		}
		return f, true
	}
	now := float64(testPolicy.Now.UnixNano()) / 1e9
	leeway, maxLife := testPolicy.Leeway.Seconds(), testPolicy.MaxLifetime.Seconds()
	iat, _ := num("iat", true)
	exp, _ := num("exp", true)
	if exp <= iat-slack {
		t.Fatalf("accepted exp %v not after iat %v", exp, iat)
	}
	if now >= exp+leeway+slack {
		t.Fatalf("accepted an expired token: exp %v, now %v", exp, now)
	}
	if iat > now+leeway+slack {
		t.Fatalf("accepted a token issued in the future: iat %v, now %v", iat, now)
	}
	if nbf, ok := num("nbf", false); ok && nbf > now+leeway+slack {
		t.Fatalf("accepted a token not yet valid: nbf %v, now %v", nbf, now)
	}
	if exp-iat > maxLife+0.001+slack {
		t.Fatalf("accepted a lifetime of %vs", exp-iat)
	}
	switch aud := c["aud"].(type) {
	case nil:
		if _, present := c["aud"]; present {
			t.Fatalf("accepted aud null")
		}
	case string:
		if aud != testPolicy.Workspace {
			t.Fatalf("accepted aud %q", aud)
		}
	case []any:
		found := false
		for _, a := range aud {
			if _, ok := a.(string); !ok {
				t.Fatalf("accepted aud %v", aud)
			}
			found = found || a == testPolicy.Workspace
		}
		if !found {
			t.Fatalf("accepted aud %v", aud)
		}
	default:
		t.Fatalf("accepted aud %v", aud)
	}
	sub, _ := c["sub"].(string)
	email, _ := c["email"].(string)
	if strings.TrimSpace(sub) == "" && strings.TrimSpace(email) == "" {
		t.Fatalf("accepted claims without sub or email: %s", payload)
	}
}

func FuzzParseClaims(f *testing.F) {
	for _, s := range []string{
		fuzzClaims(""),
		fuzzClaims(`,"aud":["ws_test"],"nbf":1,"jti":"j","phone":"1","displayName":"D","first_name":"F","iss":"i"`),
		`{"sub":"u1","iat":1700000000.123456,"exp":1.7000003e9}`,
		`{"sub":"u1","iat":1700000000000,"exp":1700000300000}`,
		`{"sub":"u1","sub":"u1","iat":1,"exp":2}`,
		`{"Sub":"u1","iat":1,"exp":2}`,
		`{"sub":"u1","iat":"1","exp":2}`,
		`{"sub":"u1","iat":1,"exp":2,"aud":null}`,
		`{"sub":"u1","iat":1,"exp":2,"x":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}`,
		`[]`, `null`, `"x"`, `1`, ``, `{`, "{\"sub\":\"\xff\"}",
		// The attributes claim at and past its limits.
		fuzzClaims(`,"attributes":{"plan":"gold","seats":10,"ratio":1.50,"vip":true}`),
		fuzzClaims(`,"attributes":{}`),
		fuzzClaims(`,"attributes":` + attrMembers(20)),
		fuzzClaims(`,"attributes":` + attrMembers(21)),
		fuzzClaims(`,"attributes":{"` + strings.Repeat("k", 40) + `":"` + strings.Repeat("v", 256) + `"}`),
		fuzzClaims(`,"attributes":{"` + strings.Repeat("k", 41) + `":"` + strings.Repeat("v", 257) + `"}`),
		fuzzClaims(`,"attributes":{"Plan":"gold","plan-x":1}`),
		fuzzClaims(`,"attributes":{"plan":{"a":1},"b":[1],"c":null}`),
		fuzzClaims(`,"attributes":{"plan":"gold","plan":"gold"}`),
		fuzzClaims(`,"attributes":{"n":1e999}`),
		fuzzClaims(`,"attributes":null`),
		fuzzClaims(`,"attributes":["plan"]`),
		fuzzClaims(`,"Attributes":{}`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := identity.ParseClaims(data)
		if err != nil {
			p, ok := problem.As(err)
			if !ok || (p.Code != "token_claims_invalid" && p.Code != "token_malformed") || p.Status != 401 || c != nil {
				t.Fatalf("ParseClaims(%q) = %v, %#v", data, c, err)
			}
			return
		}
		if err := jsonstrict.Check(data); err != nil {
			t.Fatalf("ParseClaims accepted %q, which jsonstrict.Check refuses: %v", data, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
			t.Fatalf("ParseClaims accepted %q, which is not a JSON object", data)
		}
		if c.Subject == "" && c.Email == "" {
			t.Fatalf("accepted claims without sub or email: %q", data)
		}
		if !c.ExpiresAt.After(c.IssuedAt) {
			t.Fatalf("accepted exp %v not after iat %v", c.ExpiresAt, c.IssuedAt)
		}
		if c.Email != "" {
			if again, err := identity.CanonicalEmail(c.Email); err != nil || again != c.Email {
				t.Fatalf("email %q is not canonical: %q, %v", c.Email, again, err)
			}
		}
		checkAttributesClaim(t, obj, c)
	})
}

// checkAttributesClaim fails unless the parsed attributes are exactly the claim's members, checked with
// encoding/json and the limits written out again here.
func checkAttributesClaim(t *testing.T, obj map[string]any, c *identity.Claims) {
	t.Helper()
	raw, present := obj["attributes"]
	if !present {
		if c.Attributes != nil {
			t.Fatalf("attributes %s without the claim", c.Attributes)
		}
		return
	}
	members, ok := raw.(map[string]any)
	if !ok || c.Attributes == nil || len(members) > 20 || c.Attributes.Len() != len(members) {
		t.Fatalf("accepted attributes %v as %v", raw, c.Attributes)
	}
	for key, v := range members {
		if len(key) < 1 || len(key) > 40 || strings.Trim(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Fatalf("accepted attribute key %q", key)
		}
		got, ok := c.Attributes.Get(key)
		if !ok {
			t.Fatalf("attribute %q lost", key)
		}
		switch v := v.(type) {
		case string:
			if len(v) > 256 || got.Text != v {
				t.Fatalf("attribute %q = %q, parsed as %q", key, v, got.Text)
			}
		case bool, float64:
			if got.Kind.String() != map[bool]string{true: "boolean", false: "number"}[fmt.Sprint(v) == "true" || fmt.Sprint(v) == "false"] {
				t.Fatalf("attribute %q = %v, parsed as %#v", key, v, got)
			}
		default:
			t.Fatalf("accepted attribute %q = %v (%T)", key, v, v)
		}
	}
}

// FuzzParsePublicKey feeds arbitrary key text to ParsePublicKey: it must never panic, must refuse with a
// 422 invalid_key problem, and whatever it accepts must be usable for its alg and survive being stored
// as PEM and read back.
func FuzzParsePublicKey(f *testing.F) {
	rsaPEM := pemOf(f, &rsaKey().PublicKey)
	for _, seed := range []struct{ data, alg string }{
		{rsaPEM, "RS256"},
		{rsaPEM, "ES256"},
		{rsaPEM, ""},
		{pemOf(f, &p256Key().PublicKey), "ES256"},
		{pemOf(f, edKey().Public()), "EdDSA"},
		{pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey().PublicKey)), "PS256"},
		{string(jwkOf(f, &rsaKey().PublicKey, "k1", "RS256", "sig")), ""},
		{string(jwkOf(f, &p384Key().PublicKey, "k1", "ES384", "")), "ES384"},
		{string(jwkOf(f, edKey().Public(), "k1", "EdDSA", "")), ""},
		{`{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, "EdDSA"},
		{`{"kty":"RSA","n":"AQAB","e":"AQAB","d":""}`, "RS256"},
		{`{"kty":"oct","k":"AA"}`, "HS256"},
		{`{"keys":[]}`, ""},
		{"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", "RS256"},
		{"", ""},
	} {
		f.Add([]byte(seed.data), seed.alg)
	}
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		pk, err := identity.ParsePublicKey(data, alg)
		if err != nil {
			if p, ok := problem.As(err); !ok || p.Code != "invalid_key" || p.Status != 422 || p.Message == "" {
				t.Fatalf("ParsePublicKey: %#v", err)
			}
			return
		}
		if !identity.IsPublicKeyAlg(pk.Alg) || alg != "" && pk.Alg != alg || pk.Fingerprint() == "" {
			t.Fatalf("accepted alg %q (asked %q), fingerprint %q", pk.Alg, alg, pk.Fingerprint())
		}
		stored, err := identity.MarshalPublicKeyPEM(pk.Key)
		if err != nil {
			t.Fatal(err)
		}
		again, err := identity.ParsePublicKey([]byte(stored), pk.Alg)
		if err != nil || again.Fingerprint() != pk.Fingerprint() {
			t.Fatalf("stored as PEM and read back: %v, fingerprint %q then %q", err, pk.Fingerprint(), again.Fingerprint())
		}
		// A key registration accepts can be handed to VerifySignature: it refuses only the signature.
		tok := &identity.Token{Header: identity.Header{Alg: pk.Alg}, SigningInput: "e30.e30", Signature: []byte("x")}
		if !problem.HasCode(identity.VerifySignature(tok, identity.Key{ID: "k", Alg: pk.Alg, Public: pk.Key}), "token_bad_signature") {
			t.Fatal("VerifySignature refuses the key registration accepted")
		}
	})
}
