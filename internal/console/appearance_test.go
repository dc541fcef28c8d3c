package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/store"
)

// The appearance page: admins only, CSRF-checked, saves the look and each language's texts, and
// shows a refusal (the brand colour's contrast) beside its field, focused, with nothing saved.
func TestAppearancePage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)

	p := b.mustGet("/console/settings/appearance")
	for _, want := range []string{"<h1>Widget appearance and texts</h1>", `name="brand_color" value="#1d4ed8"`,
		`name="position" value="right" checked`, `name="theme" value="light" checked`, `role="img"`, `fill="#1d4ed8"`,
		`<option value="de">German (de)</option>`, `<option value="pt-BR">Portuguese (Brazil) (pt-BR)</option>`, "Texts for Default language"} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("appearance page without %q:\n%s", want, p.body)
		}
	}

	p = b.mustPost("/console/settings/appearance", url.Values{"brand_color": {"#FDE047"}, "position": {"left"},
		"launcher_label": {"Questions?"}, "theme": {"auto"}, "logo_url": {"https://cdn.acme.example/logo.png"}})
	if !strings.Contains(p.body, "Appearance saved.") {
		t.Fatalf("no confirmation:\n%s", p.body)
	}
	w, _ := e.svc.Workspace(ctx, tn.ws.ID)
	if want := (store.Appearance{BrandColor: "#fde047", Position: "left", LauncherLabel: "Questions?", Theme: "auto", LogoURL: "https://cdn.acme.example/logo.png"}); w.Settings.Appearance != want {
		t.Fatalf("saved %+v; want %+v", w.Settings.Appearance, want)
	}
	// Without script, the preview is drawn in the saved look: the brand colour, near-black text on it,
	// the launcher on the left with its label.
	for _, want := range []string{`fill="#fde047"`, `fill="#111827" data-preview-on-brand`, `x="16" y="186"`, ">Questions?</text>", "launcher bottom left", "near-black"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the preview after saving lacks %q:\n%s", want, p.body)
		}
	}

	// The contrast refusal: 422, the message beside the field saying the ratio and the rule, the field
	// invalid, described by it and focused; the form as sent; nothing saved.
	p = b.post("/console/settings/appearance", url.Values{"brand_color": {"#777777"}, "position": {"right"}, "launcher_label": {"Help"}, "theme": {"dark"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("a mid-grey brand colour: %d", p.status)
	}
	for _, want := range []string{
		`<p class="field-error-text" id="brand_color-error" data-field-error="brand_color">Brand colour: #777777 leaves no readable text colour: even white text on it reaches only 4.47:1, and text needs at least 4.5:1 contrast (WCAG AA)`,
		`value="#777777" maxlength="7" spellcheck="false" autocomplete="off" placeholder="#1d4ed8" aria-describedby="brand_color-error brand-hint" class="field-error" aria-invalid="true" autofocus`,
		`name="launcher_label" value="Help"`, `name="theme" value="dark" checked`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, p.body)
		}
	}
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.Appearance.BrandColor != "#fde047" || w.Settings.Appearance.Theme != "auto" {
		t.Errorf("a refused post saved: %+v", w.Settings.Appearance)
	}
	for field, value := range map[string]string{"logo_url": "http://cdn.acme.example/logo.png", "launcher_label": strings.Repeat("x", 41), "position": "top"} {
		f := url.Values{"brand_color": {"#fde047"}, "position": {"left"}, "theme": {"auto"}}
		f.Set(field, value)
		if p := b.post("/console/settings/appearance", f); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-field-error="`+field+`"`) {
			t.Errorf("%s=%q: %d\n%s", field, value, p.status, p.body)
		}
	}

	// Texts: the default language's, then German's; the picker opens a language's texts.
	b.mustPost("/console/settings/texts", url.Values{"locale": {""}, "greeting": {"Welcome!"}, "first_message": {"How can we help?"},
		"away_notice": {"Back soon."}, "onboarding_intro": {"Who are you?"}})
	p = b.mustPost("/console/settings/texts", url.Values{"locale": {"de"}, "greeting": {"Willkommen!"}, "first_message": {""},
		"away_notice": {"Bald zurück."}, "onboarding_intro": {""}})
	if !strings.Contains(p.body, "Texts saved: German (de).") || !strings.Contains(p.body, `<option value="de" selected>`) ||
		!strings.Contains(p.body, `name="greeting" value="Willkommen!"`) || !strings.Contains(p.body, "Bald zurück.</textarea>") {
		t.Fatalf("after saving German:\n%s", p.body)
	}
	w, _ = e.svc.Workspace(ctx, tn.ws.ID)
	if st := w.Settings; st.Greeting != "Welcome!" || st.FirstMessage != "How can we help?" || st.AwayNotice != "Back soon." || st.OnboardingIntro != "Who are you?" ||
		st.Texts["de"] != (store.WidgetTexts{Greeting: "Willkommen!", AwayNotice: "Bald zurück."}) || len(st.Texts) != 1 {
		t.Fatalf("texts saved: %+v", st)
	}
	if p := b.mustGet("/console/settings/appearance"); !strings.Contains(p.body, `name="greeting" value="Welcome!"`) || !strings.Contains(p.body, `href="/console/settings/appearance?locale=de#texts">German (de)</a>`) {
		t.Errorf("the default language's texts:\n%s", p.body)
	}
	if p := b.get("/console/settings/appearance?locale=%3Cscript%3E"); p.status != http.StatusBadRequest || strings.Contains(p.body, "<script>") {
		t.Errorf("a locale that is no tag: %d\n%s", p.status, p.body)
	}
	p = b.post("/console/settings/texts", url.Values{"locale": {"fr"}, "greeting": {"a\nb"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-field-error="greeting"`) || !strings.Contains(p.body, "Texts for French (fr)") {
		t.Errorf("a refused text: %d\n%s", p.status, p.body)
	}

	// An agent who is not an administrator can neither see nor change any of it.
	agent := e.agent(tn.ws.ID, "bo@acme.example", "Bo", store.RoleAgent)
	ab := e.signedIn(agent)
	if p := ab.get("/console/settings/appearance"); p.status != http.StatusForbidden {
		t.Errorf("an agent opened the page: %d", p.status)
	}
	if p := ab.post("/console/settings/appearance", url.Values{"brand_color": {"#000000"}}); p.status != http.StatusForbidden {
		t.Errorf("an agent saved the appearance: %d", p.status)
	}
	if p := ab.post("/console/settings/texts", url.Values{"greeting": {"pwned"}}); p.status != http.StatusForbidden {
		t.Errorf("an agent saved texts: %d", p.status)
	}
	// Without the CSRF token (or from another origin) nothing is saved either.
	if p := b.post("/console/settings/appearance", url.Values{"csrf": {""}, "brand_color": {"#000000"}}); p.status != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", p.status)
	}
	if p := b.post("/console/settings/texts", url.Values{"greeting": {"pwned"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); p.status != http.StatusForbidden {
		t.Errorf("a cross-site post: %d", p.status)
	}
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.Appearance.BrandColor != "#fde047" || w.Settings.Greeting != "Welcome!" {
		t.Errorf("refused posts saved: %+v", w.Settings)
	}
}
