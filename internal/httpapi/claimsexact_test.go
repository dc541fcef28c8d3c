package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
)

// Identifiers are taken exactly: "vic-x", "vic-x " and "\u3000vic-x" would otherwise be one customer.
func TestSubAndJTIWithSurroundingSpaceAreRefused(t *testing.T) {
	e := newEnv(t)
	r := e.login(e.session(), e.sign(claims(map[string]any{"sub": "vic-x", "email": nil})))
	expect(t, r, 200, "")
	for _, c := range []map[string]any{
		{"sub": "vic-x "},
		{"sub": " vic-x"},
		{"sub": "\u3000vic-x"},
		{"sub": "vic-x\u00a0"},
		{"sub": "\ufeffvic-x"},
		{"sub": "vic-x\u200b"},
		{"jti": " once"},
		{"jti": "once\u2003"},
	} {
		c["email"] = nil
		if c["sub"] == nil {
			c["sub"] = "vic-x"
		}
		r := e.login(e.session(), e.sign(claims(c)))
		expect(t, r, 401, "token_claims_invalid")
	}
	// Display claims are still trimmed.
	r = e.login(e.session(), e.sign(claims(map[string]any{"sub": "vic-y", "name": "  Vic Y\u3000"})))
	expect(t, r, 200, "")
	if got := r.body["identity"].(map[string]any)["name"]; got != "Vic Y" {
		t.Errorf("name = %q; want it trimmed", got)
	}
}

// Anyone can post a token: refusals name what the token carries, never the workspace's key ids.
func TestLoginErrorsDoNotRevealTheWorkspaceKeys(t *testing.T) {
	e := newEnv(t)
	second, err := e.svc.CreateKey(chat.WithActor(context.Background(), "test"), e.ws.ID, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"unknown kid":          signWith(t, "HS256", "guess", e.key.Secret, claims(nil)),
		"no kid, wrong secret": signWith(t, "HS256", "", "psk_not-the-secret", claims(nil)),
		"other alg":            signWith(t, "HS384", "", e.key.Secret, claims(nil)),
	} {
		r := e.login(e.session(), tok)
		if r.status != 401 {
			t.Errorf("%s: status %d", name, r.status)
		}
		for _, kid := range []string{e.key.ID, second.ID} {
			if strings.Contains(string(r.raw), kid) {
				t.Errorf("%s: the answer names the workspace's key %s: %s", name, kid, r.raw)
			}
		}
	}
	// The identity log keeps the token's kid for admins.
	failures, err := e.svc.LoginFailures(context.Background(), e.ws.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range failures {
		found = found || f.KeyID == "guess"
	}
	if !found {
		t.Error("the identity log lost the token's kid")
	}
}
