package identity

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/jsonstrict"
	"github.com/parleyhq/parley/internal/problem"
)

// MaxTokenSize caps a token before any decoding. Identity tokens are a few hundred bytes; 8 KiB leaves
// room for generous claims while keeping hostile inputs cheap to refuse.
const MaxTokenSize = 8 << 10

// b64 is strict base64url: no padding, and non-zero trailing bits are refused, so every byte string has
// exactly one accepted encoding.
var b64 = base64.RawURLEncoding.Strict()

// Header is the protected header of a compact JWS, after strict parsing.
type Header struct {
	Alg string
	Kid string
	Typ string
}

// Token is a compact JWS that passed the structural checks. Its signature has not been checked.
type Token struct {
	Header       Header
	Payload      []byte // decoded payload; not yet known to be JSON
	SigningInput string // "<header>.<payload>" as received
	Signature    []byte
}

// refusedHeaders carry keys or key locations chosen by the token's author, or extensions Parley does not
// implement; trusting any of them lets the author pick the key that verifies their own token.
var refusedHeaders = []string{"jwk", "jku", "x5u", "x5c", "crit", "b64"}

// ParseCompact splits and decodes a compact JWS strictly: size cap, character set, three segments,
// canonical base64url, and a header that is a JSON object without duplicate members.
func ParseCompact(raw string) (*Token, error) {
	if len(raw) > MaxTokenSize {
		return nil, &problem.Error{
			Status:  http.StatusRequestEntityTooLarge,
			Code:    "token_too_large",
			Message: "token is " + itoa(len(raw)) + " bytes; Parley accepts at most " + itoa(MaxTokenSize) + " — keep claims small",
		}
	}
	if raw == "" {
		return nil, malformed("token is empty")
	}
	for i := 0; i < len(raw); i++ {
		if !isTokenChar(raw[i]) {
			if raw[i] == '{' {
				return nil, malformed("token looks like JSON; Parley accepts only the compact form header.payload.signature")
			}
			if raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t' {
				return nil, malformed("token contains whitespace at byte " + itoa(i) + "; send it exactly as your library produced it")
			}
			return nil, malformed("token contains a character outside base64url and '.' at byte " + itoa(i))
		}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, malformed("token has " + itoa(len(parts)) + " segments; a signed JWT has exactly 3 (header.payload.signature)")
	}
	for i, name := range []string{"header", "payload", "signature"} {
		if parts[i] == "" {
			return nil, malformed("token " + name + " is empty")
		}
	}
	headerJSON, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, malformed("header is not canonical unpadded base64url")
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, malformed("payload is not canonical unpadded base64url")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, malformed("signature is not canonical unpadded base64url")
	}
	h, err := parseHeader(headerJSON)
	if err != nil {
		return nil, err
	}
	return &Token{
		Header:       h,
		Payload:      payload,
		SigningInput: raw[:len(parts[0])+1+len(parts[1])],
		Signature:    sig,
	}, nil
}

func parseHeader(data []byte) (Header, error) {
	if !jsonstrict.IsObject(data) {
		return Header{}, malformed("header is not a JSON object")
	}
	members, err := jsonstrict.Object(data)
	if err != nil {
		return Header{}, malformed("header: " + err.Error())
	}
	for _, name := range refusedHeaders {
		if _, ok := members[name]; ok {
			return Header{}, malformed(`header parameter "` + name + `" is not accepted: Parley only uses keys registered in the workspace`)
		}
	}
	var h Header
	rawAlg, ok := members["alg"]
	if !ok {
		return Header{}, malformed(`header has no "alg"`)
	}
	if err := json.Unmarshal(rawAlg, &h.Alg); err != nil || h.Alg == "" {
		return Header{}, malformed(`header "alg" must be a non-empty string`)
	}
	if rawKid, ok := members["kid"]; ok {
		if err := json.Unmarshal(rawKid, &h.Kid); err != nil || h.Kid == "" || len(h.Kid) > 128 {
			return Header{}, malformed(`header "kid" must be a string of 1 to 128 characters`)
		}
	}
	if rawTyp, ok := members["typ"]; ok {
		if err := json.Unmarshal(rawTyp, &h.Typ); err != nil {
			return Header{}, malformed(`header "typ" must be a string`)
		}
		// Explicit typing (RFC 8725 §3.11): a token typed as something else is not a login token.
		if !strings.EqualFold(h.Typ, "JWT") {
			return Header{}, malformed(`header "typ" is "` + h.Typ + `"; use "JWT" or leave it out`)
		}
	}
	if _, ok := members["cty"]; ok {
		return Header{}, malformed(`header "cty" is not accepted: nested tokens are not supported`)
	}
	return h, nil
}

func isTokenChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func malformed(msg string) *problem.Error {
	return &problem.Error{Status: http.StatusUnauthorized, Code: "token_malformed", Message: msg}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
