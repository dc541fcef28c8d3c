package chat

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Single sign-on for console agents with OpenID Connect (authorization code flow with PKCE).
//
// BeginSSO stores a flow — the hash of a random state, a nonce and the PKCE verifier — and returns the
// provider's authorization URL. The provider sends the browser back to the console's callback with a
// code and the state; FinishSSO takes the flow (deleting it: a callback works once), exchanges the code
// with the verifier, and verifies the ID token with go-oidc: signature against the provider's published
// keys (never alg none), issuer, audience (our client id), expiry, then the nonce of this flow. The
// verified email must be marked verified by the provider, be in one of the workspace's allowed domains,
// and name an enabled agent of the workspace — or, when the workspace allows self-provisioning, become
// a plain agent without a password. The session then begins like any other (beginAgentSession); the
// provider's own second factor counts only when the admin trusts it (SSOSettings.TrustMFA).
//
// The provider is reached through the JWKS fetcher's clients: the operator's network policy for URLs
// admins configure applies (public https only, unless parley serve --jwks-allow-networks allows a
// private or loopback network, which is how tests and development run a provider on 127.0.0.1 over
// plain http), with the fetcher's timeouts and no redirects, and every response bounded in size.
//
// Turning passwords off never locks the installation out: the command line runs against the database
// directly and never asks for a password, so an operator can always turn passwords back on
// (parley workspace update --sso-passwords on, or --sso off) and create an admin (parley agent create)
// when the provider is gone.

// SSOFlowLifetime bounds the round trip to the provider (signing in there, perhaps with a second factor).
const SSOFlowLifetime = 10 * time.Minute

// ssoProviderTTL: a provider's discovery document (and with it its key set) is re-read this often.
const ssoProviderTTL = 5 * time.Minute

// ssoMaxResponse bounds every response read from a provider.
const ssoMaxResponse = 1 << 20

// ssoScopes are asked of the provider: the ID token, the email and whether it is verified, the name.
var ssoScopes = []string{oidc.ScopeOpenID, "email", "profile"}

// Limits of the SSO settings.
const (
	maxSSOClientID     = 255
	maxSSOClientSecret = 1024
	maxSSODomains      = 50
)

// SSOPatch changes a workspace's single sign-on settings (SettingsPatch.SSO); nil fields stay. A nil
// ClientSecret keeps the sealed one, an empty one removes it.
type SSOPatch struct {
	Enabled        *bool
	Issuer         *string
	ClientID       *string
	ClientSecret   *string
	AllowedDomains *[]string
	SelfProvision  *bool
	PasswordsOff   *bool
	TrustMFA       *bool
}

// AuditSSOSettings records a change of the single sign-on settings; AuditAgentProvisioned an agent
// created by its first sign-in through the provider.
const (
	AuditSSOSettings      = "settings.sso"
	AuditAgentProvisioned = "agent.provisioned"
)

// SSOConfigured reports whether a workspace's single sign-on is turned on and complete enough to use.
func SSOConfigured(st store.SSOSettings) bool {
	return st.Enabled && st.Issuer != "" && st.ClientID != "" && len(st.ClientSecret) > 0 && len(st.AllowedDomains) > 0
}

func ssoSecretLabel(workspaceID string) string { return "sso_client_secret/" + workspaceID }

// applySSO validates p onto w's settings: the issuer is checked like a JWKS URL (public https unless
// the operator allows a network), the secret sealed with the master key. It audits what changed, never
// the secret itself.
func (s *Service) applySSO(ctx context.Context, tx store.Tx, w *store.Workspace, p SSOPatch) error {
	old := w.Settings.SSO
	st := old
	st.AllowedDomains = slices.Clone(old.AllowedDomains)
	secretChanged := false
	if p.Issuer != nil {
		iss := strings.TrimSpace(*p.Issuer)
		if iss != "" {
			if err := s.jwks.CheckURL(iss); err != nil {
				msg := err.Error()
				if pr, ok := problem.As(err); ok {
					msg = strings.TrimPrefix(pr.Message, "jwks_url: ")
				}
				return problem.InvalidField("sso_issuer", "%s", msg)
			}
			if u, _ := url.Parse(iss); u == nil || u.RawQuery != "" {
				return problem.InvalidField("sso_issuer", "must not contain a query (?…); enter the issuer URL your provider documents")
			}
		}
		st.Issuer = iss
	}
	if p.ClientID != nil {
		id := strings.TrimSpace(*p.ClientID)
		if err := checkText("sso_client_id", id, maxSSOClientID, true); err != nil {
			return err
		}
		st.ClientID = id
	}
	if p.ClientSecret != nil {
		secret := strings.TrimSpace(*p.ClientSecret)
		if len(secret) > maxSSOClientSecret {
			return problem.InvalidField("sso_client_secret", "is %d bytes; at most %d", len(secret), maxSSOClientSecret)
		}
		if secret == "" {
			secretChanged = len(old.ClientSecret) > 0
			st.ClientSecret = nil
		} else if was, err := s.box.Open(old.ClientSecret, ssoSecretLabel(w.ID)); err != nil || string(was) != secret {
			st.ClientSecret = s.box.Seal([]byte(secret), ssoSecretLabel(w.ID))
			secretChanged = true
		}
	}
	if p.AllowedDomains != nil {
		domains := make([]string, 0, len(*p.AllowedDomains))
		for _, d := range *p.AllowedDomains {
			if strings.TrimSpace(d) == "" {
				continue
			}
			canon, err := identity.CanonicalDomain(strings.TrimPrefix(strings.TrimSpace(d), "@"))
			if err != nil {
				return problem.InvalidField("sso_allowed_domains", "%q %s", d, err)
			}
			domains = appendUnique(domains, canon)
		}
		if len(domains) > maxSSODomains {
			return problem.InvalidField("sso_allowed_domains", "lists %d domains; at most %d", len(domains), maxSSODomains)
		}
		st.AllowedDomains = domains
	}
	if p.Enabled != nil {
		st.Enabled = *p.Enabled
	}
	if p.SelfProvision != nil {
		st.SelfProvision = *p.SelfProvision
	}
	if p.TrustMFA != nil {
		st.TrustMFA = *p.TrustMFA
	}
	if p.PasswordsOff != nil {
		st.PasswordsOff = *p.PasswordsOff
	}
	if st.Enabled {
		switch {
		case st.Issuer == "":
			return problem.InvalidField("sso_issuer", "is needed to turn single sign-on on")
		case st.ClientID == "":
			return problem.InvalidField("sso_client_id", "is needed to turn single sign-on on")
		case len(st.ClientSecret) == 0:
			return problem.InvalidField("sso_client_secret", "is needed to turn single sign-on on")
		case len(st.AllowedDomains) == 0:
			// Without a domain, anyone with an account at the provider (a public one, say) would be
			// matched against our agents, or provisioned.
			return problem.InvalidField("sso_allowed_domains", "needs at least one domain to turn single sign-on on")
		}
	} else if st.PasswordsOff {
		if p.PasswordsOff != nil && *p.PasswordsOff {
			return conflict("sso_required", "passwords can be turned off only while single sign-on is on and configured; otherwise no agent could sign in")
		}
		// Turning single sign-on off turns passwords back on.
		st.PasswordsOff = false
	}
	w.Settings.SSO = st
	if detail := ssoChanges(old, st, secretChanged); detail != "" {
		return s.audit(ctx, tx, w.ID, AuditSSOSettings, w.ID, detail)
	}
	return nil
}

// ssoChanges describes what changed between two SSO settings, "field: old → new" as the other settings
// are audited, the secret only as changed or removed, never its value.
func ssoChanges(old, cur store.SSOSettings, secretChanged bool) string {
	var parts []string
	onOff := map[bool]string{true: "on", false: "off"}
	flag := func(name string, a, b bool) {
		if a != b {
			parts = append(parts, fmt.Sprintf("%s: %s → %s", name, onOff[a], onOff[b]))
		}
	}
	text := func(name, a, b string) {
		if a != b {
			parts = append(parts, fmt.Sprintf("%s: %q → %q", name, a, b))
		}
	}
	list := func(l []string) string {
		if len(l) == 0 {
			return "none"
		}
		return strings.Join(l, ", ")
	}
	flag("enabled", old.Enabled, cur.Enabled)
	text("issuer", old.Issuer, cur.Issuer)
	text("client_id", old.ClientID, cur.ClientID)
	if secretChanged {
		if len(cur.ClientSecret) == 0 {
			parts = append(parts, "client_secret: removed")
		} else {
			parts = append(parts, "client_secret: secret changed")
		}
	}
	if !slices.Equal(old.AllowedDomains, cur.AllowedDomains) {
		parts = append(parts, fmt.Sprintf("allowed_domains: %s → %s", list(old.AllowedDomains), list(cur.AllowedDomains)))
	}
	flag("self_provision", old.SelfProvision, cur.SelfProvision)
	flag("passwords_off", old.PasswordsOff, cur.PasswordsOff)
	flag("trust_mfa", old.TrustMFA, cur.TrustMFA)
	return strings.Join(parts, "; ")
}

// ---------------------------------------------------------------- providers

// ssoProviders caches each issuer's discovery document for a few minutes, so a sign-in costs no
// discovery round trip and a provider's changed keys or endpoints are still seen soon.
type ssoProviders struct {
	mu sync.Mutex
	m  map[string]ssoProvider
}

type ssoProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

func (s *Service) ssoClient() *http.Client { return s.jwks.OutboundClient(ssoMaxResponse) }

func (s *Service) ssoProvider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	now := s.now()
	s.sso.mu.Lock()
	if s.sso.m == nil {
		s.sso.m = map[string]ssoProvider{}
	}
	c, ok := s.sso.m[issuer]
	if ok && now.Sub(c.fetched) < ssoProviderTTL && now.Sub(c.fetched) >= 0 {
		s.sso.mu.Unlock()
		return c.p, nil
	}
	for iss, c := range s.sso.m { // forget the stale, so issuers no longer used do not pile up
		if now.Sub(c.fetched) >= ssoProviderTTL {
			delete(s.sso.m, iss)
		}
	}
	s.sso.mu.Unlock()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.ssoClient()), issuer)
	if err != nil {
		return nil, err
	}
	s.sso.mu.Lock()
	s.sso.m[issuer] = ssoProvider{p: p, fetched: now}
	s.sso.mu.Unlock()
	return p, nil
}

func (s *Service) oauthConfig(ws store.Workspace, p *oidc.Provider, redirectURL string) (*oauth2.Config, error) {
	st := ws.Settings.SSO
	secret, err := s.box.Open(st.ClientSecret, ssoSecretLabel(ws.ID))
	if err != nil {
		return nil, fmt.Errorf("chat: open the sso client secret of %s: %w", ws.ID, err)
	}
	return &oauth2.Config{ClientID: st.ClientID, ClientSecret: string(secret), Endpoint: p.Endpoint(),
		RedirectURL: redirectURL, Scopes: ssoScopes}, nil
}

// ---------------------------------------------------------------- the flow

func ssoNotConfigured() *problem.Error {
	return problem.New(http.StatusNotFound, "sso_not_configured", "this workspace has no single sign-on; sign in with your email and password")
}

func ssoUnreachable() *problem.Error {
	return problem.New(http.StatusBadGateway, "sso_provider_unreachable", "the single sign-on provider could not be reached; try again in a moment, or tell your administrator")
}

// SSOWorkspace is a workspace agents can sign in to through single sign-on, for the sign-in page.
type SSOWorkspace struct {
	ID   string
	Name string
}

// SSOWorkspaces lists the workspaces whose single sign-on is on and configured.
func (s *Service) SSOWorkspaces(ctx context.Context) ([]SSOWorkspace, error) {
	all, err := s.store.Workspaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []SSOWorkspace
	for _, w := range all {
		if SSOConfigured(w.Settings.SSO) {
			out = append(out, SSOWorkspace{ID: w.ID, Name: w.Name})
		}
	}
	return out, nil
}

// SSOStart is a single sign-on begun: the provider's authorization URL to send the browser to, and the
// flow's state, which the caller must bind to that browser (the console keeps it in a short-lived
// cookie) and hand back to FinishSSO with the callback.
type SSOStart struct {
	URL   string
	State string
}

// BeginSSO starts a single sign-on into the workspace. redirectURL is the console's callback for the
// workspace, which the provider must know; next is where the console goes after signing in (already
// checked by the caller).
func (s *Service) BeginSSO(ctx context.Context, workspaceID, next, redirectURL string) (SSOStart, error) {
	ws, err := s.store.Workspace(ctx, workspaceID)
	if isNotFound(err) || err == nil && !SSOConfigured(ws.Settings.SSO) {
		return SSOStart{}, ssoNotConfigured()
	}
	if err != nil {
		return SSOStart{}, err
	}
	p, err := s.ssoProvider(ctx, ws.Settings.SSO.Issuer)
	if err != nil {
		s.log.Warn("single sign-on: provider discovery failed", "workspace", ws.ID, "issuer", ws.Settings.SSO.Issuer, "err", err)
		return SSOStart{}, ssoUnreachable()
	}
	cfg, err := s.oauthConfig(ws, p, redirectURL)
	if err != nil {
		return SSOStart{}, err
	}
	state, nonce, verifier := randomToken(""), randomToken(""), oauth2.GenerateVerifier()
	now := s.clock()
	f := store.OIDCFlow{StateHash: hashToken(state), WorkspaceID: ws.ID, Nonce: nonce, Verifier: verifier, Next: clip(next, 2000),
		CreatedAt: now, ExpiresAt: now.Add(SSOFlowLifetime)}
	if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.CreateOIDCFlow(ctx, &f) }); err != nil {
		return SSOStart{}, err
	}
	return SSOStart{URL: cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), State: state}, nil
}

// ssoClaims are the ID token's claims Parley reads. email_verified is read leniently: some providers
// send it as the string "true".
type ssoClaims struct {
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	Name          string          `json:"name"`
}

func (c ssoClaims) verified() bool {
	v := strings.TrimSpace(string(c.EmailVerified))
	return v == "true" || v == `"true"`
}

// SSOResult is a sign-in that FinishSSO began: the session's token for the cookie, the session (its
// Stage says what is still owed), and where to go next.
type SSOResult struct {
	Token   string
	Session store.AgentSession
	Agent   store.Agent
	Next    string
}

// SSOCallback is what the provider sent the browser back with (State, Code), and the state this
// browser was given when it began (BrowserState, from the console's cookie).
type SSOCallback struct {
	State, Code  string
	BrowserState string
}

// FinishSSO completes the single sign-on the provider sent the browser back from. redirectURL must be
// the one BeginSSO was given. The callback's state must be the one this browser began with: a callback
// URL someone else began (their own code and state, sent to a victim) would otherwise sign the victim
// in to the sender's account (login CSRF). Every refusal is a problem with a code of its own (sso_…),
// audited as a failed sign-in in the workspace.
func (s *Service) FinishSSO(ctx context.Context, workspaceID string, cb SSOCallback, redirectURL string, info SignInInfo) (SSOResult, error) {
	state, code := cb.State, cb.Code
	ws, err := s.store.Workspace(ctx, workspaceID)
	if isNotFound(err) {
		s.log.Info("single sign-on callback for an unknown workspace", "workspace", workspaceID, "addr", info.Addr)
		return SSOResult{}, ssoNotConfigured()
	}
	if err != nil {
		return SSOResult{}, err
	}
	fail := func(actor, reason string, pr *problem.Error) (SSOResult, error) {
		s.auditWorkspace(ctx, ws.ID, actor, AuditSignInFailed, "method=oidc reason="+reason, info)
		return SSOResult{}, pr
	}
	const anyone = "single sign-on"
	if !SSOConfigured(ws.Settings.SSO) {
		return fail(anyone, "not_configured", ssoNotConfigured())
	}
	stateInvalid := problem.New(http.StatusBadRequest, "sso_state_invalid",
		"this single sign-on has expired or was already used; start again with the single sign-on button")
	if state == "" || len(state) > 200 {
		return fail(anyone, "state_invalid", stateInvalid)
	}
	if subtle.ConstantTimeCompare([]byte(state), []byte(cb.BrowserState)) != 1 {
		return fail(anyone, "state_other_browser", stateInvalid)
	}
	var flow store.OIDCFlow
	err = s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		flow, err = tx.TakeOIDCFlow(ctx, hashToken(state), s.clock())
		return err
	})
	if isNotFound(err) || err == nil && flow.WorkspaceID != ws.ID {
		return fail(anyone, "state_invalid", stateInvalid)
	}
	if err != nil {
		return SSOResult{}, err
	}
	if code == "" || len(code) > 4096 {
		return fail(anyone, "code_missing", problem.New(http.StatusUnauthorized, "sso_code_invalid",
			"the single sign-on provider sent no sign-in code back; start again with the single sign-on button"))
	}
	p, err := s.ssoProvider(ctx, ws.Settings.SSO.Issuer)
	if err != nil {
		s.log.Warn("single sign-on: provider discovery failed", "workspace", ws.ID, "err", err)
		return fail(anyone, "provider_unreachable", ssoUnreachable())
	}
	cfg, err := s.oauthConfig(ws, p, redirectURL)
	if err != nil {
		return SSOResult{}, err
	}
	octx := oidc.ClientContext(ctx, s.ssoClient())
	tok, err := cfg.Exchange(octx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			s.log.Info("single sign-on: the provider refused the code", "workspace", ws.ID, "err", err)
			return fail(anyone, "code_refused", problem.New(http.StatusUnauthorized, "sso_code_invalid",
				"the single sign-on provider refused this sign-in; start again with the single sign-on button"))
		}
		s.log.Warn("single sign-on: code exchange failed", "workspace", ws.ID, "err", err)
		return fail(anyone, "provider_unreachable", ssoUnreachable())
	}
	tokenInvalid := problem.New(http.StatusUnauthorized, "sso_token_invalid",
		"the single sign-on provider's answer could not be verified; tell your administrator")
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return fail(anyone, "token_missing", tokenInvalid)
	}
	verifier := p.Verifier(&oidc.Config{ClientID: ws.Settings.SSO.ClientID, Now: s.now})
	idt, err := verifier.Verify(octx, raw)
	if err != nil {
		s.log.Info("single sign-on: ID token refused", "workspace", ws.ID, "err", err)
		return fail(anyone, "token_invalid", tokenInvalid)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		return fail(anyone, "nonce_mismatch", tokenInvalid)
	}
	var claims ssoClaims
	if err := idt.Claims(&claims); err != nil {
		return fail(anyone, "claims_invalid", tokenInvalid)
	}
	email, err := identity.CanonicalEmail(claims.Email)
	if err != nil {
		return fail(anyone, "email_missing", problem.New(http.StatusForbidden, "sso_email_unverified",
			"the single sign-on provider gave no usable email address for this account"))
	}
	who := "single sign-on " + email
	if !claims.verified() {
		return fail(who, "email_unverified", problem.New(http.StatusForbidden, "sso_email_unverified",
			"the single sign-on provider has not verified this account's email address; verify it there first"))
	}
	_, domain, _ := strings.Cut(email, "@")
	if !slices.Contains(ws.Settings.SSO.AllowedDomains, domain) {
		return fail(who, "domain_not_allowed", problem.New(http.StatusForbidden, "sso_domain_not_allowed",
			"accounts of this email domain cannot sign in to this workspace; ask your administrator"))
	}
	a, err := s.store.AgentByEmail(ctx, email)
	switch {
	case isNotFound(err) || err == nil && a.WorkspaceID != ws.ID:
		// Emails are unique across the installation; an agent of another workspace is no agent here,
		// and cannot be provisioned here either.
		if err != nil && ws.Settings.SSO.SelfProvision {
			if a, err = s.provisionAgent(ctx, ws, email, claims.Name, info); err != nil {
				return SSOResult{}, err
			}
			break
		}
		return fail(who, "agent_unknown", problem.New(http.StatusForbidden, "sso_agent_unknown",
			"there is no agent account for this email address in this workspace; ask your administrator to add you"))
	case err != nil:
		return SSOResult{}, err
	case !a.DisabledAt.IsZero():
		s.auditAgent(ctx, a, AuditSignInFailed, "method=oidc reason=agent_disabled", info)
		return SSOResult{}, problem.New(http.StatusForbidden, "sso_agent_disabled",
			"this agent account is disabled; ask your administrator")
	}
	token, sess, err := s.beginAgentSession(ctx, a, ws, store.AgentMethodOIDC, info, ws.Settings.SSO.TrustMFA)
	if err != nil {
		return SSOResult{}, err
	}
	a.PasswordHash = ""
	return SSOResult{Token: token, Session: sess, Agent: a, Next: flow.Next}, nil
}

// provisionAgent creates a plain agent, without a password, for a verified email of an allowed domain
// signing in for the first time.
func (s *Service) provisionAgent(ctx context.Context, ws store.Workspace, email, name string, info SignInInfo) (store.Agent, error) {
	name = strings.TrimSpace(name)
	if name == "" || checkText("name", name, maxNameLength, false) != nil {
		name, _, _ = strings.Cut(email, "@")
	}
	now := s.clock()
	a := store.Agent{ID: newID("ag_"), WorkspaceID: ws.ID, Email: email, Name: name, Role: store.RoleAgent,
		Available: true, CreatedAt: now, UpdatedAt: now}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateAgent(ctx, &a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return problem.New(http.StatusForbidden, "sso_agent_unknown",
					"there is no agent account for this email address in this workspace; ask your administrator to add you")
			}
			return err
		}
		return s.auditIn(ctx, tx, ws.ID, "single sign-on "+email, AuditAgentProvisioned, a.ID, "role=agent method=oidc", info.Addr)
	})
	return a, err
}

// auditWorkspace records an event in a workspace's trail in its own transaction; a failure to record is
// logged, so that it cannot turn a refusal into a 500.
func (s *Service) auditWorkspace(ctx context.Context, workspaceID, actor, action, detail string, info SignInInfo) {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		return s.auditIn(ctx, tx, workspaceID, actor, action, "", detail, info.Addr)
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("audit", "action", action, "workspace", workspaceID, "err", err)
	}
}

// SSORedirectURL is the console's callback for a workspace's single sign-on, the redirect URI to
// register at the provider: under the server's public URL when one is configured (parley serve
// --public-url), since the origin a request names is the client's to choose, else under origin, the
// console's own origin as the browser reached it.
func (s *Service) SSORedirectURL(origin, workspaceID string) string {
	base := s.publicURL
	if base == "" {
		base = strings.TrimSuffix(origin, "/")
	}
	return base + "/console/sso/" + url.PathEscape(workspaceID) + "/callback"
}
