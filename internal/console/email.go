package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Business hours and email in the console: the settings page's two sections (their form fields are in
// settings.go's settingsForm), the delivery log, the transcript button and the preference for email
// alerts. Who may be emailed is chat's rule alone (chat.EmailRecipient); these pages only ask.

const emailLogPath = "/console/settings/email"

// emailLogSize is how many emails the delivery log shows, newest first.
const emailLogSize = 100

// noEmailNotice is what the console says wherever email would be used on a server without SMTP.
const noEmailNotice = "This server sends no email (no SMTP server is configured). With one, Parley would email: " +
	"unseen replies to verified customers, transcripts, and alerts to agents who turn them on."

// commonTimeZones are the time zone field's suggestions. Any IANA name the server knows is accepted.
var commonTimeZones = []string{
	"UTC",
	"Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Amsterdam",
	"Europe/Brussels", "Europe/Madrid", "Europe/Rome", "Europe/Zurich", "Europe/Vienna", "Europe/Stockholm",
	"Europe/Warsaw", "Europe/Prague", "Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Europe/Kyiv",
	"Africa/Lagos", "Africa/Cairo", "Africa/Johannesburg", "Africa/Nairobi",
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
	"America/Anchorage", "America/Toronto", "America/Vancouver", "America/Mexico_City", "America/Bogota",
	"America/Lima", "America/Santiago", "America/Sao_Paulo", "America/Argentina/Buenos_Aires", "Pacific/Honolulu",
	"Asia/Dubai", "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta", "Asia/Singapore",
	"Asia/Hong_Kong", "Asia/Shanghai", "Asia/Taipei", "Asia/Seoul", "Asia/Tokyo", "Asia/Manila",
	"Australia/Perth", "Australia/Adelaide", "Australia/Brisbane", "Australia/Sydney", "Australia/Melbourne",
	"Pacific/Auckland",
}

// hoursStatus says whether the workspace is open now and when that changes, in the workspace's zone.
func hoursStatus(h chat.HoursState, now time.Time) string {
	if !h.Enabled {
		return "Business hours are off: the team counts as always open."
	}
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil {
		return "Open now: the server does not know the time zone " + h.TimeZone + ", so it counts as always open."
	}
	zone := " (" + h.TimeZone + ")"
	switch {
	case h.Open && h.ClosesAt.IsZero():
		return "Open now" + zone + "."
	case h.Open:
		return "Open now, closes " + dayTime(h.ClosesAt, now, loc) + zone + "."
	case h.NextOpen.IsZero():
		return "Closed, and not opening in the next 14 days" + zone + "."
	}
	return "Closed, opens " + dayTime(h.NextOpen, now, loc) + zone + "."
}

// dayTime writes a moment within the next two weeks as a weekday and time in loc ("Mon 09:00"), with
// the date too when a week or more away, where the weekday alone would name the wrong one.
func dayTime(t, from time.Time, loc *time.Location) string {
	if t.Sub(from) >= 6*24*time.Hour {
		return t.In(loc).Format("Mon Jan 2 15:04")
	}
	return t.In(loc).Format("Mon 15:04")
}

// durationValue writes a stored duration for the form, or the default when none is stored.
func durationValue(d, def time.Duration) string {
	if d <= 0 {
		d = def
	}
	return shortDuration(d)
}

// emailLogRow is one row of the delivery log.
type emailLogRow struct {
	store.EmailLogEntry
	KindLabel, StateLabel string
}

// emailLogPage is the delivery log's data.
type emailLogPage struct {
	Configured bool
	Notice     string
	Rows       []emailLogRow
	Limit      int
}

// EmailLogPage serves GET /console/settings/email: the workspace's newest emails, for administrators.
func (c *Console) EmailLogPage(w http.ResponseWriter, r *http.Request) {
	entries, err := c.chat.EmailLog(r.Context(), signedIn(r).agent, emailLogSize)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := emailLogPage{Configured: c.chat.EmailConfigured(), Notice: noEmailNotice, Limit: emailLogSize}
	for _, e := range entries {
		p.Rows = append(p.Rows, emailLogRow{EmailLogEntry: e, KindLabel: emailKindLabel(e.Kind), StateLabel: emailStateLabel(e.State)})
	}
	c.render(w, r, http.StatusOK, "email_log", c.page(w, r, "Email log", "email", p))
}

func emailKindLabel(kind string) string {
	switch kind {
	case "reply":
		return "Replies to a customer"
	case "transcript":
		return "Transcript"
	case "agent alert":
		return "Unread alert to an agent"
	}
	return kind
}

func emailStateLabel(state string) string {
	switch state {
	case store.EmailSent:
		return "Sent"
	case store.EmailRetrying:
		return "Retrying"
	case store.EmailFailed:
		return "Failed"
	}
	return state
}

// EmailTranscript serves POST /console/conversations/{id}/transcript: the transcript goes to the
// conversation's verified customer, at the address their sign-in proved, and nowhere else.
func (c *Console) EmailTranscript(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	to, err := c.chat.EmailTranscript(r.Context(), signedIn(r).agent, id)
	switch {
	case err == nil:
		c.seeOther(w, r, conversationPath(id), "ok", "The transcript will be emailed to "+to+".")
	case problem.HasCode(err, "email_unavailable"):
		// A 503, but nothing the agent did wrong or can retry: say so on the page they came from.
		c.seeOther(w, r, conversationPath(id), "error", "This server sends no email (no SMTP server is configured), so the transcript cannot be emailed.")
	case problem.HasCode(err, "no_verified_email"):
		p, _ := problem.As(err)
		why := p.Message
		if _, rest, ok := strings.Cut(why, ": "); ok {
			why = rest
		}
		c.seeOther(w, r, conversationPath(id), "error", "Only a verified customer can receive email: "+strings.TrimSuffix(why, ".")+".")
	default:
		c.failed(w, r, conversationPath(id), err)
	}
}

// transcriptButton is the conversation page's "Email transcript to customer".
type transcriptButton struct {
	Show       bool
	Email      string // the verified address, "" when the customer has none
	Configured bool
}

// preferencesEmail is the email part of the preferences page.
type preferencesEmail struct {
	EmailAlerts bool
	Configured  bool
	Notice      string
	Delay       string // the workspace's delay before an unread message is mailed
}

// hoursPatch adds the business-hours section to a settings patch, or returns the form with what to fix.
// chat validates the rest (zone, intervals, holidays) when the patch is applied.
func hoursPatch(patch *chat.SettingsPatch, f *settingsForm) *settingsForm {
	week, err := chat.ParseWeek(f.HoursWeek)
	if err != nil {
		refused := *f
		refused.Error, refused.ErrorField = sentence("Business hours: "+err.Error()), "hours"
		return &refused
	}
	enabled, zone, mode := f.HoursEnabled, f.TimeZone, f.OutOfHours
	holidays := splitLines(f.Holidays)
	patch.HoursEnabled, patch.TimeZone, patch.HoursWeek, patch.Holidays, patch.OutOfHours = &enabled, &zone, &week, &holidays, &mode
	return nil
}

// emailPatch adds the email section to a settings patch, or returns the form with what to fix. An empty
// duration leaves the setting as it is.
func emailPatch(patch *chat.SettingsPatch, f *settingsForm) *settingsForm {
	on := f.EmailReplies
	patch.EmailReplies = &on
	for _, df := range []struct {
		field, label, value string
		dst                 **time.Duration
	}{
		{"email_reply_delay", "Email an unseen reply after", f.EmailReplyDelay, &patch.EmailReplyDelay},
		{"email_interval", "Time between emails to one customer", f.EmailInterval, &patch.EmailInterval},
		{"unread_alert_delay", "Alert agents to an unread message after", f.UnreadAlertDelay, &patch.UnreadAlertDelay},
	} {
		if df.value == "" {
			continue
		}
		d, err := time.ParseDuration(df.value)
		if err != nil {
			refused := *f
			refused.Error, refused.ErrorField = df.label+": write a duration such as 10m, 90s or 1h.", df.field
			return &refused
		}
		*df.dst = &d
	}
	return nil
}

// fieldError is a settings field's own refusal: its message when it is the refused field, else none.
type fieldError struct{ Field, Message string }

// Err is the field's refusal, for the message next to it.
func (f settingsForm) Err(field string) fieldError {
	if f.ErrorField != field {
		return fieldError{Field: field}
	}
	return fieldError{Field: field, Message: f.Error}
}
