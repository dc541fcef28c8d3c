package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/oidctest"
	"github.com/parleyhq/parley/internal/store"
)

// Single sign-on through the console: the admin's form, the button on the sign-in page, the round trip
// through a real provider on loopback, and refusals shown on the sign-in page.

func configureSSO(t *testing.T, admin *browser, idp *oidctest.Provider, extra url.Values) page {
	t.Helper()
	form := url.Values{"enabled": {"on"}, "issuer": {idp.URL}, "client_id": {idp.ClientID}, "client_secret": {idp.ClientSecret},
		"allowed_domains": {"acme.example"}}
	for k, v := range extra {
		form[k] = v
	}
	return admin.post("/console/settings/sso", form)
}

// ssoRoundTrip follows the sign-in page's button through the provider and back, and returns the
// callback's answer.
func ssoRoundTrip(t *testing.T, b *browser, wsID string) page {
	t.Helper()
	start := b.get("/console/sso/" + wsID + "/start?next=" + url.QueryEscape("/console/settings"))
	if start.status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", start.status, start.body)
	}
	res, err := b.c.Get(start.location())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d %v", res.StatusCode, err)
	}
	return b.get(back.RequestURI())
}

func TestConsoleSSO(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	idp := oidctest.Start(t, oidctest.User{Email: "ada@acme.example", EmailVerified: true, Name: "Ada"})
	ada := e.agent(tn.ws.ID, "ada@acme.example", "Ada", store.RoleAgent)
	admin := e.signedIn(tn.admin)

	// Without SSO the sign-in page has no button, and passwords cannot be turned off.
	if p := e.browser().get("/console/login"); strings.Contains(p.body, "Sign in with single sign-on") {
		t.Error("a sign-in button before SSO is configured")
	}
	p := admin.post("/console/settings/sso", url.Values{"passwords_off": {"on"}})
	if p.status != http.StatusConflict && p.status != http.StatusUnprocessableEntity {
		t.Errorf("passwords off without SSO: %d", p.status)
	}
	if p := configureSSO(t, admin, idp, url.Values{"issuer": {"http://203.0.113.7"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "The issuer URL") || !strings.Contains(p.body, `aria-invalid="true"`) {
		t.Errorf("a public plain-http issuer: %d", p.status)
	}
	if p := configureSSO(t, admin, idp, nil); p.status != http.StatusSeeOther {
		t.Fatalf("configure: %d %s", p.status, p.body)
	}
	page := admin.mustGet("/console/settings/sso")
	if strings.Contains(page.body, idp.ClientSecret) || !strings.Contains(page.body, "A secret is stored") ||
		!strings.Contains(page.body, e.srv.URL+"/console/sso/"+tn.ws.ID+"/callback") {
		t.Error("the settings page shows the secret, or not the redirect URI")
	}
	// Agents cannot open it.
	if p := e.signedIn(ada).get("/console/settings/sso"); p.status != http.StatusForbidden {
		t.Errorf("an agent opening SSO settings: %d", p.status)
	}

	b := e.browser()
	if p := b.get("/console/login"); !strings.Contains(p.body, `href="/console/sso/`+tn.ws.ID+`/start?next=`) {
		t.Fatalf("no single sign-on button on the sign-in page")
	}
	back := ssoRoundTrip(t, b, tn.ws.ID)
	if back.status != http.StatusSeeOther || back.location() != "/console/settings" {
		t.Fatalf("callback: %d → %q %s", back.status, back.location(), back.body)
	}
	if p := b.get("/console/"); p.status != http.StatusOK || !strings.Contains(p.body, "Ada") {
		t.Errorf("signed in through SSO: %d", p.status)
	}

	// Someone else's callback (their own code and state, sent to this browser) is refused: the state is
	// not the one this browser began with. Login CSRF.
	mallory := e.browser()
	if p := mallory.get("/console/sso/" + tn.ws.ID + "/start"); p.status != http.StatusSeeOther {
		t.Fatalf("mallory's start: %d", p.status)
	}
	res, err := mallory.c.Get(mallory.get("/console/sso/" + tn.ws.ID + "/start").location())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	planted, _ := url.Parse(res.Header.Get("Location"))
	victim := e.browser()
	if p := victim.get(planted.RequestURI()); p.status != http.StatusBadRequest || strings.Contains(p.header.Get("Set-Cookie"), "parley_console=") {
		t.Errorf("a callback begun by another browser: %d %v", p.status, p.header.Values("Set-Cookie"))
	}
	if p := mallory.get(planted.RequestURI()); p.status != http.StatusSeeOther {
		t.Errorf("the browser that began it: %d", p.status)
	}

	// The same callback again is refused, on the sign-in page.
	if p := b.get("/console/sso/" + tn.ws.ID + "/callback?state=nope&code=x"); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Single sign-on failed") || !strings.Contains(p.body, `role="alert"`) {
		t.Errorf("a forged callback: %d", p.status)
	}
	// An unverified email: the sign-in page says so.
	idp.SetUser(oidctest.User{Email: "ada@acme.example", EmailVerified: false})
	if p := ssoRoundTrip(t, e.browser(), tn.ws.ID); p.status != http.StatusForbidden || !strings.Contains(p.body, "not verified this account") {
		t.Errorf("unverified email: %d %s", p.status, p.body)
	}
	// The provider says no.
	if p := e.browser().get("/console/sso/" + tn.ws.ID + "/callback?error=access_denied&error_description=%3Cscript%3E"); p.status != http.StatusUnauthorized ||
		strings.Contains(p.body, "<script>") {
		t.Errorf("provider error: %d", p.status)
	}

	// Passwords off: the password form refuses, single sign-on still works.
	idp.SetUser(oidctest.User{Email: "ada@acme.example", EmailVerified: true})
	if p := configureSSO(t, admin, idp, url.Values{"passwords_off": {"on"}, "client_secret": {""}}); p.status != http.StatusSeeOther {
		t.Fatalf("passwords off: %d %s", p.status, p.body)
	}
	pw := e.browser()
	if p := pw.post("/console/login", url.Values{"csrf": {pw.loginForm()}, "email": {"ada@acme.example"}, "password": {agentPassword}}); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "single sign-on only") {
		t.Errorf("a password with passwords off: %d", p.status)
	}
	if p := ssoRoundTrip(t, e.browser(), tn.ws.ID); p.status != http.StatusSeeOther {
		t.Errorf("SSO with passwords off: %d", p.status)
	}
}
