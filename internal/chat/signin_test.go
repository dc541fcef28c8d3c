package chat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The sign-in core: what a console session still owes, and how long it lasts unused.

const signInPassword = "correct horse battery staple"

func (e *lifeEnv) agent(t *testing.T, email string) store.Agent {
	t.Helper()
	a, err := e.svc.CreateAgent(t.Context(), e.ws, email, "Ada", "agent", signInPassword)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// editAgent changes an agent in the store directly, as enrolment or an admin would.
func (e *lifeEnv) editAgent(t *testing.T, id string, edit func(*store.Agent)) {
	t.Helper()
	err := e.st.Update(t.Context(), func(tx store.Tx) error {
		a, err := tx.Agent(t.Context(), id)
		if err != nil {
			return err
		}
		edit(&a)
		return tx.UpdateAgent(t.Context(), &a)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *lifeEnv) editSettings(t *testing.T, edit func(*store.Settings)) {
	t.Helper()
	err := e.st.Update(t.Context(), func(tx store.Tx) error {
		w, err := tx.Workspace(t.Context(), e.ws)
		if err != nil {
			return err
		}
		edit(&w.Settings)
		return tx.UpdateWorkspace(t.Context(), &w)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func wantUnauthorized(t *testing.T, what string, err error) *problem.Error {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Status != http.StatusUnauthorized {
		t.Fatalf("%s: got %v, want a 401 problem", what, err)
	}
	return p
}

func (e *lifeEnv) signInAudit(t *testing.T) []store.AuditEvent {
	t.Helper()
	events, err := e.svc.AuditEvents(t.Context(), e.ws, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEvent
	for _, ev := range events {
		if strings.HasPrefix(ev.Action, "signin.") {
			out = append(out, ev)
		}
	}
	return out
}

func TestSignInOwesSecondFactor(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	a := e.agent(t, "ada@bank.example")
	e.editAgent(t, a.ID, func(a *store.Agent) { a.TOTPSecret, a.TOTPEnabledAt = []byte("sealed"), e.clock.Now() })
	info := chat.SignInInfo{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", Addr: "198.51.100.7"}

	token, _, sess, err := e.svc.StartAgentSession(ctx, "ada@bank.example", signInPassword, info)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Stage != store.AgentStageTOTP || !sess.ExpiresAt.Equal(e.clock.Now().Add(chat.PendingSignInLifetime)) {
		t.Fatalf("session %+v: want stage totp for %s", sess, chat.PendingSignInLifetime)
	}
	// A password alone opens nothing: not a page, not a socket's check.
	_, _, err = e.svc.AgentSession(ctx, token)
	wantUnauthorized(t, "AgentSession(pending)", err)
	wantUnauthorized(t, "CheckAgentSession(pending)", e.svc.CheckAgentSession(ctx, token))
	if p, _, err := e.svc.PendingAgentSession(ctx, token); err != nil || p.Stage != store.AgentStageTOTP {
		t.Fatalf("PendingAgentSession: %+v, %v", p, err)
	}

	full, done, err := e.svc.CompleteAgentSession(ctx, token, "totp")
	if err != nil {
		t.Fatal(err)
	}
	if full == token || done.Stage != "" || done.ID == sess.ID || done.Method != store.AgentMethodPassword || done.Addr != info.Addr {
		t.Fatalf("completed session %+v (token reused: %v)", done, full == token)
	}
	// The token seen before the second factor is worth nothing after it.
	_, _, err = e.svc.PendingAgentSession(ctx, token)
	wantUnauthorized(t, "the pending token after completion", err)
	if got, _, err := e.svc.AgentSession(ctx, full); err != nil || got.ID != a.ID {
		t.Fatalf("AgentSession(full): %+v, %v", got, err)
	}
	if _, _, err := e.svc.CompleteAgentSession(ctx, full, "totp"); err == nil {
		t.Fatal("a complete session was completed again")
	}

	got := e.signInAudit(t)
	if len(got) != 2 {
		t.Fatalf("sign-in audit: %+v", got)
	}
	if got[1].Detail != "method=password pending=totp" || got[0].Detail != "method=password second_factor=totp" {
		t.Fatalf("sign-in audit details %q, %q", got[1].Detail, got[0].Detail)
	}
	for _, ev := range got {
		if ev.Addr != info.Addr || ev.Target != a.ID || ev.Actor != chat.AgentActor(a) {
			t.Fatalf("audit event %+v", ev)
		}
	}

	// A pending session left alone ends with its short lifetime.
	token, _, _, err = e.svc.StartAgentSession(ctx, "ada@bank.example", signInPassword, info)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(chat.PendingSignInLifetime)
	_, _, err = e.svc.CompleteAgentSession(ctx, token, "totp")
	wantUnauthorized(t, "completing an expired pending session", err)
}

func TestSignInRequiresEnrolment(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	e.agent(t, "bo@bank.example")
	e.editSettings(t, func(st *store.Settings) { st.Require2FA = true })
	token, _, sess, err := e.svc.StartAgentSession(ctx, "bo@bank.example", signInPassword, chat.SignInInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if sess.Stage != store.AgentStageEnrol {
		t.Fatalf("stage %q, want enrol", sess.Stage)
	}
	_, _, err = e.svc.AgentSession(ctx, token)
	wantUnauthorized(t, "AgentSession(must enrol)", err)
}

func TestSignInFailuresAudited(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	a := e.agent(t, "cy@bank.example")
	info := chat.SignInInfo{Addr: "203.0.113.9"}
	_, _, _, err := e.svc.StartAgentSession(ctx, "CY@bank.example", "not the password at all", info)
	wantUnauthorized(t, "wrong password", err)
	_, _, _, err = e.svc.StartAgentSession(ctx, "nobody@bank.example", "not the password at all", info)
	wantUnauthorized(t, "unknown email", err)
	got := e.signInAudit(t)
	if len(got) != 1 || got[0].Action != chat.AuditSignInFailed || got[0].Target != a.ID || got[0].Addr != info.Addr {
		t.Fatalf("audit after a wrong password and an unknown email: %+v", got)
	}

	// Passwords off: told only after the right password, and audited as a failure.
	e.editSettings(t, func(st *store.Settings) { st.SSO = store.SSOSettings{Enabled: true, PasswordsOff: true} })
	_, _, _, err = e.svc.StartAgentSession(ctx, "cy@bank.example", "not the password at all", info)
	if p, ok := problem.As(err); !ok || p.Code != "login_failed" {
		t.Fatalf("wrong password with passwords off: %v", err)
	}
	_, _, _, err = e.svc.StartAgentSession(ctx, "cy@bank.example", signInPassword, info)
	if p, ok := problem.As(err); !ok || p.Code != "password_sign_in_off" || p.Status != http.StatusForbidden {
		t.Fatalf("right password with passwords off: %v", err)
	}
	if got := e.signInAudit(t); len(got) != 3 || got[0].Detail != "method=password reason=passwords_off" {
		t.Fatalf("audit: %+v", got)
	}
}

// An unused console session ends after the workspace's idle timeout; use keeps it alive, and is written
// at most once a minute.
func TestConsoleIdleTimeout(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	e.agent(t, "di@bank.example")
	e.editSettings(t, func(st *store.Settings) { st.ConsoleIdleTimeout = 30 * time.Minute })
	token, _, _, err := e.svc.StartAgentSession(ctx, "di@bank.example", signInPassword, chat.SignInInfo{})
	if err != nil {
		t.Fatal(err)
	}
	use := func() error { _, _, err := e.svc.AgentSession(ctx, token); return err }

	before := e.count.updates.Load()
	for range 5 {
		e.clock.Advance(10 * time.Second)
		if err := use(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count.updates.Load() - before; n != 0 {
		t.Fatalf("%d writes for five uses within a minute of the sign-in, want 0", n)
	}
	e.clock.Advance(29 * time.Minute) // 29m50s after the sign-in: still in time, and recorded
	if err := use(); err != nil {
		t.Fatal(err)
	}
	if n := e.count.updates.Load() - before; n != 1 {
		t.Fatalf("%d writes, want 1", n)
	}
	// Checks by an open socket are no use.
	e.clock.Advance(20 * time.Minute)
	if err := e.svc.CheckAgentSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	if err := e.svc.CheckAgentSession(ctx, token); err == nil {
		t.Fatal("the session outlived its idle timeout because a socket checked it")
	}
	p := wantUnauthorized(t, "idle session", use())
	if !strings.Contains(p.Message, "without use") {
		t.Fatalf("message %q does not say why", p.Message)
	}
}
