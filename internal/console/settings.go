package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Administration pages. Admin (the middleware) has checked the role before any of these run; the
// chat calls scope every id to the administrator's workspace.

const (
	settingsPath = "/console/settings"
	keysPath     = "/console/settings/keys"
	apiKeysPath  = "/console/settings/api-keys"
	auditPath    = "/console/settings/audit"
	agentsPath   = "/console/settings/agents"
	routingPath  = "/console/settings/routing"
)

// settingsForm is the settings page's form, filled from the workspace or from a refused post.
type settingsForm struct {
	Name                string
	AllowedOrigins      string
	Onboarding          bool
	FirstMessage        string
	LoginURL            string
	HideUntilLogin      bool
	AllowedEmailDomains string
	RequireVerified     bool
	ReadReceipts        bool
	MaxTokenLifetime    string
	// Session lifetimes, as durations such as 12h.
	VerifiedIdleTimeout string
	VerifiedLifetime    string
	VisitorIdleTimeout  string
	Error               string
	ErrorField          string
	MinLifetime         string
	MaxLifetime         string
}

func formFromWorkspace(w store.Workspace) settingsForm {
	st := w.Settings
	return settingsForm{
		Name: w.Name, AllowedOrigins: strings.Join(st.AllowedOrigins, "\n"), Onboarding: st.Onboarding,
		FirstMessage: st.FirstMessage, LoginURL: st.LoginURL, HideUntilLogin: st.HideUntilLogin,
		AllowedEmailDomains: strings.Join(st.AllowedEmailDomains, "\n"), RequireVerified: st.RequireVerified,
		ReadReceipts:        !st.HideReadReceipts,
		MaxTokenLifetime:    shortDuration(chat.MaxLifetime(st)),
		VerifiedIdleTimeout: shortDuration(chat.VerifiedIdleTimeout(st)),
		VerifiedLifetime:    shortDuration(chat.VerifiedLifetime(st)),
		VisitorIdleTimeout:  shortDuration(chat.VisitorIdleTimeout(st)),
	}
}

// shortDuration writes 10m0s as 10m and 1h30m0s as 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (c *Console) renderSettings(w http.ResponseWriter, r *http.Request, status int, f settingsForm) {
	f.MinLifetime, f.MaxLifetime = shortDuration(chat.MinTokenLifetime), shortDuration(chat.MaxTokenLifetime)
	c.render(w, r, status, "settings", c.page(w, r, "Settings", "settings", f))
}

// SettingsPage serves GET /console/settings.
func (c *Console) SettingsPage(w http.ResponseWriter, r *http.Request) {
	c.renderSettings(w, r, http.StatusOK, formFromWorkspace(signedIn(r).workspace))
}

// splitLines reads a one-per-line textarea (commas are accepted too).
func splitLines(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// SaveSettings serves POST /console/settings. A refused value shows the form again as it was sent, with
// what to fix.
func (c *Console) SaveSettings(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	pf := r.PostForm
	f := settingsForm{
		Name: pf.Get("name"), AllowedOrigins: pf.Get("allowed_origins"), Onboarding: pf.Get("onboarding") == "on",
		FirstMessage: pf.Get("first_message"), LoginURL: pf.Get("login_url"), HideUntilLogin: pf.Get("hide_until_login") == "on",
		AllowedEmailDomains: pf.Get("allowed_email_domains"), RequireVerified: pf.Get("require_verified") == "on",
		ReadReceipts:        pf.Get("read_receipts") == "on",
		MaxTokenLifetime:    strings.TrimSpace(pf.Get("max_token_lifetime")),
		VerifiedIdleTimeout: strings.TrimSpace(pf.Get("verified_idle_timeout")),
		VerifiedLifetime:    strings.TrimSpace(pf.Get("verified_lifetime")),
		VisitorIdleTimeout:  strings.TrimSpace(pf.Get("visitor_idle_timeout")),
	}
	origins, domains := splitLines(f.AllowedOrigins), splitLines(f.AllowedEmailDomains)
	patch := chat.SettingsPatch{
		Name: &f.Name, AllowedOrigins: &origins, Onboarding: &f.Onboarding, FirstMessage: &f.FirstMessage,
		LoginURL: &f.LoginURL, HideUntilLogin: &f.HideUntilLogin, AllowedEmailDomains: &domains, RequireVerified: &f.RequireVerified,
		ReadReceipts: &f.ReadReceipts,
	}
	if f.MaxTokenLifetime != "" {
		d, err := time.ParseDuration(f.MaxTokenLifetime)
		if err != nil {
			f.Error, f.ErrorField = "Maximum token lifetime: write a duration such as 10m, 90s or 1h.", "max_token_lifetime"
			c.renderSettings(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		patch.MaxTokenLifetime = &d
	}
	// An empty lifetime field leaves the setting as it is.
	for _, lf := range []struct {
		field, label, value string
		dst                 **time.Duration
	}{
		{"verified_idle_timeout", "Verified session idle timeout", f.VerifiedIdleTimeout, &patch.VerifiedIdleTimeout},
		{"verified_lifetime", "Verified session lifetime", f.VerifiedLifetime, &patch.VerifiedLifetime},
		{"visitor_idle_timeout", "Visitor session idle timeout", f.VisitorIdleTimeout, &patch.VisitorIdleTimeout},
	} {
		if lf.value == "" {
			continue
		}
		d, err := time.ParseDuration(lf.value)
		if err != nil {
			f.Error, f.ErrorField = lf.label+": write a duration such as 30m, 12h or 168h.", lf.field
			c.renderSettings(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		*lf.dst = &d
	}
	if _, err := c.chat.UpdateWorkspace(r.Context(), s.agent.WorkspaceID, patch); err != nil {
		if p, ok := problem.As(err); ok && p.Status == http.StatusUnprocessableEntity {
			f.Error, f.ErrorField = problemSentence(p), p.Field
			c.renderSettings(w, r, p.Status, f)
			return
		}
		c.fail(w, r, err)
		return
	}
	c.seeOther(w, r, settingsPath, "ok", "Settings saved.")
}
