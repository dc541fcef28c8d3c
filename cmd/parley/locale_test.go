package main

import (
	"strings"
	"testing"
)

// `workspace update --default-locale` sets the widget's default language (any case, "" or en for
// English) and refuses a language the widget does not speak before anything is stored.
func TestCLIDefaultLocale(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	ws := newCLIWorkspace(t, env)
	localeOf := func(out string) any {
		t.Helper()
		return decodeOne(t, out)["settings"].(map[string]any)["default_locale"]
	}
	out, _, err := runCLI(t, env, "workspace", "show", "--workspace", ws, "--json")
	if err != nil || localeOf(out) != "" {
		t.Fatalf("a new workspace: %v %v", localeOf(out), err)
	}
	for _, c := range []struct{ flag, want string }{{"de", "de"}, {"PT-br", "pt-BR"}, {"en", ""}, {"ar", "ar"}} {
		out, _, err := runCLI(t, env, "workspace", "update", "--workspace", ws, "--json", "--default-locale", c.flag)
		if err != nil {
			t.Fatalf("--default-locale %s: %v (%s)", c.flag, err, out)
		}
		if got := localeOf(out); got != c.want {
			t.Errorf("--default-locale %s: %v, want %q", c.flag, got, c.want)
		}
	}
	out, _, err = runCLI(t, env, "workspace", "show", "--workspace", ws)
	if err != nil || !strings.Contains(out, "default locale         ar") {
		t.Errorf("show: %v\n%s", err, out)
	}
	for _, bad := range []string{"xx", "de-", "klingon"} {
		out, _, err := runCLI(t, env, "workspace", "update", "--workspace", ws, "--json", "--default-locale", bad)
		if err == nil || exitCode(err) != 1 {
			t.Errorf("--default-locale %s: %v", bad, err)
			continue
		}
		e := decodeOne(t, out)["error"].(map[string]any)
		if e["code"] != "invalid_field" || !strings.Contains(e["message"].(string), "is not a language the widget speaks") {
			t.Errorf("--default-locale %s: %v", bad, e)
		}
	}
	out, _, _ = runCLI(t, env, "workspace", "show", "--workspace", ws, "--json")
	if got := localeOf(out); got != "ar" {
		t.Errorf("refused updates changed the default locale: %v", got)
	}
}
