package widget_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/widget"
)

// TestCataloguesAreServedImmutableWithIntegrity: each language is at a checksummed URL, cached for a
// year, readable across origins, and the served script names it with the integrity of what is served.
func TestCataloguesAreServedImmutableWithIntegrity(t *testing.T) {
	a, err := widget.Load()
	if err != nil {
		t.Fatal(err)
	}
	h := serve(t, a)
	h.HandleFunc("GET /widget/i18n/{name}", a.ServeCatalogue)
	js := get(t, h, a.JS).Body.String()
	want := []string{"ar", "de", "es", "fr", "ja", "nl", "pl", "pt-BR"}
	var got []string
	for _, c := range a.Catalogues() {
		got = append(got, c.Locale)
		if !regexp.MustCompile(`^/widget/i18n/` + regexp.QuoteMeta(c.Locale) + `\.[0-9a-f]{16}\.json$`).MatchString(c.Path) {
			t.Errorf("%s: path %q is not checksummed", c.Locale, c.Path)
		}
		rec := get(t, h, c.Path)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", c.Path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s Cache-Control = %q", c.Path, cc)
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s lacks CORS, which fetch with integrity across origins needs", c.Path)
		}
		sum := sha512.Sum384(rec.Body.Bytes())
		sri := "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
		if c.Integrity != sri {
			t.Errorf("%s: integrity %s, served bytes hash to %s", c.Locale, c.Integrity, sri)
		}
		// The minifier writes a key that is an identifier without quotes.
		entry, _ := json.Marshal([2]string{c.Path, sri})
		if !strings.Contains(js, `"`+c.Locale+`":`+string(entry)) && !strings.Contains(js, c.Locale+`:`+string(entry)) {
			t.Errorf("the served script does not name %s at %s with %s", c.Locale, c.Path, sri)
		}
		var texts map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &texts); err != nil || len(texts) == 0 {
			t.Errorf("%s: not a catalogue: %v", c.Path, err)
		}
		if rec := get(t, h, c.Path, "Accept-Encoding", "gzip"); rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: not gzipped", c.Path)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("catalogues %v, want %v", got, want)
	}
	// The workspace's default language is one of these (package chat validates it against its list).
	var settable []string
	for _, l := range chat.WidgetLocales() {
		settable = append(settable, l.Tag)
	}
	if !slices.Equal(settable, append([]string{"en"}, got...)) {
		t.Errorf("chat.WidgetLocales %v; the widget speaks en and %v", settable, got)
	}
	for _, path := range []string{"/widget/i18n/de.0000000000000000.json", "/widget/i18n/xx.json", "/widget/i18n/en.json"} {
		if rec := get(t, h, path); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
	}
	// English is built into the script: no catalogue to fetch.
	if !strings.Contains(js, `send_form:"Send a message"`) {
		t.Errorf("the served script does not carry English")
	}
}

// pluralForms are the Intl.PluralRules categories (CLDR) of each language for cardinal numbers: a
// text with plural forms has exactly these, "many" being optional where it only serves millions.
var pluralForms = map[string]struct{ need, may []string }{
	"en":    {[]string{"one", "other"}, nil},
	"de":    {[]string{"one", "other"}, nil},
	"nl":    {[]string{"one", "other"}, nil},
	"fr":    {[]string{"one", "other"}, []string{"many"}},
	"es":    {[]string{"one", "other"}, []string{"many"}},
	"pt-BR": {[]string{"one", "other"}, []string{"many"}},
	"pl":    {[]string{"one", "few", "many", "other"}, nil},
	"ja":    {[]string{"other"}, nil},
	"ar":    {[]string{"zero", "one", "two", "few", "many", "other"}, nil},
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestCataloguesAreComplete: every key of English is in every language and no other; every key is used
// by widget.js; a text has English's placeholders, no other; plural forms are the language's.
func TestCataloguesAreComplete(t *testing.T) {
	load := func(path string) map[string]any {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var texts map[string]any
		if err := json.Unmarshal(raw, &texts); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return texts
	}
	en := load("assets/i18n/en.json")
	src, err := os.ReadFile("assets/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	for key := range en {
		if !strings.Contains(string(src), "'"+key+"'") {
			t.Errorf("en: %q is not used by widget.js", key)
		}
	}
	paths, _ := filepath.Glob("assets/i18n/*.json")
	if len(paths) < 9 {
		t.Fatalf("%d catalogues with English; want at least 9", len(paths))
	}
	for _, path := range paths {
		tag := strings.TrimSuffix(filepath.Base(path), ".json")
		forms, ok := pluralForms[tag]
		if !ok {
			t.Errorf("%s: no plural categories known for %s; add them to pluralForms", path, tag)
			continue
		}
		texts := load(path)
		for _, key := range slices.Sorted(maps.Keys(en)) {
			text, ok := texts[key]
			if !ok {
				t.Errorf("%s: %q is missing", tag, key)
				continue
			}
			enVars := placeholders(textOf(en[key]))
			switch v := text.(type) {
			case string:
				if _, plural := en[key].(map[string]any); plural {
					t.Errorf("%s: %q must have plural forms", tag, key)
				}
				if got := placeholders(v); !slices.Equal(got, enVars) {
					t.Errorf("%s: %q has placeholders %v, English %v", tag, key, got, enVars)
				}
			case map[string]any:
				if _, plural := en[key].(map[string]any); !plural {
					t.Errorf("%s: %q must be one text", tag, key)
				}
				for _, cat := range forms.need {
					if _, ok := v[cat]; !ok {
						t.Errorf("%s: %q lacks the plural form %q", tag, key, cat)
					}
				}
				for cat, f := range v {
					s, isString := f.(string)
					if !isString || (!slices.Contains(forms.need, cat) && !slices.Contains(forms.may, cat)) {
						t.Errorf("%s: %q has a form %q that is no plural category of the language", tag, key, cat)
					}
					// A form may leave the number out ("رسالة واحدة", one message), never add a placeholder.
					for _, p := range placeholders(s) {
						if !slices.Contains(enVars, p) {
							t.Errorf("%s: %q %s has the unknown placeholder {%s}", tag, key, cat, p)
						}
					}
				}
			default:
				t.Errorf("%s: %q is neither text nor plural forms", tag, key)
			}
		}
		for key := range texts {
			if _, ok := en[key]; !ok {
				t.Errorf("%s: %q is not an English key (unused)", tag, key)
			}
		}
	}
}

// textOf is a text, or all of its plural forms.
func textOf(v any) string {
	if m, ok := v.(map[string]any); ok {
		var b strings.Builder
		for _, f := range m {
			s, _ := f.(string)
			b.WriteString(s)
		}
		return b.String()
	}
	s, _ := v.(string)
	return s
}
