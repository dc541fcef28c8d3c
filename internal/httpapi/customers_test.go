package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/store"
)

// The customers API of docs/api.md, end to end over HTTP: API keys and scopes, create-or-update by
// external_id, login tokens the widget accepts once, conversations, and revoking every live session.

func (e *env) apiKey(scopes ...string) string {
	e.t.Helper()
	k, err := e.svc.CreateAPIKey(chat.WithActor(context.Background(), "test"), e.ws.ID, "test back end", scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return k.Key
}

// customers calls the customers API with an API key.
func (e *env) customers(method, externalID, suffix, key string, body any) response {
	e.t.Helper()
	return e.request(method, "/v1/customers/"+url.PathEscape(externalID)+suffix, key, body)
}

func TestCustomersAPIKeys(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()

	for _, bad := range []string{"", "pak_", "pak_" + strings.Repeat("x", 43), "Bearer", strings.Repeat("a", 500), key + "x"} {
		expect(t, e.customers("PUT", "u1", "", bad, map[string]string{"name": "Ada"}), 401, "api_key_invalid")
	}
	// A widget session token is not an API key, and an API key is not a session token.
	expect(t, e.customers("PUT", "u1", "", e.session(), map[string]string{"name": "Ada"}), 401, "api_key_invalid")
	expect(t, e.request("GET", "/v1/widget/session", key, nil), 401, "session_invalid")

	// A browser is never a legitimate caller: an API key in a page is a leaked key.
	r := e.request("PUT", "/v1/customers/u1", key, map[string]string{"name": "Ada"}, "Origin", "https://shop.example")
	expect(t, r, 403, "browser_not_allowed")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the customers API answered with CORS headers")
	}

	expect(t, e.customers("PUT", "u1", "", key, map[string]string{"name": "Ada"}), 201, "")
	keys, err := e.svc.APIKeys(context.Background(), e.ws.ID)
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt.IsZero() {
		t.Fatalf("API keys after a call: %+v, %v; want one with a last use", keys, err)
	}
	if keys[0].KeyHash != nil {
		t.Error("APIKeys exposes the key hash")
	}

	// Revoked: refused at once.
	if err := e.svc.RevokeAPIKey(context.Background(), e.ws.ID, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	expect(t, e.customers("PUT", "u1", "", key, map[string]string{"name": "Ada"}), 401, "api_key_invalid")
	if err := e.svc.RevokeAPIKey(context.Background(), e.ws.ID, keys[0].ID); err == nil {
		t.Error("revoking twice succeeded")
	}

	// Unknown scopes are refused at creation.
	if _, err := e.svc.CreateAPIKey(context.Background(), e.ws.ID, "", []string{"customers:delete"}); err == nil {
		t.Error("created a key with an unknown scope")
	}
}

func TestCustomersAPIScopes(t *testing.T) {
	e := newEnv(t)
	writer := e.apiKey(store.ScopeCustomersWrite)
	reader := e.apiKey(store.ScopeCustomersRead)
	revoker := e.apiKey(store.ScopeSessionsRevoke)
	expect(t, e.customers("PUT", "u1", "", writer, map[string]string{"email": "ada@example.com"}), 201, "")

	cases := []struct {
		method, suffix string
		allowed        string
	}{
		{"PUT", "", writer},
		{"GET", "", reader},
		{"POST", "/login-tokens", writer},
		{"GET", "/conversations", reader},
		{"POST", "/logout", revoker},
	}
	for _, c := range cases {
		for _, key := range []string{writer, reader, revoker} {
			var body any
			if c.method == "PUT" {
				body = map[string]string{"name": "Ada"}
			}
			r := e.customers(c.method, "u1", c.suffix, key, body)
			if key == c.allowed {
				if r.status >= 300 {
					t.Errorf("%s %s with its scope: %d %s", c.method, c.suffix, r.status, r.raw)
				}
				continue
			}
			if r.status != 403 || r.code() != "insufficient_scope" {
				t.Errorf("%s %s without its scope: %d %s; want 403 insufficient_scope", c.method, c.suffix, r.status, r.raw)
			}
		}
	}
}

func TestCustomersPut(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()
	r := e.customers("PUT", "user-42", "", key, map[string]string{"email": " Ada@Example.COM ", "name": "Ada Lovelace", "phone": "+44 20"})
	expect(t, r, 201, "")
	id := r.str("customer", "id")
	if r.str("customer", "external_id") != "user-42" || r.str("customer", "email") != "ada@example.com" || r.str("customer", "name") != "Ada Lovelace" || id == "" {
		t.Fatalf("created customer: %s", r.raw)
	}
	// Update: only the fields given change; the same id.
	r = e.customers("PUT", "user-42", "", key, map[string]string{"name": "Ada King"})
	expect(t, r, 200, "")
	if r.str("customer", "id") != id || r.str("customer", "name") != "Ada King" || r.str("customer", "email") != "ada@example.com" {
		t.Fatalf("updated customer: %s", r.raw)
	}
	// Look it up by the business's own user id.
	got := e.customers("GET", "user-42", "", key, nil)
	expect(t, got, 200, "")
	if got.str("customer", "id") != id || got.str("customer", "name") != "Ada King" {
		t.Fatalf("looked-up customer: %s", got.raw)
	}
	expect(t, e.customers("GET", "user-404", "", key, nil), 404, "customer_not_found")
	// No body: creates a customer known only by its id.
	expect(t, e.customers("PUT", "user-43", "", key, nil), 201, "")

	// The customer a token with that sub names is the same one.
	login := e.login(e.session(), e.sign(claims(map[string]any{"sub": "user-42", "email": "ada@example.com"})))
	expect(t, login, 200, "")
	if login.str("identity", "customer_id") != id {
		t.Fatalf("a token with sub user-42 logged in as %s, want the API's customer %s", login.str("identity", "customer_id"), id)
	}

	// The customer's language: set here (in canonical case), by a login token's locale claim, cleared
	// with "".
	locale := func(want string) {
		t.Helper()
		got := e.customers("GET", "user-42", "", key, nil)
		expect(t, got, 200, "")
		if got.str("customer", "locale") != want {
			t.Errorf("locale = %q; want %q (%s)", got.str("customer", "locale"), want, got.raw)
		}
	}
	locale("")
	expect(t, e.customers("PUT", "user-42", "", key, map[string]string{"locale": "pt-br"}), 200, "")
	locale("pt-BR")
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"sub": "user-42", "locale": "de"}))), 200, "")
	locale("de")
	expect(t, e.customers("PUT", "user-42", "", key, map[string]string{"name": "Ada King"}), 200, "")
	locale("de")
	expect(t, e.customers("PUT", "user-42", "", key, map[string]string{"locale": ""}), 200, "")
	locale("")

	for _, c := range []struct {
		externalID string
		body       any
		status     int
		code       string
	}{
		{"user-42", `{"email": "a@b.example", "email": "c@d.example"}`, 400, "invalid_json"},
		{"user-42", `{"name": 7}`, 422, "invalid_field"},
		{"user-42", `{"nickname": "x"}`, 422, "invalid_field"},
		{"user-42", `[]`, 400, "invalid_json"},
		{"user-42", map[string]string{"email": "not an email"}, 422, "invalid_field"},
		{"user-42", map[string]string{"name": strings.Repeat("n", 500)}, 422, "invalid_field"},
		{"user-42", map[string]string{"name": "a\u0000b"}, 422, "invalid_field"},
		{"user-42", map[string]string{"locale": "deutsch"}, 422, "invalid_field"},
		{"user-42", map[string]string{"locale": "de-DE-x-private"}, 422, "invalid_field"},
		{"user-42", `{"locale": 7}`, 422, "invalid_field"},
		{strings.Repeat("x", 256), nil, 422, "invalid_field"},
		{"tab\tinside", nil, 422, "invalid_field"},
		{" padded", nil, 422, "invalid_field"},
	} {
		r := e.customers("PUT", c.externalID, "", key, c.body)
		if r.status != c.status || r.code() != c.code {
			t.Errorf("PUT %.20q %v: %d %s; want %d %s", c.externalID, c.body, r.status, r.raw, c.status, c.code)
		}
	}
	// Nothing half-written: the failed updates changed nothing.
	c, err := e.st.CustomerByExternalID(context.Background(), e.ws.ID, "user-42")
	if err != nil || c.Name != "Ada Lovelace" && c.Name != "Ada King" || c.Email != "ada@example.com" {
		t.Fatalf("customer after refused updates: %+v, %v", c, err)
	}
	// Wrong method on a real path, and unknown paths, answer in the API's error shape.
	expect(t, e.request("PATCH", "/v1/customers/user-42", key, nil), 404, "not_found")
	expect(t, e.request("GET", "/v1/customers/user-42/nothing-here", key, nil), 404, "not_found")
	expect(t, e.request("POST", "/v1/customers/user-42/login-tokens", key, `{"x": 1}`), 422, "invalid_field")
}

func TestCustomersLoginToken(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()
	expect(t, e.customers("PUT", "user-7", "", key, map[string]string{"email": "grace@example.com", "name": "Grace Hopper"}), 201, "")
	expect(t, e.customers("POST", "nobody", "/login-tokens", key, nil), 404, "customer_not_found")
	if got := e.customers("GET", "user-7", "", key, nil).str("customer", "first_verified_at"); got != "" {
		t.Fatalf("first_verified_at %q before any login, want \"\"", got)
	}

	before := time.Now()
	r := e.customers("POST", "user-7", "/login-tokens", key, nil)
	expect(t, r, 201, "")
	token := r.str("token")
	exp, err := time.Parse(time.RFC3339, r.str("expires_at"))
	if err != nil || exp.Before(before.Add(chat.LoginTokenLifetime-2*time.Second)) || exp.After(time.Now().Add(chat.LoginTokenLifetime+time.Second)) {
		t.Fatalf("expires_at %q (%v); want about %v from now", r.str("expires_at"), err, chat.LoginTokenLifetime)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q on a response carrying a token", r.header.Get("Cache-Control"))
	}

	// The widget logs in with it: verified as the API's customer.
	login := e.login(e.session(), token)
	expect(t, login, 200, "")
	if login.str("identity", "level") != "verified" || login.str("identity", "email") != "grace@example.com" || login.str("identity", "name") != "Grace Hopper" {
		t.Fatalf("login with a customers API token: %s", login.raw)
	}
	// Single use.
	expect(t, e.login(e.session(), token), 401, "token_replayed")
	first := e.customers("GET", "user-7", "", key, nil).str("customer", "first_verified_at")
	if at, err := time.Parse(time.RFC3339, first); err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("first_verified_at %q after the first login (%v)", first, err)
	}

	// Another workspace does not accept it.
	other, err := e.svc.CreateWorkspace(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	fresh := e.customers("POST", "user-7", "/login-tokens", key, nil)
	expect(t, fresh, 201, "")
	r = e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": other.ID})
	expect(t, r, 201, "")
	if l := e.login(r.str("session_token"), fresh.str("token")); l.status != 401 {
		t.Fatalf("another workspace accepted the token: %s", l.raw)
	}

	// Its lifetime never exceeds the workspace's maximum.
	short := time.Minute
	e.update(chat.SettingsPatch{MaxTokenLifetime: &short})
	r = e.customers("POST", "user-7", "/login-tokens", key, nil)
	expect(t, r, 201, "")
	if exp, _ := time.Parse(time.RFC3339, r.str("expires_at")); exp.After(time.Now().Add(short + time.Second)) {
		t.Fatalf("expires_at %s with a 1m maximum lifetime", r.str("expires_at"))
	}
	expect(t, e.login(e.session(), r.str("token")), 200, "")

	// Revoking the server key refuses its tokens; the next issue makes a new key.
	pending := e.customers("POST", "user-7", "/login-tokens", key, nil).str("token")
	keys, _ := e.svc.Keys(context.Background(), e.ws.ID)
	for _, k := range keys {
		if k.Kind == store.KeyServer {
			if _, err := e.svc.RevokeKey(context.Background(), e.ws.ID, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	expect(t, e.login(e.session(), pending), 401, "token_unknown_key")
	r = e.customers("POST", "user-7", "/login-tokens", key, nil)
	expect(t, r, 201, "")
	expect(t, e.login(e.session(), r.str("token")), 200, "")
	if again := e.customers("GET", "user-7", "", key, nil).str("customer", "first_verified_at"); again != first {
		t.Errorf("first_verified_at moved from %q to %q with later logins", first, again)
	}

	// The audit trail shows the API key and the server keys being created.
	events, err := e.svc.AuditEvents(context.Background(), e.ws.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action+" by "+ev.Actor)
	}
	joined := strings.Join(actions, "; ")
	for _, want := range []string{"apikey.created by test", "server_key.created by customers API (ak_", "key.revoked by system"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit trail %q lacks %q", joined, want)
		}
	}
}

func TestCustomersConversationsAndLogout(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()
	expect(t, e.customers("PUT", "user-9", "", key, map[string]string{"email": "ada@example.com"}), 201, "")
	loginAs := func() string {
		t.Helper()
		tok := e.customers("POST", "user-9", "/login-tokens", key, nil)
		expect(t, tok, 201, "")
		r := e.login(e.session(), tok.str("token"))
		expect(t, r, 200, "")
		return r.str("session_token")
	}
	device1, device2 := loginAs(), loginAs()
	expect(t, e.send(device1, "hello from device 1", "c1"), 201, "")

	r := e.customers("GET", "user-9", "/conversations", key, nil)
	expect(t, r, 200, "")
	convs, _ := r.body["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversations: %s", r.raw)
	}
	if got := e.conversations(device2); len(got) != 1 || got[0]["id"] != convs[0].(map[string]any)["id"] {
		t.Fatalf("device 2 sees %v, want the conversation of device 1", got)
	}
	expect(t, e.customers("GET", "nobody", "/conversations", key, nil), 404, "customer_not_found")

	// Another workspace's key knows nothing of this customer.
	other, err := e.svc.CreateWorkspace(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := e.svc.CreateAPIKey(context.Background(), other.ID, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.customers("GET", "user-9", "/conversations", otherKey.Key, nil), 404, "customer_not_found")
	expect(t, e.customers("POST", "user-9", "/logout", otherKey.Key, nil), 404, "customer_not_found")
	expect(t, e.customers("POST", "user-9", "/login-tokens", otherKey.Key, nil), 404, "customer_not_found")

	// Logout ends both devices' sockets; a bystander is untouched.
	c1, c2 := wsConnect(t, e, device1), wsConnect(t, e, device2)
	bystander := e.verified(claims(map[string]any{"sub": "someone-else", "email": "grace@example.com"}))
	cb := wsConnect(t, e, bystander)
	start := time.Now()
	r = e.customers("POST", "user-9", "/logout", key, nil)
	expect(t, r, 200, "")
	if n, _ := r.body["revoked_sessions"].(float64); n != 2 {
		t.Fatalf("revoked_sessions: %s", r.raw)
	}
	for _, c := range []*websocket.Conn{c1, c2} {
		wsSessionEnded(t, wsExpectClose(t, c, 4401, 5*time.Second), "revoked")
	}
	t.Logf("both sockets closed %v after the logout call began", time.Since(start))
	for _, tok := range []string{device1, device2} {
		expect(t, e.request("GET", "/v1/widget/session", tok, nil), 401, "session_invalid")
	}
	sent := apiMessage(t, e.send(bystander, "still here", ""))
	wsNextMessage(t, cb, sent["id"].(string))
	r = e.customers("POST", "user-9", "/logout", key, nil)
	expect(t, r, 200, "")
	if n, _ := r.body["revoked_sessions"].(float64); n != 0 {
		t.Fatalf("second logout: %s", r.raw)
	}
}

func TestCustomersAPIRateLimit(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{CallsPerAPIKey: httpapi.Rate{Every: time.Hour, Burst: 2}}))
	key := e.apiKey()
	var last response
	for range 5 {
		last = e.customers("GET", "nobody", "/conversations", key, nil)
	}
	expect(t, last, http.StatusTooManyRequests, "rate_limited")
	if last.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	// Wrong keys are limited per client address; a good key from the same address is not affected.
	e = newEnv(t, withLimits(httpapi.Limits{BadAPIKeysPerIP: httpapi.Rate{Every: time.Hour, Burst: 3}, CallsPerAPIKey: httpapi.Rate{Every: time.Millisecond, Burst: 100}}))
	key = e.apiKey()
	for i := range 5 {
		r := e.customers("GET", "nobody", "/conversations", fmt.Sprintf("pak_wrong%d", i), nil)
		if i < 3 {
			expect(t, r, 401, "api_key_invalid")
		} else {
			expect(t, r, http.StatusTooManyRequests, "rate_limited")
		}
	}
	expect(t, e.customers("GET", "nobody", "/conversations", key, nil), 404, "customer_not_found")
}
