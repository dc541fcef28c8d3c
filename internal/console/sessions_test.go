package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/store"
)

// An administrator ends every widget session of their workspace from Settings, after a confirmation
// step; the count shows, the audit trail names who did it, and no other workspace is touched.
func TestEndEveryWidgetSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	other := e.tenant("Beta", "ben@beta.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	anon := tn.visitor()
	cust := tn.verified(jwt.MapClaims{"sub": "u-1", "email": "cy@example.com"})
	elsewhere := other.visitor()
	live := func(id string) bool {
		s, err := e.st.Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s.RevokedAt.IsZero()
	}

	b := e.signedIn(tn.admin)
	settings := b.mustGet("/console/settings")
	if !strings.Contains(settings.body, `action="/console/settings/end-sessions"`) || !strings.Contains(settings.body, "<summary>End every widget session…</summary>") {
		t.Fatalf("no confirmation step on the settings page:\n%s", settings.body)
	}
	// The step's own confirmation is required.
	if p := b.post("/console/settings/end-sessions", nil); p.status != http.StatusSeeOther {
		t.Fatalf("unconfirmed: %d", p.status)
	} else if !strings.Contains(b.mustGet(p.location()).body, "confirm that every widget session should end") {
		t.Error("no refusal shown")
	}
	if !live(anon.Session.ID) {
		t.Fatal("an unconfirmed post ended sessions")
	}
	// Agents who are not administrators cannot.
	if p := e.signedIn(bob).post("/console/settings/end-sessions", url.Values{"confirm": {"yes"}}); p.status != http.StatusForbidden {
		t.Fatalf("an agent: %d", p.status)
	}

	p := b.post("/console/settings/end-sessions", url.Values{"confirm": {"yes"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("end sessions: %d", p.status)
	}
	if page := b.mustGet(p.location()); !strings.Contains(page.body, "Every widget session ended: 2 widget sessions.") {
		t.Errorf("no count in the flash:\n%s", page.body)
	}
	if live(anon.Session.ID) || live(cust.Session.ID) {
		t.Error("a session of the workspace is still live")
	}
	if !live(elsewhere.Session.ID) {
		t.Error("another workspace's session ended")
	}
	audit := b.mustGet("/console/settings/audit").body
	if !strings.Contains(audit, "Every widget session ended") || !strings.Contains(audit, "ada@acme.example") || !strings.Contains(audit, "2 widget sessions ended") {
		t.Errorf("audit trail:\n%s", audit)
	}
	// Nothing left to end.
	p = b.post("/console/settings/end-sessions", url.Values{"confirm": {"yes"}})
	if page := b.mustGet(p.location()); !strings.Contains(page.body, "No widget session was live") {
		t.Errorf("second time:\n%s", page.body)
	}
}
