package chat_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/oidctest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// Single sign-on against a real OpenID Connect provider on loopback (package oidctest).

const ssoRedirect = "https://chat.acme.example/console/sso/ws/callback"

type ssoEnv struct {
	*lifeEnv
	idp *oidctest.Provider
}

// newSSOEnv: a workspace with single sign-on configured for acme.example, and a provider signing in
// ada@acme.example (verified). The server allows loopback as parley serve --jwks-allow-networks would.
func newSSOEnv(t *testing.T) *ssoEnv { return newSSOEnvTimeout(t, 0) }

// newSSOEnvTimeout is newSSOEnv with the timeout of requests to the provider (0: the default).
func newSSOEnvTimeout(t *testing.T, timeout time.Duration) *ssoEnv {
	t.Helper()
	clock := &lifeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	hub := realtime.NewHub()
	st := dbtest.Open(t)
	count := &countingStore{Store: st}
	jwks := identity.NewJWKSFetcher(identity.JWKSOptions{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Timeout: timeout})
	svc := chattest.Start(t, chat.Config{Store: count, Events: hub, Now: clock.Now, Passwords: password.NewHasher(2), JWKS: jwks}, hub)
	w, err := svc.CreateWorkspace(t.Context(), "Acme Bank")
	if err != nil {
		t.Fatal(err)
	}
	e := &ssoEnv{lifeEnv: &lifeEnv{svc: svc, st: st, count: count, hub: hub, clock: clock, ws: w.ID}}
	e.idp = oidctest.Start(t, oidctest.User{Subject: "u1", Email: "Ada@Acme.example", EmailVerified: true, Name: "Ada Lovelace"})
	e.idp.SetClock(clock.Now)
	e.configure(t, chat.SSOPatch{})
	return e
}

func ptr[T any](v T) *T { return &v }

// configure turns single sign-on on with the provider, then applies extra.
func (e *ssoEnv) configure(t *testing.T, extra chat.SSOPatch) {
	t.Helper()
	p := chat.SSOPatch{Enabled: ptr(true), Issuer: ptr(e.idp.URL), ClientID: ptr(e.idp.ClientID), ClientSecret: ptr(e.idp.ClientSecret),
		AllowedDomains: ptr([]string{"acme.example"})}
	if _, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{SSO: &p}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{SSO: &extra}); err != nil {
		t.Fatal(err)
	}
}

// signIn runs one whole flow: begin, the provider's approval, the callback.
func (e *ssoEnv) signIn(t *testing.T) (chat.SSOResult, error) {
	t.Helper()
	start, err := e.svc.BeginSSO(t.Context(), e.ws, "/console/c/42", ssoRedirect)
	if err != nil {
		t.Fatalf("BeginSSO: %v", err)
	}
	code, state := e.idp.Authorize(t, start.URL)
	return e.svc.FinishSSO(t.Context(), e.ws, chat.SSOCallback{State: state, Code: code, BrowserState: start.State}, ssoRedirect,
		chat.SignInInfo{UserAgent: "test", Addr: "203.0.113.9"})
}

// lastAudit returns the newest audit event with that action.
func (e *ssoEnv) lastAudit(t *testing.T, action string) store.AuditEvent {
	t.Helper()
	events, err := e.svc.AuditEvents(t.Context(), e.ws, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Action == action {
			return ev
		}
	}
	t.Fatalf("no audit event %s in %+v", action, events)
	return store.AuditEvent{}
}

func (e *ssoEnv) wantFailure(t *testing.T, reason string) {
	t.Helper()
	ev := e.lastAudit(t, chat.AuditSignInFailed)
	if ev.Detail != "method=oidc reason="+reason || ev.Addr != "203.0.113.9" {
		t.Errorf("audited failure %+v; want method=oidc reason=%s from 203.0.113.9", ev, reason)
	}
}

func TestSSOSignsInAnExistingAgent(t *testing.T) {
	e := newSSOEnv(t)
	a := e.agent(t, "ada@acme.example")
	res, err := e.signIn(t)
	if err != nil {
		t.Fatalf("FinishSSO: %v", err)
	}
	if res.Agent.ID != a.ID || res.Session.Stage != "" || res.Session.Method != store.AgentMethodOIDC || res.Next != "/console/c/42" {
		t.Errorf("result %+v; want agent %s signed in by oidc, next kept", res, a.ID)
	}
	if got, _, err := e.svc.AgentSession(t.Context(), res.Token); err != nil || got.ID != a.ID {
		t.Errorf("the session opens the console: %v, %v", got.ID, err)
	}
	if ev := e.lastAudit(t, chat.AuditSignIn); ev.Detail != "method=oidc" || ev.Target != a.ID {
		t.Errorf("audited %+v", ev)
	}
}

func TestSSOWrongStateAndReplay(t *testing.T) {
	e := newSSOEnv(t)
	e.agent(t, "ada@acme.example")
	start, err := e.svc.BeginSSO(t.Context(), e.ws, "/console/", ssoRedirect)
	if err != nil {
		t.Fatal(err)
	}
	code, state := e.idp.Authorize(t, start.URL)
	if state != start.State {
		t.Fatalf("the provider sent back state %q; want %q", state, start.State)
	}
	info := chat.SignInInfo{Addr: "203.0.113.9"}
	finish := func(state, browserState string) error {
		_, err := e.svc.FinishSSO(t.Context(), e.ws, chat.SSOCallback{State: state, Code: code, BrowserState: browserState}, ssoRedirect, info)
		return err
	}
	wantCode(t, "a wrong state", finish(state+"x", state+"x"), "sso_state_invalid")
	e.wantFailure(t, "state_invalid")
	// Someone else's callback (their code and state) in a browser that began another flow, or none.
	other, err := e.svc.BeginSSO(t.Context(), e.ws, "/console/", ssoRedirect)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "another browser's callback", finish(state, other.State), "sso_state_invalid")
	e.wantFailure(t, "state_other_browser")
	wantCode(t, "a callback without the browser's state", finish(state, ""), "sso_state_invalid")
	if err := finish(state, state); err != nil {
		t.Fatalf("the right state: %v", err)
	}
	wantCode(t, "the same callback again", finish(state, state), "sso_state_invalid")
	e.wantFailure(t, "state_invalid")

	// A flow expires after SSOFlowLifetime.
	start, _ = e.svc.BeginSSO(t.Context(), e.ws, "/console/", ssoRedirect)
	code, state = e.idp.Authorize(t, start.URL)
	e.clock.Advance(chat.SSOFlowLifetime)
	wantCode(t, "an expired flow", finish(state, state), "sso_state_invalid")
}

func TestSSORefusesBadIDTokens(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bend   func(e *ssoEnv)
		reason string
	}{
		{"another flow's nonce", func(e *ssoEnv) {
			e.idp.EditClaims(func(c map[string]any) { c["nonce"] = "a-nonce-of-another-flow" })
		}, "nonce_mismatch"},
		{"no nonce", func(e *ssoEnv) { e.idp.EditClaims(func(c map[string]any) { delete(c, "nonce") }) }, "nonce_mismatch"},
		{"another audience", func(e *ssoEnv) { e.idp.EditClaims(func(c map[string]any) { c["aud"] = "another-client" }) }, "token_invalid"},
		{"another issuer", func(e *ssoEnv) { e.idp.EditClaims(func(c map[string]any) { c["iss"] = "https://evil.example" }) }, "token_invalid"},
		{"expired", func(e *ssoEnv) {
			e.idp.EditClaims(func(c map[string]any) { c["exp"] = e.clock.Now().Add(-time.Second).Unix() })
		}, "token_invalid"},
		{"alg none", func(e *ssoEnv) { e.idp.Unsigned(true) }, "token_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSSOEnv(t)
			e.agent(t, "ada@acme.example")
			tc.bend(e)
			_, err := e.signIn(t)
			wantCode(t, tc.name, err, "sso_token_invalid")
			e.wantFailure(t, tc.reason)
		})
	}
}

func TestSSORefusesAccounts(t *testing.T) {
	for _, tc := range []struct {
		name         string
		user         oidctest.User
		code, reason string
	}{
		{"email not verified", oidctest.User{Email: "ada@acme.example", EmailVerified: false}, "sso_email_unverified", "email_unverified"},
		{"email_verified missing", oidctest.User{Email: "ada@acme.example"}, "sso_email_unverified", "email_unverified"},
		{"a domain not allowed", oidctest.User{Email: "ada@evil.example", EmailVerified: true}, "sso_domain_not_allowed", "domain_not_allowed"},
		{"no agent", oidctest.User{Email: "bob@acme.example", EmailVerified: true}, "sso_agent_unknown", "agent_unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSSOEnv(t)
			e.agent(t, "ada@acme.example")
			e.idp.SetUser(tc.user)
			_, err := e.signIn(t)
			wantCode(t, tc.name, err, tc.code)
			e.wantFailure(t, tc.reason)
		})
	}
	t.Run("a disabled agent", func(t *testing.T) {
		e := newSSOEnv(t)
		a := e.agent(t, "ada@acme.example")
		e.editAgent(t, a.ID, func(a *store.Agent) { a.DisabledAt = e.clock.Now() })
		_, err := e.signIn(t)
		wantCode(t, "a disabled agent", err, "sso_agent_disabled")
		e.wantFailure(t, "agent_disabled")
	})
	t.Run("an agent of another workspace", func(t *testing.T) {
		e := newSSOEnv(t)
		other, err := e.svc.CreateWorkspace(t.Context(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateAgent(t.Context(), other.ID, "ada@acme.example", "Ada", "agent", signInPassword); err != nil {
			t.Fatal(err)
		}
		e.configure(t, chat.SSOPatch{SelfProvision: ptr(true)})
		_, err = e.signIn(t)
		wantCode(t, "another workspace's agent", err, "sso_agent_unknown")
	})
}

func TestSSOSelfProvisions(t *testing.T) {
	e := newSSOEnv(t)
	e.configure(t, chat.SSOPatch{SelfProvision: ptr(true)})
	e.idp.SetUser(oidctest.User{Email: "grace@acme.example", EmailVerified: "true", Name: "Grace Hopper"})
	res, err := e.signIn(t)
	if err != nil {
		t.Fatalf("FinishSSO: %v", err)
	}
	a := res.Agent
	if a.Email != "grace@acme.example" || a.Name != "Grace Hopper" || a.Role != store.RoleAgent || a.WorkspaceID != e.ws {
		t.Errorf("provisioned %+v; want a plain agent Grace of the workspace", a)
	}
	stored, err := e.st.Agent(t.Context(), a.ID)
	if err != nil || stored.PasswordHash != "" {
		t.Errorf("the provisioned agent has a password: %q, %v", stored.PasswordHash, err)
	}
	if ev := e.lastAudit(t, chat.AuditAgentProvisioned); ev.Target != a.ID || !strings.Contains(ev.Actor, "grace@acme.example") {
		t.Errorf("audited %+v", ev)
	}
	// The second time, the same agent signs in.
	again, err := e.signIn(t)
	if err != nil || again.Agent.ID != a.ID {
		t.Errorf("second sign-in: %v, %v", again.Agent.ID, err)
	}
}

func TestSSOSecondFactor(t *testing.T) {
	e := newSSOEnv(t)
	a := e.agent(t, "ada@acme.example")
	e.editSettings(t, func(st *store.Settings) { st.Require2FA = true })
	res, err := e.signIn(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.Stage != store.AgentStageEnrol {
		t.Errorf("Require2FA without TrustMFA: stage %q; want enrol", res.Session.Stage)
	}
	if _, _, err := e.svc.AgentSession(t.Context(), res.Token); err == nil {
		t.Error("a pending SSO session opens the console")
	}
	e.editAgent(t, a.ID, func(a *store.Agent) { a.TOTPEnabledAt = e.clock.Now() })
	if res, err = e.signIn(t); err != nil || res.Session.Stage != store.AgentStageTOTP {
		t.Errorf("an enrolled agent: stage %q, %v; want totp", res.Session.Stage, err)
	}
	e.configure(t, chat.SSOPatch{TrustMFA: ptr(true)})
	if res, err = e.signIn(t); err != nil || res.Session.Stage != "" {
		t.Errorf("trusting the provider's MFA: stage %q, %v; want none", res.Session.Stage, err)
	}
	if ev := e.lastAudit(t, chat.AuditSignIn); ev.Detail != "method=oidc second_factor=provider" {
		t.Errorf("audited %q", ev.Detail)
	}
}

func TestSSOPasswordsOff(t *testing.T) {
	e := newSSOEnv(t)
	e.agent(t, "ada@acme.example")
	// Passwords cannot go off while single sign-on is off.
	_, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{SSO: &chat.SSOPatch{Enabled: ptr(false), PasswordsOff: ptr(true)}})
	wantCode(t, "passwords off without SSO", err, "sso_required")

	e.configure(t, chat.SSOPatch{PasswordsOff: ptr(true)})
	_, _, _, err = e.svc.StartAgentSession(t.Context(), "ada@acme.example", signInPassword, chat.SignInInfo{})
	wantCode(t, "a password with passwords off", err, "password_sign_in_off")
	if _, err := e.signIn(t); err != nil {
		t.Errorf("single sign-on with passwords off: %v", err)
	}
	// Turning single sign-on off turns passwords back on.
	w, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{SSO: &chat.SSOPatch{Enabled: ptr(false)}})
	if err != nil || w.Settings.SSO.PasswordsOff {
		t.Fatalf("SSO off: %+v, %v", w.Settings.SSO, err)
	}
	if _, _, _, err := e.svc.StartAgentSession(t.Context(), "ada@acme.example", signInPassword, chat.SignInInfo{}); err != nil {
		t.Errorf("a password after SSO went off: %v", err)
	}
	_, err = e.svc.BeginSSO(t.Context(), e.ws, "/console/", ssoRedirect)
	wantCode(t, "SSO off", err, "sso_not_configured")
}

func TestSSOSettings(t *testing.T) {
	e := newSSOEnv(t)
	w, err := e.st.Workspace(t.Context(), e.ws)
	if err != nil {
		t.Fatal(err)
	}
	sso := w.Settings.SSO
	if strings.Contains(string(sso.ClientSecret), e.idp.ClientSecret) {
		t.Error("the client secret is stored in the clear")
	}
	ev := e.lastAudit(t, chat.AuditSSOSettings)
	if !strings.Contains(ev.Detail, "enabled: off → on") || !strings.Contains(ev.Detail, "secret changed") || strings.Contains(ev.Detail, e.idp.ClientSecret) {
		t.Errorf("audited %q", ev.Detail)
	}
	for _, tc := range []struct {
		name  string
		p     chat.SSOPatch
		field string
	}{
		{"plain http to a public address", chat.SSOPatch{Issuer: ptr("http://203.0.113.5")}, "sso_issuer"},
		{"a private address", chat.SSOPatch{Issuer: ptr("https://10.0.0.1")}, "sso_issuer"},
		{"not a URL", chat.SSOPatch{Issuer: ptr("login.acme.example")}, "sso_issuer"},
		{"a bad domain", chat.SSOPatch{AllowedDomains: ptr([]string{"not a domain"})}, "sso_allowed_domains"},
		{"no domain", chat.SSOPatch{AllowedDomains: ptr([]string{})}, "sso_allowed_domains"},
		{"no secret", chat.SSOPatch{ClientSecret: ptr("")}, "sso_client_secret"},
	} {
		_, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{SSO: &tc.p})
		if p, ok := problem.As(err); !ok || p.Field != tc.field {
			t.Errorf("%s: %v; want invalid %s", tc.name, err, tc.field)
		}
	}
	// Changing nothing audits nothing; changing the domains audits old→new.
	before := len(e.signInAuditAll(t))
	e.configure(t, chat.SSOPatch{})
	if after := len(e.signInAuditAll(t)); after != before {
		t.Errorf("an unchanged patch audited %d events: %+v", after-before, e.signInAuditAll(t)[0])
	}
	e.configure(t, chat.SSOPatch{AllowedDomains: ptr([]string{"acme.example", "@Acme.Example", "corp.example"})})
	if ev := e.lastAudit(t, chat.AuditSSOSettings); ev.Detail != "allowed_domains: acme.example → acme.example, corp.example" {
		t.Errorf("audited %q", ev.Detail)
	}
}

func (e *ssoEnv) signInAuditAll(t *testing.T) []store.AuditEvent {
	t.Helper()
	events, err := e.svc.AuditEvents(t.Context(), e.ws, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func TestSSOUnreachableProvider(t *testing.T) {
	e := newSSOEnv(t)
	w, err := e.st.Workspace(t.Context(), e.ws)
	if err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on (the provider's, closed).
	idp := oidctest.Start(t, oidctest.User{})
	e.configure(t, chat.SSOPatch{Issuer: ptr(idp.URL)})
	idp.Close()
	_, err = e.svc.BeginSSO(t.Context(), w.ID, "/console/", ssoRedirect)
	wantCode(t, "an unreachable provider", err, "sso_provider_unreachable")
}

// A hostile provider cannot hang Parley or fill its memory: a discovery document over the size limit and
// a token endpoint that never answers both end as sso_provider_unreachable, audited.
func TestSSOHostileProvider(t *testing.T) {
	e := newSSOEnvTimeout(t, 300*time.Millisecond)
	e.agent(t, "ada@acme.example")
	var issuer string
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/huge/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"issuer": "`+issuer+`/huge", "x": "`+strings.Repeat("a", 2<<20)+`"}`)
		case "/slow/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"issuer": "`+issuer+`/slow", "authorization_endpoint": "`+issuer+`/slow/authorize", "token_endpoint": "`+issuer+`/slow/token", "jwks_uri": "`+issuer+`/slow/jwks", "id_token_signing_alg_values_supported": ["RS256"]}`)
		case "/slow/token":
			io.Copy(io.Discard, r.Body) // read, so that the server notices the client hanging up
			select {                    // never answers, until the client gives up
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}
	}))
	defer hostile.Close()
	issuer = hostile.URL

	e.configure(t, chat.SSOPatch{Issuer: ptr(issuer + "/huge")})
	_, err := e.svc.BeginSSO(t.Context(), e.ws, "/console/", ssoRedirect)
	wantCode(t, "a discovery document over the limit", err, "sso_provider_unreachable")

	e.configure(t, chat.SSOPatch{Issuer: ptr(issuer + "/slow")})
	start, err := e.svc.BeginSSO(t.Context(), e.ws, "/console/", ssoRedirect)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.FinishSSO(t.Context(), e.ws, chat.SSOCallback{State: start.State, Code: "any", BrowserState: start.State}, ssoRedirect,
		chat.SignInInfo{Addr: "203.0.113.9"})
	wantCode(t, "a token endpoint that never answers", err, "sso_provider_unreachable")
	e.wantFailure(t, "provider_unreachable")
}

// Flows never completed are deleted by the cleanup pass once expired, and not before.
func TestSSOCleanup(t *testing.T) {
	e := newSSOEnv(t)
	if _, err := e.svc.BeginSSO(t.Context(), e.ws, "/console/", ssoRedirect); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(chat.SSOFlowLifetime - time.Second)
	if c, err := e.svc.Cleanup(t.Context()); err != nil || c.OIDCFlows != 0 {
		t.Errorf("cleanup before the flow expired: %+v, %v", c, err)
	}
	e.clock.Advance(time.Second)
	if c, err := e.svc.Cleanup(t.Context()); err != nil || c.OIDCFlows != 1 {
		t.Errorf("cleanup after the flow expired: %+v, %v; want 1 flow deleted", c, err)
	}
}
