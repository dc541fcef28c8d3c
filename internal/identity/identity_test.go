package identity_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
)

var b64 = base64.RawURLEncoding

func seg(s string) string { return b64.EncodeToString([]byte(s)) }

// signHS256 assembles a token from literal header and payload JSON, so tests can produce shapes no JWT
// library would, and signs it with crypto/hmac directly rather than with the code under test.
func signHS256(header, payload string, secret []byte) string {
	input := seg(header) + "." + seg(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64.EncodeToString(mac.Sum(nil))
}

// wantProblem fails unless err is a *problem.Error with the given code ("" means no error).
func wantProblem(t *testing.T, err error, code string) *problem.Error {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return nil
	}
	p, ok := problem.As(err)
	if !ok {
		t.Fatalf("got %#v, want a *problem.Error with code %s", err, code)
	}
	if p.Code != code {
		t.Fatalf("got %s (%s), want %s", p.Code, p.Message, code)
	}
	wantStatus := 401
	if code == "token_too_large" {
		wantStatus = 413
	}
	if p.Status != wantStatus {
		t.Fatalf("%s has status %d, want %d", code, p.Status, wantStatus)
	}
	return p
}

func TestCanonicalEmail(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	domain := func(n int) string { return strings.Repeat("b", n-4) + ".com" }
	tests := []struct {
		name, in, want string // want "" means refused
	}{
		{"already canonical", "ada@example.com", "ada@example.com"},
		{"trims surrounding whitespace", " \t Ada@Example.COM\r\n", "ada@example.com"},
		{"trims Unicode spaces", "\u00a0ada@example.com\u3000", "ada@example.com"},
		{"lower-cases ASCII in both parts", "ADA.LOVELACE@EXAMPLE.COM", "ada.lovelace@example.com"},
		{"keeps +tags", "Ada+Support@example.com", "ada+support@example.com"},
		{"keeps dots", "a.d.a@example.com", "a.d.a@example.com"},
		{"keeps Cyrillic a", "\u0430da@example.com", "\u0430da@example.com"},
		{"keeps uppercase non-ASCII", "\u00c9mile@Example.com", "\u00c9mile@example.com"},
		{"keeps Kelvin sign (strings.ToLower would fold it to k)", "\u212aelvin@example.com", "\u212aelvin@example.com"},
		{"keeps dotless I", "\u0130nci@example.com", "\u0130nci@example.com"},
		{"accepts a domain without dot", "root@localhost", "root@localhost"},
		{"accepts exactly 254 bytes", local64 + "@" + domain(189), local64 + "@" + domain(189)},
		{"accepts 254 bytes plus trimmed spaces", "  " + local64 + "@" + domain(189) + " ", local64 + "@" + domain(189)},

		{"empty", "", ""},
		{"only spaces", "   ", ""},
		{"no @", "ada.example.com", ""},
		{"two @", "ada@example@example.com", ""},
		{"two @ adjacent", "ada@@example.com", ""},
		{"empty local part", "@example.com", ""},
		{"empty domain", "ada@", ""},
		{"only @", "@", ""},
		{"local part over 64 bytes", strings.Repeat("a", 65) + "@example.com", ""},
		{"255 bytes", local64 + "@" + domain(190), ""},
		{"domain starting with a dot", "ada@.example.com", ""},
		{"domain ending with a dot", "ada@example.com.", ""},
		{"domain with two dots", "ada@example..com", ""},
		{"space inside local part", "ada lovelace@example.com", ""},
		{"space inside domain", "ada@exam ple.com", ""},
		{"tab inside", "ada\t@example.com", ""},
		{"no-break space inside", "ada\u00a0x@example.com", ""},
		{"NUL", "ada\x00@example.com", ""},
		{"newline inside", "ada\n@example.com", ""},
		{"DEL", "ada\x7f@example.com", ""},
		{"C1 control", "ada\u0085x@example.com", ""},
		{"angle brackets", "Ada <ada@example.com>", ""},
		{"quoted local part", `"ada"@example.com`, ""},
		{"comma", "ada,bob@example.com", ""},
		{"invalid UTF-8", "ad\xffa@example.com", ""},
		{"zero-width space", "ada\u200b@example.com", ""},
		{"right-to-left override", "ada\u202e@example.com", ""},
		{"zero-width joiner in domain", "ada@exa\u200dmple.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identity.CanonicalEmail(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("CanonicalEmail(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CanonicalEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			// Canonical forms are fixed points.
			if again, err := identity.CanonicalEmail(got); err != nil || again != got {
				t.Fatalf("CanonicalEmail(%q) = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

// Two addresses are one customer exactly when their canonical forms are equal.
func TestCanonicalEmailIdentity(t *testing.T) {
	same := [][2]string{
		{"Ada@Example.COM", "ada@example.com"},
		{" ada@example.com", "ADA@EXAMPLE.COM "},
	}
	different := [][2]string{
		{"ada+x@example.com", "ada@example.com"},
		{"a.da@example.com", "ada@example.com"},
		{"\u0430da@example.com", "ada@example.com"},          // Cyrillic а
		{"ada@ex\u0430mple.com", "ada@example.com"},          // Cyrillic а in the domain
		{"\u00e9mile@example.com", "\u00c9mile@example.com"}, // é vs É: non-ASCII is not case-folded
		{"ada@example.com", "ada@example.co"},
	}
	canon := func(s string) string {
		t.Helper()
		c, err := identity.CanonicalEmail(s)
		if err != nil {
			t.Fatalf("CanonicalEmail(%q): %v", s, err)
		}
		return c
	}
	for _, p := range same {
		if canon(p[0]) != canon(p[1]) {
			t.Errorf("%q and %q should be one customer", p[0], p[1])
		}
	}
	for _, p := range different {
		if canon(p[0]) == canon(p[1]) {
			t.Errorf("%q and %q must stay different customers", p[0], p[1])
		}
	}
}

func TestCanonicalDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"  Example.COM\n", "example.com"},
		{"SUB.EXAMPLE.CO.UK", "sub.example.co.uk"},
		{"\u00c9xample.com", "\u00c9xample.com"},
		{"ex\u0430mple.com", "ex\u0430mple.com"},
		{strings.Repeat("d", 248) + ".com", strings.Repeat("d", 248) + ".com"}, // "x@" + 252 = 254 bytes
		{"", ""},
		{"   ", ""},
		{"ada@example.com", ""},
		{"@example.com", ""},
		{".example.com", ""},
		{"example.com.", ""},
		{"example..com", ""},
		{"exa mple.com", ""},
		{"example.com\x00", ""},
		{strings.Repeat("d", 249) + ".com", ""},
	}
	for _, tt := range tests {
		got, err := identity.CanonicalDomain(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("CanonicalDomain(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CanonicalDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		// The setting must match what EmailDomain extracts from a canonical address.
		email, err := identity.CanonicalEmail("x@" + strings.TrimSpace(tt.in))
		if err != nil || identity.EmailDomain(email) != got {
			t.Errorf("EmailDomain(CanonicalEmail(x@%q)) = %q, %v; want %q", tt.in, identity.EmailDomain(email), err, got)
		}
	}
}

func TestParseCompact(t *testing.T) {
	const header = `{"alg":"HS256","typ":"JWT"}`
	sig := seg("signature!") // 10 bytes: its last character has unused bits
	tok := func(header string) string { return seg(header) + "." + seg(`{}`) + "." + sig }
	// nonCanonical changes the unused low bits of a segment's last character: a lenient decoder
	// returns the same bytes, a strict one refuses.
	nonCanonical := func(s string) string {
		if len(s)%4 != 2 && len(s)%4 != 3 {
			panic("segment has no unused bits: " + s)
		}
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", s[len(s)-1])
		return s[:len(s)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	}
	kid := func(n int) string { return `{"alg":"HS256","kid":"` + strings.Repeat("k", n) + `"}` }

	tests := []struct {
		name, raw, code string
	}{
		{"minimal", tok(`{"alg":"HS256"}`), ""},
		{"typ JWT", tok(header), ""},
		{"typ jwt", tok(`{"alg":"HS256","typ":"jwt"}`), ""},
		{"typ Jwt", tok(`{"alg":"HS256","typ":"Jwt"}`), ""},
		{"whitespace inside header JSON", tok("{ \"alg\" :\n\t\"HS256\" }"), ""},
		{"unknown header parameters", tok(`{"alg":"HS256","foo":{"bar":[1]}}`), ""},
		{"kid of 128 bytes", tok(kid(128)), ""},
		{"parameter names are case-sensitive", tok(`{"alg":"HS256","JWK":1}`), ""},

		{"empty", "", "token_malformed"},
		{"one segment", seg(header), "token_malformed"},
		{"two segments", seg(header) + "." + seg("{}"), "token_malformed"},
		{"four segments", tok(header) + "." + sig, "token_malformed"},
		{"trailing dot", tok(header) + ".", "token_malformed"},
		{"empty header", "." + seg("{}") + "." + sig, "token_malformed"},
		{"empty payload", seg(header) + ".." + sig, "token_malformed"},
		{"empty signature", seg(header) + "." + seg("{}") + ".", "token_malformed"},
		{"only dots", "..", "token_malformed"},
		{"padding in signature", tok(header) + "=", "token_malformed"},
		{"padding in payload", seg(header) + "." + seg("{}") + "=." + sig, "token_malformed"},
		{"standard base64 alphabet", seg(header) + "." + seg("{}") + "." + "ab+/", "token_malformed"},
		{"non-canonical signature bits", seg(header) + "." + seg("{}") + "." + nonCanonical(sig), "token_malformed"},
		{"non-canonical payload bits", seg(header) + "." + nonCanonical(seg("{}")) + "." + sig, "token_malformed"},
		{"non-canonical header bits", nonCanonical(seg(`{"alg":"HS256" }`)) + "." + seg("{}") + "." + sig, "token_malformed"},
		{"impossible segment length", seg(header) + "." + seg("{}") + ".A", "token_malformed"},
		{"leading space", " " + tok(header), "token_malformed"},
		{"newline inside", seg(header) + ".\n" + seg("{}") + "." + sig, "token_malformed"},
		{"JSON serialization", `{"payload":"e30","signatures":[]}`, "token_malformed"},
		{"non-ASCII", tok(header) + "é", "token_malformed"},
		{"NUL", tok(header) + "\x00", "token_malformed"},

		{"header not JSON", tok(`alg=HS256`), "token_malformed"},
		{"header truncated", tok(`{"alg":"HS256"`), "token_malformed"},
		{"header with trailing data", tok(`{"alg":"HS256"}{}`), "token_malformed"},
		{"header array", tok(`["alg","HS256"]`), "token_malformed"},
		{"header string", tok(`"HS256"`), "token_malformed"},
		{"header null", tok(`null`), "token_malformed"},
		{"header number", tok(`1`), "token_malformed"},
		{"header invalid UTF-8", tok("{\"alg\":\"HS256\",\"x\":\"\xff\"}"), "token_malformed"},
		{"duplicate alg", tok(`{"alg":"none","alg":"HS256"}`), "token_malformed"},
		{"duplicate kid", tok(`{"alg":"HS256","kid":"a","kid":"b"}`), "token_malformed"},
		{"no alg", tok(`{"typ":"JWT"}`), "token_malformed"},
		{"alg in the wrong case", tok(`{"ALG":"HS256"}`), "token_malformed"},
		{"empty alg", tok(`{"alg":""}`), "token_malformed"},
		{"numeric alg", tok(`{"alg":256}`), "token_malformed"},
		{"null alg", tok(`{"alg":null}`), "token_malformed"},
		{"array alg", tok(`{"alg":["HS256"]}`), "token_malformed"},
		{"kid of 129 bytes", tok(kid(129)), "token_malformed"},
		{"empty kid", tok(`{"alg":"HS256","kid":""}`), "token_malformed"},
		{"numeric kid", tok(`{"alg":"HS256","kid":1}`), "token_malformed"},
		{"null kid", tok(`{"alg":"HS256","kid":null}`), "token_malformed"},
		{"jwk", tok(`{"alg":"HS256","jwk":{"kty":"oct","k":"AA"}}`), "token_malformed"},
		{"jku", tok(`{"alg":"HS256","jku":"https://attacker.example/jwks"}`), "token_malformed"},
		{"x5u", tok(`{"alg":"HS256","x5u":"https://attacker.example/cert"}`), "token_malformed"},
		{"x5c", tok(`{"alg":"HS256","x5c":["MIIB"]}`), "token_malformed"},
		{"crit", tok(`{"alg":"HS256","crit":["exp"],"exp":1}`), "token_malformed"},
		{"empty crit", tok(`{"alg":"HS256","crit":[]}`), "token_malformed"},
		{"b64", tok(`{"alg":"HS256","b64":false,"crit":["b64"]}`), "token_malformed"},
		{"b64 alone", tok(`{"alg":"HS256","b64":true}`), "token_malformed"},
		{"null jwk", tok(`{"alg":"HS256","jwk":null}`), "token_malformed"},
		{"typ at+jwt", tok(`{"alg":"HS256","typ":"at+jwt"}`), "token_malformed"},
		{"typ JWS", tok(`{"alg":"HS256","typ":"JWS"}`), "token_malformed"},
		{"empty typ", tok(`{"alg":"HS256","typ":""}`), "token_malformed"},
		{"null typ", tok(`{"alg":"HS256","typ":null}`), "token_malformed"},
		{"numeric typ", tok(`{"alg":"HS256","typ":1}`), "token_malformed"},
		{"cty", tok(`{"alg":"HS256","cty":"JWT"}`), "token_malformed"},
		{"null cty", tok(`{"alg":"HS256","cty":null}`), "token_malformed"},

		{"one byte over the cap", strings.Repeat("a", identity.MaxTokenSize+1), "token_too_large"},
		{"far over the cap", strings.Repeat("{", 1<<20), "token_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identity.ParseCompact(tt.raw)
			wantProblem(t, err, tt.code)
			if tt.code == "" && got == nil {
				t.Fatal("nil token without an error")
			}
		})
	}
}

func TestParseCompactFields(t *testing.T) {
	h, p := `{"alg":"HS384","kid":"k_1","typ":"JWT"}`, `{"sub":"u1"}`
	raw := seg(h) + "." + seg(p) + "." + seg("sig")
	tok, err := identity.ParseCompact(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Header != (identity.Header{Alg: "HS384", Kid: "k_1", Typ: "JWT"}) {
		t.Errorf("header = %+v", tok.Header)
	}
	if string(tok.Payload) != p || string(tok.Signature) != "sig" || tok.SigningInput != seg(h)+"."+seg(p) {
		t.Errorf("payload %q, signature %q, signing input %q", tok.Payload, tok.Signature, tok.SigningInput)
	}
}

// A token of exactly MaxTokenSize bytes is accepted; one byte more is not.
func TestParseCompactSizeBoundary(t *testing.T) {
	for n := 0; ; n++ {
		raw := seg(`{"alg":"HS256"}`) + "." + seg(`{"pad":"`+strings.Repeat("x", n)+`"}`) + "." + seg("sig")
		if len(raw) < identity.MaxTokenSize {
			continue
		}
		if len(raw) > identity.MaxTokenSize {
			// Base64url lengths skip every 4k+1; adjust the header by one byte instead.
			raw = seg(`{"alg":"HS256" }`) + "." + seg(`{"pad":"`+strings.Repeat("x", n-1)+`"}`) + "." + seg("sig")
		}
		if len(raw) != identity.MaxTokenSize {
			continue
		}
		if _, err := identity.ParseCompact(raw); err != nil {
			t.Fatalf("token of exactly %d bytes: %v", len(raw), err)
		}
		wantProblem(t, func() error { _, err := identity.ParseCompact(raw + "A"); return err }(), "token_too_large")
		return
	}
}

func TestParseClaims(t *testing.T) {
	const times = `"iat":1700000000,"exp":1700000300`
	obj := func(members string) string { return "{" + members + "}" }
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name, payload, code string
		check               func(t *testing.T, c *identity.Claims)
	}{
		{"sub only", obj(`"sub":"u1",` + times), "", func(t *testing.T, c *identity.Claims) {
			if c.Subject != "u1" || c.Email != "" {
				t.Errorf("%+v", c)
			}
		}},
		{"email canonicalized", obj(`"email":" Ada@Example.COM ",` + times), "", func(t *testing.T, c *identity.Claims) {
			if c.Email != "ada@example.com" {
				t.Errorf("email %q", c.Email)
			}
		}},
		{"names and phone", obj(`"sub":"u1","name":" Ada Lovelace ","given_name":"Ada","phone":"+44 20 7946 0000",` + times), "", func(t *testing.T, c *identity.Claims) {
			if c.Name != "Ada Lovelace" || c.FirstName != "Ada" || c.Phone != "+44 20 7946 0000" {
				t.Errorf("%+v", c)
			}
		}},
		{"displayName and first_name", obj(`"sub":"u1","displayName":"Ada L.","first_name":"Ada",` + times), "", func(t *testing.T, c *identity.Claims) {
			if c.Name != "Ada L." || c.FirstName != "Ada" {
				t.Errorf("%+v", c)
			}
		}},
		{"name wins over displayName", obj(`"sub":"u1","name":"A","displayName":"B",` + times), "", func(t *testing.T, c *identity.Claims) {
			if c.Name != "A" {
				t.Errorf("name %q", c.Name)
			}
		}},
		{"unknown claims are ignored", obj(`"sub":"u1","role":["admin"],"Foo":1,` + times), "", nil},
		{"whitespace around the object", " \n" + obj(`"sub":"u1",`+times) + "\t", "", nil},
		{"nbf", obj(`"sub":"u1","nbf":1700000010,` + times), "", func(t *testing.T, c *identity.Claims) {
			if !c.NotBefore.Equal(time.Unix(1700000010, 0)) {
				t.Errorf("nbf %v", c.NotBefore)
			}
		}},
		{"no nbf is the zero time", obj(`"sub":"u1",` + times), "", func(t *testing.T, c *identity.Claims) {
			if !c.NotBefore.IsZero() {
				t.Errorf("nbf %v", c.NotBefore)
			}
		}},
		{"exponent notation", obj(`"sub":"u1","iat":1.7e9,"exp":17000003E2`), "", func(t *testing.T, c *identity.Claims) {
			if !c.IssuedAt.Equal(time.Unix(1700000000, 0)) || !c.ExpiresAt.Equal(time.Unix(1700000300, 0)) {
				t.Errorf("iat %v exp %v", c.IssuedAt, c.ExpiresAt)
			}
		}},
		{"fractional seconds", obj(`"sub":"u1","iat":1700000000.123456,"exp":1700000300.000001`), "", func(t *testing.T, c *identity.Claims) {
			if !c.IssuedAt.Equal(time.Unix(1700000000, 123456000)) || !c.ExpiresAt.Equal(time.Unix(1700000300, 1000)) {
				t.Errorf("iat %v exp %v", c.IssuedAt.Format(time.RFC3339Nano), c.ExpiresAt.Format(time.RFC3339Nano))
			}
		}},
		{"aud string", obj(`"sub":"u1","aud":"ws_1",` + times), "", func(t *testing.T, c *identity.Claims) {
			if len(c.Audience) != 1 || c.Audience[0] != "ws_1" {
				t.Errorf("aud %q", c.Audience)
			}
		}},
		{"aud array", obj(`"sub":"u1","aud":["ws_1","ws_2"],` + times), "", func(t *testing.T, c *identity.Claims) {
			if len(c.Audience) != 2 || c.Audience[1] != "ws_2" {
				t.Errorf("aud %q", c.Audience)
			}
		}},
		{"jti", obj(`"sub":"u1","jti":"j-1",` + times), "", func(t *testing.T, c *identity.Claims) {
			if c.JTI != "j-1" {
				t.Errorf("jti %q", c.JTI)
			}
		}},
		{"longest name", obj(`"sub":"u1","name":"` + strings.Repeat("é", 200) + `",` + times), "", nil},

		{"not JSON", `sub=u1`, "token_malformed", nil},
		{"trailing data", obj(`"sub":"u1",`+times) + "{}", "token_claims_invalid", nil},
		{"invalid UTF-8", obj("\"sub\":\"u\xff\"," + times), "token_claims_invalid", nil},
		{"array", `["sub","u1"]`, "token_malformed", nil},
		{"string", `"u1"`, "token_malformed", nil},
		{"null", `null`, "token_malformed", nil},
		{"number", `1700000000`, "token_malformed", nil},
		{"neither sub nor email", obj(`"name":"Ada",` + times), "token_claims_invalid", nil},
		{"duplicate sub", obj(`"sub":"u1","sub":"u2",` + times), "token_claims_invalid", nil},
		{"duplicate exp", obj(`"sub":"u1",` + times + `,"exp":1700000100`), "token_claims_invalid", nil},
		{"duplicate in a nested object", obj(`"sub":"u1","x":{"a":1,"a":2},` + times), "token_claims_invalid", nil},
		{"Email instead of email", obj(`"Email":"ada@example.com","sub":"u1",` + times), "token_claims_invalid", nil},
		{"SUB instead of sub", obj(`"SUB":"u1","email":"ada@example.com",` + times), "token_claims_invalid", nil},
		{"EXP instead of exp", obj(`"sub":"u1","iat":1700000000,"EXP":1700000300`), "token_claims_invalid", nil},
		{"displayname instead of displayName", obj(`"sub":"u1","displayname":"Ada",` + times), "token_claims_invalid", nil},
		{"Given_Name instead of given_name", obj(`"sub":"u1","Given_Name":"Ada",` + times), "token_claims_invalid", nil},
		{"numeric sub", obj(`"sub":1,` + times), "token_claims_invalid", nil},
		{"null sub", obj(`"sub":null,"email":"ada@example.com",` + times), "token_claims_invalid", nil},
		{"empty sub", obj(`"sub":"","email":"ada@example.com",` + times), "token_claims_invalid", nil},
		{"blank sub", obj(`"sub":"   ","email":"ada@example.com",` + times), "token_claims_invalid", nil},
		{"sub too long", obj(`"sub":"` + long(256) + `",` + times), "token_claims_invalid", nil},
		{"numeric email", obj(`"email":1,` + times), "token_claims_invalid", nil},
		{"empty email", obj(`"sub":"u1","email":"",` + times), "token_claims_invalid", nil},
		{"invalid email", obj(`"sub":"u1","email":"ada at example.com",` + times), "token_claims_invalid", nil},
		{"array name", obj(`"sub":"u1","name":["Ada"],` + times), "token_claims_invalid", nil},
		{"name too long", obj(`"sub":"u1","name":"` + long(201) + `",` + times), "token_claims_invalid", nil},
		{"control character in name", obj(`"sub":"u1","name":"Ada\u0007",` + times), "token_claims_invalid", nil},
		{"phone too long", obj(`"sub":"u1","phone":"` + long(41) + `",` + times), "token_claims_invalid", nil},
		{"numeric iss", obj(`"sub":"u1","iss":1,` + times), "token_claims_invalid", nil},
		{"empty jti", obj(`"sub":"u1","jti":"",` + times), "token_claims_invalid", nil},
		{"numeric jti", obj(`"sub":"u1","jti":7,` + times), "token_claims_invalid", nil},
		{"no exp", obj(`"sub":"u1","iat":1700000000`), "token_claims_invalid", nil},
		{"no iat", obj(`"sub":"u1","exp":1700000300`), "token_claims_invalid", nil},
		{"exp as a string of digits", obj(`"sub":"u1","iat":1700000000,"exp":"1700000300"`), "token_claims_invalid", nil},
		{"iat as a date string", obj(`"sub":"u1","iat":"2023-11-14T22:13:20Z","exp":1700000300`), "token_claims_invalid", nil},
		{"exp true", obj(`"sub":"u1","iat":1700000000,"exp":true`), "token_claims_invalid", nil},
		{"exp null", obj(`"sub":"u1","iat":1700000000,"exp":null`), "token_claims_invalid", nil},
		{"exp object", obj(`"sub":"u1","iat":1700000000,"exp":{}`), "token_claims_invalid", nil},
		{"nbf string", obj(`"sub":"u1","nbf":"1700000000",` + times), "token_claims_invalid", nil},
		{"zero iat", obj(`"sub":"u1","iat":0,"exp":1700000300`), "token_claims_invalid", nil},
		{"negative iat", obj(`"sub":"u1","iat":-1,"exp":1700000300`), "token_claims_invalid", nil},
		{"negative zero iat", obj(`"sub":"u1","iat":-0,"exp":1700000300`), "token_claims_invalid", nil},
		{"huge exp", obj(`"sub":"u1","iat":1700000000,"exp":1e16`), "token_claims_invalid", nil},
		{"overflowing exp", obj(`"sub":"u1","iat":1700000000,"exp":1e400`), "token_claims_invalid", nil},
		{"exp equal to iat", obj(`"sub":"u1","iat":1700000000,"exp":1700000000`), "token_claims_invalid", nil},
		{"exp before iat", obj(`"sub":"u1","iat":1700000300,"exp":1700000000`), "token_claims_invalid", nil},
		{"exp a microsecond before iat", obj(`"sub":"u1","iat":1700000000.000001,"exp":1700000000`), "token_claims_invalid", nil},
		{"empty aud array", obj(`"sub":"u1","aud":[],` + times), "token_claims_invalid", nil},
		{"numeric aud", obj(`"sub":"u1","aud":1,` + times), "token_claims_invalid", nil},
		{"aud array of numbers", obj(`"sub":"u1","aud":[1],` + times), "token_claims_invalid", nil},
		{"aud object", obj(`"sub":"u1","aud":{"ws":1},` + times), "token_claims_invalid", nil},
		{"null aud", obj(`"sub":"u1","aud":null,` + times), "token_claims_invalid", nil},
		{"nested too deep", obj(`"sub":"u1","x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `,` + times), "token_claims_invalid", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := identity.ParseClaims([]byte(tt.payload))
			wantProblem(t, err, tt.code)
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// Times that look like milliseconds get a message that says so, not a generic range error.
func TestParseClaimsMilliseconds(t *testing.T) {
	for _, v := range []string{"1700000000000", "1700000000000.5", "1.7e12"} {
		_, err := identity.ParseClaims([]byte(`{"sub":"u1","iat":1700000000,"exp":` + v + `}`))
		p := wantProblem(t, err, "token_claims_invalid")
		if !strings.Contains(p.Message, "milliseconds") {
			t.Errorf("exp %s: message %q does not mention milliseconds", v, p.Message)
		}
		_, err = identity.ParseClaims([]byte(`{"sub":"u1","iat":` + v + `,"exp":1700000300}`))
		p = wantProblem(t, err, "token_claims_invalid")
		if !strings.Contains(p.Message, "milliseconds") {
			t.Errorf("iat %s: message %q does not mention milliseconds", v, p.Message)
		}
	}
}

// Date.now()/1000 produces fractions with up to six or seven digits; every microsecond must survive the
// trip through float64 (truncating instead of rounding turned .000001 into 0.000000953 s, i.e. 0 µs).
func TestParseClaimsMicroseconds(t *testing.T) {
	for _, base := range []int64{1700000000, 1767225599, 2000000000} {
		for us := 0; us < 1_000_000; us += 997 {
			for _, u := range []int{us, 999_999 - us} {
				payload := fmt.Sprintf(`{"sub":"u1","iat":%d.%06d,"exp":%d}`, base, u, base+60)
				c, err := identity.ParseClaims([]byte(payload))
				if err != nil {
					t.Fatal(err)
				}
				if want := time.Unix(base, int64(u)*1000); !c.IssuedAt.Truncate(time.Microsecond).Equal(want) {
					t.Fatalf("iat %d.%06d parsed as %s", base, u, c.IssuedAt.Format(time.RFC3339Nano))
				}
			}
		}
	}
}

func TestGenerateSecret(t *testing.T) {
	seen := map[string]bool{}
	for alg, n := range map[string]int{"HS256": 32, "HS384": 48, "HS512": 64} {
		for i := 0; i < 200; i++ {
			s, err := identity.GenerateSecret(alg)
			if err != nil {
				t.Fatal(err)
			}
			rest, ok := strings.CutPrefix(s, "psk_")
			if !ok {
				t.Fatalf("%s secret %q lacks the psk_ prefix", alg, s)
			}
			raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
			if err != nil || len(raw) != n {
				t.Fatalf("%s secret %q: %d random bytes (%v), want %d", alg, s, len(raw), err, n)
			}
			if strings.Trim(s, "0123456789abcdefABCDEF") == "" {
				t.Fatalf("%s secret %q is all hex: jsrsasign would decode it as hex", alg, s)
			}
			for j := 0; j < len(s); j++ {
				if s[j] < 0x21 || s[j] > 0x7e {
					t.Fatalf("%s secret %q has a non-printable-ASCII byte at %d", alg, s, j)
				}
			}
			if !utf8.ValidString(s) || seen[s] {
				t.Fatalf("%s secret %q repeated or invalid", alg, s)
			}
			seen[s] = true
		}
	}
	for _, alg := range []string{"", "none", "RS256", "hs256"} {
		if s, err := identity.GenerateSecret(alg); err == nil {
			t.Errorf("GenerateSecret(%q) = %q, want an error", alg, s)
		}
	}
}

// The rest of this file checks Verify's time and audience rules against a fixed clock.

var (
	testNow    = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	testSecret = []byte("psk_unit-test-secret-0123456789ABCDEFGHIJKLMNOP")
	testKey    = identity.Key{ID: "k1", Alg: "HS256", Secret: testSecret}
	testPolicy = identity.Policy{Workspace: "ws_test", MaxLifetime: 10 * time.Minute, Leeway: 60 * time.Second, Now: testNow}
)

// at renders testNow+offset seconds as a JSON number.
func at(offset float64) string {
	return fmt.Sprintf("%.6f", float64(testNow.Unix())+offset)
}

func TestVerifyTimes(t *testing.T) {
	tests := []struct {
		name          string
		iat, exp, nbf string // JSON numbers; nbf "" means absent
		code          string
	}{
		{"fresh", at(-10), at(290), "", ""},
		{"issued now, maximum lifetime", at(0), at(600), "", ""},

		// exp: valid until exp + leeway, and not at that instant (RFC 7519: now must be before it).
		{"expired leeway-1s ago", at(-359), at(-59), "", ""},
		{"expired leeway-0.5s ago", at(-359.5), at(-59.5), "", ""},
		{"expired leeway-1µs ago", at(-359.999999), at(-59.999999), "", ""},
		{"expired exactly leeway ago", at(-360), at(-60), "", "token_expired"},
		{"expired leeway+0.5s ago", at(-360.5), at(-60.5), "", "token_expired"},
		{"expired leeway+1s ago", at(-361), at(-61), "", "token_expired"},
		{"expired a day ago", at(-86700), at(-86400), "", "token_expired"},

		// nbf: valid from nbf - leeway.
		{"nbf leeway-1s ahead", at(-10), at(290), at(59), ""},
		{"nbf exactly leeway ahead", at(-10), at(290), at(60), ""},
		{"nbf leeway+1s ahead", at(-10), at(290), at(61), "token_not_yet_valid"},
		{"nbf in the past", at(-10), at(290), at(-5), ""},

		// iat: may be up to leeway in the future.
		{"iat leeway-1s ahead", at(59), at(359), "", ""},
		{"iat exactly leeway ahead", at(60), at(360), "", ""},
		{"iat leeway+1s ahead", at(61), at(361), "", "token_not_yet_valid"},
		{"iat an hour ahead", at(3600), at(3660), "", "token_not_yet_valid"},

		// exp − iat: at most MaxLifetime, with a millisecond for float rounding.
		{"lifetime exactly max", at(-100), at(500), "", ""},
		{"lifetime max+0.5ms", at(-100), at(500.0005), "", ""},
		{"lifetime max+2ms", at(-100), at(500.002), "", "token_lifetime_too_long"},
		{"lifetime max+1s", at(-100), at(501), "", "token_lifetime_too_long"},
		{"lifetime a year", at(-100), at(365 * 86400), "", "token_lifetime_too_long"},
		{"exp equal to iat", at(0), at(0), "", "token_claims_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := `{"sub":"u1","iat":` + tt.iat + `,"exp":` + tt.exp
			if tt.nbf != "" {
				payload += `,"nbf":` + tt.nbf
			}
			payload += "}"
			v, err := identity.Verify(signHS256(`{"alg":"HS256","typ":"JWT"}`, payload, testSecret), []identity.Key{testKey}, testPolicy)
			wantProblem(t, err, tt.code)
			if tt.code == "" && (v == nil || v.Key.ID != "k1" || v.Claims.Subject != "u1") {
				t.Fatalf("verified = %+v", v)
			}
		})
	}
}

func TestVerifyAudience(t *testing.T) {
	tests := []struct{ aud, code string }{
		{`"ws_test"`, ""},
		{`["other","ws_test"]`, ""},
		{`"other"`, "token_audience_mismatch"},
		{`["other"]`, "token_audience_mismatch"},
		{`"WS_TEST"`, "token_audience_mismatch"},
		{`[""]`, "token_audience_mismatch"},
	}
	for _, tt := range tests {
		payload := `{"sub":"u1","aud":` + tt.aud + `,"iat":` + at(-10) + `,"exp":` + at(290) + `}`
		_, err := identity.Verify(signHS256(`{"alg":"HS256"}`, payload, testSecret), []identity.Key{testKey}, testPolicy)
		t.Run(tt.aud, func(t *testing.T) { wantProblem(t, err, tt.code) })
	}
}

func TestVerifyKeySelection(t *testing.T) {
	payload := `{"sub":"u1","iat":` + at(-10) + `,"exp":` + at(290) + `}`
	revoked := identity.Key{ID: "k0", Alg: "HS256", Secret: []byte("psk_old"), RevokedAt: testNow.Add(-time.Hour)}
	hs512 := identity.Key{ID: "k2", Alg: "HS512", Secret: []byte("psk_512")}
	keys := []identity.Key{revoked, testKey, hs512}
	tests := []struct{ name, header, secret, code string }{
		{"kid names the key", `{"alg":"HS256","kid":"k1"}`, string(testSecret), ""},
		{"no kid: every active key of the alg", `{"alg":"HS256"}`, string(testSecret), ""},
		{"alg none", `{"alg":"none"}`, string(testSecret), "token_alg_not_allowed"},
		{"alg NONE", `{"alg":"NONE","kid":"k1"}`, string(testSecret), "token_alg_not_allowed"},
		{"asymmetric alg", `{"alg":"RS256","kid":"k1"}`, string(testSecret), "token_alg_not_allowed"},
		{"alg differs from the key's", `{"alg":"HS512","kid":"k1"}`, string(testSecret), "token_alg_not_allowed"},
		{"alg in the wrong case", `{"alg":"hs256","kid":"k1"}`, string(testSecret), "token_alg_not_allowed"},
		{"unknown kid", `{"alg":"HS256","kid":"k9"}`, string(testSecret), "token_unknown_key"},
		{"revoked kid", `{"alg":"HS256","kid":"k0"}`, "psk_old", "token_unknown_key"},
		{"revoked key without kid", `{"alg":"HS256"}`, "psk_old", "token_bad_signature"},
		{"wrong secret", `{"alg":"HS256","kid":"k1"}`, "psk_wrong", "token_bad_signature"},
		{"secret of another key", `{"alg":"HS256","kid":"k1"}`, "psk_512", "token_bad_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.Verify(signHS256(tt.header, payload, []byte(tt.secret)), keys, testPolicy)
			wantProblem(t, err, tt.code)
		})
	}
	t.Run("no keys", func(t *testing.T) {
		_, err := identity.Verify(signHS256(`{"alg":"HS256"}`, payload, testSecret), nil, testPolicy)
		wantProblem(t, err, "token_unknown_key")
	})
}
