package console_test

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/mail/mailtest"
	"github.com/parleyhq/parley/internal/store"
)

// Invitations, resets, password changes and the agent's own sessions, through the console's pages.

var linkInPage = regexp.MustCompile(`/console/link\?t=(pal_[A-Za-z0-9_-]{43})`)

// wantAuditAction fails unless the workspace's audit trail has an event of action about target.
func (e *env) wantAuditAction(wsID, action, target string) store.AuditEvent {
	e.t.Helper()
	events, err := e.svc.AuditEvents(context.Background(), wsID, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Action == action && ev.Target == target {
			return ev
		}
	}
	e.t.Fatalf("no %s about %s in the audit trail", action, target)
	return store.AuditEvent{}
}

func (e *env) agentByEmail(email string) store.Agent {
	e.t.Helper()
	a, err := e.st.AgentByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// signedOut fails unless the browser's console session has ended.
func (b *browser) wantSignedOut(what string) {
	b.e.t.Helper()
	if p := b.get("/console/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") {
		b.e.t.Fatalf("%s: the browser is still signed in (%d)", what, p.status)
	}
}

func TestConsoleInviteAndAcceptLink(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	admin := e.signedIn(tn.admin)
	admin.mustGet("/console/settings/agents")
	p := admin.post("/console/settings/agents/invite", url.Values{"name": {"Nia"}, "email": {"nia@acme.example"}, "role": {"agent"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "data-new-link") || !strings.Contains(p.body, "shown this once") {
		t.Fatalf("invite: %d\n%s", p.status, p.body)
	}
	m := linkInPage.FindStringSubmatch(p.body)
	if m == nil || !strings.Contains(p.body, e.srv.URL+"/console/link?t=") {
		t.Fatalf("no link on the page:\n%s", p.body)
	}
	token := m[1]
	nia := e.agentByEmail("nia@acme.example")
	e.wantAuditAction(tn.ws.ID, chat.AuditAgentInvited, nia.ID)
	if again := admin.mustGet("/console/settings/agents"); strings.Contains(again.body, token) || strings.Contains(again.body, "data-new-link") {
		t.Error("the link is shown a second time")
	}
	// Invited, not accepted: no sign-in.
	b := e.browser()
	if p := b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {"nia@acme.example"}, "password": {""}}); p.status != http.StatusUnauthorized {
		t.Errorf("sign in before accepting: %d", p.status)
	}

	page := b.get("/console/link?t=" + token)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Welcome, Nia") || !strings.Contains(page.body, `name="t" value="`+token+`"`) {
		t.Fatalf("link page: %d\n%s", page.status, page.body)
	}
	if page.header.Get("Referrer-Policy") != "no-referrer" || page.header.Get("Cache-Control") != "no-store" {
		t.Errorf("link page headers: %v", page.header)
	}
	weak := b.post("/console/link", url.Values{"t": {token}, "password": {"password1234"}, "confirm": {"password1234"}})
	if weak.status != http.StatusUnprocessableEntity || !strings.Contains(weak.body, "commonly used password") || !strings.Contains(weak.body, `role="alert"`) {
		t.Fatalf("common password: %d\n%s", weak.status, weak.body)
	}
	differ := b.post("/console/link", url.Values{"t": {token}, "password": {agentPassword}, "confirm": {agentPassword + "x"}})
	if differ.status != http.StatusUnprocessableEntity {
		t.Errorf("confirmation differs: %d", differ.status)
	}
	// Another site cannot post a link of its own.
	if p := b.post("/console/link", url.Values{"t": {token}, "password": {agentPassword}, "confirm": {agentPassword}}, "Origin", "https://evil.example"); p.status != http.StatusForbidden {
		t.Errorf("cross-site post: %d", p.status)
	}
	// Under the page's no-referrer policy a browser sends "Origin: null"; Sec-Fetch-Site decides then.
	if p := b.post("/console/link", url.Values{"t": {token}, "password": {agentPassword}, "confirm": {agentPassword}}, "Origin", "null", "Sec-Fetch-Site", "cross-site"); p.status != http.StatusForbidden {
		t.Errorf("cross-site post with Origin null: %d", p.status)
	}
	ok := b.post("/console/link", url.Values{"t": {token}, "password": {agentPassword}, "confirm": {agentPassword}}, "Origin", "null")
	if ok.status != http.StatusSeeOther || ok.location() != "/console/" || strings.Contains(ok.location(), token) {
		t.Fatalf("accept: %d %q\n%s", ok.status, ok.location(), ok.body)
	}
	if home := b.mustGet("/console/"); !strings.Contains(home.body, "Nia") {
		t.Error("not signed in as Nia after accepting")
	}
	e.wantAuditAction(tn.ws.ID, chat.AuditInviteAccepted, nia.ID)
	used := e.browser().get("/console/link?t=" + token)
	if used.status != http.StatusNotFound || !strings.Contains(used.body, "This link cannot be used") || strings.Contains(used.body, `name="t"`) {
		t.Errorf("used link: %d\n%s", used.status, used.body)
	}
	if p := e.browser().post("/console/link", url.Values{"t": {token}, "password": {"another good password"}, "confirm": {"another good password"}}); p.status != http.StatusNotFound {
		t.Errorf("second use: %d", p.status)
	}
	// Agents cannot invite.
	agentB := e.signedIn(e.agent(tn.ws.ID, "sam@acme.example", "Sam", store.RoleAgent))
	if p := agentB.post("/console/settings/agents/invite", url.Values{"name": {"X"}, "email": {"x@acme.example"}}); p.status != http.StatusForbidden {
		t.Errorf("an agent invited: %d", p.status)
	}
}

// A reset link ends the agent's other sessions when used; "Sign out everywhere" ends them at once.
func TestConsoleResetLinkAndSignOutEverywhere(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	other := e.tenant("Globex", "hank@globex.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	admin := e.signedIn(tn.admin)
	b1, b2 := e.signedIn(bob), e.signedIn(bob)

	admin.mustGet("/console/settings/agents")
	p := admin.post("/console/settings/agents/"+bob.ID+"/reset-link", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Password reset link for Bob") {
		t.Fatalf("reset link: %d\n%s", p.status, p.body)
	}
	token := linkInPage.FindStringSubmatch(p.body)[1]
	e.wantAuditAction(tn.ws.ID, chat.AuditResetLinkCreated, bob.ID)
	b1.mustGet("/console/") // nothing ends until it is used

	fresh := e.browser()
	if page := fresh.mustGet("/console/link?t=" + token); !strings.Contains(page.body, "Choose a new password") {
		t.Fatalf("reset page:\n%s", page.body)
	}
	if p := fresh.post("/console/link", url.Values{"t": {token}, "password": {"a brand new secret phrase"}, "confirm": {"a brand new secret phrase"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", p.status, p.body)
	}
	fresh.mustGet("/console/")
	b1.wantSignedOut("after the reset")
	b2.wantSignedOut("after the reset")
	e.wantAuditAction(tn.ws.ID, chat.AuditPasswordReset, bob.ID)

	// Sign out everywhere.
	admin.mustGet("/console/settings/agents")
	done := admin.mustPost("/console/settings/agents/"+bob.ID+"/sign-out", nil)
	if !strings.Contains(done.body, "Signed out everywhere. Their one console session has ended.") {
		t.Errorf("sign out everywhere:\n%s", done.body)
	}
	fresh.wantSignedOut("signed out everywhere")
	e.wantAuditAction(tn.ws.ID, chat.AuditAgentSessionsSignedOut, bob.ID)
	// Not across workspaces.
	if p := admin.post("/console/settings/agents/"+other.admin.ID+"/sign-out", nil); p.status != http.StatusNotFound {
		t.Errorf("another workspace's agent: %d", p.status)
	}
	if p := admin.post("/console/settings/agents/"+other.admin.ID+"/reset-link", nil); p.status != http.StatusNotFound {
		t.Errorf("another workspace's agent's reset link: %d", p.status)
	}
}

// The account page: sessions listed, this one marked; ending one's own; not another agent's; changing
// the password needs the current one and signs every other session out.
func TestConsoleAccount(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	cid := e.agent(tn.ws.ID, "cid@acme.example", "Cid", store.RoleAgent)
	b1 := e.signedIn(cid)
	b2 := e.signedIn(cid)
	adminB := e.signedIn(tn.admin)

	p := b1.mustGet("/console/account")
	if !strings.Contains(p.body, `href="/console/account" aria-current="page"`) || !strings.Contains(p.body, `href="/console/account/2fa"`) ||
		!strings.Contains(p.body, "cid@acme.example") {
		t.Errorf("account page:\n%s", p.body)
	}
	rows := regexp.MustCompile(`<tr data-session="(as_[^"]+)"( data-current)?`).FindAllStringSubmatch(p.body, -1)
	if len(rows) != 2 || rows[0][2] != "" || rows[1][2] == "" || strings.Count(p.body, "This session") != 1 {
		t.Fatalf("sessions: %v\n%s", rows, p.body)
	}
	b2ID := rows[0][1] // newest first: b2 signed in after b1

	// Another agent's session id is not found.
	adminSessions, err := e.svc.AgentSessions(context.Background(), tn.admin, tn.ws)
	if err != nil || len(adminSessions) != 1 {
		t.Fatal(adminSessions, err)
	}
	if p := b1.post("/console/account/sessions/"+adminSessions[0].ID+"/end", nil); p.status != http.StatusNotFound {
		t.Errorf("ending another agent's session: %d", p.status)
	}
	adminB.mustGet("/console/")
	done := b1.mustPost("/console/account/sessions/"+b2ID+"/end", nil)
	if !strings.Contains(done.body, "That session has ended") {
		t.Errorf("end session:\n%s", done.body)
	}
	b2.wantSignedOut("after ending its session")
	e.wantAuditAction(tn.ws.ID, chat.AuditSessionEnded, cid.ID)

	// Change password.
	b3 := e.signedIn(cid)
	b1.mustGet("/console/account")
	wrong := b1.post("/console/account/password", url.Values{"current": {"not the password"}, "password": {"my new passphrase for work"}, "confirm": {"my new passphrase for work"}})
	if wrong.status != http.StatusForbidden || !strings.Contains(wrong.body, "Your current password is not right") {
		t.Fatalf("wrong current: %d\n%s", wrong.status, wrong.body)
	}
	b3.mustGet("/console/")
	common := b1.post("/console/account/password", url.Values{"current": {agentPassword}, "password": {"iloveyou1234"}, "confirm": {"iloveyou1234"}})
	if common.status != http.StatusUnprocessableEntity || !strings.Contains(common.body, "commonly used password") {
		t.Fatalf("common: %d\n%s", common.status, common.body)
	}
	changed := b1.mustPost("/console/account/password", url.Values{"current": {agentPassword}, "password": {"my new passphrase for work"}, "confirm": {"my new passphrase for work"}})
	if !strings.Contains(changed.body, "Your password is changed. Your one other session has ended.") {
		t.Errorf("change:\n%s", changed.body)
	}
	b3.wantSignedOut("after the password change")
	b1.mustGet("/console/")
	e.wantAuditAction(tn.ws.ID, chat.AuditPasswordChanged, cid.ID)

	// Ending this very session signs this browser out.
	p = b1.mustGet("/console/account")
	cur := regexp.MustCompile(`<tr data-session="(as_[^"]+)" data-current`).FindStringSubmatch(p.body)
	if cur == nil {
		t.Fatalf("no current session:\n%s", p.body)
	}
	if p := b1.post("/console/account/sessions/"+cur[1]+"/end", nil); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") {
		t.Errorf("ending this session: %d %q", p.status, p.location())
	}
	b1.wantSignedOut("after ending this session")
}

// With SMTP and a public URL, the invitation is emailed, not shown, and its link works.
func TestConsoleInviteByEmail(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "pw"})
	settings, err := mail.ParseURL(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSender(mail.Config{Settings: settings, From: "Acme <support@acme.example>", TLSConfig: smtp.ClientTLS(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *envOptions) { o.mailer, o.publicURL = sender, "https://chat.acme.example" })
	tn := e.tenant("Acme", "admin@acme.example")
	admin := e.signedIn(tn.admin)
	admin.mustGet("/console/settings/agents")
	p := admin.mustPost("/console/settings/agents/invite", url.Values{"name": {"Eve"}, "email": {"eve@acme.example"}, "role": {"admin"}})
	if !strings.Contains(p.body, "Invitation sent to eve@acme.example.") || strings.Contains(p.body, "data-new-link") || linkInPage.MatchString(p.body) {
		t.Fatalf("emailed invitation page:\n%s", p.body)
	}
	runner := jobs.New(jobs.Config{Store: e.st})
	e.svc.RegisterJobs(runner)
	for {
		n, err := runner.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	got := smtp.Wait(t, 1, 10*time.Second)
	if len(got[0].To) != 1 || got[0].To[0] != "eve@acme.example" {
		t.Fatalf("mailed to %v", got[0].To)
	}
	// The message is quoted-printable; reading the whole of it so decodes every part.
	decoded, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(got[0].Data)))
	m := regexp.MustCompile(`https://chat\.acme\.example/console/link\?t=(pal_[A-Za-z0-9_-]{43})`).FindSubmatch(decoded)
	if m == nil {
		t.Fatalf("no link in the email:\n%s", got[0].Data)
	}
	b := e.browser()
	if p := b.post("/console/link", url.Values{"t": {string(m[1])}, "password": {agentPassword}, "confirm": {agentPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("the emailed link: %d\n%s", p.status, p.body)
	}
	if home := b.mustGet("/console/"); !strings.Contains(home.body, "Eve") {
		t.Error("not signed in as Eve")
	}
}

// The console idle timeout on the Settings page: saved, shown, and refused outside 5m to 12h.
func TestConsoleIdleTimeoutSettingForm(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings")
	if !strings.Contains(p.body, `id="console_idle_timeout" name="console_idle_timeout" value="12h"`) {
		t.Fatalf("settings page without the console idle timeout (12h):\n%s", p.body)
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "console_idle_timeout": {"45m"}})
	if ws, _ := e.svc.Workspace(context.Background(), tn.ws.ID); ws.Settings.ConsoleIdleTimeout != 45*time.Minute {
		t.Errorf("ConsoleIdleTimeout = %v", ws.Settings.ConsoleIdleTimeout)
	}
	for _, v := range []string{"4m", "13h", "soon"} {
		p := b.post("/console/settings", url.Values{"name": {"Acme"}, "console_idle_timeout": {v}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="console_idle_timeout" name="console_idle_timeout" value="`+v+`" aria-describedby="console-idle-hint" class="field-error" aria-invalid="true"`) {
			t.Errorf("%s: %d\n%s", v, p.status, p.body)
		}
	}
}
