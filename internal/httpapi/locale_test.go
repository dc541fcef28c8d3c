package httpapi_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/chat"
)

// A login token's locale claim comes back on the login's identity (canonical case), for the widget to
// speak; a token without one has none; a malformed one is refused like any malformed claim.
func TestLoginLocaleClaim(t *testing.T) {
	e := newEnv(t)
	r := e.login(e.session(), e.sign(claims(map[string]any{"locale": "PT-br"})))
	expect(t, r, 200, "")
	if got := r.str("identity", "locale"); got != "pt-BR" {
		t.Errorf("identity.locale = %q; want pt-BR (%s)", got, r.raw)
	}
	r = e.login(e.session(), e.sign(claims(nil)))
	expect(t, r, 200, "")
	if _, ok := r.body["identity"].(map[string]any)["locale"]; ok {
		t.Errorf("a token without the claim: %s", r.raw)
	}
	for _, bad := range []any{"", "deutsch", "de_DE_x", 49, []string{"de"}} {
		r := e.login(e.session(), e.sign(claims(map[string]any{"locale": bad})))
		expect(t, r, 401, "token_claims_invalid")
	}
}

// The widget's config carries the workspace's default language: "" (English) until one is set.
func TestWidgetConfigDefaultLocale(t *testing.T) {
	e := newEnv(t)
	localeOf := func(r response) any {
		t.Helper()
		if r.status/100 != 2 {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		return r.body["config"].(map[string]any)["default_locale"]
	}
	token := e.session()
	if got := localeOf(e.request("GET", "/v1/widget/session", token, nil)); got != "" {
		t.Errorf("default_locale = %v; want \"\"", got)
	}
	de := "de"
	e.update(chat.SettingsPatch{DefaultLocale: &de})
	for _, r := range []response{
		e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}),
		e.request("GET", "/v1/widget/session", token, nil),
		e.request("GET", "/v1/widget/config?workspace="+e.ws.ID, "", nil),
	} {
		if got := localeOf(r); got != "de" {
			t.Errorf("default_locale = %v; want de", got)
		}
	}
}
