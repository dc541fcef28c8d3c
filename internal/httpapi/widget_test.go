package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// Tests of the widget HTTP API as docs/api.md describes it, driven through a real listener.

// apiField returns error.field of an error reply.
func apiField(r response) string { return r.str("error", "field") }

// apiExpectField fails unless r is 422 invalid_field naming field.
func apiExpectField(t *testing.T, r response, field string) {
	t.Helper()
	expect(t, r, 422, "invalid_field")
	if got := apiField(r); got != field {
		t.Fatalf("error.field = %q, want %q (%s)", got, field, r.raw)
	}
}

// apiMessage returns the "message" object of a reply.
func apiMessage(t *testing.T, r response) map[string]any {
	t.Helper()
	m, ok := r.body["message"].(map[string]any)
	if !ok {
		t.Fatalf("reply has no message object: %s", r.raw)
	}
	return m
}

// apiCount runs a COUNT query on the environment's database file, to check side effects the API
// cannot show (sessions that must not have been created).
func apiCount(t *testing.T, e *env, query string) int { return dbtest.Count(t, e.st, query) }

// apiFlipLast changes the last character of s.
func apiFlipLast(s string) string {
	if strings.HasSuffix(s, "A") {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}

// apiUnknownToken is well-formed (prefix, length, alphabet) but belongs to no session.
const apiUnknownToken = "pst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func TestWidgetCreateSession(t *testing.T) {
	e := newEnv(t)
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID})
	expect(t, r, 201, "")
	token := r.str("session_token")
	if !strings.HasPrefix(token, "pst_") || len(token) < 4+43 {
		t.Fatalf("session_token %q: want pst_ and at least 256 bits", token)
	}
	if got := r.str("identity", "level"); got != "anonymous" {
		t.Fatalf("identity.level = %q, want anonymous", got)
	}
	if id := r.body["identity"].(map[string]any); len(id) != 1 {
		t.Fatalf("an anonymous identity carries only its level, got %v", id)
	}
	cfg, ok := r.body["config"].(map[string]any)
	if !ok {
		t.Fatalf("no config: %s", r.raw)
	}
	want := map[string]any{
		"workspace": e.ws.ID, "onboarding": false, "first_message": "", "login_url": "",
		"hide_until_login": false, "allowed_email_domains": []any{}, "require_verified": false,
	}
	for k, v := range want {
		got, present := cfg[k]
		if !present {
			t.Errorf("config lacks %q: %s", k, r.raw)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("config.%s = %#v, want %#v", k, got, v)
		}
	}
	if _, isList := cfg["allowed_email_domains"].([]any); !isList {
		t.Errorf("allowed_email_domains must be a JSON array even when empty, got %#v", cfg["allowed_email_domains"])
	}

	// The token works at once, and GET /v1/widget/session shows the same identity and config.
	s := e.request("GET", "/v1/widget/session", token, nil)
	expect(t, s, 200, "")
	if s.str("identity", "level") != "anonymous" || s.str("config", "workspace") != e.ws.ID {
		t.Fatalf("GET session: %s", s.raw)
	}
	// Two sessions never share a token.
	if other := e.session(); other == token {
		t.Fatal("two sessions got the same token")
	}
}

func TestWidgetConfigReflectsSettings(t *testing.T) {
	e := newEnv(t)
	yes, first, login := true, "Hi! Log in at https://shop.example/login", "https://shop.example/login"
	domains := []string{"Example.COM"}
	e.update(chat.SettingsPatch{Onboarding: &yes, FirstMessage: &first, LoginURL: &login, HideUntilLogin: &yes,
		AllowedEmailDomains: &domains, RequireVerified: &yes})
	for _, r := range []response{
		e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}),
		e.request("GET", "/v1/widget/session", e.session(), nil),
	} {
		if r.status/100 != 2 {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		cfg := r.body["config"].(map[string]any)
		if cfg["onboarding"] != true || cfg["first_message"] != first || cfg["login_url"] != login ||
			cfg["hide_until_login"] != true || cfg["require_verified"] != true ||
			fmt.Sprint(cfg["allowed_email_domains"]) != "[example.com]" {
			t.Fatalf("config does not reflect the settings: %v", cfg)
		}
	}
}

func TestWidgetCreateSessionErrors(t *testing.T) {
	e := newEnv(t)
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": "ws_doesnotexist"})
	expect(t, r, 404, "workspace_not_found")
	apiExpectField(t, e.request("POST", "/v1/widget/sessions", "", map[string]string{}), "workspace")
	apiExpectField(t, e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": ""}), "workspace")
	apiExpectField(t, e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": strings.Repeat("w", 65)}), "workspace")
	apiExpectField(t, e.request("POST", "/v1/widget/sessions", "", `{"workspace": 7}`), "workspace")
	if n := apiCount(t, e, "SELECT COUNT(*) FROM sessions"); n != 0 {
		t.Fatalf("refused requests created %d sessions", n)
	}
}

// apiStrictCase is one malformed body and the refusal it must get.
type apiStrictCase struct {
	name        string
	body        string
	contentType string // "" means application/json; "-" means no Content-Type header at all
	status      int
	code        string
	field       string
}

// apiStrictCases are the refusals every JSON endpoint shares; good is a valid body and field one of its members.
func apiStrictCases(good, field, wrongType string) []apiStrictCase {
	return []apiStrictCase{
		{name: "malformed", body: `{"` + field + `": `, status: 400, code: "invalid_json"},
		{name: "not JSON", body: `hello`, status: 400, code: "invalid_json"},
		{name: "empty body", body: ``, status: 400, code: "invalid_json"},
		{name: "array", body: `[` + good + `]`, status: 400, code: "invalid_json"},
		{name: "empty array", body: `[]`, status: 400, code: "invalid_json"},
		{name: "string", body: `"x"`, status: 400, code: "invalid_json"},
		{name: "null", body: `null`, status: 400, code: "invalid_json"},
		{name: "trailing garbage", body: good + ` x`, status: 400, code: "invalid_json"},
		{name: "two objects", body: good + good, status: 400, code: "invalid_json"},
		{name: "trailing comma", body: strings.TrimSuffix(good, "}") + `,}`, status: 400, code: "invalid_json"},
		{name: "invalid UTF-8", body: strings.TrimSuffix(good, "}") + `, "x": "\xff\xfe"}`, status: 400, code: "invalid_json"},
		{name: "invalid UTF-8 in a value", body: `{"` + field + `": "a\xc3"}`, status: 400, code: "invalid_json"},
		{name: "deeply nested", body: `{"` + field + `": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, status: 400, code: "invalid_json"},
		{name: "duplicate member", body: `{"` + field + `": "a", "` + field + `": "b"}`, status: 400, code: "invalid_json"},
		{name: "duplicate member differing in case", body: `{"` + field + `": "a", "` + strings.ToUpper(field) + `": "b"}`, status: 422, code: "invalid_field", field: strings.ToUpper(field)},
		{name: "member name in another case", body: `{"` + strings.ToUpper(field) + `": "a"}`, status: 422, code: "invalid_field", field: strings.ToUpper(field)},
		{name: "unknown field", body: strings.TrimSuffix(good, "}") + `, "admin": true}`, status: 422, code: "invalid_field", field: "admin"},
		{name: "wrong type", body: `{"` + field + `": ` + wrongType + `}`, status: 422, code: "invalid_field", field: field},
		{name: "no Content-Type", body: good, contentType: "-", status: 415, code: "unsupported_media_type"},
		{name: "text/plain", body: good, contentType: "text/plain", status: 415, code: "unsupported_media_type"},
		{name: "form", body: good, contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"},
		{name: "bad media type", body: good, contentType: "application/json;;;=", status: 415, code: "unsupported_media_type"},
		{name: "too large", body: `{"` + field + `": "` + strings.Repeat("a", 64<<10) + `"}`, status: 413, code: "body_too_large"},
	}
}

// apiRaw sends body with an explicit Content-Type ("-" for none).
func apiRaw(e *env, method, path, token, body, contentType string, headers ...string) response {
	e.t.Helper()
	switch contentType {
	case "":
		contentType = "application/json"
	case "-":
		contentType = ""
	}
	// e.request sets application/json whenever there is a body; an empty header value reads as missing.
	return e.request(method, path, token, body, append([]string{"Content-Type", contentType}, headers...)...)
}

func TestWidgetStrictJSON(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	endpoints := []struct {
		path, token, good, field, wrongType string
	}{
		{"/v1/widget/sessions", "", `{"workspace": "` + e.ws.ID + `"}`, "workspace", `["x"]`},
		{"/v1/widget/messages", token, `{"body": "hi", "client_id": "c1"}`, "body", `5`},
		{"/v1/widget/identify", token, `{"name": "Ada", "email": "ada@example.com"}`, "email", `{"a": 1}`},
		{"/v1/widget/login", token, `{"token": "x.y.z"}`, "token", `true`},
	}
	for _, ep := range endpoints {
		for _, c := range apiStrictCases(ep.good, ep.field, ep.wrongType) {
			t.Run(ep.path+"/"+c.name, func(t *testing.T) {
				r := apiRaw(e, "POST", ep.path, ep.token, c.body, c.contentType)
				expect(t, r, c.status, c.code)
				if c.field != "" && apiField(r) != c.field {
					t.Fatalf("error.field = %q, want %q (%s)", apiField(r), c.field, r.raw)
				}
				if r.message() == "" {
					t.Fatalf("error without a message: %s", r.raw)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("error Content-Type = %q", ct)
				}
			})
		}
	}
	// None of those refusals wrote anything: the only session is the one made above, with no
	// conversation, and the token was neither rotated nor upgraded.
	if n := apiCount(t, e, "SELECT COUNT(*) FROM sessions"); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	if n := apiCount(t, e, "SELECT COUNT(*) FROM messages"); n != 0 {
		t.Fatalf("%d messages, want 0", n)
	}
	s := e.request("GET", "/v1/widget/session", token, nil)
	expect(t, s, 200, "")
	if s.str("identity", "level") != "anonymous" {
		t.Fatalf("refused identify changed the session: %s", s.raw)
	}

	// Media type parameters and case do not matter.
	for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON"} {
		r := apiRaw(e, "POST", "/v1/widget/messages", token, `{"body": "hi", "client_id": ""}`, ct)
		expect(t, r, 201, "")
	}
}

func TestWidgetMaxMessageFitsInBody(t *testing.T) {
	// A client that escapes everything outside ASCII (Python's json.dumps does by default) sends a
	// character outside the BMP as a 12-byte surrogate pair; the longest message must still fit.
	e := newEnv(t)
	token := e.session()
	var b strings.Builder
	for range chat.MaxMessageLength {
		for _, u := range utf16.Encode([]rune{'😀'}) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	r := apiRaw(e, "POST", "/v1/widget/messages", token, `{"body": "`+b.String()+`", "client_id": "emoji-1"}`, "")
	expect(t, r, 201, "")
	if got := apiMessage(t, r)["body"].(string); got != strings.Repeat("😀", chat.MaxMessageLength) {
		t.Fatalf("body did not round-trip (%d bytes)", len(got))
	}
}

func TestWidgetSessionInvalid(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	conv := apiMessage(t, e.send(token, "hello", ""))["conversation_id"].(string)
	calls := []struct{ method, path, body string }{
		{"GET", "/v1/widget/session", ""},
		{"GET", "/v1/widget/conversations", ""},
		{"GET", "/v1/widget/conversations/" + conv + "/messages", ""},
		{"POST", "/v1/widget/messages", `{"body": "x", "client_id": ""}`},
		{"POST", "/v1/widget/identify", `{"name": "Ada"}`},
		{"POST", "/v1/widget/logout", `{}`},
		{"POST", "/v1/widget/login", `{"token": "x"}`},
	}
	auths := []struct{ name, header string }{
		{"missing", ""},
		{"garbage", "Bearer garbage"},
		{"unknown pst token", "Bearer " + apiUnknownToken},
		{"token with a byte changed", "Bearer " + apiFlipLast(token)},
		{"token with a suffix", "Bearer " + token + "x"},
		{"no scheme", token},
		{"other scheme", "Basic " + token},
		{"empty bearer", "Bearer "},
	}
	for _, c := range calls {
		for _, a := range auths {
			t.Run(c.method+" "+c.path+"/"+a.name, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				r := e.request(c.method, c.path, "", body, "Authorization", a.header)
				expect(t, r, 401, "session_invalid")
			})
		}
	}
	// The real token still works, and lower-case "bearer" is the same scheme.
	expect(t, e.request("GET", "/v1/widget/session", "", nil, "Authorization", "bearer "+token), 200, "")
	if n := len(e.messages(token, conv, "")); n != 1 {
		t.Fatalf("%d messages, want 1: a refused call wrote something", n)
	}
}

func TestWidgetLogoutEndsToken(t *testing.T) {
	e := newEnv(t)
	old := e.session()
	e.send(old, "hello", "")
	r := e.request("POST", "/v1/widget/logout", old, nil)
	expect(t, r, 200, "")
	fresh := r.str("session_token")
	if fresh == "" || fresh == old || r.str("identity", "level") != "anonymous" {
		t.Fatalf("logout reply: %s", r.raw)
	}
	for _, p := range []string{"/v1/widget/session", "/v1/widget/conversations"} {
		expect(t, e.request("GET", p, old, nil), 401, "session_invalid")
	}
	expect(t, e.send(old, "again", ""), 401, "session_invalid")
	expect(t, e.request("POST", "/v1/widget/logout", old, nil), 401, "session_invalid")
	if convs := e.conversations(fresh); len(convs) != 0 {
		t.Fatalf("the fresh session sees %d conversations of the previous one", len(convs))
	}
}

func TestWidgetMessageBodyValidation(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	cases := []struct {
		name string
		body string
		ok   bool
	}{
		{"empty", "", false},
		{"spaces", "   ", false},
		{"whitespace", " \n\t\r\n ", false},
		{"NUL", "a\u0000b", false},
		{"escape", "a\u001b[31mred", false},
		{"DEL", "a\u007fb", false},
		{"C1 control", "a\u0085b", false},
		{"bidi override", "abc\u202edcba", false},
		{"bidi isolate", "abc\u2066x\u2069", false},
		{"line separator", "a\u2028b", false},
		{"4001 ASCII", strings.Repeat("a", 4001), false},
		{"4001 two-byte", strings.Repeat("é", 4001), false},
		{"4001 three-byte", strings.Repeat("漢", 4001), false},
		{"newlines", "line one\nline two\r\n\tindented", true},
		{"4000 ASCII", strings.Repeat("a", 4000), true},
		{"4000 two-byte", strings.Repeat("é", 4000), true},
		{"4000 three-byte", strings.Repeat("漢", 4000), true},
		{"4000 four-byte", strings.Repeat("😀", 4000), true},
		{"html", `<script>alert("x")</script> & 'y'`, true},
		{"one character", "?", true},
	}
	want := 0
	conv := ""
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.send(token, c.body, "")
			if !c.ok {
				apiExpectField(t, r, "body")
				return
			}
			expect(t, r, 201, "")
			m := apiMessage(t, r)
			if m["body"] != c.body {
				t.Fatalf("body changed on the way: got %d bytes, want %d", len(m["body"].(string)), len(c.body))
			}
			want++
			conv = m["conversation_id"].(string)
		})
	}
	msgs := e.messages(token, conv, "")
	if len(msgs) != want {
		t.Fatalf("%d messages stored, want %d", len(msgs), want)
	}
	// The body is stored exactly as sent, and JSON escaping keeps HTML inert on the wire.
	r := e.request("GET", "/v1/widget/conversations/"+conv+"/messages", token, nil)
	if strings.Contains(string(r.raw), "<script>") {
		t.Fatalf("HTML is not escaped in JSON: %s", r.raw)
	}
}

func TestWidgetMessageShape(t *testing.T) {
	e := newEnv(t)
	anon := e.session()
	before := time.Now().UTC().Add(-time.Second)
	r := e.send(anon, "hi", "c-1")
	expect(t, r, 201, "")
	m := apiMessage(t, r)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"body", "client_id", "conversation_id", "created_at", "id", "sender", "trusted"}; !slices.Equal(keys, want) {
		t.Fatalf("message keys %v, want %v", keys, want)
	}
	if m["sender"] != "customer" || m["body"] != "hi" || m["client_id"] != "c-1" || m["trusted"] != false {
		t.Fatalf("message: %v", m)
	}
	if id := m["id"].(string); id == "" {
		t.Fatal("empty id")
	}
	ts := m["created_at"].(string)
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil || !strings.HasSuffix(ts, "Z") {
		t.Fatalf("created_at %q is not RFC 3339 UTC: %v", ts, err)
	}
	if at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("created_at %s is not now", ts)
	}
	// Without a client id the member is left out.
	m2 := apiMessage(t, e.send(anon, "again", ""))
	if _, has := m2["client_id"]; has {
		t.Fatalf("client_id present without one: %v", m2)
	}
	// The list shows the same shapes as the replies.
	msgs := e.messages(anon, m["conversation_id"].(string), "")
	if len(msgs) != 2 || fmt.Sprint(msgs[0]) != fmt.Sprint(m) || fmt.Sprint(msgs[1]) != fmt.Sprint(m2) {
		t.Fatalf("listed %v, want [%v %v]", msgs, m, m2)
	}
	// The conversation shape.
	convs := e.conversations(anon)
	if len(convs) != 1 || convs[0]["id"] != m["conversation_id"] || convs[0]["status"] != "open" {
		t.Fatalf("conversations: %v", convs)
	}
	for _, k := range []string{"created_at", "last_message_at"} {
		s, _ := convs[0][k].(string)
		if _, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "Z") {
			t.Fatalf("conversation %s = %q, want RFC 3339 UTC", k, s)
		}
	}
}

func TestWidgetMessageTrust(t *testing.T) {
	e := newEnv(t)
	anon := apiMessage(t, e.send(e.session(), "anonymous", ""))
	if anon["trusted"] != false {
		t.Fatalf("anonymous message trusted: %v", anon)
	}
	ver := e.verified(claims(nil))
	m := apiMessage(t, e.send(ver, "verified", ""))
	if m["trusted"] != true {
		t.Fatalf("verified message not trusted: %v", m)
	}
	if got := e.messages(ver, m["conversation_id"].(string), ""); len(got) != 1 || got[0]["trusted"] != true {
		t.Fatalf("stored message: %v", got)
	}
	// An identified (self-claimed) visitor is not trusted either.
	idt := e.request("POST", "/v1/widget/identify", e.session(), map[string]string{"name": "Ada", "email": "ada@example.com"})
	expect(t, idt, 200, "")
	if m := apiMessage(t, e.send(idt.str("session_token"), "claimed", "")); m["trusted"] != false {
		t.Fatalf("identified message trusted: %v", m)
	}
}

func TestWidgetClientIDIdempotent(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	first := e.send(token, "hello", "retry-1")
	expect(t, first, 201, "")
	again := e.send(token, "hello", "retry-1")
	expect(t, again, 200, "")
	m1, m2 := apiMessage(t, first), apiMessage(t, again)
	if fmt.Sprint(m1) != fmt.Sprint(m2) {
		t.Fatalf("retry returned %v, want %v", m2, m1)
	}
	// Even with another body, the client id names the message already sent.
	changed := e.send(token, "hello?", "retry-1")
	expect(t, changed, 200, "")
	if apiMessage(t, changed)["id"] != m1["id"] || apiMessage(t, changed)["body"] != "hello" {
		t.Fatalf("retry with another body: %s", changed.raw)
	}
	// Without a client id nothing is deduplicated.
	expect(t, e.send(token, "hello", ""), 201, "")
	expect(t, e.send(token, "hello", ""), 201, "")
	conv := m1["conversation_id"].(string)
	if msgs := e.messages(token, conv, ""); len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	// Client ids belong to their session: another session using the same one gets its own message
	// and never sees the first session's.
	other := e.session()
	o := e.send(other, "mine", "retry-1")
	expect(t, o, 201, "")
	if om := apiMessage(t, o); om["id"] == m1["id"] || om["body"] != "mine" || om["conversation_id"] == conv {
		t.Fatalf("another session's client id returned %v", om)
	}
	// A retry still returns the message after the session logged in (same session, rotated token).
	ver := e.login(token, e.sign(claims(nil)))
	expect(t, ver, 200, "")
	r := e.send(ver.str("session_token"), "hello", "retry-1")
	expect(t, r, 200, "")
	if apiMessage(t, r)["id"] != m1["id"] {
		t.Fatalf("retry after login: %s", r.raw)
	}
}

func TestWidgetClientIDConcurrent(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	const n = 20
	type result struct {
		status int
		id     string
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", e.srv.URL+"/v1/widget/messages", strings.NewReader(`{"body":"once","client_id":"same-id"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := e.client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer res.Body.Close()
			var body struct {
				Message struct {
					ID string `json:"id"`
				} `json:"message"`
			}
			results[i].status = res.StatusCode
			results[i].err = json.NewDecoder(res.Body).Decode(&body)
			results[i].id = body.Message.ID
		})
	}
	close(start)
	wg.Wait()
	created, repeated := 0, 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		switch r.status {
		case 201:
			created++
		case 200:
			repeated++
		default:
			t.Fatalf("request %d: status %d", i, r.status)
		}
		if r.id == "" || r.id != results[0].id {
			t.Fatalf("request %d got id %q, request 0 got %q", i, r.id, results[0].id)
		}
	}
	if created != 1 || repeated != n-1 {
		t.Fatalf("%d created and %d repeated, want 1 and %d", created, repeated, n-1)
	}
	convs := e.conversations(token)
	if len(convs) != 1 {
		t.Fatalf("%d conversations, want 1", len(convs))
	}
	if msgs := e.messages(token, convs[0]["id"].(string), ""); len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
}

func TestWidgetClientIDConcurrentFirstMessages(t *testing.T) {
	// Concurrent first messages with different client ids all land in one conversation.
	e := newEnv(t)
	token := e.session()
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.srv.URL+"/v1/widget/messages", strings.NewReader(`{"body":"m","client_id":"c`+strconv.Itoa(i)+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			if res, err := e.client.Do(req); err == nil {
				statuses[i] = res.StatusCode
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 201 {
			t.Fatalf("request %d: status %d", i, s)
		}
	}
	convs := e.conversations(token)
	if len(convs) != 1 {
		t.Fatalf("%d conversations, want 1", len(convs))
	}
	if msgs := e.messages(token, convs[0]["id"].(string), ""); len(msgs) != 10 {
		t.Fatalf("%d messages, want 10", len(msgs))
	}
}

func TestWidgetClientIDInvalid(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	for _, id := range []string{"has space", " lead", "tab\tid", "slash/id", "ünïcode", "quote\"", strings.Repeat("a", 65), "emoji😀"} {
		apiExpectField(t, e.send(token, "hi", id), "client_id")
	}
	for _, id := range []string{strings.Repeat("a", 64), "A-z_0.9:x", "550e8400-e29b-41d4-a716-446655440000"} {
		expect(t, e.send(token, "hi", id), 201, "")
	}
	if n := apiCount(t, e, "SELECT COUNT(*) FROM messages"); n != 3 {
		t.Fatalf("%d messages, want 3", n)
	}
}

// apiSendN sends n messages and returns their ids and the conversation id.
func apiSendN(t *testing.T, e *env, token string, n int) ([]string, string) {
	t.Helper()
	var ids []string
	conv := ""
	for i := range n {
		r := e.send(token, "message "+strconv.Itoa(i), "")
		expect(t, r, 201, "")
		m := apiMessage(t, r)
		ids = append(ids, m["id"].(string))
		conv = m["conversation_id"].(string)
	}
	return ids, conv
}

func apiIDs(msgs []map[string]any) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i], _ = m["id"].(string)
	}
	return out
}

func TestWidgetMessagesAfter(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	ids, conv := apiSendN(t, e, token, 5)
	if !slices.IsSorted(ids) {
		t.Fatalf("ids do not sort as strings in send order: %v", ids)
	}
	if got := apiIDs(e.messages(token, conv, "")); !slices.Equal(got, ids) {
		t.Fatalf("all: %v, want %v", got, ids)
	}
	if got := apiIDs(e.messages(token, conv, ids[1])); !slices.Equal(got, ids[2:]) {
		t.Fatalf("after the 2nd: %v, want %v", got, ids[2:])
	}
	if got := e.messages(token, conv, ids[4]); len(got) != 0 {
		t.Fatalf("after the last: %v, want none", got)
	}
	// The list is an empty array, not null.
	r := e.request("GET", "/v1/widget/conversations/"+conv+"/messages?after="+ids[4], token, nil)
	if !strings.Contains(string(r.raw), `"messages":[]`) {
		t.Fatalf("empty page: %s", r.raw)
	}
	// An agent reply sorts after the customer's messages and is seen on resume.
	agent, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, "agent-1", conv, "reply", "")
	if err != nil {
		t.Fatal(err)
	}
	got := e.messages(token, conv, ids[4])
	if len(got) != 1 || got[0]["sender"] != "agent" || got[0]["body"] != "reply" || got[0]["id"].(string) <= ids[4] || got[0]["id"] != chat.MessageID(agent) {
		t.Fatalf("after an agent reply: %v", got)
	}

	for _, bad := range []string{"x", "msg_", "msg_123", "msg_000000000000000A", "msg_zzzzzzzzzzzzzzzz", "MSG_0000000000000001", "-1", "msg_0000000000000001x"} {
		apiExpectField(t, e.request("GET", "/v1/widget/conversations/"+conv+"/messages?after="+bad, token, nil), "after")
	}
}

func TestWidgetMessagesLimit(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	ids, conv := apiSendN(t, e, token, 5)
	page := func(q string) []string {
		t.Helper()
		r := e.request("GET", "/v1/widget/conversations/"+conv+"/messages?"+q, token, nil)
		expect(t, r, 200, "")
		var out []string
		for _, m := range r.body["messages"].([]any) {
			out = append(out, m.(map[string]any)["id"].(string))
		}
		return out
	}
	if got := page("limit=2"); !slices.Equal(got, ids[:2]) {
		t.Fatalf("limit=2: %v", got)
	}
	if got := page("limit=2&after=" + ids[1]); !slices.Equal(got, ids[2:4]) {
		t.Fatalf("limit=2 after the 2nd: %v", got)
	}
	if got := page("limit=500"); !slices.Equal(got, ids) {
		t.Fatalf("limit=500: %v", got)
	}
	// Paging with limit and after walks every message exactly once.
	var all []string
	after := ""
	for range 10 {
		q := "limit=2"
		if after != "" {
			q += "&after=" + after
		}
		p := page(q)
		if len(p) == 0 {
			break
		}
		all = append(all, p...)
		after = p[len(p)-1]
	}
	if !slices.Equal(all, ids) {
		t.Fatalf("paged: %v, want %v", all, ids)
	}
	for _, bad := range []string{"0", "-1", "501", "x", "1.5", "1e2", "%20"} {
		apiExpectField(t, e.request("GET", "/v1/widget/conversations/"+conv+"/messages?limit="+bad, token, nil), "limit")
	}
}

func TestWidgetConversationNotFound(t *testing.T) {
	e := newEnv(t)
	owner := e.session()
	conv := apiMessage(t, e.send(owner, "private", ""))["conversation_id"].(string)

	ctx := context.Background()
	ws2, err := e.svc.CreateWorkspace(ctx, "Other Shop")
	if err != nil {
		t.Fatal(err)
	}
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": ws2.ID})
	expect(t, r, 201, "")
	foreign := r.str("session_token")
	stranger := e.session()
	verifiedStranger := e.verified(claims(map[string]any{"sub": "someone-else", "email": "eve@example.com"}))

	// What a random id gets is the reference: the other cases must be indistinguishable from it.
	const randomID = "cv_aaaaaaaaaaaaaaaa"
	ref := e.request("GET", "/v1/widget/conversations/"+randomID+"/messages", stranger, nil)
	expect(t, ref, 404, "conversation_not_found")
	for name, token := range map[string]string{"other session": stranger, "other workspace": foreign, "verified stranger": verifiedStranger} {
		for _, q := range []string{"", "?after=msg_0000000000000000", "?limit=1"} {
			r := e.request("GET", "/v1/widget/conversations/"+conv+"/messages"+q, token, nil)
			expect(t, r, 404, "conversation_not_found")
			if got, want := strings.ReplaceAll(r.message(), conv, randomID), ref.message(); got != want {
				t.Fatalf("%s: message %q differs from a random id's %q", name, r.message(), want)
			}
		}
		if convs := e.conversations(token); len(convs) != 0 {
			t.Fatalf("%s lists %v", name, convs)
		}
	}
	// Malformed ids are not found either (never a 500).
	for _, id := range []string{"x", "%00", strings.Repeat("c", 300), "cv_..%2F"} {
		expect(t, e.request("GET", "/v1/widget/conversations/"+id+"/messages", stranger, nil), 404, "conversation_not_found")
	}
	// The owner still reads it.
	if msgs := e.messages(owner, conv, ""); len(msgs) != 1 {
		t.Fatalf("owner sees %d messages", len(msgs))
	}
}

func TestWidgetPolicies(t *testing.T) {
	yes := true
	t.Run("require_verified", func(t *testing.T) {
		e := newEnv(t)
		login := "https://shop.example/login"
		e.update(chat.SettingsPatch{RequireVerified: &yes, LoginURL: &login})
		anon := e.session()
		r := e.send(anon, "hi", "")
		expect(t, r, 403, "verification_required")
		if !strings.Contains(r.message(), login) {
			t.Fatalf("message does not point to the login URL: %q", r.message())
		}
		idt := e.request("POST", "/v1/widget/identify", anon, map[string]string{"name": "Ada", "email": "ada@example.com"})
		expect(t, idt, 200, "")
		expect(t, e.send(idt.str("session_token"), "hi", ""), 403, "verification_required")
		expect(t, e.send(e.verified(claims(nil)), "hi", ""), 201, "")
		if n := apiCount(t, e, "SELECT COUNT(*) FROM conversations"); n != 1 {
			t.Fatalf("%d conversations, want 1 (refused sends must not start one)", n)
		}
	})
	t.Run("onboarding", func(t *testing.T) {
		e := newEnv(t)
		e.update(chat.SettingsPatch{Onboarding: &yes})
		anon := e.session()
		expect(t, e.send(anon, "hi", ""), 403, "identification_required")
		if n := apiCount(t, e, "SELECT COUNT(*) FROM conversations"); n != 0 {
			t.Fatalf("%d conversations after a refused send", n)
		}
		idt := e.request("POST", "/v1/widget/identify", anon, map[string]string{"name": "Ada", "email": "ada@example.com"})
		expect(t, idt, 200, "")
		expect(t, e.send(idt.str("session_token"), "hi", ""), 201, "")
		// A verified visitor never needs the form.
		expect(t, e.send(e.verified(claims(nil)), "hi", ""), 201, "")
	})
	t.Run("hide_until_login", func(t *testing.T) {
		e := newEnv(t)
		e.update(chat.SettingsPatch{HideUntilLogin: &yes})
		expect(t, e.send(e.session(), "hi", ""), 403, "verification_required")
		expect(t, e.send(e.verified(claims(nil)), "hi", ""), 201, "")
	})
	t.Run("allowed_email_domains", func(t *testing.T) {
		e := newEnv(t)
		domains := []string{"example.com"}
		e.update(chat.SettingsPatch{AllowedEmailDomains: &domains})
		anon := e.session()
		expect(t, e.send(anon, "hi", ""), 403, "verification_required")
		// Claiming an email of the domain grants nothing.
		idt := e.request("POST", "/v1/widget/identify", anon, map[string]string{"email": "ada@example.com"})
		expect(t, idt, 200, "")
		expect(t, e.send(idt.str("session_token"), "hi", ""), 403, "verification_required")
		expect(t, e.send(e.verified(claims(nil)), "hi", ""), 201, "")
	})
	t.Run("turned off again", func(t *testing.T) {
		e := newEnv(t)
		no := false
		e.update(chat.SettingsPatch{RequireVerified: &yes})
		anon := e.session()
		expect(t, e.send(anon, "hi", ""), 403, "verification_required")
		e.update(chat.SettingsPatch{RequireVerified: &no})
		expect(t, e.send(anon, "hi", ""), 201, "")
	})
}

func TestWidgetIdentify(t *testing.T) {
	e := newEnv(t)
	anon := e.session()
	r := e.request("POST", "/v1/widget/identify", anon, map[string]string{"name": "Ada Lovelace", "email": "  Ada@Example.COM ", "phone": "+44 20 0000"})
	expect(t, r, 200, "")
	if r.str("identity", "level") != "identified" {
		t.Fatalf("identify reply: %s", r.raw)
	}
	if got := r.str("identity", "email"); got != "ada@example.com" {
		t.Fatalf("email %q, want the canonical ada@example.com", got)
	}
	if r.str("identity", "name") != "Ada Lovelace" || r.str("identity", "first_name") != "Ada" {
		t.Fatalf("identify reply: %s", r.raw)
	}
	if _, has := r.body["identity"].(map[string]any)["customer_id"]; has {
		t.Fatalf("an identified visitor has no customer: %s", r.raw)
	}
	token := r.str("session_token")
	if !strings.HasPrefix(token, "pst_") || token == anon {
		t.Fatalf("identify must rotate the token on a level change: %q", token)
	}
	expect(t, e.request("GET", "/v1/widget/session", anon, nil), 401, "session_invalid")
	s := e.request("GET", "/v1/widget/session", token, nil)
	expect(t, s, 200, "")
	if s.str("identity", "level") != "identified" || s.str("identity", "email") != "ada@example.com" {
		t.Fatalf("GET session after identify: %s", s.raw)
	}
	// Adding a name keeps the level, so the token stays.
	r2 := e.request("POST", "/v1/widget/identify", token, map[string]string{"name": "Ada L."})
	expect(t, r2, 200, "")
	if r2.str("session_token") != token || r2.str("identity", "email") != "ada@example.com" || r2.str("identity", "name") != "Ada L." {
		t.Fatalf("second identify: %s", r2.raw)
	}

	for _, bad := range []string{"not-an-email", "a@", "@b.c", "a@@b.c", "a b@c.d", "a@b..c", "<a@b.c>"} {
		apiExpectField(t, e.request("POST", "/v1/widget/identify", e.session(), map[string]string{"email": bad}), "email")
	}
	apiExpectField(t, e.request("POST", "/v1/widget/identify", e.session(), map[string]string{}), "name")
	apiExpectField(t, e.request("POST", "/v1/widget/identify", e.session(), map[string]string{"name": "a\u202eb"}), "name")
	apiExpectField(t, e.request("POST", "/v1/widget/identify", e.session(), map[string]string{"name": strings.Repeat("n", 201)}), "name")

	ver := e.verified(claims(nil))
	expect(t, e.request("POST", "/v1/widget/identify", ver, map[string]string{"name": "Mallory", "email": "mallory@example.com"}), 409, "already_verified")
	s = e.request("GET", "/v1/widget/session", ver, nil)
	if s.str("identity", "level") != "verified" || s.str("identity", "email") != "ada@example.com" {
		t.Fatalf("identify changed a verified session: %s", s.raw)
	}
}

// apiOrigin is a request from a browser page on origin.
func apiOrigin(e *env, method, path, token string, body any, origin string) response {
	e.t.Helper()
	if origin == "" {
		return e.request(method, path, token, body)
	}
	return e.request(method, path, token, body, "Origin", origin)
}

func TestWidgetCORSPreflight(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v1/widget/messages", "/v1/widget/sessions", "/v1/widget/conversations/cv_x/messages"} {
		req, _ := http.NewRequest("OPTIONS", e.srv.URL+path, nil)
		req.Header.Set("Origin", "https://shop.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 204 {
			t.Fatalf("%s preflight: %d", path, res.StatusCode)
		}
		h := res.Header
		if h.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Fatalf("Allow-Origin %q", h.Get("Access-Control-Allow-Origin"))
		}
		allowed := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
		for _, want := range []string{"authorization", "content-type"} {
			if !strings.Contains(allowed, want) {
				t.Fatalf("Allow-Headers %q lacks %s", allowed, want)
			}
		}
		if methods := h.Get("Access-Control-Allow-Methods"); !strings.Contains(methods, "POST") || !strings.Contains(methods, "GET") {
			t.Fatalf("Allow-Methods %q", methods)
		}
		if !slices.Contains(h.Values("Vary"), "Origin") {
			t.Fatalf("Vary %v lacks Origin", h.Values("Vary"))
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatal("credentials must not be allowed: the widget authenticates with a bearer token")
		}
	}
	// A response read by the page exposes Retry-After and carries the origin even on errors.
	r := apiOrigin(e, "GET", "/v1/widget/session", "", nil, "https://shop.example")
	expect(t, r, 401, "session_invalid")
	if r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("error reply without Allow-Origin: %v", r.header)
	}
	if !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Fatalf("Retry-After is not exposed: %v", r.header)
	}
}

func TestWidgetAllowedOrigins(t *testing.T) {
	e := newEnv(t)
	// A session made before the origins were restricted is bound by them too.
	early := e.session()
	e.update(chat.SettingsPatch{AllowedOrigins: &[]string{"https://shop.example"}})

	const good, evil = "https://shop.example", "https://evil.example"
	r := apiOrigin(e, "POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}, good)
	expect(t, r, 201, "")
	if r.header.Get("Access-Control-Allow-Origin") != good {
		t.Fatalf("Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
	}
	token := r.str("session_token")
	sent := apiOrigin(e, "POST", "/v1/widget/messages", token, map[string]string{"body": "hi", "client_id": ""}, good)
	expect(t, sent, 201, "")
	conv := apiMessage(t, sent)["conversation_id"].(string)

	sessions := apiCount(t, e, "SELECT COUNT(*) FROM sessions")
	messages := apiCount(t, e, "SELECT COUNT(*) FROM messages")

	for _, origin := range []string{evil, "https://shop.example.evil.example", "http://shop.example", "https://shop.example:8443", "null", "https://shop.example.", "https://user@shop.example"} {
		t.Run(origin, func(t *testing.T) {
			expect(t, apiOrigin(e, "POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}, origin), 403, "origin_not_allowed")
			for _, tok := range []string{token, early} {
				expect(t, apiOrigin(e, "GET", "/v1/widget/session", tok, nil, origin), 403, "origin_not_allowed")
				expect(t, apiOrigin(e, "GET", "/v1/widget/conversations", tok, nil, origin), 403, "origin_not_allowed")
				expect(t, apiOrigin(e, "GET", "/v1/widget/conversations/"+conv+"/messages", tok, nil, origin), 403, "origin_not_allowed")
				expect(t, apiOrigin(e, "POST", "/v1/widget/messages", tok, map[string]string{"body": "evil", "client_id": ""}, origin), 403, "origin_not_allowed")
				expect(t, apiOrigin(e, "POST", "/v1/widget/identify", tok, map[string]string{"name": "Eve"}, origin), 403, "origin_not_allowed")
				expect(t, apiOrigin(e, "POST", "/v1/widget/login", tok, map[string]string{"token": e.sign(claims(nil))}, origin), 403, "origin_not_allowed")
				expect(t, apiOrigin(e, "POST", "/v1/widget/logout", tok, nil, origin), 403, "origin_not_allowed")
			}
		})
	}
	// Nothing was created, rotated or revoked by the refused calls.
	if n := apiCount(t, e, "SELECT COUNT(*) FROM sessions"); n != sessions {
		t.Fatalf("%d sessions, was %d", n, sessions)
	}
	if n := apiCount(t, e, "SELECT COUNT(*) FROM messages"); n != messages {
		t.Fatalf("%d messages, was %d", n, messages)
	}
	if n := apiCount(t, e, "SELECT COUNT(*) FROM customers"); n != 0 {
		t.Fatalf("a refused login created %d customers", n)
	}
	s := e.request("GET", "/v1/widget/session", token, nil)
	expect(t, s, 200, "")
	if s.str("identity", "level") != "anonymous" {
		t.Fatalf("refused identify/login changed the session: %s", s.raw)
	}

	// Without Origin the caller is not a browser page (server to server): allowed.
	expect(t, e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}), 201, "")
	expect(t, e.request("GET", "/v1/widget/conversations", token, nil), 200, "")
	// Origins compare canonically.
	for _, origin := range []string{"https://SHOP.example:443", "HTTPS://shop.EXAMPLE"} {
		expect(t, apiOrigin(e, "POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}, origin), 201, "")
		expect(t, apiOrigin(e, "GET", "/v1/widget/conversations", token, nil, origin), 200, "")
	}
	// Another workspace without restrictions accepts any origin.
	ws2, err := e.svc.CreateWorkspace(context.Background(), "Open Shop")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, apiOrigin(e, "POST", "/v1/widget/sessions", "", map[string]string{"workspace": ws2.ID}, evil), 201, "")
}

// apiRetryAfter checks a 429 and returns its Retry-After seconds.
func apiRetryAfter(t *testing.T, r response) int {
	t.Helper()
	expect(t, r, 429, "rate_limited")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q, want whole seconds >= 1", r.header.Get("Retry-After"))
	}
	return secs
}

func TestWidgetRateLimits(t *testing.T) {
	limits := httpapi.Limits{
		SessionsPerIP:      httpapi.Rate{Every: time.Hour, Burst: 3},
		LoginsPerIP:        httpapi.Rate{Every: time.Hour, Burst: 2},
		MessagesPerSession: httpapi.Rate{Every: time.Hour, Burst: 2},
	}
	t.Run("sessions", func(t *testing.T) {
		e := newEnv(t, withLimits(limits))
		for range 3 {
			e.session()
		}
		r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID})
		if secs := apiRetryAfter(t, r); secs > 3600 {
			t.Fatalf("Retry-After %d exceeds the refill interval", secs)
		}
		if n := apiCount(t, e, "SELECT COUNT(*) FROM sessions"); n != 3 {
			t.Fatalf("%d sessions, want 3", n)
		}
	})
	t.Run("logins", func(t *testing.T) {
		e := newEnv(t, withLimits(limits))
		a, b := e.session(), e.session()
		expect(t, e.login(a, e.sign(claims(nil))), 200, "")
		expect(t, e.login(b, "not-a-token"), 401, "token_malformed") // failures count too
		apiRetryAfter(t, e.login(b, e.sign(claims(nil))))
		s := e.request("GET", "/v1/widget/session", b, nil)
		expect(t, s, 200, "")
		if s.str("identity", "level") != "anonymous" {
			t.Fatalf("a rate-limited login changed the session: %s", s.raw)
		}
	})
	t.Run("messages", func(t *testing.T) {
		e := newEnv(t, withLimits(limits))
		a, b := e.session(), e.session()
		expect(t, e.send(a, "1", ""), 201, "")
		expect(t, e.send(a, "2", ""), 201, "")
		apiRetryAfter(t, e.send(a, "3", ""))
		// The limit is per session.
		expect(t, e.send(b, "1", ""), 201, "")
		convs := e.conversations(a)
		if n := len(e.messages(a, convs[0]["id"].(string), "")); n != 2 {
			t.Fatalf("%d messages, want 2", n)
		}
	})
}

func TestAPIHealthAndNotFound(t *testing.T) {
	e := newEnv(t)
	r := e.request("GET", "/healthz", "", nil)
	expect(t, r, 200, "")
	if r.str("status") != "ok" {
		t.Fatalf("healthz: %s", r.raw)
	}
	expect(t, e.request("GET", "/readyz", "", nil), 200, "")
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/nope"},
		{"POST", "/v1/widget/nope"},
		{"GET", "/v1/widget/sessions/extra"},
		{"DELETE", "/v1/widget/session"},
		{"GET", "/v1/widget/messages"},
	} {
		r := e.request(c.method, c.path, "", nil)
		expect(t, r, 404, "not_found")
		if r.message() == "" {
			t.Fatalf("%s %s: no message", c.method, c.path)
		}
	}
	if r := e.request("GET", "/v1/nope", "", nil); r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("nosniff missing: %v", r.header)
	}
}

// The config carries the widget's look, defaults filled in and the text colour derived, and the
// business's texts: the default language's at the top level, the others under texts by tag.
func TestWidgetConfigAppearanceAndTexts(t *testing.T) {
	e := newEnv(t)
	cfgOf := func(r response) map[string]any {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		return r.body["config"].(map[string]any)
	}
	get := func() map[string]any {
		return cfgOf(e.request("GET", "/v1/widget/config?workspace="+e.ws.ID, "", nil))
	}
	def := get()
	if fmt.Sprint(def["appearance"]) != "map[brand_color:#1d4ed8 launcher_label: logo_url: position:right text_color:#ffffff theme:light]" ||
		fmt.Sprint(def["texts"]) != "map[]" || def["greeting"] != "" || def["away_notice"] != "" || def["onboarding_intro"] != "" {
		t.Fatalf("default config: %v", def)
	}
	s := func(v string) *string { return &v }
	e.update(chat.SettingsPatch{Appearance: &chat.AppearancePatch{BrandColor: s("#FDE047"), Position: s("left"),
		LauncherLabel: s("Fragen?"), Theme: s("auto"), LogoURL: s("https://cdn.acme.example/logo.png")}})
	e.update(chat.SettingsPatch{Texts: &chat.TextsPatch{Greeting: s("Welcome!"), FirstMessage: s("How can we help?"), AwayNotice: s("Back soon."), OnboardingIntro: s("Who are you?")}})
	e.update(chat.SettingsPatch{Texts: &chat.TextsPatch{Locale: "de", Greeting: s("Willkommen!"), AwayNotice: s("Bald zurück.")}})
	for _, cfg := range []map[string]any{get(), cfgOf(e.request("GET", "/v1/widget/session", e.session(), nil))} {
		if got := fmt.Sprint(cfg["appearance"]); got != "map[brand_color:#fde047 launcher_label:Fragen? logo_url:https://cdn.acme.example/logo.png position:left text_color:#111827 theme:auto]" {
			t.Errorf("appearance = %s", got)
		}
		if cfg["greeting"] != "Welcome!" || cfg["first_message"] != "How can we help?" || cfg["away_notice"] != "Back soon." || cfg["onboarding_intro"] != "Who are you?" {
			t.Errorf("base texts: %v", cfg)
		}
		if got := fmt.Sprint(cfg["texts"]); got != "map[de:map[away_notice:Bald zurück. first_message: greeting:Willkommen! onboarding_intro:]]" {
			t.Errorf("texts = %s", got)
		}
	}
}
