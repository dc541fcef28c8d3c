package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/mail/mailtest"
	"github.com/parleyhq/parley/internal/store"
)

const noEmailNotice = "This server sends no email (no SMTP server is configured). With one, Parley would email: " +
	"unseen replies to verified customers, transcripts, and alerts to agents who turn them on."

// hoursForm is a settings post with the business-hours and email sections, as the page sends them.
func hoursForm(name string, extra url.Values) url.Values {
	f := url.Values{
		"name": {name}, "max_token_lifetime": {"10m"},
		"hours_settings": {"1"}, "hours_enabled": {"on"}, "time_zone": {"Europe/Berlin"},
		"hours": {"mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00"}, "holidays": {"2026-12-24\n2026-12-25"},
		"out_of_hours":   {"hide"},
		"email_settings": {"1"}, "email_reply_delay": {"20m"}, "email_interval": {"2h"}, "unread_alert_delay": {"15m"},
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// TestBusinessHoursAndEmailSettings: the settings page shows business hours and email (defaults, the
// open/closed line, the no-SMTP notice), saves them, and refuses what is wrong next to the field, saving
// nothing.
func TestBusinessHoursAndEmailSettings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings")
	for _, want := range []string{
		"<legend>Business hours</legend>", "Business hours are off: the team counts as always open.",
		`<input type="checkbox" name="hours_enabled" aria-describedby="hours-enabled-hint">`,
		`list="time-zones"`, `<option value="Europe/Berlin"></option>`, `<option value="America/New_York"></option>`,
		`<input type="radio" name="out_of_hours" value="away" checked>`,
		"<legend>Email</legend>", html.EscapeString(noEmailNotice),
		`<input type="checkbox" name="email_replies" aria-describedby="email-replies-hint" checked>`,
		`name="email_reply_delay" value="10m"`, `name="email_interval" value="1h"`, `name="unread_alert_delay" value="5m"`,
		`href="/console/settings/email"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("settings page lacks %s:\n%s", want, p.body)
		}
	}

	p = b.mustPost("/console/settings", hoursForm("Acme", nil))
	if !strings.Contains(p.body, "Settings saved.") {
		t.Fatalf("no confirmation:\n%s", p.body)
	}
	w, _ := e.svc.Workspace(ctx, tn.ws.ID)
	st := w.Settings
	h := st.Hours
	if !h.Enabled || h.TimeZone != "Europe/Berlin" || chat.FormatWeek(h.Week) != "mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00" ||
		strings.Join(h.Holidays, ",") != "2026-12-24,2026-12-25" || chat.HoursMode(st) != chat.HoursHide {
		t.Fatalf("hours saved as %+v", h)
	}
	if !st.EmailRepliesOff || st.EmailReplyDelay != 20*time.Minute || st.EmailInterval != 2*time.Hour || st.UnreadAlertDelay != 15*time.Minute {
		t.Fatalf("email settings saved as %+v", st)
	}
	// The page shows what was saved, and whether the team is open now, in the workspace's zone.
	for _, want := range []string{
		`name="hours_enabled" aria-describedby="hours-enabled-hint" checked>`, `value="Europe/Berlin"`,
		">mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00</textarea>", ">2026-12-24\n2026-12-25</textarea>",
		`<input type="radio" name="out_of_hours" value="hide" checked>`,
		`<input type="checkbox" name="email_replies" aria-describedby="email-replies-hint">`,
		`name="email_reply_delay" value="20m"`, `name="email_interval" value="2h"`, `name="unread_alert_delay" value="15m"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("saved settings page lacks %s", want)
		}
	}
	status := regexp.MustCompile(`data-hours-status>([^<]*)<`).FindStringSubmatch(p.body)
	if status == nil || !regexp.MustCompile(`^(Open now, closes|Closed, opens) (Mon|Tue|Wed|Thu|Fri|Sat) \d\d:\d\d \(Europe/Berlin\)\.$`).MatchString(status[1]) {
		t.Errorf("status line %q", status)
	}
	if want := chat.HoursAt(st, time.Now()); (status != nil && strings.HasPrefix(status[1], "Open")) != want.Open {
		t.Errorf("status line %q, open %v", status, want.Open)
	}

	// An empty duration keeps the setting; a form without the sections (an older page) changes neither.
	b.mustPost("/console/settings", hoursForm("Acme", url.Values{"email_reply_delay": {""}}))
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "max_token_lifetime": {"10m"}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); !w.Settings.Hours.Enabled || w.Settings.EmailReplyDelay != 20*time.Minute || !w.Settings.EmailRepliesOff {
		t.Fatalf("kept settings changed: %+v", w.Settings)
	}

	// Refusals: the form as sent, the message next to the field (which says it is invalid and is
	// described by it), and nothing saved.
	refusals := []struct {
		field, value, says string
	}{
		{"hours", "mon-fri 9-17", `Business hours: mon-fri: &#34;9-17&#34;: &#34;9&#34; is not a time; write HH:MM, e.g. 09:00.`},
		{"hours", "mon-fri 17:00-09:00", "the start must be before the end"},
		{"hours", "someday 09:00-17:00", "is not a day"},
		{"time_zone", "Mars/Olympus_Mons", "Time zone: &#34;Mars/Olympus_Mons&#34; is not a time zone this server knows"},
		{"time_zone", "", "Time zone: business hours need a time zone"},
		{"holidays", "24.12.2026", "Holidays: &#34;24.12.2026&#34; is not a date; write YYYY-MM-DD"},
		{"out_of_hours", "sometimes", "Out of hours, the widget must be away or hide"},
		{"email_reply_delay", "soon", "Email an unseen reply after: write a duration such as 10m, 90s or 1h."},
		{"email_reply_delay", "30s", "The email reply delay must be between 1m and 168h"},
		{"email_interval", "200h", "The email interval must be between 1m and 168h"},
		{"unread_alert_delay", "48h", "The unread alert delay must be between 1m and 24h"},
	}
	for _, r := range refusals {
		p := b.post("/console/settings", hoursForm("Changed", url.Values{r.field: {r.value}}))
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `value="Changed"`) {
			t.Errorf("%s=%q: %d\n%s", r.field, r.value, p.status, p.body)
			continue
		}
		next := regexp.MustCompile(`<p class="field-error-text" id="` + r.field + `-error" data-field-error="` + r.field + `">([^<]*)</p>`).FindStringSubmatch(p.body)
		if next == nil || !strings.Contains(next[1], r.says) {
			t.Errorf("%s=%q: no message next to the field saying %q (got %q):\n%s", r.field, r.value, r.says, next, p.body)
		}
		if n := strings.Count(p.body, `data-field-error=`); n != 1 {
			t.Errorf("%s=%q: %d field messages", r.field, r.value, n)
		}
		if r.field != "out_of_hours" {
			input := regexp.MustCompile(`(?s)<(input|textarea)[^>]* name="` + r.field + `"[^>]*>`).FindString(p.body)
			if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, `aria-describedby="`+r.field+`-error `) {
				t.Errorf("%s=%q: the field is not marked: %s", r.field, r.value, input)
			}
		}
		if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Name != "Acme" || w.Settings.Hours.TimeZone != "Europe/Berlin" {
			t.Errorf("%s=%q saved anyway: %q %+v", r.field, r.value, w.Name, w.Settings.Hours)
		}
	}
	// The refused page shows what was sent, not what is saved.
	p = b.post("/console/settings", hoursForm("Changed", url.Values{"hours": {"<b>mon</b> 09:00-17:00"}}))
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, ">&lt;b&gt;mon&lt;/b&gt; 09:00-17:00</textarea>") || strings.Contains(p.body, "<b>mon</b>") {
		t.Errorf("refused schedule not shown as sent, as text:\n%s", p.body)
	}
}

// TestEmailPagesAdminsOnlyAndCSRF: an agent who is not an administrator can neither see the email log
// nor change business hours; a post without the CSRF token changes nothing.
func TestEmailPagesAdminsOnlyAndCSRF(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	agent := e.agent(tn.ws.ID, "grace@acme.example", "Grace", store.RoleAgent)
	b := e.signedIn(agent)
	if p := b.get("/console/settings/email"); p.status != http.StatusForbidden {
		t.Errorf("agent GET email log: %d", p.status)
	}
	if p := b.post("/console/settings", hoursForm("Acme", nil)); p.status != http.StatusForbidden {
		t.Errorf("agent POST settings: %d", p.status)
	}
	if p := b.mustGet("/console/"); strings.Contains(p.body, "/console/settings/email") {
		t.Error("the navigation links the email log for an agent")
	}
	admin := e.signedIn(tn.admin)
	if p := admin.mustGet("/console/"); !strings.Contains(p.body, `<a href="/console/settings/email">Email log</a>`) {
		t.Error("the navigation lacks the email log for an administrator")
	}
	for _, bad := range []url.Values{{"csrf": {""}}, {"csrf": {tamper(admin.csrf)}}} {
		f := hoursForm("Acme", bad)
		if p := admin.post("/console/settings", f); p.status != http.StatusForbidden {
			t.Errorf("settings without the CSRF token: %d", p.status)
		}
	}
	if p := admin.post("/console/settings", hoursForm("Acme", nil), "Origin", "https://evil.example"); p.status != http.StatusForbidden {
		t.Errorf("settings from another origin: %d", p.status)
	}
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.Hours.Enabled || w.Settings.EmailRepliesOff {
		t.Fatalf("changed anyway: %+v", w.Settings)
	}
	// Preferences and the transcript button need the token too.
	if p := b.post("/console/preferences", url.Values{"csrf": {""}, "email_settings": {"1"}, "email_alerts": {"on"}}); p.status != http.StatusForbidden {
		t.Errorf("preferences without the CSRF token: %d", p.status)
	}
	if prefs, _ := e.st.AgentPrefs(ctx, agent.ID); prefs.EmailAlerts {
		t.Error("email alerts turned on without the CSRF token")
	}
	conv := tn.say(tn.verified(jwt.MapClaims{"sub": "u1", "email": "ada@example.com"}), "hi").ConversationID
	if p := b.post("/console/conversations/"+conv+"/transcript", url.Values{"csrf": {""}}); p.status != http.StatusForbidden {
		t.Errorf("transcript without the CSRF token: %d", p.status)
	}
}

// TestEmailLogPage: the newest 100 emails of the workspace alone, newest first, with recipient, kind,
// state, attempts and the server's answer, hostile strings shown as text.
func TestEmailLogPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	other := e.tenant("Globex", "hank@globex.example")
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings/email")
	if !strings.Contains(p.body, "<h1>Email log</h1>") || !strings.Contains(p.body, "No email yet.") || !strings.Contains(p.body, html.EscapeString(noEmailNotice)) ||
		!strings.Contains(p.body, `<a href="/console/settings/email" aria-current="page">Email log</a>`) {
		t.Fatalf("empty log:\n%s", p.body)
	}

	const hostileTo = `"<script>alert(1)</script>"@evil.example`
	const hostileReply = `550 5.1.1 <img src=x onerror=alert(2)> mailbox "unavailable"`
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	log := func(ws, key, kind, to, state, reply string, attempts int, at time.Time) {
		t.Helper()
		err := e.st.Update(ctx, func(tx store.Tx) error {
			return tx.LogEmail(ctx, &store.EmailLogEntry{WorkspaceID: ws, JobKey: key, Kind: kind, Recipient: to, Subject: "s", State: state,
				Attempts: attempts, Reply: reply, CreatedAt: at, UpdatedAt: at})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 103 {
		log(tn.ws.ID, fmt.Sprintf("email.reply:old-%d", i), "reply", fmt.Sprintf("old%d@example.com", i), store.EmailSent, "250 2.0.0 OK queued", 1, base.Add(time.Duration(i)*time.Minute))
	}
	later := base.Add(3 * time.Hour)
	log(tn.ws.ID, "email.transcript:t1", "transcript", "ada@example.com", store.EmailRetrying, "451 4.3.0 try again later", 2, later)
	log(tn.ws.ID, "email.agent_alert:a1", "agent alert", hostileTo, store.EmailFailed, hostileReply, 8, later.Add(time.Minute))
	log(other.ws.ID, "email.reply:g1", "reply", "secret@globex.example", store.EmailSent, "250 OK", 1, later.Add(2*time.Minute))

	p = b.mustGet("/console/settings/email")
	rows := regexp.MustCompile(`(?s)<tr data-email-state="([a-z]+)" data-email-kind="([a-z ]+)">(.*?)</tr>`).FindAllStringSubmatch(p.body, -1)
	if len(rows) != 100 {
		t.Fatalf("%d rows, want the newest 100", len(rows))
	}
	if strings.Contains(p.body, "secret@globex.example") {
		t.Error("another workspace's email is listed")
	}
	if strings.Contains(p.body, "<script>alert(1)") || strings.Contains(p.body, "<img src=x") {
		t.Fatalf("hostile strings are markup:\n%s", p.body)
	}
	cells := func(row string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(row, -1) {
			out = append(out, strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], "")))
		}
		return out
	}
	want := [][]string{
		{"2026-03-02 12:01:00 UTC", html.EscapeString(hostileTo), "Unread alert to an agent", "Failed", "8", html.EscapeString(hostileReply)},
		{"2026-03-02 12:00:00 UTC", "ada@example.com", "Transcript", "Retrying", "2", "451 4.3.0 try again later"},
		{"2026-03-02 10:42:00 UTC", "old102@example.com", "Replies to a customer", "Sent", "1", "250 2.0.0 OK queued"},
	}
	for i, w := range want {
		if got := cells(rows[i][3]); strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %d: %q, want %q", i, got, w)
		}
	}
	if got := cells(rows[99][3]); got[1] != "old5@example.com" {
		t.Errorf("the last row is %q, want old5 (the 100th newest)", got)
	}
	if !strings.Contains(p.body, `<th scope="col">Recipient</th>`) || !strings.Contains(p.body, `<th scope="col">Mail server's last answer</th>`) {
		t.Error("the table's headers are missing")
	}
}

// TestEmailAlertsPreference: every agent turns their own unread-conversation emails on and off on the
// Preferences page; a form without the box leaves it as it was.
func TestEmailAlertsPreference(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	agent := e.agent(tn.ws.ID, "grace@acme.example", "Grace", store.RoleAgent)
	b := e.signedIn(agent)
	p := b.mustGet("/console/preferences")
	box := `<input type="checkbox" name="email_alerts" aria-describedby="email-alerts-hint">`
	if !strings.Contains(p.body, box) || !strings.Contains(p.body, "Email me when a conversation waits unread") ||
		!strings.Contains(p.body, "stays unread by every agent for 5m") || !strings.Contains(p.body, html.EscapeString(noEmailNotice)) {
		t.Fatalf("preferences page:\n%s", p.body)
	}
	p = b.mustPost("/console/preferences", url.Values{"sound": {"on"}, "email_settings": {"1"}, "email_alerts": {"on"}})
	if !strings.Contains(p.body, "Preferences saved.") || !strings.Contains(p.body, `name="email_alerts" aria-describedby="email-alerts-hint" checked>`) {
		t.Fatalf("after turning alerts on:\n%s", p.body)
	}
	if prefs, _ := e.st.AgentPrefs(ctx, agent.ID); !prefs.EmailAlerts || !prefs.Sound {
		t.Fatalf("saved %+v", prefs)
	}
	// A form without the email section (an older page) keeps it; the box unchecked turns it off.
	b.mustPost("/console/preferences", url.Values{"sound": {"on"}})
	if prefs, _ := e.st.AgentPrefs(ctx, agent.ID); !prefs.EmailAlerts {
		t.Fatal("a form without the box turned email alerts off")
	}
	b.mustPost("/console/preferences", url.Values{"email_settings": {"1"}})
	if prefs, _ := e.st.AgentPrefs(ctx, agent.ID); prefs.EmailAlerts || prefs.Sound {
		t.Fatalf("not turned off: %+v", prefs)
	}
	// Only on or nothing: anything else is refused, and nothing changes.
	p = b.post("/console/preferences", url.Values{"email_settings": {"1"}, "email_alerts": {"yes please"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("refused value: %d", p.status)
	}
	if p = b.mustGet(p.location()); !strings.Contains(p.body, "flash-error") {
		t.Errorf("no error shown:\n%s", p.body)
	}
	if prefs, _ := e.st.AgentPrefs(ctx, agent.ID); prefs.EmailAlerts {
		t.Fatal("turned on by a refused value")
	}
	// The delay shown is the workspace's.
	e.signedIn(tn.admin).mustPost("/console/settings", hoursForm("Acme", url.Values{"hours_enabled": {""}}))
	if p := b.mustGet("/console/preferences"); !strings.Contains(p.body, "stays unread by every agent for 15m") {
		t.Error("the workspace's delay is not shown")
	}
}

// TestTranscriptButton: the conversation page offers "Email transcript to customer" for a verified
// customer only; without SMTP it says the server sends no email; with SMTP the transcript is mailed to
// the verified address and shows in the email log; a claimed address never gets it.
func TestTranscriptButton(t *testing.T) {
	const button = ">Email transcript to customer</button>"
	t.Run("no SMTP", func(t *testing.T) {
		e := newEnv(t)
		tn := e.tenant("Acme", "ada@acme.example")
		verified := tn.say(tn.verified(jwt.MapClaims{"sub": "u1", "email": "ada@example.com", "name": "Ada"}), "hi").ConversationID
		claimed := tn.say(tn.identified(chat.Claims{Name: "Eve", Email: "eve@example.com"}), "hi").ConversationID
		b := e.signedIn(tn.admin)
		p := b.mustGet("/console/conversations/" + verified)
		if !strings.Contains(p.body, button) || !strings.Contains(p.body, "This server sends no email (no SMTP server is configured).") {
			t.Fatalf("verified conversation page:\n%s", p.body)
		}
		if p := b.mustGet("/console/conversations/" + claimed); strings.Contains(p.body, button) || strings.Contains(p.body, "/transcript") {
			t.Error("a claimed visitor's conversation offers the transcript")
		}
		p = b.mustPost("/console/conversations/"+verified+"/transcript", nil)
		if !strings.Contains(p.body, `<div class="flash flash-error" role="alert">This server sends no email (no SMTP server is configured), so the transcript cannot be emailed.</div>`) {
			t.Fatalf("no email_unavailable message:\n%s", p.body)
		}
	})

	t.Run("SMTP", func(t *testing.T) {
		smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "pw"})
		settings, err := mail.ParseURL(smtp.URL())
		if err != nil {
			t.Fatal(err)
		}
		sender, err := mail.NewSender(mail.Config{Settings: settings, From: "Acme <support@acme.example>", TLSConfig: smtp.ClientTLS(), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, func(o *envOptions) { o.mailer = sender })
		ctx := context.Background()
		tn := e.tenant("Acme", "ada@acme.example")
		other := e.tenant("Globex", "hank@globex.example")
		agent := e.agent(tn.ws.ID, "grace@acme.example", "Grace", store.RoleAgent)
		verified := tn.say(tn.verified(jwt.MapClaims{"sub": "u1", "email": "ada@example.com", "name": "Ada"}), "Where is my parcel?").ConversationID
		noEmail := tn.say(tn.verified(jwt.MapClaims{"sub": "u2", "name": "Bob"}), "hello").ConversationID
		claimed := tn.say(tn.identified(chat.Claims{Name: "Eve", Email: "eve@example.com"}), "hi").ConversationID
		elsewhere := other.say(other.verified(jwt.MapClaims{"sub": "g1", "email": "g@globex.example"}), "hi").ConversationID

		b := e.signedIn(agent) // any agent may send it, not only administrators
		p := b.mustGet("/console/conversations/" + verified)
		if !strings.Contains(p.body, button) || !strings.Contains(p.body, "Sends the conversation, without internal notes, to ada@example.com.") {
			t.Fatalf("verified conversation page:\n%s", p.body)
		}
		p = b.mustPost("/console/conversations/"+verified+"/transcript", nil)
		if !strings.Contains(p.body, `<div class="flash flash-ok" role="status">The transcript will be emailed to ada@example.com.</div>`) {
			t.Fatalf("no confirmation:\n%s", p.body)
		}
		// A verified customer without an address, and a claimed one posted to directly: nobody is mailed.
		p = b.mustPost("/console/conversations/"+noEmail+"/transcript", nil)
		if !strings.Contains(p.body, "Only a verified customer can receive email: the customer has no verified email address.") {
			t.Errorf("no address:\n%s", p.body)
		}
		p = b.mustPost("/console/conversations/"+claimed+"/transcript", nil)
		if !strings.Contains(p.body, "Only a verified customer can receive email: the conversation&#39;s visitor never verified who they are.") {
			t.Errorf("claimed:\n%s", p.body)
		}
		if p := b.post("/console/conversations/"+elsewhere+"/transcript", nil); p.status != http.StatusNotFound {
			t.Errorf("another workspace's conversation: %d", p.status)
		}

		// The job runner sends it to the verified address alone, and the log says so.
		runner := jobs.New(jobs.Config{Store: e.st})
		e.svc.RegisterJobs(runner)
		for {
			n, err := runner.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		got := smtp.Wait(t, 1, 10*time.Second)
		if len(got) != 1 || strings.Join(got[0].To, ",") != "ada@example.com" || !strings.Contains(string(got[0].Data), "Where is my parcel?") {
			t.Fatalf("mailed %+v", got)
		}
		p = e.signedIn(tn.admin).mustGet("/console/settings/email")
		if !strings.Contains(p.body, `<tr data-email-state="sent" data-email-kind="transcript">`) || !strings.Contains(p.body, "ada@example.com") {
			t.Fatalf("email log:\n%s", p.body)
		}
		if strings.Contains(p.body, html.EscapeString(noEmailNotice)) {
			t.Error("the no-SMTP notice shows on a server with SMTP")
		}
		if strings.Contains(p.body, "eve@example.com") {
			t.Error("the claimed address is in the log")
		}
	})
}

// TestOutOfHoursInTheTimeline: a conversation that starts out of hours says so in the timeline, with
// when the team is back in the workspace's zone.
func TestOutOfHoursInTheTimeline(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	// Open for an hour, the day after tomorrow in Tokyo: closed now, whenever the test runs.
	day := time.Now().In(tokyo).AddDate(0, 0, 2)
	name := strings.ToLower(day.Weekday().String()[:3])
	b.mustPost("/console/settings", hoursForm("Acme", url.Values{"time_zone": {"Asia/Tokyo"}, "hours": {name + " 09:00-10:00"}, "holidays": {""}, "out_of_hours": {"away"}}))
	conv := tn.say(tn.visitor(), "Anyone there?").ConversationID
	p := b.mustGet("/console/conversations/" + conv)
	want := `<li class="event" data-event-type="out_of_hours"`
	text := regexp.MustCompile(`data-event-type="out_of_hours"[^>]*><span>([^<]*)</span>`).FindStringSubmatch(p.body)
	if !strings.Contains(p.body, want) || text == nil || text[1] != "Arrived out of hours; the team is back "+day.Format("Mon")+" 09:00 (Asia/Tokyo)" {
		t.Fatalf("out_of_hours event %q:\n%s", text, p.body)
	}
}
