package chat

import (
	"strings"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
)

// Locale is a language the widget speaks: its BCP 47 tag and its name in itself.
type Locale struct {
	Tag, Name string
}

// WidgetLocales are the languages of the widget's message catalogues (internal/widget/assets/i18n),
// English first; a test of package widget keeps the two lists the same.
func WidgetLocales() []Locale {
	return []Locale{
		{"en", "English"}, {"ar", "العربية"}, {"de", "Deutsch"}, {"es", "Español"}, {"fr", "Français"},
		{"ja", "日本語"}, {"nl", "Nederlands"}, {"pl", "Polski"}, {"pt-BR", "Português (Brasil)"},
	}
}

// WidgetLocale checks a workspace's default language: "" (English) or one the widget speaks, in any
// case ("PT-br" is "pt-BR"). A language it does not speak is refused rather than kept and ignored.
func WidgetLocale(tag string) (string, error) {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return "", nil
	}
	canon, ok := identity.CanonicalLocale(tag)
	var tags []string
	for _, l := range WidgetLocales() {
		if ok && l.Tag == canon {
			if canon == "en" {
				return "", nil // English is the default: one way to say it
			}
			return canon, nil
		}
		tags = append(tags, l.Tag)
	}
	return "", problem.InvalidField("default_locale", "%q is not a language the widget speaks; use one of %s, or \"\" for English", tag, strings.Join(tags, ", "))
}
