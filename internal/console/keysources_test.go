package console_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/store"
)

// ---------------------------------------------------------------- key material and the widget API

func publicPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func privatePEM(t *testing.T, priv any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEdKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// edJWK is the public JWK of an Ed25519 key.
func edJWK(priv ed25519.PrivateKey, kid string) map[string]string {
	pub := priv.Public().(ed25519.PublicKey)
	return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub), "kid": kid, "alg": "EdDSA", "use": "sig"}
}

// signed signs a login token for a customer with the business's own private key.
func signed(t *testing.T, method jwt.SigningMethod, priv any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// callJSON makes a JSON call to the server's API and decodes the answer.
func (e *env) callJSON(method, path, bearer string, body any) (int, map[string]any) {
	e.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// widgetLogin signs a fresh widget session in with token, through the widget HTTP API, and returns the
// identity level it ends with (or the error code).
func (e *env) widgetLogin(workspaceID, token string) string {
	e.t.Helper()
	status, out := e.callJSON("POST", "/v1/widget/sessions", "", map[string]string{"workspace": workspaceID})
	sessionToken, _ := out["session_token"].(string)
	if status != http.StatusCreated || sessionToken == "" {
		e.t.Fatalf("POST /v1/widget/sessions: %d %v", status, out)
	}
	status, out = e.callJSON("POST", "/v1/widget/login", sessionToken, map[string]string{"token": token})
	if status != http.StatusOK {
		if errObj, ok := out["error"].(map[string]any); ok {
			return errObj["code"].(string)
		}
		return http.StatusText(status)
	}
	identity, _ := out["identity"].(map[string]any)
	level, _ := identity["level"].(string)
	return level
}

// jwksServer serves a JWKS of one Ed25519 key on 127.0.0.1 and returns its URL and the private key.
func jwksServer(t *testing.T, kid string) (string, ed25519.PrivateKey) {
	t.Helper()
	priv := newEdKey(t)
	set, _ := json.Marshal(map[string]any{"keys": []map[string]string{edJWK(priv, kid)}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/.well-known/jwks.json", priv
}

// between returns the part of body from the first from to the next to after it, or "".
func between(body, from, to string) string {
	_, rest, ok := strings.Cut(body, from)
	if !ok {
		return ""
	}
	in, _, _ := strings.Cut(rest, to)
	return in
}

// row returns the table row of a page that starts with the given tag attribute, or "".
func row(body, attr string) string {
	i := strings.Index(body, "<tr "+attr)
	if i < 0 {
		return ""
	}
	end := strings.Index(body[i:], "</tr>")
	if end < 0 {
		return body[i:]
	}
	return body[i : i+end]
}

// ---------------------------------------------------------------- tests

func TestRegisterPublicKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)

	p := b.mustGet("/console/settings/keys")
	for _, want := range []string{"Register a public key", `action="/console/settings/keys/public"`, `<option value="" selected>From the JWK`,
		`<option value="ES256">ES256</option>`, `<option value="EdDSA">EdDSA</option>`, "Use a JWKS URL", `action="/console/settings/keys/jwks"`,
		"Secret (HS256)"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("keys page lacks %q", want)
		}
	}
	if sel := between(p.body, `id="public-alg"`, "</select>"); sel == "" || strings.Contains(sel, "HS256") {
		t.Errorf("the public key algorithms: %q", sel)
	}

	// A PEM key, with the algorithm and kid chosen in the form.
	ec := newECKey(t)
	pemText := publicPEM(t, &ec.PublicKey)
	p = b.mustPost("/console/settings/keys/public", url.Values{"alg": {"ES256"}, "kid": {" shop-2025 "}, "public_key": {pemText}})
	if !strings.Contains(p.body, "Public key shop-2025 (ES256) is registered") {
		t.Fatalf("no confirmation:\n%s", p.body)
	}
	r := row(p.body, `data-kid="shop-2025"`)
	if !strings.Contains(r, `data-kind="public"`) || !strings.Contains(r, "Public key (ES256)") || !strings.Contains(r, "<details class=\"pem\">") ||
		!strings.Contains(r, "-----BEGIN PUBLIC KEY-----") || !strings.Contains(r, "Active") {
		t.Fatalf("the key's row:\n%s", r)
	}
	if strings.Contains(r, "/rotate") || !strings.Contains(r, "/console/settings/keys/shop-2025/revoke") {
		t.Errorf("a public key offers rotate, or no revoke:\n%s", r)
	}
	// A JWK whose alg and kid come from the JWK itself.
	ed := newEdKey(t)
	jwk, _ := json.Marshal(edJWK(ed, "ed-1"))
	p = b.mustPost("/console/settings/keys/public", url.Values{"alg": {""}, "public_key": {string(jwk)}})
	if !strings.Contains(p.body, "Public key ed-1 (EdDSA) is registered") || !strings.Contains(row(p.body, `data-kid="ed-1"`), "Public key (EdDSA)") {
		t.Fatalf("JWK:\n%s", p.body)
	}

	// Tokens signed with the private keys sign customers in through the widget API.
	claims := jwt.MapClaims{"sub": "u-1", "email": "ada@customer.example", "name": "Ada"}
	if got := e.widgetLogin(tn.ws.ID, signed(t, jwt.SigningMethodES256, ec, "shop-2025", claims)); got != store.LevelVerified {
		t.Errorf("ES256 token: %s", got)
	}
	if got := e.widgetLogin(tn.ws.ID, signed(t, jwt.SigningMethodEdDSA, ed, "ed-1", claims)); got != store.LevelVerified {
		t.Errorf("EdDSA token: %s", got)
	}
	// … and the token checker agrees; a token signed with another key does not pass.
	p = b.post("/console/identity/check", url.Values{"token": {signed(t, jwt.SigningMethodES256, ec, "shop-2025", claims)}})
	if !strings.Contains(p.body, "This token would be accepted.") {
		t.Errorf("checker:\n%s", p.body)
	}
	if got := e.widgetLogin(tn.ws.ID, signed(t, jwt.SigningMethodES256, newECKey(t), "shop-2025", claims)); got != "token_bad_signature" {
		t.Errorf("a token from another key: %s", got)
	}
	// Rotating a public key is refused with what to do instead.
	if p := b.mustPost("/console/settings/keys/shop-2025/rotate", nil); !strings.Contains(p.body, "flash-error") || !strings.Contains(p.body, "register the new public key") {
		t.Errorf("rotate a public key:\n%s", p.body)
	}

	// Refused keys: the form again with what to fix, and nothing stored.
	before, _ := e.svc.Keys(ctx, tn.ws.ID)
	auditBefore, _ := e.svc.AuditEvents(ctx, tn.ws.ID, 100)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	private := privatePEM(t, ec)
	privateJWK, _ := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": edJWK(ed, "")["x"],
		"d": base64.RawURLEncoding.EncodeToString(ed.Seed()), "alg": "EdDSA"})
	// A line of base64 only this key has, as html/template writes it in a textarea ('+' becomes &#43;).
	pemLine := func(pemText string) string { return strings.ReplaceAll(strings.Split(pemText, "\n")[1], "+", "&#43;") }
	privateD := base64.RawURLEncoding.EncodeToString(ed.Seed())
	for _, c := range []struct {
		name, alg, kid, key string
		status              int
		says                string
		marker              string // a part of the key: on the page when the form is shown again, never for a private key
		echoed              bool
	}{
		{"garbage", "ES256", "", "not a key at all", http.StatusUnprocessableEntity, "paste a PEM public key", "not a key at all", true},
		{"a private key PEM", "ES256", "", private, http.StatusUnprocessableEntity, "this is a private key", pemLine(private), false},
		{"a private JWK", "", "", string(privateJWK), http.StatusUnprocessableEntity, "this is a private key", privateD, false},
		{"a 1024-bit RSA key", "RS256", "", publicPEM(t, &small.PublicKey), http.StatusUnprocessableEntity, "at least 2048 bits",
			pemLine(publicPEM(t, &small.PublicKey)), true},
		{"the wrong algorithm", "RS256", "", pemText, http.StatusUnprocessableEntity, "needs an RSA key", "", true},
		{"a PEM without an algorithm", "", "", pemText, http.StatusUnprocessableEntity, "choose the algorithm", "", true},
		{"an HMAC algorithm", "HS256", "", pemText, http.StatusUnprocessableEntity, "ES256", "", true},
		{"a kid in use", "ES256", "shop-2025", pemText, http.StatusConflict, "already has a key", "", true},
		{"a kid with spaces", "ES256", "my key", pemText, http.StatusUnprocessableEntity, "printable ASCII", "", true},
		{"nothing", "ES256", "", "", http.StatusUnprocessableEntity, "empty", "", true},
	} {
		p := b.post("/console/settings/keys/public", url.Values{"alg": {c.alg}, "kid": {c.kid}, "public_key": {c.key}})
		if p.status != c.status || !strings.Contains(p.body, `id="public-key-error"`) || !strings.Contains(strings.ToLower(p.body), strings.ToLower(c.says)) {
			t.Errorf("%s: %d, want %d saying %q\n%s", c.name, p.status, c.status, c.says, p.body)
			continue
		}
		if c.marker != "" && strings.Contains(p.body, c.marker) != c.echoed {
			t.Errorf("%s: the pasted key is shown again: %v, want %v", c.name, !c.echoed, c.echoed)
		}
		if !strings.Contains(p.body, "shop-2025") {
			t.Errorf("%s: the refused page lost the key list", c.name)
		}
		if c.alg != "" && c.alg != "HS256" && !strings.Contains(p.body, `<option value="`+c.alg+`" selected>`) {
			t.Errorf("%s: the algorithm is not kept", c.name)
		}
		if c.kid != "" && !strings.Contains(p.body, `name="kid" value="`+c.kid+`"`) {
			t.Errorf("%s: the kid is not kept", c.name)
		}
	}
	after, _ := e.svc.Keys(ctx, tn.ws.ID)
	auditAfter, _ := e.svc.AuditEvents(ctx, tn.ws.ID, 100)
	if len(after) != len(before) || len(auditAfter) != len(auditBefore) {
		t.Errorf("refused keys changed something: %d → %d keys, %d → %d audit events", len(before), len(after), len(auditBefore), len(auditAfter))
	}

	// Revoke: tokens of the key are refused at once.
	b.mustPost("/console/settings/keys/shop-2025/revoke", nil)
	if got := e.widgetLogin(tn.ws.ID, signed(t, jwt.SigningMethodES256, ec, "shop-2025", claims)); got == store.LevelVerified {
		t.Error("a revoked public key still signs customers in")
	}
}

// A kid may hold any printable ASCII, "/" and "?" included: the console still reaches the key.
func TestPublicKeyWithAwkwardKid(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	ec := newECKey(t)
	kid := "idp/2025?v=1#a+b%20"
	b.mustPost("/console/settings/keys/public", url.Values{"alg": {"ES256"}, "kid": {kid}, "public_key": {publicPEM(t, &ec.PublicKey)}})
	p := b.mustGet("/console/settings/keys")
	action := "/console/settings/keys/" + url.PathEscape(kid) + "/revoke"
	if !strings.Contains(html.UnescapeString(p.body), `action="`+action+`"`) {
		t.Fatalf("no revoke form for %q at %s:\n%s", kid, action, p.body)
	}
	if p := b.mustPost(action, nil); !strings.Contains(p.body, "is revoked") {
		t.Fatalf("revoke:\n%s", p.body)
	}
	keys, _ := e.svc.Keys(ctx, tn.ws.ID)
	if k := keys[len(keys)-1]; k.ID != kid || k.RevokedAt.IsZero() {
		t.Fatalf("not revoked: %+v", k)
	}
}

// Private JWKS targets are the operator's decision: a workspace admin cannot make Parley fetch from
// loopback or private addresses through the console, whatever the form sends (the old page's
// allow_private box included). Started with the network allowed (serve's --jwks-allow-networks), the
// same URL is fetched, listed, and signs customers in.
func TestJWKS(t *testing.T) {
	ctx := context.Background()
	jwksURL, priv := jwksServer(t, "idp-key-1")
	var hits atomic.Int64
	counted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(counted.Close)
	claims := jwt.MapClaims{"sub": "u-9", "email": "grace@customer.example", "name": "Grace"}
	token := signed(t, jwt.SigningMethodEdDSA, priv, "idp-key-1", claims)

	t.Run("no networks allowed", func(t *testing.T) {
		e := newEnv(t, func(o *envOptions) { o.jwksAllow = []string{} })
		tn := e.tenant("Acme", "ada@acme.example")
		b := e.signedIn(tn.admin)
		if p := b.mustGet("/console/settings/keys"); strings.Contains(p.body, "allow_private") || !strings.Contains(p.body, "--jwks-allow-networks") {
			t.Fatalf("the form still offers the box, or does not say who decides:\n%s", between(p.body, `id="jwks-title"`, "</section>"))
		}
		for _, u := range []string{
			jwksURL, // plain http, loopback
			strings.Replace(jwksURL, "http://", "https://", 1),
			counted.URL + "/jwks.json",
			strings.Replace(counted.URL, "127.0.0.1", "localhost", 1) + "/jwks.json",
			"https://[::ffff:127.0.0.1]:" + strings.TrimPrefix(counted.URL, "http://127.0.0.1:") + "/jwks.json",
			"https://169.254.169.254/latest/meta-data/",
		} {
			p := b.post("/console/settings/keys/jwks", url.Values{"url": {u}, "allow_private": {"on"}})
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="jwks-error"`) || !strings.Contains(p.body, "--jwks-allow-networks") ||
				!strings.Contains(p.body, `value="`+html.EscapeString(u)+`"`) {
				t.Fatalf("%s with allow_private=on: %d\n%s", u, p.status, between(p.body, `id="jwks-title"`, "</section>"))
			}
		}
		if keys, _ := e.svc.Keys(ctx, tn.ws.ID); len(keys) != 1 {
			t.Fatalf("stored anyway: %+v", keys)
		}
		if _, _, err := e.svc.AddJWKS(ctx, tn.ws.ID, jwksURL); err == nil {
			t.Fatal("the service took a loopback JWKS URL with no network allowed")
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("%d requests reached a refused address", n)
		}
		if got := e.widgetLogin(tn.ws.ID, token); got == store.LevelVerified {
			t.Fatal("a JWKS key verified a token")
		}
	})

	t.Run("loopback allowed by the operator", func(t *testing.T) {
		e := newEnv(t, func(o *envOptions) { o.jwksAllow = []string{"127.0.0.0/8"} })
		tn := e.tenant("Acme", "ada@acme.example")
		b := e.signedIn(tn.admin)
		// A URL that serves no key set: refused after the fetch, in general terms.
		p := b.post("/console/settings/keys/jwks", url.Values{"url": {"http://127.0.0.1:1/jwks.json"}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="jwks-error"`) || !strings.Contains(p.body, "could not be reached") {
			t.Fatalf("a bad URL: %d\n%s", p.status, between(p.body, `id="jwks-title"`, "</section>"))
		}
		// No box to tick: fetched, listed, and its keys sign customers in.
		p = b.mustPost("/console/settings/keys/jwks", url.Values{"url": {jwksURL}})
		if !strings.Contains(p.body, "JWKS "+jwksURL+" is in use as jwks_") || !strings.Contains(p.body, "it holds 1 key now") {
			t.Fatalf("no confirmation:\n%s", p.body)
		}
		keys, _ := e.svc.Keys(ctx, tn.ws.ID)
		if len(keys) != 2 || keys[1].Kind != store.KeyJWKS || keys[1].JWKSURL != jwksURL {
			t.Fatalf("keys %+v", keys)
		}
		r := row(p.body, `data-kid="`+keys[1].ID+`"`)
		if !strings.Contains(r, `data-kind="jwks"`) || !strings.Contains(r, `<span class="key-kind">JWKS</span>`) || !strings.Contains(r, jwksURL) ||
			strings.Contains(r, "/rotate") || !strings.Contains(r, "/revoke") {
			t.Fatalf("the JWKS row:\n%s", r)
		}
		if got := e.widgetLogin(tn.ws.ID, token); got != store.LevelVerified {
			t.Fatalf("a token signed with the JWKS key: %s", got)
		}
		// Revoked, the JWKS verifies nothing.
		b.mustPost("/console/settings/keys/"+keys[1].ID+"/revoke", nil)
		if got := e.widgetLogin(tn.ws.ID, signed(t, jwt.SigningMethodEdDSA, priv, "idp-key-1", claims)); got == store.LevelVerified {
			t.Fatal("a revoked JWKS still signs customers in")
		}
		// The allow-list is exact: ::1 is loopback too, but not in it.
		p = b.post("/console/settings/keys/jwks", url.Values{"url": {"https://[::1]:1/jwks.json"}, "allow_private": {"on"}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "--jwks-allow-networks") {
			t.Fatalf("::1 outside the allow-list: %d", p.status)
		}
	})
}

// A JWKS URL that answers with something other than a key set is refused with the kind of failure
// only: the console never shows the remote server's status, redirect target or body, so the form cannot
// be used to read other servers.
func TestJWKSErrorsDoNotEchoTheAnswer(t *testing.T) {
	const secret = "s3cret-internal-body"
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	for _, tc := range []struct {
		name, want string
		answer     http.HandlerFunc
		leaks      []string
	}{
		{"redirect", "redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://secret.internal/x", http.StatusFound)
		}, []string{"secret.internal", "302", "Found"}},
		{"server error", "HTTP error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, secret, http.StatusInternalServerError)
		}, []string{secret, "500", "Internal Server Error"}},
		{"not a key set", "not a JWK Set", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>" + secret + "</html>"))
		}, []string{secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.answer)
			t.Cleanup(srv.Close)
			u := srv.URL + "/jwks.json"
			p := b.post("/console/settings/keys/jwks", url.Values{"url": {u}})
			msg := between(p.body, `id="jwks-error">`, "</div>")
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(msg, tc.want) {
				t.Fatalf("%d, message %q; want one saying %q", p.status, msg, tc.want)
			}
			said := strings.ReplaceAll(msg, html.EscapeString(u), "") // the URL, port and all, is the admin's own
			for _, leak := range tc.leaks {
				if strings.Contains(said, leak) {
					t.Errorf("the message %q repeats %q from the answer", msg, leak)
				}
			}
			if strings.Contains(p.body, secret) || strings.Contains(p.body, "secret.internal") {
				t.Errorf("the page repeats the answer:\n%s", msg)
			}
			_, _, err := e.svc.AddJWKS(context.Background(), tn.ws.ID, u)
			if err == nil {
				t.Fatal("AddJWKS took it")
			}
			said = strings.ReplaceAll(err.Error(), u, "")
			for _, leak := range tc.leaks {
				if strings.Contains(said, leak) {
					t.Errorf("AddJWKS: %q repeats %q from the answer", err, leak)
				}
			}
		})
	}
}

// Every kind of key shows with its own label; the customers API's server key is one of them.
func TestKeyKinds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	k, err := e.svc.CreateAPIKey(ctx, tn.ws.ID, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, out := e.callJSON("PUT", "/v1/customers/u-1", k.Key, map[string]string{"email": "ada@customer.example"}); status != http.StatusCreated {
		t.Fatalf("PUT customer: %d %v", status, out)
	}
	status, out := e.callJSON("POST", "/v1/customers/u-1/login-tokens", k.Key, nil)
	if status != http.StatusCreated {
		t.Fatalf("login token: %d %v", status, out)
	}
	if got := e.widgetLogin(tn.ws.ID, out["token"].(string)); got != store.LevelVerified {
		t.Fatalf("a customers API login token: %s", got)
	}
	p := b.mustGet("/console/settings/keys")
	keys, _ := e.svc.Keys(ctx, tn.ws.ID)
	if len(keys) != 2 || keys[1].Kind != store.KeyServer {
		t.Fatalf("keys %+v", keys)
	}
	r := row(p.body, `data-kid="`+keys[1].ID+`"`)
	if !strings.Contains(r, "Parley — customers API login tokens (EdDSA)") || strings.Contains(r, "/rotate") || !strings.Contains(r, "/revoke") ||
		!strings.Contains(r, "BEGIN PUBLIC KEY") {
		t.Fatalf("the server key's row:\n%s", r)
	}
	if r := row(p.body, `data-kid="`+tn.key.ID+`"`); !strings.Contains(r, "Secret (HS256)") || !strings.Contains(r, "/rotate") || strings.Contains(r, "<details class=\"pem\">") {
		t.Fatalf("the secret's row:\n%s", r)
	}
}
