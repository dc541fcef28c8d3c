package chat_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// The password lifecycle: the rules, invitations, resets, changes, and the console sessions an agent
// lists and ends.

const lifecyclePassword = "correct horse battery staple"

func (e *lifeEnv) lcAdmin(t *testing.T) store.Agent {
	t.Helper()
	a, err := e.svc.CreateAgent(t.Context(), e.ws, "root@acme.example", "Root Admin", store.RoleAdmin, lifecyclePassword)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signIn signs agent email in with a password and returns the session's token.
func (e *lifeEnv) lcSignIn(t *testing.T, email, pw, ua string) (string, store.AgentSession) {
	t.Helper()
	token, _, sess, err := e.svc.StartAgentSession(t.Context(), email, pw, chat.SignInInfo{UserAgent: ua, Addr: "192.0.2.7"})
	if err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	return token, sess
}

// auditRows returns the workspace's audit events of action, newest first.
func (e *lifeEnv) lcAuditRows(t *testing.T, action string) []store.AuditEvent {
	t.Helper()
	events, err := e.svc.AuditEvents(t.Context(), e.ws, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEvent
	for _, ev := range events {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func (e *lifeEnv) lcWantAudit(t *testing.T, action, target, detail string) store.AuditEvent {
	t.Helper()
	rows := e.lcAuditRows(t, action)
	if len(rows) == 0 {
		t.Fatalf("no %s in the audit trail", action)
	}
	if rows[0].Target != target || !strings.Contains(rows[0].Detail, detail) {
		t.Fatalf("%s: target %q detail %q; want %q, containing %q", action, rows[0].Target, rows[0].Detail, target, detail)
	}
	return rows[0]
}

func TestPasswordPolicy(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	for _, tc := range []struct{ email, pw, why string }{
		{"kim@acme.example", "short one", "at least 12 characters"},
		{"kim@acme.example", "Password1234", "commonly used"},
		{"kim@acme.example", "iloveyou1234", "commonly used"},
		{"kim@acme.example", "KIM@ACME.EXAMPLE", "email address"},
		{"kim@acme.example", "xx kim@acme.example xx", "email address"},
		{"kimberly@acme.example", "Kimberly and the moon", "email address"},
	} {
		_, err := e.svc.CreateAgent(ctx, e.ws, tc.email, "Kim", store.RoleAgent, tc.pw)
		p := wantProblem(t, tc.pw, err, http.StatusUnprocessableEntity, "invalid_field")
		if p.Field != "password" || !strings.Contains(p.Message, tc.why) {
			t.Errorf("%q: field %q message %q; want password, %q", tc.pw, p.Field, p.Message, tc.why)
		}
	}
	if _, err := e.svc.CreateAgent(ctx, e.ws, "jo@acme.example", "Jo", store.RoleAgent, "jo sails the seven seas"); err != nil {
		t.Errorf("a good password containing a name part of two letters: %v", err)
	}
	if chat.MinPasswordLength < 12 {
		t.Errorf("MinPasswordLength = %d", chat.MinPasswordLength)
	}
}

// An invited agent has no password and cannot sign in until they accept; the link works once, for 72 h.
func TestInviteAgent(t *testing.T) {
	e := newLifeEnv(t)
	ctx := chat.WithActor(t.Context(), "agent:root")
	link, err := e.svc.InviteAgent(ctx, e.ws, "Nia@Acme.example", "Nia", store.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if link.Emailed || !strings.HasPrefix(link.Token, "pal_") || link.Agent.Email != "nia@acme.example" ||
		!link.ExpiresAt.Equal(e.clock.Now().Add(72*time.Hour)) {
		t.Fatalf("InviteAgent = %+v", link)
	}
	e.lcWantAudit(t, chat.AuditAgentInvited, link.Agent.ID, "emailed=false")
	// No password, no sign-in: not even with an empty one.
	for _, pw := range []string{"", lifecyclePassword} {
		if _, err := e.svc.AuthenticateAgent(ctx, "nia@acme.example", pw); err == nil {
			t.Fatalf("an invited agent signed in with %q", pw)
		} else {
			wantProblem(t, "sign in before accepting", err, http.StatusUnauthorized, "login_failed")
		}
	}
	if _, err := e.svc.InviteAgent(ctx, e.ws, "nia@acme.example", "Nia again", ""); err == nil {
		t.Error("a second invitation for the same email was accepted")
	}
	// The policy applies; a refusal does not use the link up.
	_, _, err = e.svc.AcceptLink(ctx, link.Token, "password1234", chat.SignInInfo{})
	wantProblem(t, "common password", err, http.StatusUnprocessableEntity, "invalid_field")
	e.clock.Advance(72*time.Hour - time.Second)
	if _, a, err := e.svc.AgentLinkInfo(ctx, link.Token); err != nil || a.ID != link.Agent.ID {
		t.Fatalf("AgentLinkInfo = %+v, %v", a, err)
	}
	token, sess, err := e.svc.AcceptLink(ctx, link.Token, lifecyclePassword, chat.SignInInfo{UserAgent: "Firefox", Addr: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if sess.Method != store.AgentMethodLink || sess.Stage != "" {
		t.Errorf("session = %+v", sess)
	}
	if a, _, err := e.svc.AgentSession(ctx, token); err != nil || a.ID != link.Agent.ID {
		t.Fatalf("AgentSession after accepting = %+v, %v", a, err)
	}
	ev := e.lcWantAudit(t, chat.AuditInviteAccepted, link.Agent.ID, "")
	if ev.Addr != "192.0.2.9" || ev.Actor != chat.AgentActor(link.Agent) {
		t.Errorf("invite.accepted by %q from %q", ev.Actor, ev.Addr)
	}
	if _, err := e.svc.AuthenticateAgent(ctx, "nia@acme.example", lifecyclePassword); err != nil {
		t.Errorf("sign in after accepting: %v", err)
	}
	stored, _ := e.st.Agent(ctx, link.Agent.ID)
	if !stored.PasswordChangedAt.Equal(e.clock.Now()) {
		t.Errorf("PasswordChangedAt = %v", stored.PasswordChangedAt)
	}
	// Once only.
	_, _, err = e.svc.AcceptLink(ctx, link.Token, "another fine password", chat.SignInInfo{})
	wantProblem(t, "second use", err, http.StatusNotFound, "link_invalid")

	// Expired at 72 h.
	late, err := e.svc.InviteAgent(ctx, e.ws, "late@acme.example", "Late", "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(72 * time.Hour)
	_, _, err = e.svc.AcceptLink(ctx, late.Token, lifecyclePassword, chat.SignInInfo{})
	wantProblem(t, "expired invitation", err, http.StatusNotFound, "link_invalid")
	_, _, err = e.svc.AgentLinkInfo(ctx, late.Token)
	wantProblem(t, "expired invitation info", err, http.StatusNotFound, "link_invalid")
	_, _, err = e.svc.AcceptLink(ctx, "pal_nonsense", lifecyclePassword, chat.SignInInfo{})
	wantProblem(t, "malformed", err, http.StatusNotFound, "link_invalid")
	// Cleanup removes the expired links.
	if c, err := e.svc.Cleanup(ctx); err != nil || c.AgentLinks != 2 {
		t.Errorf("Cleanup = %+v, %v; want 2 agent links deleted", c, err)
	}
}

// A reset link lasts an hour, works once, voids the previous one, and ends every session when used.
func TestResetPasswordLink(t *testing.T) {
	e := newLifeEnv(t)
	ctx := chat.WithActor(t.Context(), "agent:root")
	bob, err := e.svc.CreateAgent(ctx, e.ws, "bob@acme.example", "Bob", store.RoleAgent, lifecyclePassword)
	if err != nil {
		t.Fatal(err)
	}
	old1, _ := e.lcSignIn(t, "bob@acme.example", lifecyclePassword, "Chrome")
	old2, _ := e.lcSignIn(t, "bob@acme.example", lifecyclePassword, "Safari")

	first, err := e.svc.ResetPasswordLink(ctx, e.ws, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.lcWantAudit(t, chat.AuditResetLinkCreated, bob.ID, "emailed=false")
	link, err := e.svc.ResetPasswordLink(ctx, e.ws, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !link.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("ExpiresAt = %v", link.ExpiresAt)
	}
	// Nothing ends until it is used.
	if _, _, err := e.svc.AgentSession(ctx, old1); err != nil {
		t.Fatalf("a session ended when the link was made: %v", err)
	}
	_, _, err = e.svc.AcceptLink(ctx, first.Token, "a brand new password", chat.SignInInfo{})
	wantProblem(t, "voided link", err, http.StatusNotFound, "link_invalid")
	_, err = e.svc.ResetPasswordLink(ctx, "ws_other", bob.ID)
	wantProblem(t, "another workspace", err, http.StatusNotFound, "agent_not_found")

	e.clock.Advance(59 * time.Minute)
	token, _, err := e.svc.AcceptLink(ctx, link.Token, "a brand new password", chat.SignInInfo{Addr: "192.0.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{old1, old2} {
		_, _, err := e.svc.AgentSession(ctx, old)
		wantProblem(t, "old session after reset", err, http.StatusUnauthorized, "session_invalid")
	}
	if _, _, err := e.svc.AgentSession(ctx, token); err != nil {
		t.Errorf("the reset's own session: %v", err)
	}
	e.lcWantAudit(t, chat.AuditPasswordReset, bob.ID, "sessions_ended=2")
	if _, err := e.svc.AuthenticateAgent(ctx, "bob@acme.example", lifecyclePassword); err == nil {
		t.Error("the old password still works")
	}
	_, _, err = e.svc.AcceptLink(ctx, link.Token, "yet another password", chat.SignInInfo{})
	wantProblem(t, "second use", err, http.StatusNotFound, "link_invalid")

	late, err := e.svc.ResetPasswordLink(ctx, e.ws, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	_, _, err = e.svc.AcceptLink(ctx, late.Token, "yet another password", chat.SignInInfo{})
	wantProblem(t, "expired reset", err, http.StatusNotFound, "link_invalid")
}

// Changing one's password needs the current one and ends every other session.
func TestChangePassword(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	ann, err := e.svc.CreateAgent(ctx, e.ws, "ann@acme.example", "Ann", store.RoleAgent, lifecyclePassword)
	if err != nil {
		t.Fatal(err)
	}
	here, _ := e.lcSignIn(t, "ann@acme.example", lifecyclePassword, "Chrome")
	there, _ := e.lcSignIn(t, "ann@acme.example", lifecyclePassword, "Firefox")
	reset, err := e.svc.ResetPasswordLink(ctx, e.ws, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	actx := chat.WithClientAddr(chat.WithActor(ctx, chat.AgentActor(ann)), "192.0.2.5")

	_, err = e.svc.ChangePassword(actx, ann, "not my password", "a much better password", here)
	wantProblem(t, "wrong current", err, http.StatusForbidden, "current_password_wrong")
	e.lcWantAudit(t, chat.AuditPasswordChangeFailed, ann.ID, "current_password_wrong")
	_, err = e.svc.ChangePassword(actx, ann, lifecyclePassword, "qwertyuiopasdfghjkl", here)
	wantProblem(t, "common new", err, http.StatusUnprocessableEntity, "invalid_field")
	_, err = e.svc.ChangePassword(actx, ann, lifecyclePassword, lifecyclePassword, here)
	wantProblem(t, "same", err, http.StatusUnprocessableEntity, "invalid_field")
	if _, _, err := e.svc.AgentSession(ctx, there); err != nil {
		t.Fatalf("a refused change ended a session: %v", err)
	}

	n, err := e.svc.ChangePassword(actx, ann, lifecyclePassword, "a much better password", here)
	if err != nil || n != 1 {
		t.Fatalf("ChangePassword = %d, %v", n, err)
	}
	if _, _, err := e.svc.AgentSession(ctx, here); err != nil {
		t.Errorf("the changing session ended: %v", err)
	}
	_, _, err = e.svc.AgentSession(ctx, there)
	wantProblem(t, "other session", err, http.StatusUnauthorized, "session_invalid")
	ev := e.lcWantAudit(t, chat.AuditPasswordChanged, ann.ID, "other_sessions_ended=1")
	if ev.Addr != "192.0.2.5" || ev.Actor != chat.AgentActor(ann) {
		t.Errorf("password.changed by %q from %q", ev.Actor, ev.Addr)
	}
	if _, err := e.svc.AuthenticateAgent(ctx, "ann@acme.example", "a much better password"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	// A reset link made before the change cannot undo it.
	_, _, err = e.svc.AcceptLink(ctx, reset.Token, "an attacker's password", chat.SignInInfo{})
	wantProblem(t, "reset link after a change", err, http.StatusNotFound, "link_invalid")

	// An agent without a password is told so.
	inv, err := e.svc.InviteAgent(ctx, e.ws, "sso@acme.example", "Sso", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ChangePassword(ctx, inv.Agent, "", "a much better password", "")
	wantProblem(t, "no password", err, http.StatusConflict, "no_password")
}

// An agent lists their sessions and ends one; another agent's is not theirs to end. An administrator
// signs an agent out everywhere.
func TestAgentSessionsListAndEnd(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	root := e.lcAdmin(t)
	cid, err := e.svc.CreateAgent(ctx, e.ws, "cid@acme.example", "Cid", store.RoleAgent, lifecyclePassword)
	if err != nil {
		t.Fatal(err)
	}
	first, s1 := e.lcSignIn(t, "cid@acme.example", lifecyclePassword, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")
	e.clock.Advance(time.Minute)
	second, s2 := e.lcSignIn(t, "cid@acme.example", lifecyclePassword, "Mozilla/5.0 (Macintosh) Firefox/121.0")
	_, rootSess := e.lcSignIn(t, "root@acme.example", lifecyclePassword, "Safari")
	ws, _ := e.svc.Workspace(ctx, e.ws)

	list, err := e.svc.AgentSessions(ctx, cid, ws)
	if err != nil || len(list) != 2 || list[0].ID != s2.ID || list[1].ID != s1.ID {
		t.Fatalf("AgentSessions = %+v, %v", list, err)
	}
	if list[0].TokenHash != nil || list[0].CSRFToken != "" || list[1].Addr != "192.0.2.7" || !strings.Contains(list[1].UserAgent, "Chrome") {
		t.Errorf("listed session = %+v", list[1])
	}

	cctx := chat.WithActor(ctx, chat.AgentActor(cid))
	err = e.svc.EndOwnSession(cctx, cid, rootSess.ID)
	wantProblem(t, "another agent's session", err, http.StatusNotFound, "session_not_found")
	if _, _, err := e.svc.AgentSession(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.EndOwnSession(cctx, cid, s1.ID); err != nil {
		t.Fatal(err)
	}
	e.lcWantAudit(t, chat.AuditSessionEnded, cid.ID, s1.ID)
	_, _, err = e.svc.AgentSession(ctx, first)
	wantProblem(t, "ended session", err, http.StatusUnauthorized, "session_invalid")
	err = e.svc.EndOwnSession(cctx, cid, s1.ID)
	wantProblem(t, "ended twice", err, http.StatusNotFound, "session_not_found")

	// Signing out everywhere: admins only, within their workspace.
	_, err = e.svc.EndAgentSessions(cctx, cid, root.ID)
	wantProblem(t, "not an admin", err, http.StatusForbidden, "admin_required")
	rctx := chat.WithActor(ctx, chat.AgentActor(root))
	n, err := e.svc.EndAgentSessions(rctx, root, cid.ID)
	if err != nil || n != 1 {
		t.Fatalf("EndAgentSessions = %d, %v", n, err)
	}
	_, _, err = e.svc.AgentSession(ctx, second)
	wantProblem(t, "signed out everywhere", err, http.StatusUnauthorized, "session_invalid")
	ev := e.lcWantAudit(t, chat.AuditAgentSessionsSignedOut, cid.ID, "sessions_ended=1")
	if ev.Actor != chat.AgentActor(root) {
		t.Errorf("sessions.agent_signed_out by %q", ev.Actor)
	}
	if list, _ := e.svc.AgentSessions(ctx, cid, ws); len(list) != 0 {
		t.Errorf("sessions after signing out everywhere: %+v", list)
	}
	_, err = e.svc.EndAgentSessions(rctx, root, "ag_nobody")
	wantProblem(t, "unknown agent", err, http.StatusNotFound, "agent_not_found")
}

// The console idle timeout: a setting with a range; a session unused that long ends, and use within
// it keeps it alive, LastSeenAt written at most once a minute.
func TestConsoleIdleTimeoutSetting(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	for _, d := range []time.Duration{4 * time.Minute, 13 * time.Hour, -time.Minute} {
		_, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{ConsoleIdleTimeout: &d})
		p := wantProblem(t, d.String(), err, http.StatusUnprocessableEntity, "invalid_field")
		if p.Field != "console_idle_timeout" {
			t.Errorf("field %q", p.Field)
		}
	}
	idle := 30 * time.Minute
	if w, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{ConsoleIdleTimeout: &idle}); err != nil || w.Settings.ConsoleIdleTimeout != idle {
		t.Fatalf("UpdateWorkspace = %v, %v", w.Settings.ConsoleIdleTimeout, err)
	}
	if _, err := e.svc.CreateAgent(ctx, e.ws, "dee@acme.example", "Dee", store.RoleAgent, lifecyclePassword); err != nil {
		t.Fatal(err)
	}
	token, sess := e.lcSignIn(t, "dee@acme.example", lifecyclePassword, "Chrome")
	lastSeen := func() time.Time {
		t.Helper()
		x, err := e.st.AgentSessionByTokenHash(ctx, sess.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		return x.LastSeenAt
	}
	start := e.clock.Now()
	// Used every 29 minutes for almost two hours: alive throughout.
	for i := 1; i <= 4; i++ {
		e.clock.Advance(29 * time.Minute)
		if _, _, err := e.svc.AgentSession(ctx, token); err != nil {
			t.Fatalf("use %d, within the idle timeout: %v", i, err)
		}
		if got := lastSeen(); !got.Equal(e.clock.Now()) {
			t.Fatalf("LastSeenAt = %v; want %v", got, e.clock.Now())
		}
	}
	// Uses within a minute of the last recorded one write nothing.
	written := lastSeen()
	e.clock.Advance(30 * time.Second)
	before := e.count.updates.Load()
	if _, _, err := e.svc.AgentSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(written) || e.count.updates.Load() != before {
		t.Errorf("a use 30 s after the last one wrote LastSeenAt (%v, %d writes)", got, e.count.updates.Load()-before)
	}
	if e.clock.Now().Sub(start) < 3*idle {
		t.Fatal("the test did not outlast the idle timeout")
	}
	// Unused for the idle timeout: ended.
	e.clock.Advance(idle)
	_, _, err := e.svc.AgentSession(ctx, token)
	p := wantProblem(t, "idle", err, http.StatusUnauthorized, "session_invalid")
	if !regexp.MustCompile(`without use`).MatchString(p.Message) {
		t.Errorf("message %q", p.Message)
	}
}

// With SMTP configured, links are emailed (through the job runner, to the real test SMTP server) and
// the emailed link works; a link used or voided before its email goes out is not sent.
func TestAgentLinkEmail(t *testing.T) {
	e := newMailEnv(t)
	ctx := chat.WithActor(t.Context(), "agent:root")
	link, err := e.svc.InviteAgent(ctx, e.ws, "eve@acme.example", "Eve Example", store.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if !link.Emailed {
		t.Fatal("an invitation was not emailed with SMTP configured")
	}
	e.lcWantAudit(t, chat.AuditAgentInvited, link.Agent.ID, "emailed=true")
	e.runJobs(t)
	got := e.wantMails(t, 1, "after the invitation")
	if len(got[0].To) != 1 || got[0].To[0] != "eve@acme.example" {
		t.Errorf("mailed to %v", got[0].To)
	}
	m := parseEmail(t, got[0].Data)
	want := "https://chat.acme.example/console/link?t=" + link.Token
	if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) || !strings.Contains(m.Header.Get("Subject"), "invitation") {
		t.Fatalf("invitation email: subject %q text %q", m.Header.Get("Subject"), m.Text)
	}
	token := regexp.MustCompile(`t=(pal_[A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Text)[1]
	if _, _, err := e.svc.AcceptLink(ctx, token, lifecyclePassword, chat.SignInInfo{}); err != nil {
		t.Fatalf("the emailed link: %v", err)
	}

	// Reset links: the first is voided by the second before the runner runs; only the second is sent.
	if _, err := e.svc.ResetPasswordLink(ctx, e.ws, link.Agent.ID); err != nil {
		t.Fatal(err)
	}
	second, err := e.svc.ResetPasswordLink(ctx, e.ws, link.Agent.ID)
	if err != nil || !second.Emailed {
		t.Fatalf("ResetPasswordLink = %+v, %v", second, err)
	}
	e.runJobs(t)
	got = e.wantMails(t, 2, "after two reset links")
	m = parseEmail(t, got[1].Data)
	if !strings.Contains(m.Text, "/console/link?t="+second.Token) || !strings.Contains(m.Header.Get("Subject"), "new password") {
		t.Errorf("reset email: subject %q text %q", m.Header.Get("Subject"), m.Text)
	}
	// The jobs table holds no usable token.
	sum := sha256.Sum256([]byte(second.Token))
	j, err := e.st.JobByKey(ctx, chat.JobAgentLinkEmail, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(j.Payload), second.Token) || strings.Contains(string(j.Payload), second.Token[4:]) {
		t.Errorf("the job's payload holds the link's token in the clear: %s", j.Payload)
	}
}

// Where agents sign in through single sign-on only, a link cannot set a password around the provider;
// it stays unused and works again if passwords come back.
func TestLinksRefusedWhilePasswordsOff(t *testing.T) {
	e := newLifeEnv(t)
	ctx := chat.WithActor(t.Context(), "agent:root")
	bob, err := e.svc.CreateAgent(ctx, e.ws, "bob@acme.example", "Bob", store.RoleAgent, lifecyclePassword)
	if err != nil {
		t.Fatal(err)
	}
	link, err := e.svc.ResetPasswordLink(ctx, e.ws, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.editSettings(t, func(st *store.Settings) { st.SSO = store.SSOSettings{Enabled: true, PasswordsOff: true} })
	_, _, err = e.svc.AgentLinkInfo(ctx, link.Token)
	wantProblem(t, "opening a link while passwords are off", err, http.StatusForbidden, "password_sign_in_off")
	_, _, err = e.svc.AcceptLink(ctx, link.Token, "a brand new password", chat.SignInInfo{})
	wantProblem(t, "using a link while passwords are off", err, http.StatusForbidden, "password_sign_in_off")

	e.editSettings(t, func(st *store.Settings) { st.SSO.PasswordsOff = false })
	if _, _, err := e.svc.AcceptLink(ctx, link.Token, "a brand new password", chat.SignInInfo{}); err != nil {
		t.Fatalf("the unused link once passwords are back: %v", err)
	}
}
