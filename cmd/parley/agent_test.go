package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// runCLIStdin is runCLI with standard input.
func runCLIStdin(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err = run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// newCLIWorkspace creates a workspace through the CLI and returns its id.
func newCLIWorkspace(t *testing.T, env map[string]string) string {
	t.Helper()
	out, _, err := runCLI(t, env, "workspace", "create", "--name", "Acme", "--json")
	if err != nil {
		t.Fatal(err)
	}
	return decodeOne(t, out)["id"].(string)
}

// authenticate signs in through the domain service over the CLI's data folder.
func authenticate(t *testing.T, data, email, pw string) error {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(data, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = chat.New(chat.Config{Store: st}).AuthenticateAgent(t.Context(), email, pw)
	return err
}

func TestCLIAgentCreateAndList(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"PARLEY_DATA": data}
	ws := newCLIWorkspace(t, env)

	// A Windows line ending and anything after the first line are not part of the password.
	out, _, err := runCLIStdin(t, env, "correct horse battery staple\r\nsecond line is ignored\n",
		"agent", "create", "--workspace", ws, "--email", "Ada@Example.COM", "--name", "Ada Lovelace", "--role", "admin", "--json")
	if err != nil {
		t.Fatalf("agent create: %v (%s)", err, out)
	}
	created := decodeOne(t, out)
	id, _ := created["id"].(string)
	if !strings.HasPrefix(id, "ag_") || created["email"] != "ada@example.com" || created["name"] != "Ada Lovelace" ||
		created["role"] != "admin" || created["workspace"] != ws {
		t.Errorf("agent create printed %v; want the id, canonical email, name, role and workspace", created)
	}
	if err := authenticate(t, data, "ada@example.com", "correct horse battery staple"); err != nil {
		t.Errorf("signing in with the piped password: %v", err)
	}
	if err := authenticate(t, data, "ada@example.com", "correct horse battery staple\r"); err == nil {
		t.Errorf("the password kept its carriage return")
	}

	// Without --json: a sentence, and the default role. A password without a final newline is fine.
	out, _, err = runCLIStdin(t, env, "another long passphrase", "agent", "create", "--workspace", ws,
		"--email", "grace@example.com", "--name", "Grace Hopper")
	if err != nil || !strings.Contains(out, "Created agent ag_") || !strings.Contains(out, "grace@example.com") {
		t.Errorf("agent create (human) = %q, %v", out, err)
	}
	if err := authenticate(t, data, "grace@example.com", "another long passphrase"); err != nil {
		t.Errorf("signing in without a trailing newline: %v", err)
	}

	// Global flags may come first, as for every command.
	out, _, err = runCLI(t, nil, "--data", data, "--json", "agent", "list", "--workspace", ws)
	if err != nil {
		t.Fatalf("agent list: %v", err)
	}
	agents := decodeOne(t, out)["agents"].([]any)
	if len(agents) != 2 {
		t.Fatalf("agent list = %v; want 2 agents", agents)
	}
	first := agents[0].(map[string]any)
	if first["id"] != id || first["email"] != "ada@example.com" || first["role"] != "admin" || first["available"] != true {
		t.Errorf("agent list[0] = %v", first)
	}
	if second := agents[1].(map[string]any); second["email"] != "grace@example.com" || second["role"] != "agent" {
		t.Errorf("agent list[1] = %v", second)
	}
	for _, leak := range []string{"argon2", "password", "hash", "correct horse"} {
		if strings.Contains(out, leak) {
			t.Errorf("agent list --json shows %q: %s", leak, out)
		}
	}
	out, _, err = runCLI(t, env, "agent", "list", "--workspace", ws)
	if err != nil || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "grace@example.com") || strings.Contains(out, "argon2") {
		t.Errorf("agent list (human) = %q, %v", out, err)
	}

	// A workspace without agents says how to add one.
	empty := newCLIWorkspace(t, env)
	out, _, err = runCLI(t, env, "agent", "list", "--workspace", empty)
	if err != nil || !strings.Contains(out, "parley agent create") {
		t.Errorf("agent list of an empty workspace = %q, %v", out, err)
	}
	out, _, err = runCLI(t, env, "agent", "list", "--workspace", empty, "--json")
	if agents := decodeOne(t, out)["agents"]; err != nil || agents == nil || len(agents.([]any)) != 0 {
		t.Errorf("agent list --json of an empty workspace = %q, %v; want an empty list", out, err)
	}
}

func TestCLIAgentErrors(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"PARLEY_DATA": data}
	ws := newCLIWorkspace(t, env)
	const pw = "correct horse battery staple\n"
	create := func(extra ...string) []string {
		return append([]string{"agent", "create", "--workspace", ws, "--json"}, extra...)
	}
	if _, _, err := runCLIStdin(t, env, pw, create("--email", "ada@example.com", "--name", "Ada")...); err != nil {
		t.Fatalf("agent create: %v", err)
	}
	cases := []struct {
		what  string
		stdin string
		args  []string
		code  string
		exit  int
		field string
	}{
		{"no subcommand", pw, []string{"agent", "--json"}, "", 2, ""},
		{"unknown subcommand", pw, []string{"agent", "delete", "--json"}, "", 2, ""},
		{"missing email", pw, create("--name", "Ada"), "usage", 2, ""},
		{"missing name", pw, create("--email", "x@example.com"), "usage", 2, ""},
		{"missing workspace", pw, []string{"agent", "create", "--email", "x@example.com", "--name", "X", "--json"}, "usage", 2, ""},
		{"empty stdin", "", create("--email", "x@example.com", "--name", "X"), "usage", 2, ""},
		{"empty first line", "\nsecret on line two\n", create("--email", "x@example.com", "--name", "X"), "usage", 2, ""},
		{"only a CRLF", "\r\n", create("--email", "x@example.com", "--name", "X"), "usage", 2, ""},
		{"short password", "too short\n", create("--email", "x@example.com", "--name", "X"), "invalid_field", 1, "password"},
		{"long password", strings.Repeat("x", 5000) + "\n", create("--email", "x@example.com", "--name", "X"), "invalid_field", 1, "password"},
		{"bad email", pw, create("--email", "not-an-email", "--name", "X"), "invalid_field", 1, "email"},
		{"bad role", pw, create("--email", "x@example.com", "--name", "X", "--role", "owner"), "invalid_field", 1, "role"},
		{"duplicate email", pw, create("--email", "ADA@example.com", "--name", "Ada again"), "agent_exists", 1, ""},
		{"missing workspace id", pw, []string{"agent", "create", "--workspace", "ws_missing", "--email", "x@example.com", "--name", "X", "--json"}, "workspace_not_found", 1, ""},
		{"list of a missing workspace", "", []string{"agent", "list", "--workspace", "ws_missing", "--json"}, "workspace_not_found", 1, ""},
		{"list without workspace", "", []string{"agent", "list", "--json"}, "usage", 2, ""},
	}
	for _, c := range cases {
		out, _, err := runCLIStdin(t, env, c.stdin, c.args...)
		if err == nil {
			t.Errorf("%s: succeeded: %s", c.what, out)
			continue
		}
		if exitCode(err) != c.exit {
			t.Errorf("%s: exit %d, want %d (%v)", c.what, exitCode(err), c.exit, err)
		}
		if c.code == "" {
			continue
		}
		e, _ := decodeOne(t, out)["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if e["code"] != c.code || msg == "" || (c.field != "" && !strings.HasPrefix(msg, c.field+":")) {
			t.Errorf("%s: printed %s; want code %s about %q", c.what, out, c.code, c.field)
		}
	}
	// Nothing but the first agent was stored.
	out, _, err := runCLI(t, env, "agent", "list", "--workspace", ws, "--json")
	if agents := decodeOne(t, out)["agents"].([]any); err != nil || len(agents) != 1 {
		t.Errorf("after refused creations agent list = %s, %v; want the one agent", out, err)
	}
	// The password's rules are explained, not just enforced.
	_, _, err = runCLIStdin(t, env, strings.Repeat("x", 5000), "agent", "create", "--workspace", ws, "--email", "y@example.com", "--name", "Y")
	if err == nil || !strings.Contains(err.Error(), "at most 1024 bytes") {
		t.Errorf("long password error = %v; want it to say the maximum", err)
	}
	_, _, err = runCLIStdin(t, env, "too short\n", "agent", "create", "--workspace", ws, "--email", "y@example.com", "--name", "Y")
	if err == nil || !strings.Contains(err.Error(), "at least 12 characters") {
		t.Errorf("short password error = %v; want it to say the minimum", err)
	}
	// The longest password allowed fits, with its line ending.
	longest := strings.Repeat("p", chat.MaxPasswordBytes)
	if out, _, err := runCLIStdin(t, env, longest+"\r\n", create("--email", "longest@example.com", "--name", "L")...); err != nil {
		t.Errorf("agent create with a %d-byte password: %v (%s)", len(longest), err, out)
	} else if err := authenticate(t, data, "longest@example.com", longest); err != nil {
		t.Errorf("signing in with the %d-byte password: %v", len(longest), err)
	}
	// help lists the command.
	if out, _, err := runCLI(t, env, "help"); err != nil || !strings.Contains(out, "agent") {
		t.Errorf("help: %q, %v", out, err)
	}
}
