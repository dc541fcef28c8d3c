package main

import (
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// The last administrator keeps a way in: with passwords off and the provider gone, the operator lets
// agents sign in with passwords again from the command line (which itself never asks for one).
func TestCLISSOSwitches(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"PARLEY_DATA": data}
	ws := newCLIWorkspace(t, env)
	const pw = "correct horse battery staple"
	if out, _, err := runCLIStdin(t, env, pw+"\n", "agent", "create", "--workspace", ws, "--email", "root@acme.example", "--name", "Root", "--role", "admin", "--json"); err != nil {
		t.Fatalf("agent create: %v (%s)", err, out)
	}
	sso := func(edit func(*store.SSOSettings)) store.SSOSettings {
		t.Helper()
		st, err := sqlite.Open(t.Context(), filepath.Join(data, "parley.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var got store.SSOSettings
		err = st.Update(t.Context(), func(tx store.Tx) error {
			w, err := tx.Workspace(t.Context(), ws)
			if err != nil {
				return err
			}
			if edit != nil {
				edit(&w.Settings.SSO)
				if err := tx.UpdateWorkspace(t.Context(), &w); err != nil {
					return err
				}
			}
			got = w.Settings.SSO
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	passwordsOff := func(s *store.SSOSettings) {
		*s = store.SSOSettings{Enabled: true, Issuer: "https://login.acme.example", ClientID: "parley", ClientSecret: []byte("sealed"),
			AllowedDomains: []string{"acme.example"}, PasswordsOff: true}
	}
	signIn := func() error {
		t.Helper()
		st, err := sqlite.Open(t.Context(), filepath.Join(data, "parley.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, _, _, err = chat.New(chat.Config{Store: st}).StartAgentSession(t.Context(), "root@acme.example", pw, chat.SignInInfo{})
		return err
	}

	sso(passwordsOff)
	if p, ok := problem.As(signIn()); !ok || p.Code != "password_sign_in_off" {
		t.Fatalf("a password with passwords off: %v", p)
	}
	if out, _, err := runCLI(t, env, "workspace", "update", "--workspace", ws, "--sso-passwords", "on", "--json"); err != nil {
		t.Fatalf("--sso-passwords on: %v (%s)", err, out)
	}
	if got := sso(nil); got.PasswordsOff || !got.Enabled {
		t.Errorf("after --sso-passwords on: %+v; want passwords on, single sign-on still on", got)
	}
	if err := signIn(); err != nil {
		t.Errorf("a password after --sso-passwords on: %v", err)
	}

	sso(passwordsOff)
	if out, _, err := runCLI(t, env, "workspace", "update", "--workspace", ws, "--sso", "off", "--json"); err != nil {
		t.Fatalf("--sso off: %v (%s)", err, out)
	}
	if got := sso(nil); got.PasswordsOff || got.Enabled {
		t.Errorf("after --sso off: %+v; want both off", got)
	}
	if err := signIn(); err != nil {
		t.Errorf("a password after --sso off: %v", err)
	}
	// Passwords cannot go off while single sign-on is off; a bad value is a usage error.
	if _, _, err := runCLI(t, env, "workspace", "update", "--workspace", ws, "--sso-passwords", "off", "--json"); err == nil {
		t.Error("--sso-passwords off without single sign-on was accepted")
	}
	if _, _, err := runCLI(t, env, "workspace", "update", "--workspace", ws, "--sso", "maybe", "--json"); err == nil {
		t.Error("--sso maybe was accepted")
	}
}
