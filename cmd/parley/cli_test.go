package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runCLI calls run in-process, as main does, and returns its exit error and outputs.
func runCLI(t *testing.T, env map[string]string, args ...string) (stdout string, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err = run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func decodeOne(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output %q is not a JSON object: %v", s, err)
	}
	if dec.More() {
		t.Fatalf("output %q holds more than one JSON value", s)
	}
	return v
}

func TestCLIWorkspaceAndKeys(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"PARLEY_DATA": data} // the env variable selects the data folder

	out, _, err := runCLI(t, env, "workspace", "create", "--name", "Acme", "--json")
	if err != nil {
		t.Fatal(err)
	}
	ws := decodeOne(t, out)["id"].(string)

	out, _, err = runCLI(t, env, "workspace", "update", "--workspace", ws, "--json",
		"--allowed-origins", "https://Shop.Example:443, http://localhost:3000", "--onboarding", "on",
		"--login-url", "https://shop.example/login", "--first-message", "Hi! Sign in for account help.",
		"--hide-until-login", "--allowed-email-domains", "@Bank.Example,bank.example", "--require-verified",
		"--max-token-lifetime", "5m")
	if err != nil {
		t.Fatal(err)
	}
	got := decodeOne(t, out)
	s := got["settings"].(map[string]any)
	want := map[string]any{
		"onboarding": "on", "login_url": "https://shop.example/login", "first_message": "Hi! Sign in for account help.",
		"hide_until_login": true, "require_verified": true, "max_token_lifetime": "5m0s", "read_receipts": "on", // on unless turned off
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("settings.%s = %v, want %v", k, s[k], v)
		}
	}
	if o := s["allowed_origins"].([]any); len(o) != 2 || o[0] != "https://shop.example" || o[1] != "http://localhost:3000" {
		t.Errorf("allowed_origins = %v (want canonical origins)", o)
	}
	if d := s["allowed_email_domains"].([]any); len(d) != 1 || d[0] != "bank.example" {
		t.Errorf("allowed_email_domains = %v (want one canonical domain)", d)
	}
	// Flags not given leave settings alone; =false undoes a boolean.
	out, _, err = runCLI(t, env, "workspace", "update", "--workspace", ws, "--json", "--hide-until-login=false")
	if err != nil {
		t.Fatal(err)
	}
	s = decodeOne(t, out)["settings"].(map[string]any)
	if s["hide_until_login"] != false || s["require_verified"] != true || s["onboarding"] != "on" || s["read_receipts"] != "on" {
		t.Errorf("partial update changed other settings: %v", s)
	}
	out, _, err = runCLI(t, env, "workspace", "update", "--workspace", ws, "--json", "--read-receipts", "off")
	if err != nil {
		t.Fatal(err)
	}
	if s = decodeOne(t, out)["settings"].(map[string]any); s["read_receipts"] != "off" || s["require_verified"] != true {
		t.Errorf("--read-receipts off: %v", s)
	}

	// Global flags may come before the command too.
	out, _, err = runCLI(t, nil, "--data", data, "--json", "key", "create", "--workspace", ws, "--alg", "HS512")
	if err != nil {
		t.Fatal(err)
	}
	key := decodeOne(t, out)
	if key["alg"] != "HS512" || !strings.HasPrefix(key["secret"].(string), "psk_") {
		t.Fatalf("key create printed %v", key)
	}
	out, _, err = runCLI(t, env, "key", "revoke", "--workspace", ws, "--kid", key["kid"].(string), "--json")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, env, "key", "list", "--workspace", ws, "--json")
	if err != nil {
		t.Fatal(err)
	}
	keys := decodeOne(t, out)["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["revoked_at"] == nil {
		t.Fatalf("key list = %v", keys)
	}
	if strings.Contains(out, key["secret"].(string)) {
		t.Fatal("key list shows the secret")
	}
	// The human form says the same.
	out, _, err = runCLI(t, env, "key", "list", "--workspace", ws)
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("key list: %q, %v", out, err)
	}
}

func TestCLIErrors(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	cases := []struct {
		args []string
		code string // the error code printed with --json
		exit int
	}{
		{[]string{"workspace", "create", "--json"}, "usage", 2},
		{[]string{"workspace", "update", "--workspace", "ws_missing", "--onboarding", "on", "--json"}, "workspace_not_found", 1},
		{[]string{"workspace", "update", "--workspace", "x", "--onboarding", "maybe", "--json"}, "usage", 2},
		{[]string{"workspace", "update", "--workspace", "x", "--read-receipts", "maybe", "--json"}, "usage", 2},
		{[]string{"key", "create", "--workspace", "ws_missing", "--json"}, "workspace_not_found", 1},
		{[]string{"key", "revoke", "--workspace", "ws_missing", "--kid", "k", "--json"}, "key_not_found", 1},
	}
	for _, c := range cases {
		out, _, err := runCLI(t, env, c.args...)
		if err == nil {
			t.Fatalf("%v succeeded", c.args)
		}
		if exitCode(err) != c.exit {
			t.Errorf("%v: exit %d, want %d", c.args, exitCode(err), c.exit)
		}
		v := decodeOne(t, out)
		if e := v["error"].(map[string]any); e["code"] != c.code || e["message"] == "" {
			t.Errorf("%v: printed %v, want code %s", c.args, v, c.code)
		}
	}
	// Settings are validated before anything is stored.
	out, _, _ := runCLI(t, env, "workspace", "create", "--name", "V", "--json")
	ws := decodeOne(t, out)["id"].(string)
	for _, bad := range [][]string{
		{"--allowed-origins", "javascript:alert(1)"},
		{"--allowed-origins", "https://shop.example/path"},
		{"--login-url", "javascript:alert(1)"},
		{"--max-token-lifetime", "48h"},
		{"--allowed-email-domains", "not a domain"},
	} {
		out, _, err := runCLI(t, env, append([]string{"workspace", "update", "--workspace", ws, "--json"}, bad...)...)
		if err == nil || decodeOne(t, out)["error"].(map[string]any)["code"] != "invalid_field" {
			t.Errorf("%v was accepted: %s", bad, out)
		}
	}
	if _, _, err := runCLI(t, env, "frobnicate"); exitCode(err) != 2 {
		t.Errorf("unknown command: %v", err)
	}
	if out, _, err := runCLI(t, env, "help"); err != nil || !strings.Contains(out, "serve") {
		t.Errorf("help: %q, %v", out, err)
	}
}

// `key create` takes one kind of key at a time, and flags only where they mean something.
func TestCLIKeyCreateFlagConflicts(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	ws := newCLIWorkspace(t, env)
	for _, args := range [][]string{
		{"--public-key", "k.pem", "--jwks-url", "https://idp.example/jwks.json"},
		{"--allow-private-addresses"},
		{"--kid", "mine"},
	} {
		_, _, err := runCLI(t, env, append([]string{"key", "create", "--workspace", ws}, args...)...)
		if exitCode(err) != 2 {
			t.Errorf("key create %v: %v (exit %d), want a usage error", args, err, exitCode(err))
		}
	}
	out, _, err := runCLI(t, env, "key", "list", "--workspace", ws, "--json")
	if err != nil || strings.Contains(out, `"kid"`) {
		t.Errorf("refused key creations left keys: %s, %v", out, err)
	}
}
