package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Export and erasure from the customer page: administrators only, erasure after typing the user id.
func TestConsoleCustomerExportErase(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	v := tn.verified(jwt.MapClaims{"sub": "grace-9", "email": "grace@bank.example", "name": "Grace"})
	conv := tn.say(v, "please forget me").ConversationID
	customerID := e.conversation(conv).CustomerID
	path := "/console/customers/" + customerID

	// A plain agent sees neither, and is refused both.
	bob := e.signedIn(e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent))
	if p := bob.mustGet(path); strings.Contains(p.body, "Erase customer") || strings.Contains(p.body, "/export") {
		t.Error("a plain agent is offered export or erasure")
	}
	if p := bob.get(path + "/export"); p.status != http.StatusForbidden {
		t.Errorf("export by a plain agent: %d", p.status)
	}
	if p := bob.post(path+"/erase", url.Values{"confirm": {"grace-9"}}); p.status != http.StatusForbidden {
		t.Errorf("erasure by a plain agent: %d", p.status)
	}

	admin := e.signedIn(tn.admin)
	p := admin.mustGet(path)
	for _, want := range []string{`href="` + path + `/export"`, `action="` + path + `/erase"`, `<label for="erase-confirm">`, "grace-9"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("customer page for an admin lacks %q", want)
		}
	}
	x := admin.mustGet(path + "/export")
	if !strings.HasPrefix(x.header.Get("Content-Disposition"), "attachment;") || x.header.Get("Cache-Control") != "no-store" {
		t.Errorf("export headers %v", x.header)
	}
	var doc chat.CustomerExport
	if err := json.Unmarshal([]byte(x.body), &doc); err != nil || doc.Customer.ExternalID != "grace-9" ||
		len(doc.Conversations) != 1 || len(doc.Conversations[0].Messages) != 1 || doc.Conversations[0].Messages[0].Body != "please forget me" {
		t.Errorf("export %s (%v)", x.body, err)
	}

	// A wrong confirmation erases nothing and says what to type.
	r := admin.post(path+"/erase", url.Values{"confirm": {"grace"}})
	if r.status != http.StatusSeeOther || r.location() != path {
		t.Fatalf("wrong confirmation: %d → %s", r.status, r.location())
	}
	if p := admin.mustGet(path); !strings.Contains(p.body, "grace-9") || !strings.Contains(p.body, "nothing was erased") {
		t.Errorf("after a wrong confirmation the page says:\n%s", p.body)
	}
	r = admin.post(path+"/erase", url.Values{"confirm": {"grace-9"}})
	if r.status != http.StatusSeeOther || r.location() != "/console/" {
		t.Fatalf("erasure: %d → %s", r.status, r.location())
	}
	if p := admin.get(path); p.status != http.StatusNotFound {
		t.Errorf("customer page after the erasure: %d", p.status)
	}
	if _, err := e.st.Session(context.Background(), v.Session.ID); err == nil {
		t.Error("the customer's session is still stored after the erasure")
	}
	ev := e.wantAuditAction(tn.ws.ID, chat.AuditCustomerErased, customerID)
	if !strings.HasPrefix(ev.Actor, "agent "+tn.admin.ID) || strings.Contains(ev.Detail, "grace") {
		t.Errorf("audit row %+v", ev)
	}
}

// The retention setting on the settings page: saved, shown, refused when out of range or not a number.
func TestConsoleRetentionSetting(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	admin := e.signedIn(tn.admin)
	if p := admin.mustGet("/console/settings"); !strings.Contains(p.body, `<label for="retention_days">`) || !strings.Contains(p.body, `name="retention_days" min="0" max="3650" step="1" value="0"`) {
		t.Fatalf("settings page lacks the retention field:\n%s", p.body)
	}
	for _, bad := range []string{"abc", "-1", "3651"} {
		p := admin.post("/console/settings", url.Values{"name": {"Acme"}, "max_token_lifetime": {"10m"}, "retention_days": {bad}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="retention_days"`) || !strings.Contains(p.body, `aria-invalid="true"`) {
			t.Errorf("retention %q: %d", bad, p.status)
		}
	}
	p := admin.post("/console/settings", url.Values{"name": {"Acme"}, "max_token_lifetime": {"10m"}, "retention_days": {"30"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", p.status, p.body)
	}
	w, err := e.st.Workspace(context.Background(), tn.ws.ID)
	if err != nil || w.Settings.RetentionDays != 30 {
		t.Fatalf("retention after saving: %d, %v", w.Settings.RetentionDays, err)
	}
	if p := admin.mustGet("/console/settings"); !strings.Contains(p.body, `value="30"`) {
		t.Error("the saved retention is not shown")
	}
	e.wantAuditAction(tn.ws.ID, chat.AuditSettingsChanged, "retention_days")
}
