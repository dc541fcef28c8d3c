package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// env is one running Parley: a real SQLite file, the real handler behind a real listener.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	svc    *chat.Service
	hub    *realtime.Hub
	api    *httpapi.API
	st     store.Store
	ws     store.Workspace
	key    chat.NewKey
	client *http.Client
	// openAPI checks every /v1/ response against openapi.json; loaded on the first request.
	openAPI *openAPI
}

type envOption func(*httpapi.Config)

func withLimits(l httpapi.Limits) envOption { return func(c *httpapi.Config) { c.Limits = l } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	st := dbtest.Open(t) // SQLite, or PostgreSQL with PARLEY_TEST_STORE=postgres
	hub := realtime.NewHub()
	// The operator allows loopback for JWKS URLs (serve's --jwks-allow-networks): the tests' identity
	// providers listen there.
	jwks := identity.NewJWKSFetcher(identity.JWKSOptions{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	svc := chattest.Start(t, chat.Config{Store: st, Events: hub, JWKS: jwks}, hub)
	cfg := httpapi.Config{Chat: svc, Events: hub}
	for _, o := range opts {
		o(&cfg)
	}
	api := httpapi.New(cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		api.Shutdown(ctx)
		srv.Close()
	})
	e := &env{t: t, srv: srv, svc: svc, hub: hub, api: api, st: st, client: srv.Client()}
	var err error
	if e.ws, err = svc.CreateWorkspace(ctx, "Acme Bank"); err != nil {
		t.Fatal(err)
	}
	if e.key, err = svc.CreateKey(ctx, e.ws.ID, "HS256"); err != nil {
		t.Fatal(err)
	}
	return e
}

// update changes the workspace's settings.
func (e *env) update(p chat.SettingsPatch) {
	e.t.Helper()
	ws, err := e.svc.UpdateWorkspace(context.Background(), e.ws.ID, p)
	if err != nil {
		e.t.Fatal(err)
	}
	e.ws = ws
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// code returns the error code of an error reply.
func (r response) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r response) message() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["message"].(string)
		return s
	}
	return ""
}

func (r response) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// request sends a request; body may be nil, a string (sent raw) or a value (sent as JSON).
func (e *env) request(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	var sent []byte // the body, for checking an accepted request against openapi.json
	switch b := body.(type) {
	case nil:
	case string:
		rd, sent = strings.NewReader(b), []byte(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd, sent = bytes.NewReader(data), data
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if e.openAPI == nil {
		e.openAPI = loadOpenAPI(e.t)
	}
	e.openAPI.checkExchange(e.t, req, sent, res, raw)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return r
}

// expect fails unless r has the given status (and, for errors, code).
func expect(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("got %d %q (%s), want %d %q", r.status, r.code(), r.raw, status, code)
	}
}

// session creates an anonymous widget session and returns its token.
func (e *env) session() string {
	e.t.Helper()
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID})
	expect(e.t, r, 201, "")
	return r.str("session_token")
}

// claims returns a valid claim set for the environment's workspace.
func claims(extra map[string]any) jwt.MapClaims {
	now := float64(time.Now().UnixMilli()) / 1000
	c := jwt.MapClaims{"sub": "user-1", "email": "ada@example.com", "name": "Ada Lovelace", "iat": now, "exp": now + 300}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign signs claims with the environment's key (kid in the header).
func (e *env) sign(c jwt.MapClaims) string {
	return signWith(e.t, "HS256", e.key.ID, e.key.Secret, c)
}

func signWith(t *testing.T, alg, kid, secret string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// login posts a token with the session; it returns the reply.
func (e *env) login(session, token string) response {
	e.t.Helper()
	return e.request("POST", "/v1/widget/login", session, map[string]string{"token": token})
}

// verified creates a session and logs it in with claims, returning the new session token.
func (e *env) verified(c jwt.MapClaims) string {
	e.t.Helper()
	r := e.login(e.session(), e.sign(c))
	expect(e.t, r, 200, "")
	return r.str("session_token")
}

// send posts a message and returns the reply.
func (e *env) send(session, body, clientID string) response {
	e.t.Helper()
	return e.request("POST", "/v1/widget/messages", session, map[string]string{"body": body, "client_id": clientID})
}

// conversations lists a session's conversations.
func (e *env) conversations(session string) []map[string]any {
	e.t.Helper()
	r := e.request("GET", "/v1/widget/conversations", session, nil)
	expect(e.t, r, 200, "")
	var out []map[string]any
	for _, c := range r.body["conversations"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

// messages lists a conversation's messages as the session sees them.
func (e *env) messages(session, conversationID, after string) []map[string]any {
	e.t.Helper()
	path := "/v1/widget/conversations/" + conversationID + "/messages"
	if after != "" {
		path += "?after=" + after
	}
	r := e.request("GET", path, session, nil)
	expect(e.t, r, 200, "")
	var out []map[string]any
	for _, m := range r.body["messages"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

// events reads a conversation's timeline event types straight from the store.
func (e *env) events(conversationID string) []store.Event {
	e.t.Helper()
	evs, err := e.st.Events(context.Background(), conversationID)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
