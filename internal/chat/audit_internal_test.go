package chat

import (
	"reflect"
	"slices"
	"testing"

	"github.com/parleyhq/parley/internal/store"
)

// A sealed secret among settings is said to have changed, never shown, whatever its field is called;
// so is a text field named for a secret. Nested settings are named by their path.
func TestAuditDiffHidesSecrets(t *testing.T) {
	type nested struct {
		Issuer string `json:"issuer"`
		Sealed []byte `json:"sealed"`
	}
	type settings struct {
		ClientSecret string `json:"client_secret"`
		Inner        nested `json:"inner"`
		Same         bool   `json:"same"`
	}
	a := settings{ClientSecret: "s3cret-old", Inner: nested{Issuer: "https://a.example", Sealed: []byte("sealed-old")}}
	b := settings{ClientSecret: "s3cret-new", Inner: nested{Issuer: "https://b.example", Sealed: []byte("sealed-new")}}
	got := diffFields(nil, "", reflect.ValueOf(a), reflect.ValueOf(b))
	want := []string{"client_secret: changed", `inner.issuer: "https://a.example" → "https://b.example"`, "inner.sealed: changed"}
	if !slices.Equal(got, want) {
		t.Errorf("diff = %q; want %q", got, want)
	}
	// Single sign-on, with its sealed client secret, is audited as settings.sso by sso.go, not here.
	var w1, w2 store.Workspace
	w2.Settings.SSO.ClientSecret = []byte("sealed")
	w2.Settings.SSO.Issuer = "https://idp.example"
	if got := settingsChanges(w1, w2); len(got) != 0 {
		t.Errorf("settingsChanges of single sign-on = %q; want none", got)
	}
}
