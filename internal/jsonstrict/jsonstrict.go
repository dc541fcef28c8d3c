// Package jsonstrict decodes JSON from untrusted sources more strictly than encoding/json does.
//
// encoding/json silently accepts duplicate object members (the last one wins), replaces invalid UTF-8
// with U+FFFD and ignores unknown fields. Each of those lets two parsers read one document differently,
// which is how signature and authorization checks get bypassed, so Parley refuses them up front.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds nesting; Parley's documents are flat, so anything deeper is hostile.
const MaxDepth = 16

// Error describes why a document was refused. Field is set when a particular member is at fault.
type Error struct {
	Field  string
	Reason string
	// Syntax is true when the document is malformed — not JSON, or JSON that two parsers could read
	// differently (a repeated member) — as opposed to well-formed but unacceptable.
	Syntax bool
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return e.Reason
}

// Check verifies that data is exactly one JSON value in valid UTF-8, with no duplicate member names
// in any object and nesting no deeper than MaxDepth.
func Check(data []byte) error {
	if !utf8.Valid(data) {
		return &Error{Reason: "not valid UTF-8", Syntax: true}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Reason: "unexpected data after the JSON value", Syntax: true}
	}
	return nil
}

// walk consumes one value from dec, checking every object it contains.
func walk(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	if depth >= MaxDepth {
		return &Error{Reason: fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
	}
	switch delim {
	case '{':
		seen := make(map[string]struct{}, 8)
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return syntaxError(err)
			}
			key, _ := keyTok.(string)
			if _, dup := seen[key]; dup {
				return &Error{Field: key, Reason: "member appears more than once", Syntax: true}
			}
			seen[key] = struct{}{}
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return syntaxError(err)
	}
	return nil
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Reason: "unexpected end of JSON", Syntax: true}
	}
	return &Error{Reason: err.Error(), Syntax: true}
}

// IsObject reports whether data, already checked, is a JSON object.
func IsObject(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

// Object checks data as Check does and returns the members of the object it must hold, values raw.
// It reads the top level once, looking inside a value only when it is itself an object or array, so
// flat documents such as token claims cost one pass.
func Object(data []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(data) {
		return nil, &Error{Reason: "not valid UTF-8", Syntax: true}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Reason: "expected a JSON object", Syntax: true}
	}
	members := make(map[string]json.RawMessage, 12)
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		key, _ := keyTok.(string)
		if _, dup := members[key]; dup {
			return nil, &Error{Field: key, Reason: "member appears more than once", Syntax: true}
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, syntaxError(err)
		}
		if len(value) > 0 && (value[0] == '{' || value[0] == '[') {
			inner := json.NewDecoder(bytes.NewReader(value))
			inner.UseNumber() // as Check does: a number float64 cannot hold is the caller's to judge
			if err := walk(inner, 1); err != nil {
				return nil, err
			}
		}
		members[key] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Reason: "unexpected data after the JSON value", Syntax: true}
	}
	return members, nil
}

// Unmarshal checks data and decodes the object it holds into v, refusing members v does not declare
// (matched exactly: encoding/json alone would also take "BODY" for `json:"body"`) and values of the wrong
// type. Errors are *Error.
func Unmarshal(data []byte, v any) error {
	members, err := Object(data)
	if err != nil {
		return err
	}
	if err := exactMemberNames(members, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a second guard, for structs exactMemberNames cannot read
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return &Error{Field: typeErr.Field, Reason: "must be a JSON " + jsonType(typeErr.Type.Kind().String())}
		}
		// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
		var name string
		if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &name); scanErr == nil {
			return &Error{Field: name, Reason: "unknown field"}
		}
		return &Error{Reason: err.Error()}
	}
	return nil
}

// exactMemberNames refuses members that do not name a field of the struct v points to exactly.
// encoding/json matches names case-insensitively, so {"body":"a","BODY":"b"} would pass the duplicate
// check and silently decode as "b".
func exactMemberNames(members map[string]json.RawMessage, v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			return nil // promoted fields: leave them to encoding/json rather than guess
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && !strings.HasPrefix(f.Tag.Get("json"), "-,") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	for key := range members {
		if !names[key] {
			return &Error{Field: key, Reason: "unknown field (member names are case-sensitive)"}
		}
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	default:
		return "number"
	}
}
