package chat

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Limits on workspace settings.
const (
	MinTokenLifetime = 30 * time.Second
	MaxTokenLifetime = 24 * time.Hour
	maxFirstMessage  = 1000
	maxNameLength    = 200
)

// MaxLifetime returns the workspace's maximum token lifetime, applying the default.
func MaxLifetime(s store.Settings) time.Duration {
	if s.MaxTokenLifetime == 0 {
		return identity.DefaultMaxLifetime
	}
	return s.MaxTokenLifetime
}

// AnonymousChatAllowed reports whether a visitor who has not logged in may send messages. Hiding the
// widget until login, restricting it to verified email domains and requiring verification all mean the
// business wants only logged-in customers to chat; the server enforces it, not just the widget.
func AnonymousChatAllowed(s store.Settings) bool {
	return !s.RequireVerified && !s.HideUntilLogin && len(s.AllowedEmailDomains) == 0
}

// CreateWorkspace creates a workspace with default settings.
func (s *Service) CreateWorkspace(ctx context.Context, name string) (store.Workspace, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, maxNameLength, false); err != nil {
		return store.Workspace{}, err
	}
	if name == "" {
		return store.Workspace{}, problem.InvalidField("name", "must not be empty")
	}
	now := s.clock()
	w := store.Workspace{ID: newID("ws_"), Name: name, CreatedAt: now, UpdatedAt: now}
	err := s.store.Update(ctx, func(tx store.Tx) error { return tx.CreateWorkspace(ctx, &w) })
	return w, err
}

// Workspace reads a workspace; a missing one is a 404 problem.
func (s *Service) Workspace(ctx context.Context, id string) (store.Workspace, error) {
	w, err := s.store.Workspace(ctx, id)
	if isNotFound(err) {
		return w, problem.NotFound("workspace_not_found", "no workspace %q", id)
	}
	return w, err
}

// SettingsPatch changes some settings; nil fields stay as they are.
type SettingsPatch struct {
	Name                *string
	AllowedOrigins      *[]string
	Onboarding          *bool
	FirstMessage        *string
	LoginURL            *string
	HideUntilLogin      *bool
	AllowedEmailDomains *[]string
	RequireVerified     *bool
	MaxTokenLifetime    *time.Duration
	VerifiedIdleTimeout *time.Duration // zero restores the default
	VerifiedLifetime    *time.Duration
	VisitorIdleTimeout  *time.Duration
	ConsoleIdleTimeout  *time.Duration // agents' console sessions (signin.go); zero restores the default
	ReadReceipts        *bool          // false hides "Read" from customers (seen.go)
	// Require2FA: every agent signs in with a second factor; one without enrols at their next sign-in
	// (twofactor.go), and none can turn it off.
	Require2FA *bool
	// Attachments (attachments.go): on or off, the largest file in bytes (zero restores the default),
	// the kinds accepted (nil pointer: unchanged; an empty list accepts none).
	Attachments        *bool
	AttachmentMaxBytes *int64
	AttachmentKinds    *[]string
	// Email to customers who left (email.go): on or off, the delay before an unseen reply is mailed, the
	// least time between two emails to one customer (zero restores a default).
	EmailReplies    *bool
	EmailReplyDelay *time.Duration
	EmailInterval   *time.Duration
	// UnreadAlertDelay: how long a customer message may stay unread before agents who opted in are
	// mailed (alertmail.go; zero restores the default).
	UnreadAlertDelay *time.Duration
	// Business hours (hours.go): on or off, the weekly schedule (Sunday first; ParseWeek reads the
	// written form), the IANA time zone, holiday dates (YYYY-MM-DD) and HoursAway or HoursHide.
	HoursEnabled *bool
	HoursWeek    *[7][]string
	TimeZone     *string
	Holidays     *[]string
	OutOfHours   *string
	// SSO: single sign-on for console agents (sso.go), audited as settings.sso.
	SSO *SSOPatch
	// RetentionDays: closed conversations are deleted this many days after they closed (retention.go);
	// 0 keeps them for good.
	RetentionDays *int
	// The widget's look and the business's texts in one language (appearance.go).
	Appearance *AppearancePatch
	Texts      *TextsPatch

	// DefaultLocale: the widget's language when nothing names one it speaks (locale.go); "" is English.
	DefaultLocale *string
}

// UpdateWorkspace validates and applies a settings patch. Verified sessions of customers whose email a
// changed list of allowed domains no longer admits end with it.
func (s *Service) UpdateWorkspace(ctx context.Context, id string, p SettingsPatch) (store.Workspace, error) {
	var w store.Workspace
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		var err error
		if w, err = tx.Workspace(ctx, id); err != nil {
			if isNotFound(err) {
				return problem.NotFound("workspace_not_found", "no workspace %q", id)
			}
			return err
		}
		before := w.Settings.AllowedEmailDomains
		prev := w
		if err := applyPatch(&w, p); err != nil {
			return err
		}
		if p.SSO != nil {
			if err := s.applySSO(ctx, tx, &w, *p.SSO); err != nil {
				return err
			}
		}
		w.UpdatedAt = s.clock()
		if err := tx.UpdateWorkspace(ctx, &w); err != nil {
			return err
		}
		for _, change := range settingsChanges(prev, w) {
			field, _, _ := strings.Cut(change, ":")
			if err := s.audit(ctx, tx, w.ID, AuditSettingsChanged, field, change); err != nil {
				return err
			}
		}
		if slices.Equal(before, w.Settings.AllowedEmailDomains) {
			return nil
		}
		_, err = s.endExcludedSessions(ctx, tx, out, w, "")
		return err
	})
	return w, err
}

func applyPatch(w *store.Workspace, p SettingsPatch) error {
	st := &w.Settings
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		if name == "" {
			return problem.InvalidField("name", "must not be empty")
		}
		if err := checkText("name", name, maxNameLength, false); err != nil {
			return err
		}
		w.Name = name
	}
	if p.AllowedOrigins != nil {
		origins := make([]string, 0, len(*p.AllowedOrigins))
		for _, o := range *p.AllowedOrigins {
			if strings.TrimSpace(o) == "" {
				continue
			}
			canon, err := CanonicalOrigin(o)
			if err != nil {
				return problem.InvalidField("allowed_origins", "%q %s", o, err)
			}
			origins = appendUnique(origins, canon)
		}
		st.AllowedOrigins = origins
	}
	if p.Onboarding != nil {
		st.Onboarding = *p.Onboarding
	}
	if p.FirstMessage != nil {
		msg := strings.TrimSpace(*p.FirstMessage)
		if err := checkText("first_message", msg, maxFirstMessage, true); err != nil {
			return err
		}
		st.FirstMessage = msg
	}
	if p.LoginURL != nil {
		u := strings.TrimSpace(*p.LoginURL)
		if u != "" {
			if err := checkWebURL(u); err != nil {
				return problem.InvalidField("login_url", "%s", err)
			}
		}
		st.LoginURL = u
	}
	if p.HideUntilLogin != nil {
		st.HideUntilLogin = *p.HideUntilLogin
	}
	if p.AllowedEmailDomains != nil {
		domains := make([]string, 0, len(*p.AllowedEmailDomains))
		for _, d := range *p.AllowedEmailDomains {
			if strings.TrimSpace(d) == "" {
				continue
			}
			canon, err := identity.CanonicalDomain(strings.TrimPrefix(strings.TrimSpace(d), "@"))
			if err != nil {
				return problem.InvalidField("allowed_email_domains", "%q %s", d, err)
			}
			domains = appendUnique(domains, canon)
		}
		st.AllowedEmailDomains = domains
	}
	if p.ReadReceipts != nil {
		st.HideReadReceipts = !*p.ReadReceipts
	}
	if p.Require2FA != nil {
		st.Require2FA = *p.Require2FA
	}
	if p.Attachments != nil {
		st.AttachmentsOff = !*p.Attachments
	}
	if p.AttachmentMaxBytes != nil {
		st.AttachmentMaxBytes = *p.AttachmentMaxBytes
	}
	if p.AttachmentKinds != nil {
		kinds := make([]string, 0, len(*p.AttachmentKinds))
		for _, k := range *p.AttachmentKinds {
			if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
				kinds = appendUnique(kinds, k)
			}
		}
		st.AttachmentKinds = kinds
	}
	if err := validateAttachmentSettings(*st); err != nil {
		return err
	}
	if p.EmailReplies != nil {
		st.EmailRepliesOff = !*p.EmailReplies
	}
	if p.EmailReplyDelay != nil {
		if d := *p.EmailReplyDelay; d != 0 && (d < time.Minute || d > 7*24*time.Hour) {
			return problem.InvalidField("email_reply_delay", "must be between 1m and 168h (0 restores the default, %s)", DefaultEmailReplyDelay)
		}
		st.EmailReplyDelay = *p.EmailReplyDelay
	}
	if p.EmailInterval != nil {
		if d := *p.EmailInterval; d != 0 && (d < time.Minute || d > 7*24*time.Hour) {
			return problem.InvalidField("email_interval", "must be between 1m and 168h (0 restores the default, %s)", DefaultEmailInterval)
		}
		st.EmailInterval = *p.EmailInterval
	}
	if p.DefaultLocale != nil {
		tag, err := WidgetLocale(*p.DefaultLocale)
		if err != nil {
			return err
		}
		st.DefaultLocale = tag
	}
	if p.RetentionDays != nil {
		if d := *p.RetentionDays; d < 0 || d > MaxRetentionDays {
			return problem.InvalidField("retention_days", "must be between 1 and %d days, or 0 to keep conversations for good", MaxRetentionDays)
		}
		st.RetentionDays = *p.RetentionDays
	}
	if p.UnreadAlertDelay != nil {
		if d := *p.UnreadAlertDelay; d != 0 && (d < time.Minute || d > 24*time.Hour) {
			return problem.InvalidField("unread_alert_delay", "must be between 1m and 24h (0 restores the default, %s)", DefaultUnreadAlertDelay)
		}
		st.UnreadAlertDelay = *p.UnreadAlertDelay
	}
	if err := applyAppearance(st, p.Appearance); err != nil {
		return err
	}
	if err := applyTexts(st, p.Texts); err != nil {
		return err
	}
	if err := applyHours(st, p); err != nil {
		return err
	}
	if p.RequireVerified != nil {
		st.RequireVerified = *p.RequireVerified
	}
	if p.MaxTokenLifetime != nil {
		d := *p.MaxTokenLifetime
		if d < MinTokenLifetime || d > MaxTokenLifetime {
			return problem.InvalidField("max_token_lifetime", "must be between %s and %s", MinTokenLifetime, MaxTokenLifetime)
		}
		st.MaxTokenLifetime = d
	}
	return applyLifetimes(st, p)
}

// CanonicalOrigin normalizes a web origin ("https://shop.example" or "http://localhost:3000"): scheme
// and host lower-cased, default ports dropped, and nothing else allowed — no path, query or credentials.
func CanonicalOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", errors.New("is not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("must start with https:// or http://")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", errors.New("must be an origin: scheme://host[:port], without path, query or credentials")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// OriginAllowed reports whether a browser Origin header may use the workspace. An empty list allows any
// origin; a request without Origin is not from a browser page and is let through.
func OriginAllowed(s store.Settings, origin string) bool {
	if origin == "" || len(s.AllowedOrigins) == 0 {
		return true
	}
	canon, err := CanonicalOrigin(origin)
	if err != nil {
		return false
	}
	for _, o := range s.AllowedOrigins {
		if o == canon {
			return true
		}
	}
	return false
}

func checkWebURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("must be an absolute https:// or http:// URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("must be an absolute https:// or http:// URL")
	}
	if len(s) > 2000 {
		return errors.New("is longer than 2000 characters")
	}
	return nil
}

// checkText refuses text that is too long, not UTF-8, or carries control characters (newlines and tabs
// only where multiline is true).
func checkText(field, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return problem.InvalidField(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return problem.InvalidField(field, "must be at most %d characters (got %d)", max, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return problem.InvalidField(field, "must not contain control characters")
		}
		if r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			// Bidirectional overrides make text display differently from what it is.
			return problem.InvalidField(field, "must not contain bidirectional control characters")
		}
	}
	return nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// conflict is a 409 problem.
func conflict(code, format string, args ...any) *problem.Error {
	return problem.New(http.StatusConflict, code, format, args...)
}

func forbidden(code, format string, args ...any) *problem.Error {
	return problem.New(http.StatusForbidden, code, format, args...)
}
