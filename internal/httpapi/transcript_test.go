package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/store"
)

// The widget downloads a conversation as text — without internal notes — and only its own; emailing it
// needs a verified session and an SMTP server.
func TestTranscriptDownload(t *testing.T) {
	e := newEnv(t)
	sess := e.verified(claims(jwt.MapClaims{"sub": "ada"}))
	r := e.send(sess, "where is my parcel?", "c1")
	expect(t, r, 201, "")
	conv := r.str("message", "conversation_id")
	agent, err := e.svc.CreateAgent(t.Context(), e.ws.ID, "ann@acme.example", "Ann", store.RoleAgent, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(t.Context(), agent, conv, "It left <the> warehouse.", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PostNote(t.Context(), agent, conv, "internal: VIP customer", ""); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/widget/conversations/"+conv+"/transcript", nil)
	req.Header.Set("Authorization", "Bearer "+sess)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("transcript: %d %v", resp.StatusCode, h)
	}
	if text := string(body); !strings.Contains(text, "where is my parcel?") || !strings.Contains(text, "It left <the> warehouse.") || strings.Contains(text, "VIP") {
		t.Errorf("transcript body:\n%s", text)
	}
	other := e.session()
	expect(t, e.request("GET", "/v1/widget/conversations/"+conv+"/transcript", other, nil), 404, "conversation_not_found")
	expect(t, e.request("GET", "/v1/widget/conversations/"+conv+"/transcript", "", nil), 401, "session_invalid")
	// No SMTP server in this environment: a verified customer is told so; an anonymous one may not ask.
	expect(t, e.request("POST", "/v1/widget/conversations/"+conv+"/transcript/email", sess, nil), 503, "email_unavailable")
	anon := e.session()
	r = e.send(anon, "hello", "c2")
	expect(t, e.request("POST", "/v1/widget/conversations/"+r.str("message", "conversation_id")+"/transcript/email", anon, nil), 403, "verification_required")
}
