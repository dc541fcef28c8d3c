package console

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/files"
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
	Require2FA          bool
	MaxTokenLifetime    string
	// Session lifetimes, as durations such as 12h.
	VerifiedIdleTimeout string
	VerifiedLifetime    string
	VisitorIdleTimeout  string
	ConsoleIdleTimeout  string // agents' console sessions
	// RetentionDays: closed conversations are deleted this many days after they closed; "0" keeps them.
	RetentionDays string
	// Attachments (attachments.go): on or off, the maximum size in MB, the kinds allowed, and what the
	// workspace stores now.
	Attachments       bool
	AttachmentMaxMB   string
	AttachmentKinds   []kindChoice
	StoredAttachments string
	// Business hours and email (email.go): the schedule in chat.ParseWeek's syntax, holidays one per
	// line, durations such as 10m.
	HoursEnabled     bool
	TimeZone         string
	HoursWeek        string
	Holidays         string
	OutOfHours       string // chat.HoursAway or chat.HoursHide
	HoursStatus      string
	TimeZones        []string
	EmailReplies     bool
	EmailReplyDelay  string
	EmailInterval    string
	UnreadAlertDelay string
	EmailConfigured  bool
	NoEmailNotice    string
	Error            string
	ErrorField       string
	MinLifetime      string
	MaxLifetime      string

	// DefaultLocale is the widget's language when nothing else names one it speaks ("" = English);
	// Locales are the choices, the languages the widget speaks.
	DefaultLocale string
	Locales       []chat.Locale
}

// kindChoice is one checkbox of the allowed kinds.
type kindChoice struct {
	Name, Label string
	Checked     bool
}

// kindChoices lists every kind Parley accepts, those in allowed checked.
func kindChoices(allowed []string) []kindChoice {
	var out []kindChoice
	for _, k := range files.Kinds() {
		out = append(out, kindChoice{Name: k.Name, Label: kindLabel(k.Name), Checked: slices.Contains(allowed, k.Name)})
	}
	return out
}

// Limits of the maximum attachment size, in MB as the form writes it (decimal: 1 MB = 1,000,000 bytes).
const (
	minAttachmentMB = 1
	maxAttachmentMB = 100
)

// megabytes writes a byte count as the form's MB ("10", "2.5").
func megabytes(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64)
}

func formFromWorkspace(w store.Workspace) settingsForm {
	st := w.Settings
	f := settingsForm{
		Name: w.Name, AllowedOrigins: strings.Join(st.AllowedOrigins, "\n"), Onboarding: st.Onboarding,
		FirstMessage: st.FirstMessage, LoginURL: st.LoginURL, HideUntilLogin: st.HideUntilLogin,
		AllowedEmailDomains: strings.Join(st.AllowedEmailDomains, "\n"), RequireVerified: st.RequireVerified,
		ReadReceipts:        !st.HideReadReceipts,
		Require2FA:          st.Require2FA,
		MaxTokenLifetime:    shortDuration(chat.MaxLifetime(st)),
		VerifiedIdleTimeout: shortDuration(chat.VerifiedIdleTimeout(st)),
		VerifiedLifetime:    shortDuration(chat.VerifiedLifetime(st)),
		VisitorIdleTimeout:  shortDuration(chat.VisitorIdleTimeout(st)),
		ConsoleIdleTimeout:  shortDuration(chat.ConsoleIdleTimeout(st)),
	}
	maxBytes, kinds := chat.AttachmentLimits(st)
	f.Attachments, f.AttachmentMaxMB, f.AttachmentKinds = !st.AttachmentsOff, megabytes(maxBytes), kindChoices(kinds)
	h := st.Hours
	f.HoursEnabled, f.TimeZone, f.HoursWeek, f.Holidays, f.OutOfHours = h.Enabled, h.TimeZone, chat.FormatWeek(h.Week), strings.Join(h.Holidays, "\n"), chat.HoursMode(st)
	f.EmailReplies = !st.EmailRepliesOff
	f.EmailReplyDelay = durationValue(st.EmailReplyDelay, chat.DefaultEmailReplyDelay)
	f.EmailInterval = durationValue(st.EmailInterval, chat.DefaultEmailInterval)
	f.UnreadAlertDelay = durationValue(st.UnreadAlertDelay, chat.DefaultUnreadAlertDelay)
	f.RetentionDays = strconv.Itoa(st.RetentionDays)
	f.DefaultLocale = st.DefaultLocale
	return f
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
	stored, err := c.chat.StoredBytes(r.Context(), signedIn(r).workspace.ID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f.StoredAttachments = files.HumanSize(stored)
	// The status is the saved settings', also when the form shows a refused post.
	f.HoursStatus = hoursStatus(c.chat.Hours(signedIn(r).workspace.Settings), c.now())
	f.TimeZones, f.EmailConfigured, f.NoEmailNotice = commonTimeZones, c.chat.EmailConfigured(), noEmailNotice
	f.Locales = chat.WidgetLocales()
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
		Require2FA:          pf.Get("require_2fa") == "on",
		MaxTokenLifetime:    strings.TrimSpace(pf.Get("max_token_lifetime")),
		VerifiedIdleTimeout: strings.TrimSpace(pf.Get("verified_idle_timeout")),
		VerifiedLifetime:    strings.TrimSpace(pf.Get("verified_lifetime")),
		VisitorIdleTimeout:  strings.TrimSpace(pf.Get("visitor_idle_timeout")),
		ConsoleIdleTimeout:  strings.TrimSpace(pf.Get("console_idle_timeout")),
		Attachments:         pf.Get("attachments") == "on",
		AttachmentMaxMB:     strings.TrimSpace(pf.Get("attachment_max_mb")),
		AttachmentKinds:     kindChoices(pf["attachment_kinds"]),
		HoursEnabled:        pf.Get("hours_enabled") == "on",
		TimeZone:            strings.TrimSpace(pf.Get("time_zone")),
		HoursWeek:           pf.Get("hours"),
		Holidays:            pf.Get("holidays"),
		OutOfHours:          pf.Get("out_of_hours"),
		EmailReplies:        pf.Get("email_replies") == "on",
		EmailReplyDelay:     strings.TrimSpace(pf.Get("email_reply_delay")),
		EmailInterval:       strings.TrimSpace(pf.Get("email_interval")),
		UnreadAlertDelay:    strings.TrimSpace(pf.Get("unread_alert_delay")),
		RetentionDays:       strings.TrimSpace(pf.Get("retention_days")),
		DefaultLocale:       pf.Get("default_locale"),
	}
	origins, domains := splitLines(f.AllowedOrigins), splitLines(f.AllowedEmailDomains)
	patch := chat.SettingsPatch{
		Name: &f.Name, AllowedOrigins: &origins, Onboarding: &f.Onboarding, FirstMessage: &f.FirstMessage,
		LoginURL: &f.LoginURL, HideUntilLogin: &f.HideUntilLogin, AllowedEmailDomains: &domains, RequireVerified: &f.RequireVerified,
		ReadReceipts: &f.ReadReceipts,
	}
	if pf.Get("two_factor_settings") == "1" { // an older form without the box must not turn it off
		patch.Require2FA = &f.Require2FA
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
	// A form without the language (an older page) leaves it as it is.
	if _, ok := pf["default_locale"]; ok {
		patch.DefaultLocale = &f.DefaultLocale
	}
	// An empty retention field (an older form) leaves the setting as it is.
	if f.RetentionDays != "" {
		days, err := strconv.Atoi(f.RetentionDays)
		if err != nil {
			f.Error, f.ErrorField = "Delete closed conversations after: write a whole number of days, or 0 to keep them for good.", "retention_days"
			c.renderSettings(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		patch.RetentionDays = &days
	}
	// An empty lifetime field leaves the setting as it is.
	for _, lf := range []struct {
		field, label, value string
		dst                 **time.Duration
	}{
		{"verified_idle_timeout", "Verified session idle timeout", f.VerifiedIdleTimeout, &patch.VerifiedIdleTimeout},
		{"verified_lifetime", "Verified session lifetime", f.VerifiedLifetime, &patch.VerifiedLifetime},
		{"visitor_idle_timeout", "Visitor session idle timeout", f.VisitorIdleTimeout, &patch.VisitorIdleTimeout},
		{"console_idle_timeout", "Console idle timeout", f.ConsoleIdleTimeout, &patch.ConsoleIdleTimeout},
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
	// The form says it carries the attachment settings: unchecked boxes send nothing, which must not
	// read as "off" when a form without them (an older page) is posted.
	if pf.Get("attachment_settings") == "1" {
		if refused := attachmentPatch(&patch, f, pf["attachment_kinds"]); refused != nil {
			f.Error, f.ErrorField = refused.Error, refused.ErrorField
			c.renderSettings(w, r, http.StatusUnprocessableEntity, f)
			return
		}
	}
	// Like attachments, each section says it is there, so that an older form does not turn hours or
	// email off.
	if pf.Get("hours_settings") == "1" {
		if refused := hoursPatch(&patch, &f); refused != nil {
			c.renderSettings(w, r, http.StatusUnprocessableEntity, *refused)
			return
		}
	}
	if pf.Get("email_settings") == "1" {
		if refused := emailPatch(&patch, &f); refused != nil {
			c.renderSettings(w, r, http.StatusUnprocessableEntity, *refused)
			return
		}
	}
	if _, err := c.chat.UpdateWorkspace(r.Context(), s.agent.WorkspaceID, patch); err != nil {
		if p, ok := problem.As(err); ok && p.Status == http.StatusUnprocessableEntity {
			f.Error, f.ErrorField = problemSentence(p), p.Field
			if p.Field == "attachment_max_size" { // the form's field is in MB
				f.ErrorField = "attachment_max_mb"
			}
			c.renderSettings(w, r, p.Status, f)
			return
		}
		c.fail(w, r, err)
		return
	}
	c.seeOther(w, r, settingsPath, "ok", "Settings saved.")
}

// attachmentPatch adds the attachment settings to a patch, or says what to fix in the form.
func attachmentPatch(patch *chat.SettingsPatch, f settingsForm, kinds []string) *settingsForm {
	on := f.Attachments
	patch.Attachments = &on
	mb, err := strconv.ParseFloat(f.AttachmentMaxMB, 64)
	if err != nil || math.IsNaN(mb) || mb < minAttachmentMB || mb > maxAttachmentMB {
		return &settingsForm{Error: fmt.Sprintf("Maximum attachment size: write a number of MB from %d to %d, such as 10.", minAttachmentMB, maxAttachmentMB), ErrorField: "attachment_max_mb"}
	}
	maxBytes := int64(math.Round(mb * 1e6))
	patch.AttachmentMaxBytes = &maxBytes
	// No kind at all would read as "the default, every kind" in the settings: say so instead.
	if len(kinds) == 0 {
		if !on {
			return nil // kept as they were, for when attachments are turned on again
		}
		return &settingsForm{Error: "Allowed file kinds: choose at least one, or turn attachments off.", ErrorField: "attachment_kinds"}
	}
	list := slices.Clone(kinds)
	patch.AttachmentKinds = &list
	return nil
}
