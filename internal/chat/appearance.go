package chat

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The widget's look (issue 19): the business's brand colour with a text colour that stays readable on
// it, the launcher's side and label, a light, dark or system theme, and a logo.

// Appearance choices and limits.
const (
	PositionRight = "right"
	PositionLeft  = "left"
	ThemeLight    = "light"
	ThemeDark     = "dark"
	ThemeAuto     = "auto" // follows the visitor's system (prefers-color-scheme)

	// DefaultBrandColor is the widget's own blue, 6.7:1 against white.
	DefaultBrandColor = "#1d4ed8"
	// The two text colours the widget may put on the brand colour: white, or the widget's near-black ink.
	TextOnDark  = "#ffffff"
	TextOnLight = "#111827"
	// MinContrast is WCAG 2's AA ratio for normal text; the launcher label and the panel's title sit on
	// the brand colour, so it must reach it.
	MinContrast = 4.5

	maxLauncherLabel = 40
	maxLogoURL       = 2000
	maxWidgetText    = 1000
	maxLocales       = 20
	maxLocaleTag     = 35
)

// AppearancePatch changes some of the widget's look; nil fields stay as they are, "" restores a default.
type AppearancePatch struct {
	BrandColor    *string
	Position      *string
	LauncherLabel *string
	Theme         *string
	LogoURL       *string
}

// TextsPatch changes the business's texts in one language: Locale "" is the default language (whose
// first message is Settings.FirstMessage), any other a BCP 47 tag such as de or pt-BR. An empty text
// falls back to the default language's; a language left with no text at all is dropped.
type TextsPatch struct {
	Locale          string
	Greeting        *string
	FirstMessage    *string
	AwayNotice      *string
	OnboardingIntro *string
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// relativeLuminance is WCAG 2's relative luminance of an sRGB colour written #rrggbb.
func relativeLuminance(hex string) float64 {
	lin := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[i:i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(1) + 0.7152*lin(3) + 0.0722*lin(5)
}

// ContrastRatio is WCAG 2's contrast ratio of two #rrggbb colours, from 1 to 21.
func ContrastRatio(a, b string) float64 {
	la, lb := relativeLuminance(a), relativeLuminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// TextColor picks the text colour for a brand colour: white or near-black, whichever contrasts more,
// with the ratio it reaches.
func TextColor(brand string) (string, float64) {
	light, dark := ContrastRatio(brand, TextOnDark), ContrastRatio(brand, TextOnLight)
	if light >= dark {
		return TextOnDark, light
	}
	return TextOnLight, dark
}

// EffectiveAppearance fills the defaults in: what the widget applies.
func EffectiveAppearance(a store.Appearance) store.Appearance {
	if a.BrandColor == "" {
		a.BrandColor = DefaultBrandColor
	}
	if a.Position == "" {
		a.Position = PositionRight
	}
	if a.Theme == "" {
		a.Theme = ThemeLight
	}
	return a
}

// checkBrandColor canonicalizes a brand colour and refuses one no text colour is readable on. The
// message says the ratio reached, floored so that it never reads as passing when it does not.
func checkBrandColor(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if !hexColor.MatchString(s) {
		return "", problem.InvalidField("brand_color", "must be a colour written #rrggbb, such as #1d4ed8")
	}
	s = strings.ToLower(s)
	text, ratio := TextColor(s)
	if ratio < MinContrast {
		name := "white"
		if text == TextOnLight {
			name = "near-black (" + TextOnLight + ")"
		}
		return "", problem.InvalidField("brand_color", "%s leaves no readable text colour: even %s text on it reaches only %s:1, and text needs at least 4.5:1 contrast (WCAG AA); choose a darker or a lighter colour",
			s, name, strconv.FormatFloat(math.Floor(ratio*100)/100, 'f', 2, 64))
	}
	return s, nil
}

func applyAppearance(st *store.Settings, p *AppearancePatch) error {
	if p == nil {
		return nil
	}
	a := st.Appearance
	if p.BrandColor != nil {
		c, err := checkBrandColor(*p.BrandColor)
		if err != nil {
			return err
		}
		a.BrandColor = c
	}
	if p.Position != nil {
		switch v := strings.ToLower(strings.TrimSpace(*p.Position)); v {
		case "", PositionRight, PositionLeft:
			a.Position = v
		default:
			return problem.InvalidField("position", "must be left or right")
		}
	}
	if p.Theme != nil {
		switch v := strings.ToLower(strings.TrimSpace(*p.Theme)); v {
		case "", ThemeLight, ThemeDark, ThemeAuto:
			a.Theme = v
		default:
			return problem.InvalidField("theme", "must be light, dark or auto (follows the visitor's system)")
		}
	}
	if p.LauncherLabel != nil {
		label := strings.TrimSpace(*p.LauncherLabel)
		if err := checkText("launcher_label", label, maxLauncherLabel, false); err != nil {
			return err
		}
		a.LauncherLabel = label
	}
	if p.LogoURL != nil {
		u := strings.TrimSpace(*p.LogoURL)
		if u != "" {
			if err := checkLogoURL(u); err != nil {
				return problem.InvalidField("logo_url", "%s", err)
			}
		}
		a.LogoURL = u
	}
	st.Appearance = a
	return nil
}

// checkLogoURL admits an absolute https URL only: a page served over https would block an http image
// as mixed content, and other schemes (data:, javascript:) have no place in an <img> we put on a page.
func checkLogoURL(s string) error {
	if len(s) > maxLogoURL {
		return fmt.Errorf("is longer than %d characters", maxLogoURL)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("must be an absolute https:// URL")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("must not contain spaces or control characters")
		}
	}
	return nil
}

var localeTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// CanonicalLocale checks a BCP 47 language tag by its shape (language, then subtags) and writes it as
// BCP 47 recommends: language lower case, a script title case, a region upper case (pt-BR, zh-Hant-TW).
func CanonicalLocale(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", "-"))
	if len(s) > maxLocaleTag || !localeTag.MatchString(s) {
		return "", fmt.Errorf("%q is not a language tag such as de, pt-BR or zh-Hant (at most %d characters)", s, maxLocaleTag)
	}
	parts := strings.Split(strings.ToLower(s), "-")
	for i := 1; i < len(parts); i++ {
		switch p := parts[i]; {
		case len(p) == 1: // an extension or private use: the rest stays lower case
			return strings.Join(parts, "-"), nil
		case len(p) == 2:
			parts[i] = strings.ToUpper(p)
		case len(p) == 4 && p[0] >= 'a' && p[0] <= 'z':
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-"), nil
}

func applyTexts(st *store.Settings, p *TextsPatch) error {
	if p == nil {
		return nil
	}
	var t store.WidgetTexts
	locale := ""
	if strings.TrimSpace(p.Locale) == "" {
		t = store.WidgetTexts{Greeting: st.Greeting, FirstMessage: st.FirstMessage, AwayNotice: st.AwayNotice, OnboardingIntro: st.OnboardingIntro}
	} else {
		var err error
		if locale, err = CanonicalLocale(p.Locale); err != nil {
			return problem.InvalidField("locale", "%s", err)
		}
		t = st.Texts[locale]
	}
	for _, f := range []struct {
		field string
		src   *string
		dst   *string
		multi bool
	}{
		{"greeting", p.Greeting, &t.Greeting, false},
		{"first_message", p.FirstMessage, &t.FirstMessage, true},
		{"away_notice", p.AwayNotice, &t.AwayNotice, true},
		{"onboarding_intro", p.OnboardingIntro, &t.OnboardingIntro, true},
	} {
		if f.src == nil {
			continue
		}
		v := strings.TrimSpace(*f.src)
		if err := checkText(f.field, v, maxWidgetText, f.multi); err != nil {
			return err
		}
		*f.dst = v
	}
	if locale == "" {
		st.Greeting, st.FirstMessage, st.AwayNotice, st.OnboardingIntro = t.Greeting, t.FirstMessage, t.AwayNotice, t.OnboardingIntro
		return nil
	}
	if _, ok := st.Texts[locale]; !ok && t != (store.WidgetTexts{}) && len(st.Texts) >= maxLocales {
		return problem.InvalidField("locale", "at most %d languages may have their own texts; clear one first", maxLocales)
	}
	// A copy: the workspace as read before the patch keeps its own map, for the audit's comparison.
	texts := make(map[string]store.WidgetTexts, len(st.Texts)+1)
	for k, v := range st.Texts {
		texts[k] = v
	}
	if t == (store.WidgetTexts{}) {
		delete(texts, locale)
	} else {
		texts[locale] = t
	}
	if len(texts) == 0 {
		texts = nil
	}
	st.Texts = texts
	return nil
}
