package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// widgetFuzzPaths are the widget calls that take a JSON body; the fuzzer picks one by index.
var widgetFuzzPaths = []string{"/v1/widget/messages", "/v1/widget/identify", "/v1/widget/login", "/v1/widget/sessions"}

// Placeholders in a fuzzed body that the harness fills in, so that mutations of a seed can still reach
// the paths behind a valid workspace id or a valid signed token.
const (
	fuzzWorkspace = "@WS@"    // the workspace id
	fuzzLogin     = "@LOGIN@" // a fresh login token signed with the workspace's key
)

// widgetFuzzer is one Parley (a real SQLite file, the real handler, no listener: requests go straight
// to ServeHTTP for speed) and the anonymous session the fuzzed requests use. It is newEnv for a
// *testing.F. Limits are the zero value: no rate limits.
type widgetFuzzer struct {
	api *httpapi.API
	svc *chat.Service
	st  store.Store
	ws  store.Workspace
	key chat.NewKey

	token     string // the current anonymous session
	sessionID string
	checked   map[string]int64 // conversation id → highest message Seq already checked
}

func newWidgetFuzzer(f *testing.F) *widgetFuzzer {
	f.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	hub := realtime.NewHub()
	svc := chat.New(chat.Config{Store: st, Events: hub})
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub})
	f.Cleanup(func() {
		api.Shutdown(ctx)
		st.Close()
	})
	z := &widgetFuzzer{api: api, svc: svc, st: st, checked: map[string]int64{}}
	if z.ws, err = svc.CreateWorkspace(ctx, "Fuzz Bank"); err != nil {
		f.Fatal(err)
	}
	if z.key, err = svc.CreateKey(ctx, z.ws.ID, "HS256"); err != nil {
		f.Fatal(err)
	}
	if err := z.newSession(); err != nil {
		f.Fatal(err)
	}
	return z
}

// newSession replaces the current session with a fresh anonymous one. The harness does this after a
// call changed the session's identity, so that every input starts from an anonymous session.
func (z *widgetFuzzer) newSession() error {
	token, v, err := z.svc.CreateSession(context.Background(), z.ws.ID)
	if err != nil {
		return err
	}
	z.token, z.sessionID = token, v.Session.ID
	return nil
}

func (z *widgetFuzzer) loginToken() string {
	now := float64(time.Now().UnixMilli()) / 1000
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "fuzz-user", "email": "fuzz@example.com", "name": "Fuzz", "iat": now, "exp": now + 300,
	})
	tok.Header["kid"] = z.key.ID
	s, err := tok.SignedString([]byte(z.key.Secret))
	if err != nil {
		panic(err)
	}
	return s
}

// checkStored fails if any message of the session's conversations not yet checked breaks the message
// rules, whatever the reply said: a refused request must not have written anything invalid either.
func (z *widgetFuzzer) checkStored(t *testing.T, sessionID string) {
	t.Helper()
	ctx := context.Background()
	convs, err := z.st.Conversations(ctx, store.Owner{SessionID: sessionID})
	if err != nil {
		t.Fatalf("list conversations: %v", err)
	}
	for _, c := range convs {
		msgs, err := z.st.Messages(ctx, c.ID, z.checked[c.ID], 1000)
		if err != nil {
			t.Fatalf("list messages: %v", err)
		}
		for _, m := range msgs {
			checkMessageBody(t, "stored", m.Body)
			z.checked[c.ID] = m.Seq
		}
	}
}

func checkMessageBody(t *testing.T, where, body string) {
	t.Helper()
	if strings.TrimSpace(body) == "" || !utf8.ValidString(body) || utf8.RuneCountInString(body) > chat.MaxMessageLength {
		t.Fatalf("%s message body is empty, invalid or too long: %d runes, %.80q", where, utf8.RuneCountInString(body), body)
	}
}

func FuzzWidgetRequest(f *testing.F) {
	z := newWidgetFuzzer(f)
	seeds := []struct {
		path int
		body string
	}{
		{0, `{"body":"Hello, I need help with my card","client_id":"c-1"}`},
		{0, `{"body":"Hello again","client_id":"c-1"}`},
		{0, `{"body":"line one\nline two\ttab"}`},
		{0, `{"body":"` + strings.Repeat("é", 4000) + `"}`},
		{0, `{"body":"` + strings.Repeat("x", 4001) + `"}`},
		{0, `{"body":"   "}`},
		{0, `{"body":""}`},
		{0, `{"body":"\u202eevil"}`},
		{0, `{"body":"a\u0000b"}`},
		{0, `{"body":"x","client_id":"no spaces allowed"}`},
		{0, `{"body":"x","BODY":"y"}`},
		{0, `{"body":"x","body":"y"}`},
		{0, `{"body":1}`},
		{0, `{"body":"x","extra":true}`},
		{0, `[]`},
		{0, ``},
		{1, `{"name":"Ada","email":"ada@example.com","phone":"+44 20 7946 0000"}`},
		{1, `{"email":"Ada@Example.COM"}`},
		{1, `{"email":"not an email"}`},
		{1, `{}`},
		{1, `{"name":"` + strings.Repeat("n", 300) + `"}`},
		{2, `{"token":"` + fuzzLogin + `"}`},
		{2, `{"token":"eyJhbGciOiJub25lIn0.e30."}`},
		{2, `{"token":""}`},
		{2, `{"token":"` + strings.Repeat("a", 9000) + `"}`},
		{3, `{"workspace":"` + fuzzWorkspace + `"}`},
		{3, `{"workspace":"ws_nope"}`},
		{3, `{"workspace":""}`},
	}
	for _, s := range seeds {
		f.Add(uint8(s.path), []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := widgetFuzzPaths[int(which)%len(widgetFuzzPaths)]
		body = bytes.ReplaceAll(body, []byte(fuzzWorkspace), []byte(z.ws.ID))
		if bytes.Contains(body, []byte(fuzzLogin)) {
			body = bytes.ReplaceAll(body, []byte(fuzzLogin), []byte(z.loginToken()))
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+z.token)
		rec := httptest.NewRecorder()
		z.api.ServeHTTP(rec, req)

		status := rec.Code
		if status >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, status, rec.Body.Bytes())
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("POST %s %q: %d with Content-Type %q", path, body, status, ct)
		}
		var reply map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("POST %s %q: %d, body is not a JSON object: %q", path, body, status, rec.Body.Bytes())
		}
		if status >= 400 {
			var e struct {
				Error map[string]any `json:"error"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &e)
			code, _ := e.Error["code"].(string)
			msg, _ := e.Error["message"].(string)
			if len(reply) != 1 || e.Error == nil || code == "" || msg == "" {
				t.Fatalf("POST %s %q: %d, not the error shape: %s", path, body, status, rec.Body.Bytes())
			}
			for k := range e.Error {
				if k != "code" && k != "message" && k != "field" {
					t.Fatalf("POST %s: error has an unexpected member %q: %s", path, k, rec.Body.Bytes())
				}
			}
		} else if status < 200 || status > 299 {
			t.Fatalf("POST %s %q: status %d", path, body, status)
		}

		if path == "/v1/widget/messages" && status < 300 {
			var m struct {
				ID             string `json:"id"`
				ConversationID string `json:"conversation_id"`
				Body           string `json:"body"`
			}
			if err := json.Unmarshal(reply["message"], &m); err != nil {
				t.Fatalf("message reply %s: %v", rec.Body.Bytes(), err)
			}
			checkMessageBody(t, "returned", m.Body)
			n, err := chat.ParseMessageID(m.ConversationID, m.ID)
			if err != nil {
				t.Fatalf("message id %q: %v", m.ID, err)
			}
			stored, err := z.st.MessagesAfterNumber(context.Background(), m.ConversationID, n-1, 1)
			if err != nil || len(stored) != 1 || stored[0].N != n || stored[0].Body != m.Body {
				t.Fatalf("message %s was acknowledged but not stored as returned: %+v, %v", m.ID, stored, err)
			}
		}
		z.checkStored(t, z.sessionID)

		// A successful identify or login rotated the session token; start the next input afresh.
		if (path == "/v1/widget/identify" || path == "/v1/widget/login") && status < 300 {
			if err := z.newSession(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
