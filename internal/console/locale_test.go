package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSettingsDefaultLocale: the settings page offers the languages the widget speaks (English chosen
// until another is saved), saves one, keeps it when an older form without the field is posted, and
// refuses a language the widget does not speak.
func TestSettingsDefaultLocale(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings")
	for _, want := range []string{`<select id="default_locale" name="default_locale"`, `<option value="" lang="en" selected>English</option>`, `<option value="de" lang="de">Deutsch</option>`, `<option value="pt-BR" lang="pt-BR">Português (Brasil)</option>`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("settings page lacks %s:\n%s", want, p.body)
		}
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "default_locale": {"de"}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.DefaultLocale != "de" {
		t.Fatalf("saved %q", w.Settings.DefaultLocale)
	}
	if p := b.mustGet("/console/settings"); !strings.Contains(p.body, `<option value="de" lang="de" selected>Deutsch</option>`) {
		t.Errorf("the saved language is not chosen:\n%s", p.body)
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.DefaultLocale != "de" {
		t.Errorf("a form without the field changed the language: %q", w.Settings.DefaultLocale)
	}
	p = b.post("/console/settings", url.Values{"name": {"Acme"}, "default_locale": {"tlh"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "flash-error") || !strings.Contains(p.body, "not a language the widget speaks") {
		t.Errorf("tlh: %d\n%s", p.status, p.body)
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "default_locale": {""}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.DefaultLocale != "" {
		t.Errorf("English saved as %q", w.Settings.DefaultLocale)
	}
}
