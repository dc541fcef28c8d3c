package console

import (
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Single sign-on: the admin's settings page, and the two legs of a sign-in through the workspace's
// OpenID provider (package chat, sso.go, keeps every rule).

const ssoSettingsPath = "/console/settings/sso"

// ssoStateCookie binds a single sign-on to the browser that began it: it holds the flow's state, scoped
// to the callback's path, for the flow's lifetime. SameSite=Lax still sends it on the provider's
// top-level redirect back.
const (
	ssoStateCookie = "parley_console_sso"
	ssoCookiePath  = "/console/sso/"
)

// ssoForm is the data of the single sign-on settings page. The client secret is never shown: the form
// says whether one is stored, and an empty field keeps it.
type ssoForm struct {
	Enabled        bool
	Issuer         string
	ClientID       string
	HasSecret      bool
	AllowedDomains string
	SelfProvision  bool
	PasswordsOff   bool
	TrustMFA       bool
	RedirectURL    string // to register at the provider
	Error          string
	ErrorField     string
}

func ssoFormOf(st store.SSOSettings) ssoForm {
	return ssoForm{Enabled: st.Enabled, Issuer: st.Issuer, ClientID: st.ClientID, HasSecret: len(st.ClientSecret) > 0,
		AllowedDomains: strings.Join(st.AllowedDomains, "\n"), SelfProvision: st.SelfProvision, PasswordsOff: st.PasswordsOff, TrustMFA: st.TrustMFA}
}

// ssoFieldLabels name the form's fields in refusals.
var ssoFieldLabels = map[string]string{
	"sso_issuer":          "The issuer URL",
	"sso_client_id":       "The client id",
	"sso_client_secret":   "The client secret",
	"sso_allowed_domains": "Allowed email domains",
}

func (c *Console) renderSSO(w http.ResponseWriter, r *http.Request, status int, f ssoForm) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	f.RedirectURL = c.chat.SSORedirectURL(c.ownOrigin(r), s.workspace.ID)
	v := c.page(w, r, "Single sign-on", "sso", f)
	v.Path = ssoSettingsPath
	c.render(w, r, status, "sso", v)
}

// SSOSettingsPage serves GET /console/settings/sso.
func (c *Console) SSOSettingsPage(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	c.renderSSO(w, r, http.StatusOK, ssoFormOf(s.workspace.Settings.SSO))
}

// SaveSSOSettings serves POST /console/settings/sso (fields enabled, issuer, client_id, client_secret —
// empty keeps the stored one —, allowed_domains one per line, self_provision, passwords_off, trust_mfa).
func (c *Console) SaveSSOSettings(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	f := r.PostForm
	form := ssoForm{Enabled: f.Get("enabled") != "", Issuer: strings.TrimSpace(f.Get("issuer")), ClientID: strings.TrimSpace(f.Get("client_id")),
		HasSecret: len(s.workspace.Settings.SSO.ClientSecret) > 0, AllowedDomains: f.Get("allowed_domains"),
		SelfProvision: f.Get("self_provision") != "", PasswordsOff: f.Get("passwords_off") != "", TrustMFA: f.Get("trust_mfa") != ""}
	domains := splitLines(form.AllowedDomains)
	p := chat.SSOPatch{Enabled: &form.Enabled, Issuer: &form.Issuer, ClientID: &form.ClientID, AllowedDomains: &domains,
		SelfProvision: &form.SelfProvision, PasswordsOff: &form.PasswordsOff, TrustMFA: &form.TrustMFA}
	if secret := strings.TrimSpace(f.Get("client_secret")); secret != "" {
		p.ClientSecret = &secret
	} else if f.Get("remove_secret") != "" {
		p.ClientSecret = &secret
	}
	if _, err := c.chat.UpdateWorkspace(r.Context(), s.workspace.ID, chat.SettingsPatch{SSO: &p}); err != nil {
		pr, ok := fixable(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		form.Error, form.ErrorField = pr.Message, pr.Field
		if label, ok := ssoFieldLabels[pr.Field]; ok {
			form.Error = label + " " + strings.TrimPrefix(pr.Message, pr.Field+": ")
		}
		form.Error = sentence(form.Error)
		c.renderSSO(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	c.seeOther(w, r, ssoSettingsPath, "ok", "Single sign-on settings saved.")
}

// SSOStart serves GET /console/sso/{workspace}/start?next=…: it sends the browser to the workspace's
// provider. It is a GET (a link on the sign-in page) and changes nothing but a flow row that only the
// provider's answer can use.
func (c *Console) SSOStart(w http.ResponseWriter, r *http.Request) {
	wsID := r.PathValue("workspace")
	next := localPath(r.URL.Query().Get("next"))
	start, err := c.chat.BeginSSO(r.Context(), wsID, next, c.chat.SSORedirectURL(c.ownOrigin(r), wsID))
	if err != nil {
		c.ssoRefused(w, r, err, next)
		return
	}
	c.setCookie(w, r, ssoStateCookie, start.State, ssoCookiePath, chat.SSOFlowLifetime)
	http.Redirect(w, r, start.URL, http.StatusSeeOther)
}

// SSOCallback serves GET /console/sso/{workspace}/callback, where the provider sends the browser back
// with code and state (or error). A success signs in like a password does (signInTo); a refusal is the
// sign-in page with what went wrong.
func (c *Console) SSOCallback(w http.ResponseWriter, r *http.Request) {
	wsID, q := r.PathValue("workspace"), r.URL.Query()
	cb := chat.SSOCallback{State: q.Get("state"), Code: q.Get("code")}
	if ck, err := r.Cookie(ssoStateCookie); err == nil {
		cb.BrowserState = ck.Value
	}
	// The flow is over whatever the answer: a second one begins with a new state.
	http.SetCookie(w, &http.Cookie{Name: ssoStateCookie, Value: "", Path: ssoCookiePath, MaxAge: -1, HttpOnly: true,
		Secure: c.overTLS(r), SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		// The provider refused or the person cancelled there; its words are not ours to show.
		c.ssoRefused(w, r, problem.New(http.StatusUnauthorized, "sso_denied", "the single sign-on provider did not sign you in"), homePath)
		return
	}
	res, err := c.chat.FinishSSO(r.Context(), wsID, cb, c.chat.SSORedirectURL(c.ownOrigin(r), wsID), c.signInInfo(r))
	if err != nil {
		c.ssoRefused(w, r, err, homePath)
		return
	}
	c.signInTo(w, r, res.Token, res.Session, localPath(res.Next))
}

// ssoRefused shows the sign-in page with a refusal of single sign-on; what the server itself failed at
// stays a 500 page.
func (c *Console) ssoRefused(w http.ResponseWriter, r *http.Request, err error, next string) {
	p, ok := problem.As(err)
	if !ok || p.Status >= 500 && p.Code != "sso_provider_unreachable" {
		c.fail(w, r, err)
		return
	}
	c.renderLogin(w, r, p.Status, loginPage{Next: next, Error: "Single sign-on failed: " + sentence(p.Message)})
}
