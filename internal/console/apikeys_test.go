package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

var apiKeyPattern = regexp.MustCompile(`pak_[A-Za-z0-9_-]{43}`)

func TestAPIKeysPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)

	p := b.mustGet("/console/settings/api-keys")
	if !strings.Contains(p.body, "<h1>API keys</h1>") || !strings.Contains(p.body, "No API keys yet.") ||
		!strings.Contains(p.body, `href="/console/settings/api-keys" aria-current="page"`) {
		t.Fatalf("API keys page:\n%s", p.body)
	}
	for _, sc := range chat.DefaultScopes() {
		if !strings.Contains(p.body, `name="scope" value="`+sc+`" checked>`) {
			t.Errorf("scope %s is not offered, checked", sc)
		}
	}
	// Erasure destroys data: offered, never checked by default.
	if !strings.Contains(p.body, `name="scope" value="`+store.ScopeCustomersErase+`">`) {
		t.Errorf("scope %s is not offered unchecked", store.ScopeCustomersErase)
	}

	// Create: the answer shows the key, once, with a first call to make with it against this server.
	p = b.post("/console/settings/api-keys", url.Values{"name": {"Shop back end"}, "scope": chat.AllScopes()})
	if p.status != http.StatusOK || !strings.Contains(p.body, "shown this once") {
		t.Fatalf("create: %d\n%s", p.status, p.body)
	}
	keys := apiKeyPattern.FindAllString(p.body, -1)
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Fatalf("create shows keys %v, want the new key in its box and in the curl line", keys)
	}
	key := keys[0]
	curl := `curl -X PUT ` + e.srv.URL + `/v1/customers/USER_ID -H &#34;Authorization: Bearer ` + key +
		`&#34; -H &#34;Content-Type: application/json&#34; -d &#39;{&#34;email&#34;: &#34;customer@example.com&#34;}&#39;`
	if !strings.Contains(p.body, curl) {
		t.Errorf("no curl line %q:\n%s", curl, p.body)
	}
	listed, _ := e.svc.APIKeys(ctx, tn.ws.ID)
	if len(listed) != 1 || listed[0].Name != "Shop back end" || strings.Join(listed[0].Scopes, " ") != strings.Join(chat.AllScopes(), " ") {
		t.Fatalf("stored %+v", listed)
	}
	id := listed[0].ID

	// The list afterwards: the key's id, name, scopes and state, never the key.
	p = b.mustGet("/console/settings/api-keys")
	if strings.Contains(p.body, key) || apiKeyPattern.MatchString(p.body) {
		t.Fatal("the key is shown again")
	}
	r := row(p.body, `data-api-key="`+id+`"`)
	for _, want := range []string{id, "Shop back end", "customers:write", "customers:read", "sessions:revoke", "Never", "Live", "/console/settings/api-keys/" + id + "/revoke"} {
		if !strings.Contains(r, want) {
			t.Errorf("the key's row lacks %q:\n%s", want, r)
		}
	}

	// The key works against the customers API, and the list shows it was used.
	if status, out := e.callJSON("PUT", "/v1/customers/u-1", key, map[string]string{"email": "ada@customer.example"}); status != http.StatusCreated {
		t.Fatalf("PUT /v1/customers/u-1: %d %v", status, out)
	}
	if r := row(b.mustGet("/console/settings/api-keys").body, `data-api-key="`+id+`"`); strings.Contains(r, "Never") {
		t.Errorf("last use not shown:\n%s", r)
	}

	// Scopes are what was checked.
	p = b.post("/console/settings/api-keys", url.Values{"name": {"Reporting"}, "scope": {store.ScopeCustomersRead}})
	readOnly := apiKeyPattern.FindString(p.body)
	if p.status != http.StatusOK || readOnly == "" {
		t.Fatalf("create read-only: %d", p.status)
	}
	if status, out := e.callJSON("PUT", "/v1/customers/u-2", readOnly, map[string]string{"email": "x@customer.example"}); status != http.StatusForbidden {
		t.Errorf("a read-only key wrote: %d %v", status, out)
	}
	if status, _ := e.callJSON("GET", "/v1/customers/u-1/conversations", readOnly, nil); status != http.StatusOK {
		t.Errorf("a read-only key cannot read: %d", status)
	}

	// Refused: no scope at all, or a name too long — the form again as sent, nothing created.
	for name, form := range map[string]url.Values{
		"no scope":      {"name": {"Nothing"}},
		"long name":     {"name": {strings.Repeat("n", 101)}, "scope": {store.ScopeSessionsRevoke}},
		"unknown scope": {"name": {"Odd"}, "scope": {"admin:all"}},
	} {
		p := b.post("/console/settings/api-keys", form)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="api-key-error"`) || apiKeyPattern.MatchString(p.body) ||
			!strings.Contains(p.body, `name="name" value="`+form.Get("name")+`"`) {
			t.Errorf("%s: %d\n%s", name, p.status, p.body)
		}
		if form.Get("scope") == store.ScopeSessionsRevoke && (!strings.Contains(p.body, `value="sessions:revoke" checked>`) || strings.Contains(p.body, `value="customers:read" checked>`)) {
			t.Errorf("%s: the checked scopes are not kept", name)
		}
	}
	if listed, _ := e.svc.APIKeys(ctx, tn.ws.ID); len(listed) != 2 {
		t.Fatalf("%d API keys, want 2", len(listed))
	}

	// Revoke: the key stops working at once.
	p = b.mustPost("/console/settings/api-keys/"+id+"/revoke", nil)
	if !strings.Contains(p.body, "API key "+id+" is revoked") || !strings.Contains(row(p.body, `data-api-key="`+id+`"`), "Revoked") {
		t.Fatalf("revoke:\n%s", p.body)
	}
	if strings.Contains(row(p.body, `data-api-key="`+id+`"`), "/revoke") {
		t.Error("a revoked key offers revoke")
	}
	if status, _ := e.callJSON("PUT", "/v1/customers/u-1", key, map[string]string{"email": "ada@customer.example"}); status != http.StatusUnauthorized {
		t.Errorf("a revoked key: %d", status)
	}
	// Revoking again, or an id that does not exist: not found.
	for _, bad := range []string{id, "ak_nothing"} {
		if p := b.post("/console/settings/api-keys/"+bad+"/revoke", nil); p.status != http.StatusNotFound {
			t.Errorf("revoke %s: %d", bad, p.status)
		}
	}
}

// The audit trail names who changed which key: changes made in the console are the signed-in agent's.
func TestAuditTrail(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example") // its secret is created by the harness, with no actor
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAdmin)
	b := e.signedIn(tn.admin)

	ec := newECKey(t)
	b.mustPost("/console/settings/keys/public", url.Values{"alg": {"ES256"}, "kid": {"shop-1"}, "public_key": {publicPEM(t, &ec.PublicKey)}})
	b.post("/console/settings/api-keys", url.Values{"name": {"Shop"}, "scope": chat.AllScopes()})
	listed, _ := e.svc.APIKeys(context.Background(), tn.ws.ID)
	e.signedIn(bob).mustPost("/console/settings/api-keys/"+listed[0].ID+"/revoke", nil)

	p := b.mustGet("/console/settings/audit")
	if !strings.Contains(p.body, "<h1>Audit trail</h1>") || !strings.Contains(p.body, `href="/console/settings/audit" aria-current="page"`) {
		t.Fatalf("audit page:\n%s", p.body)
	}
	ada, bobActor := chat.AgentActor(tn.admin), chat.AgentActor(bob)
	for _, c := range []struct{ action, label, actor, target string }{
		{"key.created", "Secret created", "system", tn.key.ID},
		{"key.registered", "Public key registered", ada, "shop-1"},
		{"apikey.created", "API key created", ada, listed[0].ID},
		{"apikey.revoked", "API key revoked", bobActor, listed[0].ID},
	} {
		r := row(p.body, `data-audit-action="`+c.action+`"`)
		if !strings.Contains(r, "<td>"+c.actor+"</td>") || !strings.Contains(r, c.label) || !strings.Contains(r, "<code>"+c.target+"</code>") ||
			!strings.Contains(r, " UTC</time>") || !strings.Contains(r, "data-utc") {
			t.Errorf("%s row, want %q by %q:\n%s", c.action, c.target, c.actor, r)
		}
	}
	if !strings.Contains(ada, "ada@acme.example") {
		t.Fatalf("the actor %q does not name the agent's email", ada)
	}
	// Newest first.
	order := []string{"apikey.revoked", "apikey.created", "key.registered", "key.created"}
	last := -1
	for _, action := range order {
		i := strings.Index(p.body, `data-audit-action="`+action+`"`)
		if i < last {
			t.Errorf("%s is out of order", action)
		}
		last = i
	}
}
