package jsonstrict_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/jsonstrict"
)

// refDoc is what refParse learns about a document, without encoding/json.
type refDoc struct {
	valid bool // one JSON value (RFC 8259 grammar), surrounded only by whitespace
	dup   bool // some object has two members with the same name after unescaping
	// dupDecoded also counts names that differ only in unpaired surrogate escapes ("\ud800", "\ud801"):
	// encoding/json decodes each of those to U+FFFD, so to it they are one name and must be refused too.
	dupDecoded bool
	nesting    int // deepest nesting of objects and arrays (a flat object is 1)
	topNames   int // members of the top-level value, when it is an object
}

// refParse is a small recursive-descent JSON parser written for these tests, independent of
// encoding/json and of jsonstrict, so that duplicate detection is checked against a second opinion.
// Names are compared as sequences of UTF-16 code units after unescaping, which is what RFC 8259 means
// by equal strings; like encoding/json it accepts any byte ≥ 0x20 inside strings.
func refParse(data []byte) refDoc {
	p := &refParser{data: data}
	p.ws()
	ok := p.value(0)
	p.ws()
	return refDoc{valid: ok && p.pos == len(data), dup: p.dup, dupDecoded: p.dupDecoded, nesting: p.maxNesting, topNames: p.topNames}
}

type refParser struct {
	data       []byte
	pos        int
	dup        bool
	dupDecoded bool
	maxNesting int
	topNames   int
}

func (p *refParser) ws() {
	for p.pos < len(p.data) && strings.IndexByte(" \t\n\r", p.data[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *refParser) peek() byte {
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *refParser) value(depth int) bool {
	if depth > 10000 {
		return false // deeper than any input the fuzzer makes; refusing keeps the stack small
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(string(p.data[p.pos:]), lit) {
				p.pos += len(lit)
				return true
			}
		}
		return false
	}
}

func (p *refParser) nest(depth int) {
	if depth+1 > p.maxNesting {
		p.maxNesting = depth + 1
	}
}

func (p *refParser) object(depth int) bool {
	p.nest(depth)
	p.pos++ // {
	names, decoded := map[string]bool{}, map[string]bool{}
	p.ws()
	if p.peek() == '}' {
		p.pos++
		return true
	}
	for {
		p.ws()
		name, ok := p.str()
		if !ok {
			return false
		}
		if names[name] {
			p.dup = true
		}
		names[name] = true
		units := make([]uint16, len(name)/2)
		for i := range units {
			units[i] = uint16(name[2*i])<<8 | uint16(name[2*i+1])
		}
		d := string(utf16.Decode(units))
		if decoded[d] {
			p.dupDecoded = true
		}
		decoded[d] = true
		if depth == 0 {
			p.topNames++
		}
		p.ws()
		if p.peek() != ':' {
			return false
		}
		p.pos++
		p.ws()
		if !p.value(depth + 1) {
			return false
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return true
		default:
			return false
		}
	}
}

func (p *refParser) array(depth int) bool {
	p.nest(depth)
	p.pos++ // [
	p.ws()
	if p.peek() == ']' {
		p.pos++
		return true
	}
	for {
		p.ws()
		if !p.value(depth + 1) {
			return false
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return true
		default:
			return false
		}
	}
}

// str reads a string and returns its UTF-16 code units (two bytes each) as a map key.
func (p *refParser) str() (string, bool) {
	if p.peek() != '"' {
		return "", false
	}
	p.pos++
	var units []uint16
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			b := make([]byte, 0, 2*len(units))
			for _, u := range units {
				b = append(b, byte(u>>8), byte(u))
			}
			return string(b), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if p.pos+1 >= len(p.data) {
				return "", false
			}
			e := p.data[p.pos+1]
			p.pos += 2
			if i := strings.IndexByte(`"\/bfnrt`, e); i >= 0 {
				units = append(units, uint16("\"\\/\b\f\n\r\t"[i]))
				continue
			}
			if e != 'u' || p.pos+4 > len(p.data) {
				return "", false
			}
			var u uint16
			for _, h := range p.data[p.pos : p.pos+4] {
				i := strings.IndexByte("0123456789abcdefABCDEF", h)
				if i < 0 {
					return "", false
				}
				if i >= 16 {
					i -= 6
				}
				u = u<<4 | uint16(i)
			}
			p.pos += 4
			units = append(units, u)
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			p.pos += size
			units = append(units, utf16.Encode([]rune{r})...)
		}
	}
	return "", false
}

func (p *refParser) number() bool {
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.peek() == '-' {
		p.pos++
	}
	if p.peek() == '0' {
		p.pos++
	} else if digits() == 0 {
		return false
	}
	if p.peek() == '.' {
		p.pos++
		if digits() == 0 {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// fuzzTarget is a typical request body struct, for Unmarshal.
type fuzzTarget struct {
	Body     string   `json:"body"`
	ClientID string   `json:"client_id"`
	Tags     []string `json:"tags"`
	N        int      `json:"n"`
}

var fuzzTargetNames = map[string]bool{"body": true, "client_id": true, "tags": true, "n": true}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `1`, `-0.5e+3`, `"x"`, `true`, `null`, ` {"a":1} `, `{"body":"hi","client_id":"c1"}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":{"b":1,"b":2}}`, `[{"a":1},{"a":1}]`,
		`{"\ud800":1,"\ud801":2}`, `{"\ud83d\ude00":1,"😀":2}`, `{"body":"a","BODY":"b"}`,
		`{"a":1}{}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `01`, `1.`, `.5`, `"\x"`, "\"\xff\"", "\"\t\"",
		strings.Repeat("[", 16) + strings.Repeat("]", 16), strings.Repeat("[", 17) + strings.Repeat("]", 17),
		`{"tags":["a"],"n":1}`, `{"n":1.5}`, `{"tags":"a"}`, ``, ` `,
		// A number float64 cannot hold, nested: Check and Object both leave it to the caller.
		`{"a":{"n":1e999}}`, `{"a":[-1e999]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := jsonstrict.Check(data)
		var je *jsonstrict.Error
		if err != nil && !errors.As(err, &je) {
			t.Fatalf("Check error is %T, not *jsonstrict.Error", err)
		}
		ref := refParse(data)
		if ref.valid != json.Valid(data) {
			t.Fatalf("reference parser says valid=%v, encoding/json says %v, for %q", ref.valid, json.Valid(data), data)
		}
		wellFormed := ref.valid && utf8.Valid(data)
		acceptable := wellFormed && !ref.dupDecoded && ref.nesting <= jsonstrict.MaxDepth
		if err == nil {
			if !json.Valid(data) {
				t.Fatalf("Check accepted %q, which encoding/json says is not JSON", data)
			}
			if !utf8.Valid(data) {
				t.Fatalf("Check accepted invalid UTF-8 %q", data)
			}
			if ref.dup || ref.dupDecoded {
				t.Fatalf("Check accepted %q, which has a duplicate member name (exact %v, as decoded %v)", data, ref.dup, ref.dupDecoded)
			}
			if ref.nesting > jsonstrict.MaxDepth {
				t.Fatalf("Check accepted %q, nested %d deep", data, ref.nesting)
			}
		} else if acceptable {
			t.Fatalf("Check refused %q, which is valid, unique and %d deep: %v", data, ref.nesting, err)
		}

		// Object is Check restricted to objects, returning the top-level members.
		members, objErr := jsonstrict.Object(data)
		isObject := err == nil && jsonstrict.IsObject(data)
		if (objErr == nil) != isObject {
			t.Fatalf("Object(%q) error %v, but Check error %v and IsObject %v", data, objErr, err, jsonstrict.IsObject(data))
		}
		if objErr == nil && len(members) != ref.topNames {
			t.Fatalf("Object(%q) returned %d members, want %d", data, len(members), ref.topNames)
		}

		// Unmarshal accepts only what Check accepts, as an object with exactly-named known members.
		var v fuzzTarget
		if jsonstrict.Unmarshal(data, &v) == nil {
			if !isObject {
				t.Fatalf("Unmarshal accepted %q, which Check refuses or is not an object", data)
			}
			var names map[string]json.RawMessage
			if err := json.Unmarshal(data, &names); err != nil {
				t.Fatal(err)
			}
			for name := range names {
				if !fuzzTargetNames[name] {
					t.Fatalf("Unmarshal accepted member %q in %q", name, data)
				}
			}
		}
	})
}
