package chat_test

import (
	"math"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The WCAG ratios below were worked out with the formula of WCAG 2.x (relative luminance from
// linearized sRGB): black on white is 21:1, a colour on itself 1:1, and #767676 is the well-known
// lightest grey that still reaches 4.5:1 against white.
func TestContrastRatio(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#767676", "#ffffff", 4.54},
		{"#777777", "#ffffff", 4.48},
		{"#1d4ed8", "#ffffff", 6.70},
		{"#ffffff", "#111827", 17.74},
	} {
		if got := chat.ContrastRatio(c.a, c.b); math.Abs(got-c.want) > 0.005 {
			t.Errorf("ContrastRatio(%s, %s) = %.3f; want %.2f", c.a, c.b, got, c.want)
		}
		if a, b := chat.ContrastRatio(c.a, c.b), chat.ContrastRatio(c.b, c.a); a != b {
			t.Errorf("ContrastRatio is not symmetric for %s, %s: %v, %v", c.a, c.b, a, b)
		}
	}
}

func TestAppearanceValidation(t *testing.T) {
	e := newLifeEnv(t)
	s := func(v string) *string { return &v }
	cases := []struct {
		name  string
		patch chat.AppearancePatch
		field string // "" when accepted
		want  store.Appearance
		text  string // the text colour the widget gets, when accepted
	}{
		{name: "dark brand gets white text", patch: chat.AppearancePatch{BrandColor: s("#1D4ED8")}, want: store.Appearance{BrandColor: "#1d4ed8"}, text: "#ffffff"},
		{name: "light brand gets near-black text", patch: chat.AppearancePatch{BrandColor: s("#fde047")}, want: store.Appearance{BrandColor: "#fde047"}, text: "#111827"},
		{name: "white brand", patch: chat.AppearancePatch{BrandColor: s("#ffffff")}, want: store.Appearance{BrandColor: "#ffffff"}, text: "#111827"},
		{name: "the lightest grey white text passes on", patch: chat.AppearancePatch{BrandColor: s("#767676")}, want: store.Appearance{BrandColor: "#767676"}, text: "#ffffff"},
		{name: "a grey near-black text passes on", patch: chat.AppearancePatch{BrandColor: s("#858585")}, want: store.Appearance{BrandColor: "#858585"}, text: "#111827"},
		{name: "mid-grey refused for both text colours", patch: chat.AppearancePatch{BrandColor: s("#777777")}, field: "brand_color"},
		{name: "grey just under for near-black", patch: chat.AppearancePatch{BrandColor: s("#808080")}, field: "brand_color"},
		{name: "pure red refused", patch: chat.AppearancePatch{BrandColor: s("#ff0000")}, field: "brand_color"},
		{name: "short hex", patch: chat.AppearancePatch{BrandColor: s("#fff")}, field: "brand_color"},
		{name: "colour name", patch: chat.AppearancePatch{BrandColor: s("red")}, field: "brand_color"},
		{name: "css injection", patch: chat.AppearancePatch{BrandColor: s("#000000;background:url(x)")}, field: "brand_color"},
		{name: "empty brand restores default", patch: chat.AppearancePatch{BrandColor: s("")}, want: store.Appearance{}, text: "#ffffff"},
		{name: "left", patch: chat.AppearancePatch{Position: s("Left")}, want: store.Appearance{Position: "left"}, text: "#ffffff"},
		{name: "middle", patch: chat.AppearancePatch{Position: s("middle")}, field: "position"},
		{name: "dark", patch: chat.AppearancePatch{Theme: s("dark")}, want: store.Appearance{Theme: "dark"}, text: "#ffffff"},
		{name: "auto", patch: chat.AppearancePatch{Theme: s("auto")}, want: store.Appearance{Theme: "auto"}, text: "#ffffff"},
		{name: "sepia", patch: chat.AppearancePatch{Theme: s("sepia")}, field: "theme"},
		{name: "label", patch: chat.AppearancePatch{LauncherLabel: s("  Questions? ")}, want: store.Appearance{LauncherLabel: "Questions?"}, text: "#ffffff"},
		{name: "label of 40", patch: chat.AppearancePatch{LauncherLabel: s(strings.Repeat("ä", 40))}, want: store.Appearance{LauncherLabel: strings.Repeat("ä", 40)}, text: "#ffffff"},
		{name: "label of 41", patch: chat.AppearancePatch{LauncherLabel: s(strings.Repeat("a", 41))}, field: "launcher_label"},
		{name: "label with a newline", patch: chat.AppearancePatch{LauncherLabel: s("a\nb")}, field: "launcher_label"},
		{name: "label with a bidi override", patch: chat.AppearancePatch{LauncherLabel: s("a\u202eb")}, field: "launcher_label"},
		{name: "https logo", patch: chat.AppearancePatch{LogoURL: s("https://cdn.acme.example/logo.svg")}, want: store.Appearance{LogoURL: "https://cdn.acme.example/logo.svg"}, text: "#ffffff"},
		{name: "http logo", patch: chat.AppearancePatch{LogoURL: s("http://cdn.acme.example/logo.svg")}, field: "logo_url"},
		{name: "data logo", patch: chat.AppearancePatch{LogoURL: s("data:image/svg+xml,<svg/>")}, field: "logo_url"},
		{name: "javascript logo", patch: chat.AppearancePatch{LogoURL: s("javascript:alert(1)")}, field: "logo_url"},
		{name: "relative logo", patch: chat.AppearancePatch{LogoURL: s("/logo.png")}, field: "logo_url"},
		{name: "logo with credentials", patch: chat.AppearancePatch{LogoURL: s("https://u:p@acme.example/logo.png")}, field: "logo_url"},
		{name: "logo too long", patch: chat.AppearancePatch{LogoURL: s("https://acme.example/" + strings.Repeat("a", 2000))}, field: "logo_url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case starts from Parley's own look.
			if _, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{Appearance: &chat.AppearancePatch{
				BrandColor: s(""), Position: s(""), Theme: s(""), LauncherLabel: s(""), LogoURL: s("")}}); err != nil {
				t.Fatal(err)
			}
			w, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{Appearance: &c.patch})
			if c.field != "" {
				p, ok := problem.As(err)
				if !ok || p.Code != "invalid_field" || p.Field != c.field || p.Status != 422 {
					t.Fatalf("err = %v; want 422 invalid_field on %s", err, c.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.Settings.Appearance != c.want {
				t.Fatalf("appearance = %+v; want %+v", w.Settings.Appearance, c.want)
			}
			if text, _ := chat.TextColor(chat.EffectiveAppearance(w.Settings.Appearance).BrandColor); text != c.text {
				t.Fatalf("text colour = %s; want %s", text, c.text)
			}
		})
	}
}

// The refusal tells the admin why: the ratio reached, with the better of the two text colours, and the
// 4.5:1 rule. The ratio is floored: 4.478 must not read as 4.48 (or 4.5) and seem to pass.
func TestBrandColorRefusalSaysWhy(t *testing.T) {
	e := newLifeEnv(t)
	for _, c := range []struct{ colour, want string }{
		{"#777777", "even white text on it reaches only 4.47:1"},
		{"#808080", "even near-black (#111827) text on it reaches only 4.49:1"},
	} {
		_, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{Appearance: &chat.AppearancePatch{BrandColor: &c.colour}})
		p, ok := problem.As(err)
		if !ok || !strings.Contains(p.Message, c.want) || !strings.Contains(p.Message, "at least 4.5:1") {
			t.Errorf("%s: err = %v; want a message with %q and the 4.5:1 rule", c.colour, err, c.want)
		}
	}
}

func TestWidgetTexts(t *testing.T) {
	e := newLifeEnv(t)
	s := func(v string) *string { return &v }
	update := func(p chat.TextsPatch) (store.Workspace, error) {
		return e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{Texts: &p})
	}
	// The default language: the first message is the one first_message always was.
	w, err := update(chat.TextsPatch{Greeting: s(" Welcome! "), FirstMessage: s("How can we help?"), AwayNotice: s("Back at nine."), OnboardingIntro: s("Who are you?")})
	if err != nil {
		t.Fatal(err)
	}
	if st := w.Settings; st.Greeting != "Welcome!" || st.FirstMessage != "How can we help?" || st.AwayNotice != "Back at nine." || st.OnboardingIntro != "Who are you?" || st.Texts != nil {
		t.Fatalf("base texts: %+v", st)
	}
	// A language, written in any case and with an underscore, is stored under its canonical tag.
	if w, err = update(chat.TextsPatch{Locale: "PT_br", Greeting: s("Olá!")}); err != nil {
		t.Fatal(err)
	}
	if got := w.Settings.Texts; len(got) != 1 || got["pt-BR"] != (store.WidgetTexts{Greeting: "Olá!"}) {
		t.Fatalf("texts = %+v", got)
	}
	if w, err = update(chat.TextsPatch{Locale: "de", Greeting: s("Hallo!"), FirstMessage: s("Wie können wir helfen?")}); err != nil {
		t.Fatal(err)
	}
	if w.Settings.Texts["de"].FirstMessage != "Wie können wir helfen?" || w.Settings.FirstMessage != "How can we help?" {
		t.Fatalf("a language's first message changed another's: %+v", w.Settings)
	}
	// A language left without text is dropped.
	if w, err = update(chat.TextsPatch{Locale: "de", Greeting: s(""), FirstMessage: s("")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.Settings.Texts["de"]; ok || len(w.Settings.Texts) != 1 {
		t.Fatalf("an emptied language stays: %+v", w.Settings.Texts)
	}
	for _, c := range []struct {
		name  string
		patch chat.TextsPatch
		field string
	}{
		{"not a tag", chat.TextsPatch{Locale: "deutsch!", Greeting: s("x")}, "locale"},
		{"a number", chat.TextsPatch{Locale: "12", Greeting: s("x")}, "locale"},
		{"a long tag", chat.TextsPatch{Locale: "de-" + strings.Repeat("abcdefgh-", 4), Greeting: s("x")}, "locale"},
		{"a greeting too long", chat.TextsPatch{Locale: "fr", Greeting: s(strings.Repeat("a", 1001))}, "greeting"},
		{"a greeting on two lines", chat.TextsPatch{Locale: "fr", Greeting: s("a\nb")}, "greeting"},
		{"an away notice with a control character", chat.TextsPatch{AwayNotice: s("a\x00b")}, "away_notice"},
	} {
		_, err := update(c.patch)
		if p, ok := problem.As(err); !ok || p.Field != c.field {
			t.Errorf("%s: err = %v; want invalid_field on %s", c.name, err, c.field)
		}
	}
	// At most 20 languages; changing one of them is still fine at the limit.
	for _, tag := range []string{"aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh", "bi", "bm", "bn"} {
		if _, err := update(chat.TextsPatch{Locale: tag, Greeting: s("hi " + tag)}); err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
	}
	if _, err := update(chat.TextsPatch{Locale: "bo", Greeting: s("one too many")}); err == nil {
		t.Fatal("a 21st language was accepted")
	} else if p, _ := problem.As(err); p == nil || p.Field != "locale" {
		t.Fatalf("a 21st language: %v", err)
	}
	if _, err := update(chat.TextsPatch{Locale: "pt-BR", Greeting: s("Oi!")}); err != nil {
		t.Fatalf("changing a language at the limit: %v", err)
	}
}

func TestCanonicalLocale(t *testing.T) {
	for in, want := range map[string]string{"de": "de", "DE-de": "de-DE", "pt_br": "pt-BR", "zh-hant-tw": "zh-Hant-TW", "sr-Latn": "sr-Latn", "en-x-pirate": "en-x-pirate"} {
		if got, err := chat.CanonicalLocale(in); err != nil || got != want {
			t.Errorf("CanonicalLocale(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "deutsch", "de--DE", "de-", "-de", "de DE", "<de>"} {
		if got, err := chat.CanonicalLocale(in); err == nil {
			t.Errorf("CanonicalLocale(%q) = %q; want an error", in, got)
		}
	}
}
