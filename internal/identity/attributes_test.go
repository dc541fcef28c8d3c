package identity_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/identity"
)

// attrMembers builds n attribute members a0…a(n-1) with short values.
func attrMembers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"a%d":"v%d"`, i, i)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestAttributesClaim checks every limit of the "attributes" claim on both sides, through a whole signed
// token: accepted tokens carry the typed set; refused ones fail with token_claims_invalid and a message
// naming the problem.
func TestAttributesClaim(t *testing.T) {
	key40, key41 := strings.Repeat("k", 40), strings.Repeat("k", 41)
	v256, v257 := strings.Repeat("v", 256), strings.Repeat("v", 257)
	for _, tc := range []struct {
		name  string
		attrs string // the claim's JSON value
		want  string // the accepted set's canonical JSON, or "" when refused
		why   string // part of the refusal's message
	}{
		{"typed values", `{"plan":"gold","seats":10,"ratio":1.50,"vip":true,"trial":false}`,
			`{"plan":"gold","ratio":1.50,"seats":10,"trial":false,"vip":true}`, ""},
		{"empty object", `{}`, `{}`, ""},
		{"20 members", attrMembers(20), "", ""},
		{"21 members", attrMembers(21), "", "more than 20"},
		{"40-character key", `{"` + key40 + `":"x"}`, `{"` + key40 + `":"x"}`, ""},
		{"41-character key", `{"` + key41 + `":"x"}`, "", "1 to 40"},
		{"upper case in key", `{"Plan":"gold"}`, "", `key "Plan"`},
		{"dash in key", `{"plan-name":"gold"}`, "", "a-z, 0-9 and _"},
		{"dot in key", `{"plan.name":"gold"}`, "", "a-z, 0-9 and _"},
		{"empty key", `{"":"gold"}`, "", "1 to 40"},
		{"256-byte value", `{"note":"` + v256 + `"}`, `{"note":"` + v256 + `"}`, ""},
		{"257-byte value", `{"note":"` + v257 + `"}`, "", "257 bytes"},
		{"256 bytes of UTF-8", `{"note":"` + strings.Repeat("ü", 128) + `"}`, "", ""},
		{"257 bytes of UTF-8", `{"note":"` + strings.Repeat("ü", 128) + `!"}`, "", "257 bytes"},
		{"nested object", `{"plan":{"name":"gold"}}`, "", `"plan" is an object`},
		{"array value", `{"plans":["gold"]}`, "", `"plans" is an array`},
		{"null value", `{"plan":null}`, "", `"plan" is null`},
		{"infinite number", `{"n":1e999}`, "", "finite"},
		{"the claim is an array", `["plan"]`, "", "must be a JSON object"},
		{"the claim is a string", `"plan=gold"`, "", "must be a JSON object"},
		{"the claim is null", `null`, "", "must be a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := signHS256(`{"alg":"HS256"}`, fuzzClaims(`,"attributes":`+tc.attrs), testSecret)
			v, err := identity.Verify(token, []identity.Key{testKey}, testPolicy)
			if tc.why != "" {
				p := wantProblem(t, err, "token_claims_invalid")
				if !strings.Contains(p.Message, `"attributes"`) || !strings.Contains(p.Message, tc.why) {
					t.Fatalf("message %q does not name the claim and say %q", p.Message, tc.why)
				}
				return
			}
			wantProblem(t, err, "")
			if v.Claims.Attributes == nil {
				t.Fatal("the claim was dropped")
			}
			if tc.want != "" && v.Claims.Attributes.String() != tc.want {
				t.Fatalf("attributes = %s, want %s", v.Claims.Attributes, tc.want)
			}
		})
	}
	t.Run("20 members kept", func(t *testing.T) {
		c, err := identity.ParseClaims([]byte(fuzzClaims(`,"attributes":` + attrMembers(20))))
		if err != nil || c.Attributes.Len() != 20 {
			t.Fatalf("ParseClaims: %v, %v", c, err)
		}
		if v, ok := c.Attributes.Get("a19"); !ok || v.Kind != attributes.String || v.Text != "v19" {
			t.Fatalf("a19 = %v, %v", v, ok)
		}
	})
}

func TestAttributesClaimDuplicates(t *testing.T) {
	for _, payload := range []string{
		fuzzClaims(`,"attributes":{"plan":"gold","plan":"silver"}`),
		fuzzClaims(`,"attributes":{"plan":"gold"},"attributes":{"plan":"silver"}`),
	} {
		_, err := identity.ParseClaims([]byte(payload))
		p := wantProblem(t, err, "token_claims_invalid")
		if !strings.Contains(p.Message, "more than once") {
			t.Fatalf("%s: message %q", payload, p.Message)
		}
	}
}

func TestAttributesClaimAbsentOrMiscased(t *testing.T) {
	c, err := identity.ParseClaims([]byte(fuzzClaims("")))
	if err != nil || c.Attributes != nil {
		t.Fatalf("a token without the claim: %v, %v", c.Attributes, err)
	}
	_, err = identity.ParseClaims([]byte(fuzzClaims(`,"Attributes":{"plan":"gold"}`)))
	p := wantProblem(t, err, "token_claims_invalid")
	if !strings.Contains(p.Message, `use "attributes"`) {
		t.Fatalf("message %q", p.Message)
	}
}

// A number keeps its exact literal: 12345678901234567890 does not become 12345678901234567000.
func TestAttributesClaimExactNumbers(t *testing.T) {
	c, err := identity.ParseClaims([]byte(fuzzClaims(`,"attributes":{"account":12345678901234567890,"ratio":0.10,"e":1E+2}`)))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"account": "12345678901234567890", "ratio": "0.10", "e": "1E+2"} {
		if v, ok := c.Attributes.Get(key); !ok || v.Kind != attributes.Number || v.Text != want {
			t.Errorf("%s = %#v, want the number %s", key, v, want)
		}
	}
}
