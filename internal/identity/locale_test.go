package identity_test

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/identity"
)

// The optional "locale" claim: a short BCP 47 tag, kept in canonical case; anything else is refused
// like any malformed claim (token_claims_invalid), never silently ignored.
func TestLocaleClaim(t *testing.T) {
	for _, tc := range []struct{ claim, want string }{
		{``, ""},
		{`,"locale":"de"`, "de"},
		{`,"locale":"pt-BR"`, "pt-BR"},
		{`,"locale":"PT-br"`, "pt-BR"},
		{`,"locale":"pt_BR"`, "pt-BR"},
		{`,"locale":"zh-hant-tw"`, "zh-Hant-TW"},
		{`,"locale":"es-419"`, "es-419"},
		{`,"locale":" ar "`, "ar"},
	} {
		c, err := identity.ParseClaims([]byte(fuzzClaims(tc.claim)))
		if err != nil {
			t.Errorf("%s: %v", tc.claim, err)
			continue
		}
		if c.Locale != tc.want {
			t.Errorf("%s: locale %q, want %q", tc.claim, c.Locale, tc.want)
		}
	}
	for _, claim := range []string{
		`,"locale":""`, `,"locale":null`, `,"locale":["de"]`, `,"locale":7`, `,"locale":"d"`, `,"locale":"deutsch"`,
		`,"locale":"de-"`, `,"locale":"de--DE"`, `,"locale":"de DE"`, `,"locale":"de-DE-AT"`, `,"locale":"en-US-u-ca-gregory-nu-latn"`,
		`,"locale":"<b>de</b>"`, `,"locale":"` + strings.Repeat("a", 21) + `"`, `,"locale":"de","locale":"fr"`,
	} {
		_, err := identity.ParseClaims([]byte(fuzzClaims(claim)))
		wantProblem(t, err, "token_claims_invalid")
	}
	_, err := identity.ParseClaims([]byte(fuzzClaims(`,"Locale":"de"`)))
	if p := wantProblem(t, err, "token_claims_invalid"); !strings.Contains(p.Message, `use "locale"`) {
		t.Errorf("message %q", p.Message)
	}
}
