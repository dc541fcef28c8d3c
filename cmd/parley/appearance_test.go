package main

import (
	"reflect"
	"strings"
	"testing"
)

// `workspace update` sets the widget's look and the business's texts, per language with --locale, and
// refuses a brand colour no text is readable on, saying why, before anything is stored.
func TestCLIAppearanceAndTexts(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	ws := newCLIWorkspace(t, env)
	settingsOf := func(out string) map[string]any {
		t.Helper()
		return decodeOne(t, out)["settings"].(map[string]any)
	}

	out, _, err := runCLI(t, env, "workspace", "update", "--workspace", ws, "--json",
		"--brand-color", "#FDE047", "--position", "left", "--launcher-label", "Fragen?", "--theme", "dark",
		"--logo-url", "https://cdn.acme.example/logo.png",
		"--greeting", "Welcome!", "--first-message", "How can we help?", "--away-notice", "Back soon.", "--onboarding-intro", "Who are you?")
	if err != nil {
		t.Fatalf("update: %v (%s)", err, out)
	}
	st := settingsOf(out)
	want := map[string]any{"brand_color": "#fde047", "text_color": "#111827", "position": "left", "launcher_label": "Fragen?", "theme": "dark", "logo_url": "https://cdn.acme.example/logo.png"}
	if got := st["appearance"]; !reflect.DeepEqual(got, want) {
		t.Errorf("appearance = %v; want %v", got, want)
	}
	if st["greeting"] != "Welcome!" || st["first_message"] != "How can we help?" || st["away_notice"] != "Back soon." || st["onboarding_intro"] != "Who are you?" {
		t.Errorf("base texts: %v", st)
	}

	// --locale sets one language's texts and leaves the default language's alone.
	out, _, err = runCLI(t, env, "workspace", "update", "--workspace", ws, "--json", "--locale", "de",
		"--greeting", "Willkommen!", "--first-message", "Wie können wir helfen?")
	if err != nil {
		t.Fatalf("update de: %v (%s)", err, out)
	}
	st = settingsOf(out)
	wantTexts := map[string]any{"de": map[string]any{"greeting": "Willkommen!", "first_message": "Wie können wir helfen?"}}
	if !reflect.DeepEqual(st["texts"], wantTexts) || st["greeting"] != "Welcome!" || st["first_message"] != "How can we help?" {
		t.Errorf("after --locale de: texts %v, greeting %v, first message %v", st["texts"], st["greeting"], st["first_message"])
	}
	out, _, err = runCLI(t, env, "workspace", "show", "--workspace", ws)
	for _, line := range []string{
		`appearance             brand #fde047 (text #111827), launcher left "Fragen?", theme dark, logo https://cdn.acme.example/logo.png`,
		`greeting               "Welcome!"`,
		`texts de               greeting "Willkommen!", first message "Wie können wir helfen?"`,
	} {
		if err != nil || !strings.Contains(out, line) {
			t.Errorf("workspace show (%v) prints\n%s\nwithout %q", err, out, line)
		}
	}

	cases := []struct {
		args []string
		code string
		exit int
		says string
	}{
		{[]string{"--brand-color", "#777777"}, "invalid_field", 1, "even white text on it reaches only 4.47:1, and text needs at least 4.5:1 contrast"},
		{[]string{"--brand-color", "blue"}, "invalid_field", 1, "#rrggbb"},
		{[]string{"--position", "top"}, "invalid_field", 1, "must be left or right"},
		{[]string{"--theme", "sepia"}, "invalid_field", 1, "must be light, dark or auto"},
		{[]string{"--logo-url", "http://cdn.acme.example/logo.png"}, "invalid_field", 1, "https://"},
		{[]string{"--launcher-label", strings.Repeat("x", 41)}, "invalid_field", 1, "at most 40 characters"},
		{[]string{"--locale", "deutsch", "--greeting", "Hallo"}, "invalid_field", 1, "not a language tag"},
		{[]string{"--locale", "de"}, "usage", 2, "--locale needs one of"},
	}
	for _, c := range cases {
		out, _, err := runCLI(t, env, append([]string{"workspace", "update", "--workspace", ws, "--json"}, c.args...)...)
		if err == nil {
			t.Errorf("%v was accepted", c.args)
			continue
		}
		if exitCode(err) != c.exit {
			t.Errorf("%v: exit %d, want %d", c.args, exitCode(err), c.exit)
		}
		e := decodeOne(t, out)["error"].(map[string]any)
		if e["code"] != c.code || !strings.Contains(e["message"].(string), c.says) {
			t.Errorf("%v: %v; want %s saying %q", c.args, e, c.code, c.says)
		}
	}
	out, _, _ = runCLI(t, env, "workspace", "show", "--workspace", ws, "--json")
	if got := settingsOf(out)["appearance"]; !reflect.DeepEqual(got, want) {
		t.Errorf("refused updates changed the appearance: %v", got)
	}
}
