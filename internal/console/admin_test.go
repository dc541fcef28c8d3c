package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/store"
)

func TestSettingsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings")
	if !strings.Contains(p.body, "<h1>Settings</h1>") || !strings.Contains(p.body, `name="max_token_lifetime" value="10m"`) {
		t.Fatalf("settings page:\n%s", p.body)
	}
	form := url.Values{
		"name": {"Acme Bank"}, "allowed_origins": {"https://Shop.Example\r\nhttp://localhost:3000\n\n"},
		"onboarding": {"on"}, "first_message": {"Hello!\nSign in for order questions."}, "login_url": {"https://shop.example/login"},
		"hide_until_login": {"on"}, "allowed_email_domains": {"bank.example\n@Other.Example"}, "require_verified": {"on"},
		"max_token_lifetime": {"5m"},
	}
	p = b.mustPost("/console/settings", form)
	if !strings.Contains(p.body, "Settings saved.") {
		t.Fatalf("no confirmation:\n%s", p.body)
	}
	w, _ := e.svc.Workspace(ctx, tn.ws.ID)
	st := w.Settings
	if w.Name != "Acme Bank" || strings.Join(st.AllowedOrigins, ",") != "https://shop.example,http://localhost:3000" || !st.Onboarding ||
		st.FirstMessage != "Hello!\nSign in for order questions." || st.LoginURL != "https://shop.example/login" || !st.HideUntilLogin ||
		strings.Join(st.AllowedEmailDomains, ",") != "bank.example,other.example" || !st.RequireVerified || st.MaxTokenLifetime != 5*time.Minute {
		t.Fatalf("saved %+v", w)
	}
	if !strings.Contains(p.body, "https://shop.example\nhttp://localhost:3000</textarea>") {
		t.Errorf("lists are not one per line:\n%s", p.body)
	}
	// Unchecked boxes turn settings off.
	b.mustPost("/console/settings", url.Values{"name": {"Acme Bank"}, "max_token_lifetime": {"10m"}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.Onboarding || w.Settings.RequireVerified || len(w.Settings.AllowedOrigins) != 0 {
		t.Fatalf("not cleared: %+v", w.Settings)
	}
	// A refused value: the form as sent, with what to fix, and nothing saved.
	for field, value := range map[string]string{"login_url": "ftp://x", "max_token_lifetime": "forever", "allowed_origins": "https://x.example/path"} {
		f := url.Values{"name": {"Changed"}, field: {value}}
		p = b.post("/console/settings", f)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "flash-error") || !strings.Contains(p.body, `value="Changed"`) {
			t.Errorf("%s=%q: %d\n%s", field, value, p.status, p.body)
		}
		if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Name != "Acme Bank" {
			t.Errorf("%s=%q saved the name anyway", field, value)
		}
	}
}

var secretPattern = regexp.MustCompile(`psk_[A-Za-z0-9_-]{20,}`)

func TestKeysPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings/keys")
	if !strings.Contains(p.body, "<h1>Signing keys</h1>") || !strings.Contains(p.body, tn.key.ID) || secretPattern.MatchString(p.body) {
		t.Fatalf("keys page:\n%s", p.body)
	}

	// Create: the answer shows the secret, once.
	p = b.post("/console/settings/keys", url.Values{"alg": {"HS384"}})
	if p.status != http.StatusOK {
		t.Fatalf("create: %d", p.status)
	}
	secrets := secretPattern.FindAllString(p.body, -1)
	if len(secrets) != 1 || !strings.Contains(p.body, "shown this once") {
		t.Fatalf("create shows secrets %v", secrets)
	}
	keys, _ := e.svc.Keys(ctx, tn.ws.ID)
	if len(keys) != 2 {
		t.Fatalf("%d keys", len(keys))
	}
	if p := b.mustGet("/console/settings/keys"); strings.Contains(p.body, secrets[0]) {
		t.Fatal("the secret is shown again")
	}

	// Rotate: a new key of the same algorithm, and the old one keeps working until revoked.
	p = b.post("/console/settings/keys/"+tn.key.ID+"/rotate", nil)
	if p.status != http.StatusOK || len(secretPattern.FindAllString(p.body, -1)) != 1 ||
		!strings.Contains(p.body, "The old key "+tn.key.ID+" keeps working until you revoke it") {
		t.Fatalf("rotate: %d\n%s", p.status, p.body)
	}
	keys, _ = e.svc.Keys(ctx, tn.ws.ID)
	if len(keys) != 3 || keys[2].Alg != "HS256" {
		t.Fatalf("after rotation %+v", keys)
	}
	// Revoke.
	p = b.mustPost("/console/settings/keys/"+tn.key.ID+"/revoke", nil)
	if !strings.Contains(p.body, "is revoked") {
		t.Fatalf("revoke:\n%s", p.body)
	}
	keys, _ = e.svc.Keys(ctx, tn.ws.ID)
	if keys[0].RevokedAt.IsZero() {
		t.Fatal("not revoked")
	}
	// A revoked key cannot be rotated; an unknown algorithm is refused with a flash.
	if p := b.post("/console/settings/keys/"+tn.key.ID+"/rotate", nil); p.status != http.StatusNotFound {
		t.Errorf("rotate revoked: %d", p.status)
	}
	if p := b.mustPost("/console/settings/keys", url.Values{"alg": {"none"}}); !strings.Contains(p.body, "HS256, HS384 or HS512") {
		t.Errorf("alg none:\n%s", p.body)
	}
}

func TestAgentsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	p := b.mustPost("/console/settings/agents", url.Values{"name": {"Bob"}, "email": {"Bob@Acme.example"}, "role": {"agent"}, "password": {agentPassword}})
	if !strings.Contains(p.body, "Bob (bob@acme.example) can now sign in as agent") || !strings.Contains(p.body, "<h1>Agents</h1>") {
		t.Fatalf("create:\n%s", p.body)
	}
	agents, _ := e.svc.Agents(ctx, tn.ws.ID)
	bob := agents[1]
	// A short password: the form again, as sent, without the password.
	p = b.post("/console/settings/agents", url.Values{"name": {"Carol"}, "email": {"carol@acme.example"}, "role": {"admin"}, "password": {"short pw"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `value="Carol"`) || strings.Contains(p.body, "short pw") ||
		!strings.Contains(p.body, `<option value="admin" selected>`) {
		t.Fatalf("refused create: %d\n%s", p.status, p.body)
	}
	// Role, disable (signs Bob out), enable.
	bobBrowser := e.signedIn(bob)
	b.mustPost("/console/settings/agents/"+bob.ID+"/role", url.Values{"role": {"admin"}})
	if a, _ := e.st.Agent(ctx, bob.ID); a.Role != store.RoleAdmin {
		t.Fatal("role not changed")
	}
	b.mustPost("/console/settings/agents/"+bob.ID+"/disable", nil)
	if p := bobBrowser.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("a disabled agent still signed in: %d", p.status)
	}
	p = b.mustPost("/console/settings/agents/"+bob.ID+"/enable", nil)
	if !strings.Contains(p.body, "Bob can sign in again.") {
		t.Fatalf("enable:\n%s", p.body)
	}
	// The last administrator cannot step down: a flash says why.
	b.mustPost("/console/settings/agents/"+bob.ID+"/role", url.Values{"role": {"agent"}})
	p = b.mustPost("/console/settings/agents/"+tn.admin.ID+"/role", url.Values{"role": {"agent"}})
	if !strings.Contains(p.body, "flash-error") || !strings.Contains(p.body, "only administrator") {
		t.Fatalf("last admin:\n%s", p.body)
	}
}

func TestRoutingPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	b := e.signedIn(tn.admin)
	p := b.mustPost("/console/settings/inboxes", url.Values{"name": {"Priority"}, "member": {bob.ID}})
	if !strings.Contains(p.body, "Inbox Priority saved.") || !strings.Contains(p.body, "<h1>Routing</h1>") {
		t.Fatalf("create inbox:\n%s", p.body)
	}
	b.mustPost("/console/settings/inboxes", url.Values{"name": {"General"}})
	inboxes, _ := e.svc.Inboxes(ctx, tn.ws.ID)
	prio, general := inboxes[0], inboxes[1]
	if len(prio.Members) != 1 || prio.Members[0] != bob.ID {
		t.Fatalf("members %v", prio.Members)
	}
	b.mustPost("/console/settings/inboxes/"+prio.ID, url.Values{"name": {"VIP"}, "member": {bob.ID, tn.admin.ID}})
	if in, _ := e.svc.Inboxes(ctx, tn.ws.ID); in[0].Name != "VIP" || len(in[0].Members) != 2 {
		t.Fatalf("update inbox %+v", in[0])
	}

	b.mustPost("/console/settings/routing/rules", url.Values{"level": {"verified"}, "email_domain": {"@Bank.example"}, "inbox": {prio.ID}})
	b.mustPost("/console/settings/routing/rules", url.Values{"level": {""}, "inbox": {general.ID}})
	rules, _ := e.svc.RoutingRules(ctx, tn.ws.ID)
	if len(rules) != 2 || rules[0].EmailDomain != "bank.example" || rules[1].InboxID != general.ID {
		t.Fatalf("rules %+v", rules)
	}
	b.mustPost("/console/settings/routing/rules/"+rules[1].ID+"/move", url.Values{"direction": {"up"}})
	rules, _ = e.svc.RoutingRules(ctx, tn.ws.ID)
	if rules[0].InboxID != general.ID || rules[1].InboxID != prio.ID {
		t.Fatalf("after move %+v", rules)
	}
	// A stale rule id (the list was saved since): a flash, not an error page.
	p = b.mustPost("/console/settings/routing/rules/rr_stale/remove", nil)
	if !strings.Contains(p.body, "have changed") {
		t.Fatalf("stale rule:\n%s", p.body)
	}
	b.mustPost("/console/settings/routing/rules/"+rules[0].ID+"/remove", nil)
	if rules, _ = e.svc.RoutingRules(ctx, tn.ws.ID); len(rules) != 1 || rules[0].InboxID != prio.ID {
		t.Fatalf("after remove %+v", rules)
	}
	// A bad domain is a flash.
	if p := b.mustPost("/console/settings/routing/rules", url.Values{"email_domain": {"not a domain"}, "inbox": {prio.ID}}); !strings.Contains(p.body, "flash-error") {
		t.Fatalf("bad domain:\n%s", p.body)
	}
	// The rule sends a verified bank customer to VIP.
	conv := tn.say(tn.verified(jwt.MapClaims{"sub": "u", "email": "x@bank.example", "name": "X"}), "hi").ConversationID
	if got := e.conversation(conv).InboxID; got != prio.ID {
		t.Fatalf("routed to %q", got)
	}
	p = b.mustGet("/console/conversations/" + conv)
	if !strings.Contains(p.body, "Routed to the VIP inbox") {
		t.Errorf("no routed sentence")
	}
	// Delete the inbox (its rule goes too).
	b.mustPost("/console/settings/inboxes/"+prio.ID+"/delete", nil)
	if rules, _ = e.svc.RoutingRules(ctx, tn.ws.ID); len(rules) != 0 {
		t.Fatalf("rules left %+v", rules)
	}
}

func TestIdentityPageAndReport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	// A refused login shows in the log, without the token.
	bad := tn.token(jwt.MapClaims{"sub": "u", "email": "x@bank.example", "exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()})
	if _, _, _, err := e.svc.Login(ctx, tn.visitor(), bad); err == nil {
		t.Fatal("expired token accepted")
	}
	p := b.mustGet("/console/identity")
	if !strings.Contains(p.body, "<h1>Identity log</h1>") || !strings.Contains(p.body, "token_expired") || !strings.Contains(p.body, tn.key.ID) {
		t.Fatalf("identity log:\n%s", p.body)
	}
	for _, part := range strings.Split(bad, ".") {
		if strings.Contains(p.body, part) {
			t.Fatal("a token part is on the page")
		}
	}
	// The checker: a good token passes; the answer holds it only in the textarea.
	good := tn.token(jwt.MapClaims{"sub": "u", "email": "x@bank.example", "name": "X"})
	p = b.post("/console/identity/check", url.Values{"token": {"  " + good + "\n"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "This token would be accepted.") || strings.Contains(p.body, `data-check-ok="false"`) {
		t.Fatalf("good token:\n%s", p.body)
	}
	if strings.Count(p.body, good) != 1 {
		t.Fatalf("the token is on the page %d times", strings.Count(p.body, good))
	}
	p = b.post("/console/identity/check", url.Values{"token": {bad}})
	if !strings.Contains(p.body, "would be refused") || !strings.Contains(p.body, "expired") {
		t.Fatalf("expired token:\n%s", p.body)
	}

	// The report: totals, share, chart, a row per day.
	tn.say(tn.visitor(), "anon")
	v := tn.verified(jwt.MapClaims{"sub": "v", "email": "v@bank.example", "name": "V"})
	tn.say(v, "one")
	tn.say(v, "two")
	p = b.mustGet("/console/report")
	if !strings.Contains(p.body, "<h1>Report</h1>") || !strings.Contains(p.body, `data-trusted-share>66.7%<`) || !strings.Contains(p.body, "<svg") {
		t.Fatalf("report:\n%s", p.body)
	}
	if n := strings.Count(p.body, `<th scope="row">`); n != 30 {
		t.Errorf("%d day rows, want 30", n)
	}
	p = b.mustGet("/console/report?days=7")
	if n := strings.Count(p.body, `<th scope="row">`); n != 7 || !strings.Contains(p.body, `href="/console/report?days=7" aria-current="page"`) {
		t.Errorf("?days=7: %d rows", n)
	}
	if p := b.mustGet("/console/report?days=1000"); strings.Count(p.body, `<th scope="row">`) != 30 {
		t.Error("?days=1000 is not the default")
	}
}

// An admin creating an agent with an email another workspace's agent signs in with hears exactly what
// they hear for one of their own agents' emails: nothing says an agent exists, or where.
func TestAgentEmailOfAnotherWorkspace(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("Acme", "ada@acme.example")
	globex := e.tenant("Globex", "hank@globex.example")
	b := e.signedIn(globex.admin)
	create := func(email string) string {
		t.Helper()
		p := b.post("/console/settings/agents", url.Values{"name": {"Someone"}, "email": {email}, "role": {"agent"}, "password": {agentPassword}})
		if p.status != http.StatusConflict {
			t.Fatalf("create %s: %d\n%s", email, p.status, p.body)
		}
		msg := between(p.body, `role="alert"`, "</")
		if msg == "" {
			t.Fatalf("create %s: no message\n%s", email, p.body)
		}
		return msg
	}
	other, own := create(acme.admin.Email), create(globex.admin.Email)
	if other != own {
		t.Fatalf("another workspace's email: %q; this workspace's: %q", other, own)
	}
	if strings.Contains(other, "exist") || strings.Contains(other, "acme.example") {
		t.Fatalf("the message says the agent exists, or names the email: %q", other)
	}
	if agents, _ := e.svc.Agents(context.Background(), globex.ws.ID); len(agents) != 1 {
		t.Fatalf("created anyway: %+v", agents)
	}
}

// TestSettingsSessionLifetimes: the settings page shows the session lifetimes (the defaults until set),
// saves them, keeps them when the fields are left empty, and refuses what chat refuses.
func TestSettingsSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings")
	for _, want := range []string{`name="verified_idle_timeout" value="12h"`, `name="verified_lifetime" value="168h"`, `name="visitor_idle_timeout" value="720h"`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("settings page lacks %s:\n%s", want, p.body)
		}
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "verified_idle_timeout": {"30m"}, "verified_lifetime": {"24h"}, "visitor_idle_timeout": {"48h"}})
	w, _ := e.svc.Workspace(ctx, tn.ws.ID)
	if st := w.Settings; st.VerifiedIdleTimeout != 30*time.Minute || st.VerifiedLifetime != 24*time.Hour || st.VisitorIdleTimeout != 48*time.Hour {
		t.Fatalf("saved %+v", st)
	}
	if p := b.mustGet("/console/settings"); !strings.Contains(p.body, `name="verified_idle_timeout" value="30m"`) {
		t.Errorf("the saved idle timeout is not shown:\n%s", p.body)
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.VerifiedLifetime != 24*time.Hour {
		t.Errorf("an empty field changed the lifetime: %+v", w.Settings)
	}
	for field, value := range map[string]string{"verified_idle_timeout": "soon", "verified_lifetime": "10m", "visitor_idle_timeout": "1s"} {
		p := b.post("/console/settings", url.Values{"name": {"Changed"}, field: {value}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "flash-error") || !strings.Contains(p.body, `id="`+field+`" name="`+field+`" value="`+value+`" aria-describedby`) {
			t.Errorf("%s=%q: %d\n%s", field, value, p.status, p.body)
		}
		if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Name != "Acme" {
			t.Errorf("%s=%q saved the name anyway", field, value)
		}
	}
}
