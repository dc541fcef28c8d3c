package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// TestWebhookCLI: create (the secret once), list (never a secret), rotate, test, delete, and the
// refusals with their codes and exit statuses.
func TestWebhookCLI(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	ws := newCLIWorkspace(t, env)
	out, _, err := runCLI(t, env, "webhook", "create", "--workspace", ws, "--url", "https://crm.example/hook", "--events", "message.created, conversation.closed", "--include-notes", "--json")
	if err != nil {
		t.Fatal(err)
	}
	created := decodeOne(t, out)
	id, secret := created["id"].(string), created["secret"].(string)
	if !strings.HasPrefix(id, "wh_") || !strings.HasPrefix(secret, "whsec_") || created["include_notes"] != true || len(created["events"].([]any)) != 2 {
		t.Fatalf("create printed %s", out)
	}
	out, _, err = runCLI(t, env, "webhook", "list", "--workspace", ws, "--json")
	if err != nil || strings.Contains(out, "whsec_") || !strings.Contains(out, id) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, env, "webhook", "rotate", "--workspace", ws, "--id", id, "--json")
	if rotated, _ := decodeOne(t, out)["secret"].(string); err != nil || !strings.HasPrefix(rotated, "whsec_") || rotated == secret {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, env, "webhook", "test", "--workspace", ws, "--id", id, "--json")
	if wid, _ := decodeOne(t, out)["webhook_id"].(string); err != nil || !strings.HasPrefix(wid, "msg_") {
		t.Fatalf("test: %v\n%s", err, out)
	}
	if _, _, err = runCLI(t, env, "webhook", "delete", "--workspace", ws, "--id", id, "--json"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		args []string
		code string
		exit int
	}{
		{"deleted endpoint", []string{"webhook", "delete", "--workspace", ws, "--id", id}, "webhook_not_found", 1},
		{"bad URL", []string{"webhook", "create", "--workspace", ws, "--url", "ftp://crm.example/"}, "invalid_field", 1},
		{"bad event", []string{"webhook", "create", "--workspace", ws, "--url", "https://crm.example/", "--events", "message.deleted"}, "invalid_field", 1},
		{"no URL", []string{"webhook", "create", "--workspace", ws}, "usage", 2},
		{"no id", []string{"webhook", "rotate", "--workspace", ws}, "usage", 2},
		{"unknown command", []string{"webhook", "edit"}, "", 2},
	} {
		out, _, err := runCLI(t, env, append(c.args, "--json")...)
		if err == nil || exitCode(err) != c.exit {
			t.Errorf("%s: %v (exit %d), want exit %d\n%s", c.what, err, exitCode(err), c.exit, out)
			continue
		}
		if c.code == "" {
			continue
		}
		if e, _ := decodeOne(t, out)["error"].(map[string]any); e["code"] != c.code {
			t.Errorf("%s: printed %s; want code %s", c.what, out, c.code)
		}
	}
}

// TestWebhookUpdateCLI: update changes only what its flags name, --events all clears the filter,
// --enable turns an endpoint disabled after a day of failures on again (failures forgotten), each
// audited; refusals carry create's codes and exit statuses.
func TestWebhookUpdateCLI(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"PARLEY_DATA": data}
	ws := newCLIWorkspace(t, env)
	out, _, err := runCLI(t, env, "webhook", "create", "--workspace", ws, "--url", "https://crm.example/hook", "--events", "message.created,conversation.closed", "--json")
	if err != nil {
		t.Fatal(err)
	}
	id := decodeOne(t, out)["id"].(string)
	update := func(args ...string) map[string]any {
		t.Helper()
		out, _, err := runCLI(t, env, append([]string{"webhook", "update", "--workspace", ws, "--id", id, "--json"}, args...)...)
		if err != nil {
			t.Fatalf("update %v: %v\n%s", args, err, out)
		}
		return decodeOne(t, out)
	}
	events := func(h map[string]any) string {
		var l []string
		for _, e := range h["events"].([]any) {
			l = append(l, e.(string))
		}
		return strings.Join(l, ",")
	}

	// One flag at a time: the others stay.
	h := update("--include-notes", "on")
	if h["id"] != id || h["url"] != "https://crm.example/hook" || events(h) != "message.created,conversation.closed" || h["include_notes"] != true {
		t.Fatalf("--include-notes on: %v", h)
	}
	h = update("--url", "https://crm.example/v2")
	if h["url"] != "https://crm.example/v2" || events(h) != "message.created,conversation.closed" || h["include_notes"] != true {
		t.Fatalf("--url: %v", h)
	}
	h = update("--events", "conversation.created", "--include-notes", "off")
	if h["url"] != "https://crm.example/v2" || events(h) != "conversation.created" || h["include_notes"] != false {
		t.Fatalf("--events, --include-notes off: %v", h)
	}
	if h = update("--events", "all"); events(h) != "" || h["url"] != "https://crm.example/v2" {
		t.Fatalf("--events all: %v", h)
	}

	// Disabled after a day of failures, as the delivery job leaves it; --enable turns it on again.
	st, err := sqlite.Open(t.Context(), filepath.Join(data, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(t.Context(), func(tx store.Tx) error {
		w, err := tx.WebhookEndpoint(t.Context(), ws, id)
		if err != nil {
			return err
		}
		w.FailingSince, w.DisabledAt = time.Now().Add(-25*time.Hour), time.Now()
		return tx.UpdateWebhookEndpoint(t.Context(), &w)
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, env, "webhook", "list", "--workspace", ws, "--json")
	if err != nil || !strings.Contains(out, `"disabled_at"`) {
		t.Fatalf("list of the disabled endpoint: %v\n%s", err, out)
	}
	h = update("--enable")
	if _, disabled := h["disabled_at"]; disabled || h["failing_since"] != nil || h["url"] != "https://crm.example/v2" {
		t.Fatalf("--enable: %v", h)
	}
	out, _, err = runCLI(t, env, "audit", "--workspace", ws, "--json")
	if err != nil || !strings.Contains(out, `"webhook.updated"`) || !strings.Contains(out, `"webhook.enabled"`) {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	// As text.
	out, _, err = runCLI(t, env, "webhook", "update", "--workspace", ws, "--id", id, "--events", "message.created")
	if err != nil || !strings.Contains(out, "Updated webhook endpoint "+id+": https://crm.example/v2  message.created  notes false  active") {
		t.Fatalf("text: %v\n%s", err, out)
	}

	for _, c := range []struct {
		what string
		args []string
		code string
		exit int
	}{
		{"unknown endpoint", []string{"--id", "wh_missing", "--url", "https://crm.example/"}, "webhook_not_found", 1},
		{"unknown endpoint, enable", []string{"--id", "wh_missing", "--enable"}, "webhook_not_found", 1},
		{"bad URL", []string{"--id", id, "--url", "ftp://crm.example/"}, "invalid_field", 1},
		{"bad event", []string{"--id", id, "--events", "message.deleted"}, "invalid_field", 1},
		{"bad on/off", []string{"--id", id, "--include-notes", "yes"}, "usage", 2},
		{"nothing to change", []string{"--id", id}, "usage", 2},
		{"no id", []string{"--url", "https://crm.example/"}, "usage", 2},
	} {
		out, _, err := runCLI(t, env, append([]string{"webhook", "update", "--workspace", ws, "--json"}, c.args...)...)
		if err == nil || exitCode(err) != c.exit {
			t.Errorf("%s: %v (exit %d), want exit %d\n%s", c.what, err, exitCode(err), c.exit, out)
			continue
		}
		if e, _ := decodeOne(t, out)["error"].(map[string]any); e["code"] != c.code {
			t.Errorf("%s: printed %s; want code %s", c.what, out, c.code)
		}
	}
	// A refused update changed nothing.
	out, _, _ = runCLI(t, env, "webhook", "list", "--workspace", ws, "--json")
	if l, _ := decodeOne(t, out)["webhooks"].([]any); len(l) != 1 || l[0].(map[string]any)["url"] != "https://crm.example/v2" || events(l[0].(map[string]any)) != "message.created" {
		t.Errorf("after the refusals: %s", out)
	}
}
