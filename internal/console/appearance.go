package console

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// The widget's look and the business's own texts per language (issue 19): one admin page with two
// forms, each saved on its own. The page works without JavaScript; appearance.js only keeps the
// preview in step with the fields as the admin types.

const (
	appearancePath = "/console/settings/appearance"
	textsPath      = "/console/settings/texts"
)

// textLocales are the languages the locale picker offers first: the widget's own (English built in and
// the catalogues beside it). Languages given texts another way (the CLI) are added after them.
var textLocales = []localeChoice{
	{"en", "English"}, {"de", "German"}, {"fr", "French"}, {"es", "Spanish"}, {"pt-BR", "Portuguese (Brazil)"},
	{"nl", "Dutch"}, {"pl", "Polish"}, {"ja", "Japanese"}, {"ar", "Arabic"},
}

type localeChoice struct{ Tag, Name string }

// appearanceForm is the page's data: the appearance fields (saved or as refused), the preview's
// derived values, and the texts of the chosen language.
type appearanceForm struct {
	BrandColor    string
	Position      string
	LauncherLabel string
	Theme         string
	LogoURL       string
	// The preview, drawn from the saved values (or the refused post's where they are valid): the colours
	// it paints with, and where the launcher and panel sit.
	Preview preview

	Locale      string // "" for the default language
	LocaleName  string
	Locales     []localeOption
	Greeting    string
	First       string
	AwayNotice  string
	Onboarding  string
	Base        store.WidgetTexts // the default language's, which an empty field falls back to
	WithTexts   []localeOption    // the languages that have texts of their own
	Error       string
	ErrorField  string
	ErrorInForm string // "appearance" or "texts": which form the refusal belongs to
}

type localeOption struct {
	Tag, Label string
	Selected   bool
}

// Err is a field's refusal, for the message next to it (the settings page's template pieces).
func (f appearanceForm) Err(field string) fieldError {
	if f.ErrorField != field {
		return fieldError{Field: field}
	}
	return fieldError{Field: field, Message: f.Error}
}

// preview is the mock widget's geometry and paint (an SVG: the console's policy allows no inline style,
// and SVG presentation attributes are not style).
type preview struct {
	Brand, Text, PanelBg, Ink, Muted, Line string
	PanelX, LauncherX, LabelWidth          int
	IconX, TextX                           int // the launcher's icon and label
	Label, Name                            string
	Logo                                   bool
	Dark                                   bool
	Ratio                                  string
}

// The preview's drawing: a 360×250 page, a 220-wide panel and a launcher 16 from the chosen side.
const (
	previewWidth = 360
	panelWidth   = 220
	previewInset = 16
)

func previewOf(name string, a store.Appearance) preview {
	a = chat.EffectiveAppearance(a)
	text, ratio := chat.TextColor(a.BrandColor)
	p := preview{Brand: a.BrandColor, Text: text, PanelBg: "#ffffff", Ink: "#111827", Muted: "#4b5563", Line: "#d1d5db",
		Label: a.LauncherLabel, Name: cmp.Or(name, "Chat"), Logo: a.LogoURL != "", Ratio: fmt.Sprintf("%.1f", ratio)}
	if a.Theme == chat.ThemeDark {
		p.Dark, p.PanelBg, p.Ink, p.Muted, p.Line = true, "#111827", "#f9fafb", "#9ca3af", "#374151"
	}
	// A labelled launcher is a pill that grows with its text; an unlabelled one a 48 circle.
	p.LabelWidth = 48
	if p.Label != "" {
		p.LabelWidth = min(56+7*len([]rune(p.Label)), previewWidth-2*previewInset)
	}
	if a.Position == chat.PositionLeft {
		p.PanelX, p.LauncherX = previewInset, previewInset
	} else {
		p.PanelX, p.LauncherX = previewWidth-previewInset-panelWidth, previewWidth-previewInset-p.LabelWidth
	}
	p.IconX, p.TextX = p.LauncherX+14, p.LauncherX+42
	return p
}

func appearanceFormOf(w store.Workspace, locale string) appearanceForm {
	a := w.Settings.Appearance
	f := appearanceForm{BrandColor: cmp.Or(a.BrandColor, chat.DefaultBrandColor), Position: cmp.Or(a.Position, chat.PositionRight),
		LauncherLabel: a.LauncherLabel, Theme: cmp.Or(a.Theme, chat.ThemeLight), LogoURL: a.LogoURL, Preview: previewOf(w.Name, a)}
	f.setTexts(w.Settings, locale)
	return f
}

// setTexts fills the texts form for one language ("" the default one) and the locale picker.
func (f *appearanceForm) setTexts(st store.Settings, locale string) {
	f.Base = store.WidgetTexts{Greeting: st.Greeting, FirstMessage: st.FirstMessage, AwayNotice: st.AwayNotice, OnboardingIntro: st.OnboardingIntro}
	t := f.Base
	if locale != "" {
		t = st.Texts[locale]
	}
	f.Locale, f.Greeting, f.First, f.AwayNotice, f.Onboarding = locale, t.Greeting, t.FirstMessage, t.AwayNotice, t.OnboardingIntro
	f.LocaleName = localeName(locale)
	f.Locales = []localeOption{{Tag: "", Label: localeName(""), Selected: locale == ""}}
	seen := map[string]bool{}
	for _, l := range textLocales {
		seen[l.Tag] = true
		f.Locales = append(f.Locales, localeOption{Tag: l.Tag, Label: localeName(l.Tag), Selected: l.Tag == locale})
	}
	others := slices.Sorted(maps.Keys(st.Texts))
	if locale != "" && !slices.Contains(others, locale) {
		others = append(others, locale)
	}
	for _, tag := range others {
		if !seen[tag] {
			seen[tag] = true
			f.Locales = append(f.Locales, localeOption{Tag: tag, Label: localeName(tag), Selected: tag == locale})
		}
	}
	f.WithTexts = nil
	for _, tag := range slices.Sorted(maps.Keys(st.Texts)) {
		f.WithTexts = append(f.WithTexts, localeOption{Tag: tag, Label: localeName(tag)})
	}
}

func localeName(tag string) string {
	if tag == "" {
		return "Default language (every language without its own)"
	}
	for _, l := range textLocales {
		if l.Tag == tag {
			return l.Name + " (" + tag + ")"
		}
	}
	return tag
}

// appearanceLabels name the fields in refusals, as the form labels them.
var appearanceLabels = map[string]string{
	"brand_color":      "Brand colour",
	"position":         "Launcher position",
	"launcher_label":   "Launcher label",
	"theme":            "Theme",
	"logo_url":         "Logo URL",
	"locale":           "Language",
	"greeting":         "Greeting",
	"first_message":    "First message",
	"away_notice":      "Away notice",
	"onboarding_intro": "Onboarding introduction",
}

func (c *Console) renderAppearance(w http.ResponseWriter, r *http.Request, status int, f appearanceForm) {
	v := c.page(w, r, "Widget appearance and texts", "appearance", f)
	v.Path = appearancePath
	c.render(w, r, status, "appearance", v)
}

// AppearancePage serves GET /console/settings/appearance?locale=TAG: the look, and the texts of one
// language (none: the default language's). An unknown tag is shown as a language to give texts to.
func (c *Console) AppearancePage(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	locale := ""
	if q := strings.TrimSpace(r.URL.Query().Get("locale")); q != "" {
		tag, err := chat.CanonicalLocale(q)
		if err != nil {
			f := appearanceFormOf(s.workspace, "")
			f.Error, f.ErrorField, f.ErrorInForm = "Language: "+err.Error()+".", "locale", "texts"
			c.renderAppearance(w, r, http.StatusBadRequest, f)
			return
		}
		locale = tag
	}
	c.renderAppearance(w, r, http.StatusOK, appearanceFormOf(s.workspace, locale))
}

// SaveAppearance serves POST /console/settings/appearance (brand_color, position, launcher_label,
// theme, logo_url). A refusal shows the form as sent, the message next to the refused field.
func (c *Console) SaveAppearance(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	pf := r.PostForm
	f := appearanceForm{BrandColor: strings.TrimSpace(pf.Get("brand_color")), Position: pf.Get("position"),
		LauncherLabel: pf.Get("launcher_label"), Theme: pf.Get("theme"), LogoURL: strings.TrimSpace(pf.Get("logo_url"))}
	p := chat.AppearancePatch{BrandColor: &f.BrandColor, Position: &f.Position, LauncherLabel: &f.LauncherLabel, Theme: &f.Theme, LogoURL: &f.LogoURL}
	if _, err := c.chat.UpdateWorkspace(r.Context(), s.workspace.ID, chat.SettingsPatch{Appearance: &p}); err != nil {
		pr, ok := fixable(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		f.Error, f.ErrorField, f.ErrorInForm = refusal(pr.Message, pr.Field), pr.Field, "appearance"
		// The preview keeps showing what is saved: the refused value is exactly what must not be drawn.
		f.Preview = previewOf(s.workspace.Name, s.workspace.Settings.Appearance)
		f.setTexts(s.workspace.Settings, "")
		c.renderAppearance(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	c.seeOther(w, r, appearancePath, "ok", "Appearance saved. Widgets pick it up when they next load.")
}

// SaveTexts serves POST /console/settings/texts (locale, "" for the default language; greeting,
// first_message, away_notice, onboarding_intro).
func (c *Console) SaveTexts(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	pf := r.PostForm
	p := chat.TextsPatch{Locale: strings.TrimSpace(pf.Get("locale"))}
	greeting, first, away, intro := pf.Get("greeting"), pf.Get("first_message"), pf.Get("away_notice"), pf.Get("onboarding_intro")
	p.Greeting, p.FirstMessage, p.AwayNotice, p.OnboardingIntro = &greeting, &first, &away, &intro
	if _, err := c.chat.UpdateWorkspace(r.Context(), s.workspace.ID, chat.SettingsPatch{Texts: &p}); err != nil {
		pr, ok := fixable(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		f := appearanceFormOf(s.workspace, "")
		f.Locale, f.LocaleName = p.Locale, localeName(p.Locale)
		for i := range f.Locales {
			f.Locales[i].Selected = f.Locales[i].Tag == p.Locale
		}
		f.Greeting, f.First, f.AwayNotice, f.Onboarding = greeting, first, away, intro
		f.Error, f.ErrorField, f.ErrorInForm = refusal(pr.Message, pr.Field), pr.Field, "texts"
		c.renderAppearance(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	tag, _ := chat.CanonicalLocale(p.Locale)
	back := appearancePath
	if tag != "" {
		back += "?locale=" + url.QueryEscape(tag)
	}
	c.seeOther(w, r, back+"#texts", "ok", "Texts saved: "+localeName(tag)+".")
}

// refusal writes a problem's message as the form names the field.
func refusal(msg, field string) string {
	if label, ok := appearanceLabels[field]; ok {
		msg = label + ": " + strings.TrimPrefix(msg, field+": ")
	}
	return sentence(msg)
}
