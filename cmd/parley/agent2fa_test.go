package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

func TestCLIAgentReset2FA(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"PARLEY_DATA": data}
	ws := newCLIWorkspace(t, env)
	out, _, err := runCLIStdin(t, env, "correct horse battery staple\n",
		"agent", "create", "--workspace", ws, "--email", "ada@example.com", "--name", "Ada", "--json")
	if err != nil {
		t.Fatalf("agent create: %v", err)
	}
	id := decodeOne(t, out)["id"].(string)

	// Ada sets two-factor up and signs in with it.
	st, err := sqlite.Open(t.Context(), filepath.Join(data, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := chat.New(chat.Config{Store: st})
	en, err := svc.BeginTOTPEnrolment(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(strings.ReplaceAll(en.Secret, " ", ""), time.Now())
	if _, err := svc.ConfirmTOTPEnrolment(t.Context(), id, code); err != nil {
		t.Fatal(err)
	}
	pending, _, sess, err := svc.StartAgentSession(t.Context(), "ada@example.com", "correct horse battery staple", chat.SignInInfo{})
	if err != nil || sess.Stage != "totp" {
		t.Fatalf("sign-in before the reset: stage %q, %v", sess.Stage, err)
	}
	st.Close()

	if _, _, err := runCLI(t, env, "agent", "reset-2fa", "--workspace", ws); err == nil {
		t.Error("reset-2fa without --email succeeded")
	}
	_, _, err = runCLI(t, env, "agent", "reset-2fa", "--workspace", ws, "--email", "nobody@example.com", "--json")
	if err == nil || !strings.Contains(err.Error(), "agent_not_found") {
		t.Errorf("reset-2fa of an unknown email: %v", err)
	}
	out, _, err = runCLI(t, env, "agent", "reset-2fa", "--workspace", ws, "--email", "Ada@Example.com", "--json")
	if err != nil {
		t.Fatalf("reset-2fa: %v", err)
	}
	got := decodeOne(t, out)
	if got["id"] != id || got["email"] != "ada@example.com" || got["workspace"] != ws || got["sessions_ended"] != float64(1) {
		t.Errorf("reset-2fa printed %v", got)
	}
	out, _, err = runCLI(t, env, "agent", "reset-2fa", "--workspace", ws, "--email", "ada@example.com")
	if err != nil || !strings.Contains(out, "is off; 0 console session(s) ended") {
		t.Errorf("reset-2fa again, as text: %v, %q", err, out)
	}

	st, err = sqlite.Open(t.Context(), filepath.Join(data, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc = chat.New(chat.Config{Store: st})
	if _, _, err := svc.PendingAgentSession(t.Context(), pending); err == nil {
		t.Error("the session begun before the reset still works")
	}
	if tf, err := svc.TwoFactor(t.Context(), id); err != nil || tf.Enabled || tf.Enrolling || tf.CodesLeft != 0 {
		t.Errorf("after the reset: %+v, %v", tf, err)
	}
	if _, _, sess, err := svc.StartAgentSession(t.Context(), "ada@example.com", "correct horse battery staple", chat.SignInInfo{}); err != nil || sess.Stage != "" {
		t.Errorf("sign-in after the reset: stage %q, %v", sess.Stage, err)
	}
	events, _ := svc.AuditEvents(t.Context(), ws, 100)
	found := false
	for _, ev := range events {
		if ev.Action == "2fa.reset" && ev.Actor == "cli" && ev.Target == id {
			found = true
		}
	}
	if !found {
		t.Errorf("no 2fa.reset by cli in the audit trail: %+v", events)
	}
}
