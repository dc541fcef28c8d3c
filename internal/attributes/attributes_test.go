package attributes_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/attributes"
)

// members builds a JSON object of n members k0…k(n-1) with short string values.
func members(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestParseLimits(t *testing.T) {
	key40, key41 := strings.Repeat("k", 40), strings.Repeat("k", 41)
	v256, v257 := strings.Repeat("v", 256), strings.Repeat("v", 257)
	// 128 two-byte characters are 256 bytes; one more ASCII byte is 257.
	e256, e257 := strings.Repeat("é", 128), strings.Repeat("é", 128)+"x"
	for _, tc := range []struct {
		name, in string
		ok       bool
		why      string // part of the refusal's message
	}{
		{"empty object", `{}`, true, ""},
		{"20 members", members(20), true, ""},
		{"21 members", members(21), false, "more than 20"},
		{"40-byte key", `{"` + key40 + `":1}`, true, ""},
		{"41-byte key", `{"` + key41 + `":1}`, false, "1 to 40"},
		{"empty key", `{"":1}`, false, "1 to 40"},
		{"upper-case key", `{"Plan":"gold"}`, false, `"Plan"`},
		{"dash in key", `{"plan-tier":"gold"}`, false, "a-z, 0-9 and _"},
		{"space in key", `{"plan ":"gold"}`, false, "a-z, 0-9 and _"},
		{"non-ASCII key", `{"plän":"gold"}`, false, "a-z, 0-9 and _"},
		{"digits and underscore", `{"tier_2":"x","0":"y","_":"z"}`, true, ""},
		{"256-byte value", `{"v":"` + v256 + `"}`, true, ""},
		{"257-byte value", `{"v":"` + v257 + `"}`, false, "257 bytes"},
		{"256 bytes of two-byte characters", `{"v":"` + e256 + `"}`, true, ""},
		{"257 bytes of mostly two-byte characters", `{"v":"` + e257 + `"}`, false, "257 bytes"},
		{"escaped characters count decoded", `{"v":"` + strings.Repeat(`\u00e9`, 128) + `"}`, true, ""},
		{"empty string", `{"v":""}`, true, ""},
		{"nested object", `{"plan":{"name":"gold"}}`, false, "is an object"},
		{"array", `{"plans":["gold"]}`, false, "is an array"},
		{"null", `{"plan":null}`, false, "is null"},
		{"duplicate key", `{"plan":"gold","plan":"silver"}`, false, "more than once"},
		{"duplicate key, other types", `{"plan":1,"plan":true}`, false, "more than once"},
		{"control character", `{"v":"a\nb"}`, false, "control character"},
		{"bidirectional override", `{"v":"a\u202eb"}`, false, "bidirectional"},
		{"infinite number", `{"n":1e400}`, false, "finite"},
		{"negative infinite number", `{"n":-1e400}`, false, "finite"},
		{"tiny number", `{"n":1e-400}`, true, ""},
		{"numbers", `{"a":0,"b":-1.50,"c":2E3,"d":12345678901234567890123}`, true, ""},
		{"booleans", `{"a":true,"b":false}`, true, ""},
		{"not an object", `["plan"]`, false, "an array"},
		{"a string", `"plan"`, false, "a string"},
		{"null document", `null`, false, "null"},
		{"trailing data", `{} {}`, false, "after"},
		{"invalid JSON", `{"a":}`, false, "JSON"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", false, "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := attributes.Parse([]byte(tc.in))
			if tc.ok {
				if err != nil {
					t.Fatalf("Parse(%s): %v", tc.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%s) accepted %s", tc.in, s)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("Parse(%s): %q does not say %q", tc.in, err, tc.why)
			}
		})
	}
}

func TestSetKeepsTypesAndExactNumbers(t *testing.T) {
	s, err := attributes.Parse([]byte(`{"zeta":"z","plan":"gold","seats":10,"ratio":1.50,"big":12345678901234567890123,"exp":2E3,"vip":true,"beta":false,"html":"<img src=x>"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []attributes.Attribute{
		{"beta", attributes.Value{Kind: attributes.Bool, Text: "false"}},
		{"big", attributes.Value{Kind: attributes.Number, Text: "12345678901234567890123"}},
		{"exp", attributes.Value{Kind: attributes.Number, Text: "2E3"}},
		{"html", attributes.Value{Kind: attributes.String, Text: "<img src=x>"}},
		{"plan", attributes.Value{Kind: attributes.String, Text: "gold"}},
		{"ratio", attributes.Value{Kind: attributes.Number, Text: "1.50"}},
		{"seats", attributes.Value{Kind: attributes.Number, Text: "10"}},
		{"vip", attributes.Value{Kind: attributes.Bool, Text: "true"}},
		{"zeta", attributes.Value{Kind: attributes.String, Text: "z"}},
	}
	got := s.List()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("List() = %v\nwant     %v", got, want)
	}
	if v, ok := s.Get("ratio"); !ok || v.String() != "1.50" {
		t.Fatalf("Get(ratio) = %v, %v", v, ok)
	}
	if _, ok := s.Get("missing"); ok {
		t.Fatal("Get(missing) found something")
	}
	// The JSON form keeps each type and every number's literal.
	var decoded map[string]any
	dec := json.NewDecoder(strings.NewReader(s.String()))
	dec.UseNumber()
	if err := dec.Decode(&decoded); err != nil {
		t.Fatalf("String() = %s: %v", s, err)
	}
	if decoded["seats"] != json.Number("10") || decoded["ratio"] != json.Number("1.50") || decoded["vip"] != true || decoded["plan"] != "gold" || decoded["html"] != "<img src=x>" {
		t.Fatalf("String() = %s", s)
	}
	// Stored text reads back equal, and the same members in another order make an equal set.
	again, err := attributes.Stored(s.String())
	if err != nil || again != s {
		t.Fatalf("Stored(String()) = %v, %v; want %v", again, err, s)
	}
	reordered, _ := attributes.Parse([]byte(`{"vip":true,"beta":false,"big":12345678901234567890123,"exp":2E3,"html":"<img src=x>","plan":"gold","ratio":1.50,"seats":10,"zeta":"z"}`))
	if reordered != s {
		t.Fatalf("order matters: %s vs %s", reordered, s)
	}
	// 1.5 is not 1.50: numbers compare by their literal.
	other, _ := attributes.Parse([]byte(`{"ratio":1.5}`))
	if v, _ := other.Get("ratio"); v.Text == "1.50" {
		t.Fatal("1.5 read as 1.50")
	}
}

func TestEmptySet(t *testing.T) {
	var zero attributes.Set
	empty, err := attributes.Parse([]byte(`{}`))
	if err != nil || empty != zero || !empty.IsEmpty() || empty.Len() != 0 || empty.String() != "{}" {
		t.Fatalf("Parse({}) = %#v, %v", empty, err)
	}
	b, _ := json.Marshal(struct {
		A attributes.Set `json:"attributes"`
	}{})
	if string(b) != `{"attributes":{}}` {
		t.Fatalf("zero set marshals as %s", b)
	}
	if s, err := attributes.Stored(""); err != nil || !s.IsEmpty() {
		t.Fatalf(`Stored("") = %v, %v`, s, err)
	}
}

// FuzzParse: Parse never panics, what it accepts obeys every limit, and its canonical text reads back as
// the same set.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`, members(20), members(21), `{"plan":"gold","seats":10,"vip":true}`, `{"n":1e400}`, `{"n":-0.0e-0}`,
		`{"plan":{"a":1}}`, `{"plan":[1]}`, `{"plan":null}`, `{"a":1,"a":1}`, `{"A":1}`, `{"` + strings.Repeat("k", 41) + `":1}`,
		`{"v":"` + strings.Repeat("é", 129) + `"}`, `{"v":"\u0000"}`, `{"v":"\ud800"}`, `[]`, `null`, ``, `{`,
		`{"q":"a\"b\\c,}\"","h":"<b>&amp;</b>","n":-1.5e-3,"t":true}`, `{"v":"\\"}`, `{"v":"x\"","w":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := attributes.Parse(data)
		if err != nil {
			if err.Error() == "" || !s.IsEmpty() {
				t.Fatalf("Parse(%q) = %v, %v", data, s, err)
			}
			return
		}
		list := s.List()
		if len(list) > attributes.MaxCount {
			t.Fatalf("accepted %d members", len(list))
		}
		for i, a := range list {
			if attributes.CheckKey(a.Key) != nil || i > 0 && list[i-1].Key >= a.Key {
				t.Fatalf("key %q (order %d) in %s", a.Key, i, s)
			}
			if len(a.Value.Text) > attributes.MaxValueBytes {
				t.Fatalf("value of %d bytes", len(a.Value.Text))
			}
		}
		again, err := attributes.Stored(s.String())
		if err != nil || again != s {
			t.Fatalf("canonical %s reads back as %v, %v", s, again, err)
		}
		// What the set reads back is what encoding/json reads from the input, value for value.
		var generic map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&generic); err != nil || len(generic) != len(list) {
			t.Fatalf("accepted %q, which encoding/json reads as %v (%v)", data, generic, err)
		}
		for _, a := range list {
			var want attributes.Value
			switch v := generic[a.Key].(type) {
			case string:
				want = attributes.Value{Kind: attributes.String, Text: v}
			case json.Number:
				want = attributes.Value{Kind: attributes.Number, Text: string(v)}
			case bool:
				want = attributes.Value{Kind: attributes.Bool, Text: fmt.Sprint(v)}
			default:
				t.Fatalf("accepted %q = %v (%T)", a.Key, v, v)
			}
			if a.Value != want {
				t.Fatalf("%q reads back as %#v; encoding/json reads %#v", a.Key, a.Value, want)
			}
			if got, ok := s.Get(a.Key); !ok || got != want {
				t.Fatalf("Get(%q) = %#v, %v; want %#v", a.Key, got, ok, want)
			}
		}
	})
}
