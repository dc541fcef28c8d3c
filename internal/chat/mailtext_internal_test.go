package chat

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every language the widget speaks has the customer texts, each filled in, with exactly English's
// placeholders; no other language has them.
func TestCustomerTextsComplete(t *testing.T) {
	var tags []string
	for _, l := range WidgetLocales() {
		tags = append(tags, l.Tag)
		if customerTexts[l.Tag] == nil {
			t.Errorf("%s: no customer texts", l.Tag)
		}
	}
	for tag := range customerTexts {
		if !slices.Contains(tags, tag) {
			t.Errorf("%s: customer texts for a language the widget does not speak", tag)
		}
	}
	placeholder := regexp.MustCompile(`\{[a-z]+\}`)
	en := reflect.ValueOf(*customerTexts["en"])
	when := time.Date(2026, 12, 24, 17, 5, 0, 0, time.UTC)
	for tag, texts := range customerTexts {
		v := reflect.ValueOf(*texts)
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			s := v.Field(i).String()
			if name == "Dir" {
				if s != "" && s != "rtl" {
					t.Errorf("%s: Dir %q", tag, s)
				}
				continue
			}
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s.%s is empty", tag, name)
			}
			got, want := placeholder.FindAllString(s, -1), placeholder.FindAllString(en.Field(i).String(), -1)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s.%s has placeholders %v; English has %v", tag, name, got, want)
			}
		}
		// A time layout writes the year, the day, the month and the time, not Go's reference values.
		out := when.Format(texts.TimeLayout)
		if !strings.Contains(out, "2026") || !strings.Contains(out, "24") || !strings.Contains(out, "17:05") || strings.Contains(out, "2006") {
			t.Errorf("%s: TimeLayout %q writes %q", tag, texts.TimeLayout, out)
		}
	}
	if customerTexts["ar"].Dir != "rtl" {
		t.Error("Arabic is not marked right to left")
	}
}

func TestCustomerLocale(t *testing.T) {
	for _, c := range []struct {
		tags []string
		want string
	}{
		{nil, "en"},
		{[]string{""}, "en"},
		{[]string{"de"}, "de"},
		{[]string{"de-AT"}, "de"},
		{[]string{"PT-br"}, "pt-BR"},
		{[]string{"pt"}, "pt-BR"},
		{[]string{"pt-PT"}, "pt-BR"},
		{[]string{"en-GB", "de"}, "en"},
		{[]string{"sv", "fr"}, "fr"},         // no Swedish: the next choice
		{[]string{"sv", ""}, "en"},           // nothing else: English
		{[]string{"not a tag!", "nl"}, "nl"}, // passed over
		{[]string{"", "ja"}, "ja"},
	} {
		if got := customerLocale(c.tags...); got != c.want {
			t.Errorf("customerLocale(%q) = %q; want %q", c.tags, got, c.want)
		}
	}
}

// A business's name may hold text that looks like a placeholder: it stays as written.
func TestFormatOnePass(t *testing.T) {
	got := format(customerTexts["en"].ReplySubjectMany, "n", "3", "workspace", "{n} Shop {workspace}")
	if got != "3 new replies from {n} Shop {workspace}" {
		t.Errorf("format = %q", got)
	}
}
