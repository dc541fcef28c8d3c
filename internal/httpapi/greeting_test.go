package httpapi_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/chat"
)

// The widget greets a visitor by identity.first_name: the stated given name when there is one, else the
// first word of the name after any honorific — and no name rather than a title or a surname.
func TestGreetingName(t *testing.T) {
	e := newEnv(t)
	identified := func(name string) any {
		t.Helper()
		r := e.request("POST", "/v1/widget/identify", e.session(), map[string]string{"name": name, "email": "v@example.com"})
		expect(t, r, 200, "")
		return r.body["identity"].(map[string]any)["first_name"]
	}
	for name, want := range map[string]any{
		"Ada Lovelace":           "Ada",
		"Dr. Ada Lovelace":       "Ada",
		"dr ada lovelace":        "ada",
		"Prof. Dr. Grace Hopper": "Grace",
		"Mr Smith":               nil, // "Hi Smith!" greets by surname: say nothing instead
		"Mrs.":                   nil,
		"Cher":                   "Cher",
	} {
		if got := identified(name); got != want {
			t.Errorf("name %q: first_name = %v; want %v", name, got, want)
		}
	}

	// A verified token's given_name wins over any guess.
	r := e.login(e.session(), e.sign(claims(map[string]any{"name": "Dr. Ada Lovelace", "given_name": "Augusta"})))
	expect(t, r, 200, "")
	if got := r.body["identity"].(map[string]any)["first_name"]; got != "Augusta" {
		t.Errorf("verified first_name = %v; want Augusta (given_name)", got)
	}
	r = e.login(e.session(), e.sign(claims(map[string]any{"sub": "u2", "email": "h@example.com", "name": "Dr. Hopper"})))
	expect(t, r, 200, "")
	if got, ok := r.body["identity"].(map[string]any)["first_name"]; ok {
		t.Errorf("verified first_name = %v; want none for a title and a surname", got)
	}
}

// Onboarding asks for a name and an email: a visitor who gave only one of them, or a phone number, may
// not send yet.
func TestOnboardingRequiresNameAndEmail(t *testing.T) {
	e := newEnv(t)
	on := true
	e.update(chat.SettingsPatch{Onboarding: &on})
	for _, claimed := range []map[string]string{
		{"phone": "+44 20 7946 0000"},
		{"name": "Ada"},
		{"email": "ada@example.com"},
	} {
		s := e.session()
		r := e.request("POST", "/v1/widget/identify", s, claimed)
		expect(t, r, 200, "")
		expect(t, e.send(r.str("session_token"), "hello", "c1"), 403, "identification_required")
	}
	s := e.session()
	r := e.request("POST", "/v1/widget/identify", s, map[string]string{"name": "Ada"})
	expect(t, r, 200, "")
	r = e.request("POST", "/v1/widget/identify", r.str("session_token"), map[string]string{"email": "ada@example.com"})
	expect(t, r, 200, "")
	expect(t, e.send(r.str("session_token"), "hello", "c1"), 201, "")
}
