// Package attributes holds the small, flat sets of facts about a customer — plan, tier, account
// number — that a business signs into a login token or sets through the customers API (verified
// attributes), or that a page passes to the widget's setUser (claimed attributes, never trusted). It
// owns their limits, their strict parsing and their one canonical form.
//
// A Set is stored and compared as canonical JSON text, so records that hold one stay comparable with ==
// and two sets are equal exactly when they hold the same keys with the same values. Values keep their
// JSON type: a string, a number (kept as its exact literal, never rounded through float64) or a boolean.
package attributes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The limits of a set, on every path that writes one.
const (
	MaxCount      = 20  // members
	MaxKeyLength  = 40  // bytes of [a-z0-9_]
	MaxValueBytes = 256 // bytes of UTF-8: a string's text, or a number's literal
)

// Kind is a value's JSON type.
type Kind uint8

const (
	String Kind = iota + 1
	Number
	Bool
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "boolean"
	}
	return "invalid"
}

// Value is one attribute value. Text is its canonical string: the string itself, a number's JSON literal
// exactly as it was sent ("10", "1.50", "2e3"), or "true"/"false". Rules compare values by Text.
type Value struct {
	Kind Kind
	Text string
}

func (v Value) String() string { return v.Text }

// MarshalJSON writes the value with its JSON type.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case Number, Bool:
		return []byte(v.Text), nil
	default:
		return json.Marshal(v.Text)
	}
}

// Attribute is one member of a set.
type Attribute struct {
	Key   string
	Value Value
}

// Set is an immutable set of attributes. The zero Set is empty.
type Set struct {
	canonical string // "" when empty, else a JSON object with sorted keys and no white space
}

// Len returns the number of attributes.
func (s Set) Len() int { return len(s.List()) }

// IsEmpty reports whether the set holds nothing.
func (s Set) IsEmpty() bool { return s.canonical == "" }

// String returns the canonical JSON object ("{}" when empty): what stores keep.
func (s Set) String() string {
	if s.canonical == "" {
		return "{}"
	}
	return s.canonical
}

// MarshalJSON writes the set as a JSON object ({} when empty).
func (s Set) MarshalJSON() ([]byte, error) { return []byte(s.String()), nil }

// List returns the attributes in key order.
func (s Set) List() []Attribute {
	if s.canonical == "" {
		return nil
	}
	return read(s.canonical) // canonical text was checked when the set was made
}

// Get returns the value of one attribute.
func (s Set) Get(key string) (Value, bool) {
	for i := 1; s.canonical != ""; {
		a, next, ok := member(s.canonical, i)
		if !ok {
			break
		}
		if a.Key == key {
			return a.Value, true
		}
		i = next
	}
	return Value{}, false
}

// Parse reads a set from untrusted JSON: an object of at most MaxCount members, each key 1 to
// MaxKeyLength of a-z, 0-9 and _, each value a string of at most MaxValueBytes bytes without control
// characters, a finite number, or a boolean. Nested objects, arrays, null and repeated keys are
// refused. The error's message names the problem and the key at fault; callers put it behind their own
// field or claim name.
func Parse(data []byte) (Set, error) {
	list, err := decode(data)
	if err != nil {
		return Set{}, err
	}
	return fromList(list), nil
}

// Stored reads a set a store kept: Set.String's output, checked when it was parsed, so it is taken as it
// is (reading a customer costs no parsing); "" is the empty set. Text that is not a JSON object is an
// error; anything subtler a store could not have written reads as fewer attributes.
func Stored(text string) (Set, error) {
	if text == "" || text == "{}" {
		return Set{}, nil
	}
	if len(text) < 2 || text[0] != '{' || text[len(text)-1] != '}' || !utf8.ValidString(text) {
		return Set{}, fmt.Errorf("stored attributes %s are not a JSON object", quote(text))
	}
	return Set{canonical: text}, nil
}

// CheckKey reports whether k is a valid attribute key: 1 to MaxKeyLength of a-z, 0-9 and _.
func CheckKey(k string) error {
	if k == "" || len(k) > MaxKeyLength {
		return fmt.Errorf("key %s must be 1 to %d characters of a-z, 0-9 and _", quote(k), MaxKeyLength)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("key %s must be 1 to %d characters of a-z, 0-9 and _", quote(k), MaxKeyLength)
		}
	}
	return nil
}

func fromList(list []Attribute) Set {
	if len(list) == 0 {
		return Set{}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	var b strings.Builder
	b.WriteByte('{')
	for i, a := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(a.Key)
		v, _ := a.Value.MarshalJSON()
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return Set{canonical: b.String()}
}

// read decodes canonical text without checking the limits again.
func read(text string) []Attribute {
	var list []Attribute
	for i := 1; ; {
		a, next, ok := member(text, i)
		if !ok {
			return list
		}
		list = append(list, a)
		i = next
	}
}

// member reads the member of canonical text that starts at i (just after '{' or ','): keys are bare
// [a-z0-9_], strings as encoding/json writes them, numbers and booleans as literals. ok is false at the
// end of the object (or on text no Set holds).
func member(text string, i int) (a Attribute, next int, ok bool) {
	if i >= len(text) || text[i] != '"' {
		return a, 0, false
	}
	k := strings.IndexByte(text[i+1:], '"')
	if k < 0 || i+k+2 >= len(text) || text[i+k+2] != ':' {
		return a, 0, false
	}
	a.Key = text[i+1 : i+1+k]
	i += k + 3
	if i >= len(text) {
		return a, 0, false
	}
	var end int // just past the value
	if text[i] == '"' {
		escaped := false
		for end = i + 1; end < len(text); end++ {
			if text[end] == '\\' {
				escaped, end = true, end+1
			} else if text[end] == '"' {
				break
			}
		}
		end++
		if end > len(text) {
			return a, 0, false
		}
		a.Value = Value{Kind: String, Text: text[i+1 : end-1]}
		if escaped && json.Unmarshal([]byte(text[i:end]), &a.Value.Text) != nil {
			return a, 0, false
		}
	} else {
		end = i + strings.IndexAny(text[i:], ",}")
		if end < i {
			return a, 0, false
		}
		a.Value = Value{Kind: Number, Text: text[i:end]}
		if a.Value.Text == "true" || a.Value.Text == "false" {
			a.Value.Kind = Bool
		}
	}
	if end >= len(text) || (text[end] != ',' && text[end] != '}') {
		return a, 0, false
	}
	return a, end + 1, true
}

// decode parses and checks a JSON object of attributes, in document order.
func decode(data []byte) ([]Attribute, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, errors.New("is not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("must be a JSON object of at most %d keys with string, number or boolean values, not %s", MaxCount, describe(tok))
	}
	var list []Attribute
	seen := make(map[string]bool, 8)
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, errors.New("is not valid JSON")
		}
		key, _ := keyTok.(string)
		if seen[key] {
			return nil, fmt.Errorf("key %s appears more than once", quote(key))
		}
		seen[key] = true
		if err := CheckKey(key); err != nil {
			return nil, err
		}
		if len(list) == MaxCount {
			return nil, fmt.Errorf("has more than %d keys; at most %d are allowed", MaxCount, MaxCount)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New("is not valid JSON")
		}
		v, err := value(key, raw)
		if err != nil {
			return nil, err
		}
		list = append(list, Attribute{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, errors.New("is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("has data after the JSON object")
	}
	return list, nil
}

// value checks one member's raw JSON value.
func value(key string, raw json.RawMessage) (Value, error) {
	switch {
	case len(raw) == 0:
		return Value{}, fmt.Errorf("%s has no value", quote(key))
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Value{}, fmt.Errorf("%s is not a valid JSON string", quote(key))
		}
		if len(s) > MaxValueBytes {
			return Value{}, fmt.Errorf("%s is %d bytes long; values are at most %d bytes of UTF-8", quote(key), len(s), MaxValueBytes)
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				return Value{}, fmt.Errorf("%s contains a control character", quote(key))
			}
			if r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
				// Bidirectional overrides make text display differently from what it is.
				return Value{}, fmt.Errorf("%s contains a bidirectional control character", quote(key))
			}
		}
		return Value{Kind: String, Text: s}, nil
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		lit := string(raw)
		if len(lit) > MaxValueBytes {
			return Value{}, fmt.Errorf("%s is a number %d characters long; values are at most %d bytes", quote(key), len(lit), MaxValueBytes)
		}
		// The decoder checked the JSON number grammar; ParseFloat only rejects what overflows float64.
		if f, err := strconv.ParseFloat(lit, 64); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return Value{}, fmt.Errorf("%s is a number out of range (%s); numbers must be finite", quote(key), truncate(lit, 40))
		}
		return Value{Kind: Number, Text: lit}, nil
	case string(raw) == "true" || string(raw) == "false":
		return Value{Kind: Bool, Text: string(raw)}, nil
	case string(raw) == "null":
		return Value{}, fmt.Errorf("%s is null; leave the key out instead", quote(key))
	case raw[0] == '{':
		return Value{}, fmt.Errorf("%s is an object; attributes are flat: values must be strings, numbers or booleans", quote(key))
	case raw[0] == '[':
		return Value{}, fmt.Errorf("%s is an array; values must be strings, numbers or booleans", quote(key))
	}
	return Value{}, fmt.Errorf("%s must be a string, a number or a boolean", quote(key))
}

// describe names the JSON type of a first token, for the error about a non-object.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "that"
}

// quote renders a key for a message: JSON-quoted, and cut short when long.
func quote(s string) string {
	b, _ := json.Marshal(truncate(s, 48))
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
