package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/jsonstrict"
	"github.com/parleyhq/parley/internal/problem"
)

// Claims are the identity claims of a login token after strict, typed parsing.
type Claims struct {
	Subject   string // sub: the business's own user id
	Email     string // canonical
	Name      string // name, or displayName
	FirstName string // given_name, or first_name
	Phone     string
	Audience  []string
	JTI       string
	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time // zero when absent
	// Attributes are the token's "attributes" claim, the customer's verified attributes; nil when the
	// token carries none (an empty object is a set with nothing in it, which clears the customer's).
	Attributes *attributes.Set
	// Locale is the "locale" claim, the language the customer uses on the business's site: a short
	// BCP 47 tag in canonical case ("de", "pt-BR"), "" when absent. The widget speaks it after login.
	Locale string
}

// exactClaimName returns the exact spelling of a claim Parley reads, given any casing of it, so that a
// claim with the wrong case is reported instead of silently ignored.
func exactClaimName(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "sub":
		return "sub", true
	case "email":
		return "email", true
	case "name":
		return "name", true
	case "displayname":
		return "displayName", true
	case "given_name":
		return "given_name", true
	case "first_name":
		return "first_name", true
	case "phone":
		return "phone", true
	case "aud":
		return "aud", true
	case "jti":
		return "jti", true
	case "iat":
		return "iat", true
	case "exp":
		return "exp", true
	case "nbf":
		return "nbf", true
	case "iss":
		return "iss", true
	case "attributes":
		return "attributes", true
	case "locale":
		return "locale", true
	}
	return "", false
}

// ParseClaims decodes a token payload strictly: a JSON object, no duplicate members, exact-case names,
// typed values. It does not check times; see Verify.
func ParseClaims(payload []byte) (*Claims, error) {
	if !jsonstrict.IsObject(payload) {
		return nil, malformed("payload is not a JSON object")
	}
	members, err := jsonstrict.Object(payload)
	if err != nil {
		return nil, claimsInvalid("payload: %s", err)
	}
	for name := range members {
		if exact, ok := exactClaimName(name); ok && exact != name {
			return nil, claimsInvalid("claim %q is not recognised (claim names are case-sensitive); use %q", name, exact)
		}
	}

	var c Claims
	str := func(name string, max int) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = stringClaim(members, name, max)
		return s
	}
	c.Subject = str("sub", 255)
	if err == nil {
		err = identifierClaim(members, "sub")
	}
	email := str("email", 254)
	name := str("name", 200)
	displayName := str("displayName", 200)
	givenName := str("given_name", 100)
	firstName := str("first_name", 100)
	c.Phone = str("phone", 40)
	c.JTI = str("jti", 255)
	if err == nil {
		err = identifierClaim(members, "jti")
	}
	str("iss", 1024) // typed even though unused, so a malformed issuer is not silently accepted
	locale := str("locale", maxLocale)
	if err != nil {
		return nil, err
	}
	if _, ok := members["locale"]; ok {
		// Refused like any other malformed claim (and so shown in the identity log), not ignored: a
		// locale the widget cannot read is the integration's mistake, better found than silently English.
		if c.Locale, ok = CanonicalLocale(locale); !ok {
			return nil, claimsInvalid(`"locale" must be a BCP 47 language tag such as "de" or "pt-BR" (at most %d characters), not %q`, maxLocale, locale)
		}
	}
	if raw, ok := members["sub"]; ok && c.Subject == "" && len(raw) > 0 {
		return nil, claimsInvalid(`"sub" must not be empty`)
	}
	if _, ok := members["jti"]; ok && c.JTI == "" {
		return nil, claimsInvalid(`"jti" must not be empty`)
	}
	if email != "" {
		if c.Email, err = CanonicalEmail(email); err != nil {
			return nil, claimsInvalid(`"email" %s`, err)
		}
	} else if _, ok := members["email"]; ok {
		return nil, claimsInvalid(`"email" must not be empty`)
	}
	if c.Subject == "" && c.Email == "" {
		return nil, claimsInvalid(`the token must carry "sub" (your user id), "email", or both`)
	}
	c.Name = firstNonEmpty(name, displayName)
	c.FirstName = firstNonEmpty(givenName, firstName)

	if c.IssuedAt, err = timeClaim(members, "iat", true); err != nil {
		return nil, err
	}
	if c.ExpiresAt, err = timeClaim(members, "exp", true); err != nil {
		return nil, err
	}
	if c.NotBefore, err = timeClaim(members, "nbf", false); err != nil {
		return nil, err
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return nil, claimsInvalid(`"exp" (%s) must be after "iat" (%s)`, stamp(c.ExpiresAt), stamp(c.IssuedAt))
	}
	if c.Audience, err = audienceClaim(members); err != nil {
		return nil, err
	}
	if raw, ok := members["attributes"]; ok {
		set, err := attributes.Parse(raw)
		if err != nil {
			return nil, claimsInvalid(`"attributes": %s`, err)
		}
		c.Attributes = &set
	}
	return &c, nil
}

func stringClaim(members map[string]json.RawMessage, name string, max int) (string, error) {
	raw, ok := members[name]
	if !ok {
		return "", nil
	}
	if bytes.Equal(raw, []byte("null")) {
		return "", claimsInvalid("%q must be a string, not null (leave it out instead)", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", claimsInvalid("%q must be a string", name)
	}
	if utf8.RuneCountInString(s) > max {
		return "", claimsInvalid("%q is longer than %d characters", name, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", claimsInvalid("%q contains a control character", name)
		}
	}
	return strings.TrimSpace(s), nil
}

// identifierClaim refuses an identifier (sub, jti) with surrounding whitespace, Unicode spaces and
// invisible format characters included: trimming it would make "vic-x", "vic-x " and "\u3000vic-x" one
// customer (or one token id), so the business must send the identifier exactly. Display claims are
// trimmed instead.
func identifierClaim(members map[string]json.RawMessage, name string) error {
	raw, ok := members[name]
	if !ok {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil // stringClaim reported it
	}
	if strings.TrimFunc(s, blankRune) != s {
		return claimsInvalid("%q must not begin or end with whitespace; send the identifier exactly as your system stores it", name)
	}
	return nil
}

// blankRune is a rune that shows nothing: white space, and the zero-width and byte-order-mark format
// characters.
func blankRune(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff'
}

// maxTimestamp keeps seconds-since-epoch arithmetic far away from overflow (year 5138).
const maxTimestamp = 1e11

func timeClaim(members map[string]json.RawMessage, name string, required bool) (time.Time, error) {
	raw, ok := members[name]
	if !ok {
		if required {
			return time.Time{}, claimsInvalid("%q is required: seconds since the Unix epoch, as a JSON number", name)
		}
		return time.Time{}, nil
	}
	// raw is one valid JSON value (jsonstrict checked it); a leading '-' or digit makes it a number, whose
	// grammar strconv.ParseFloat accepts. A string of digits ("1700000000") is not a JWT time.
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return time.Time{}, claimsInvalid("%q must be a JSON number of seconds since the Unix epoch, not %s", name, truncate(string(raw), 40))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err == nil && f > 1e11 && f < 1e15 {
		return time.Time{}, claimsInvalid("%q is %s, which looks like milliseconds; JWT times are in seconds", name, truncate(string(raw), 40))
	}
	if err != nil || math.IsNaN(f) || f <= 0 || f > maxTimestamp {
		return time.Time{}, claimsInvalid("%q is out of range: %s", name, truncate(string(raw), 40))
	}
	// Round to the microsecond rather than truncate: float64 holds Date.now()/1000 only to about 0.2 µs,
	// so truncating turned .000001 into 0.000000953 s and lost the microsecond half the time.
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}

func audienceClaim(members map[string]json.RawMessage) ([]string, error) {
	raw, ok := members["aud"]
	if !ok {
		return nil, nil
	}
	if string(raw) == "null" { // encoding/json would decode it as "" without an error
		return nil, claimsInvalid(`"aud" must be a string or a non-empty array of strings, not null (leave it out instead)`)
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 {
		return nil, claimsInvalid(`"aud" must be a string or a non-empty array of strings`)
	}
	return many, nil
}

// The methods below let golang-jwt's validator check the times independently of Parley's own checks.

func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numeric(c.ExpiresAt), nil }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return numeric(c.IssuedAt), nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return numeric(c.NotBefore), nil }
func (c *Claims) GetIssuer() (string, error)                   { return "", nil }
func (c *Claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *Claims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

func numeric(t time.Time) *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	// Not jwt.NewNumericDate: it truncates to whole seconds, which made golang-jwt refuse a fractional exp
	// up to a second before Parley's own check (and with a vaguer code) while still inside the leeway.
	return &jwt.NumericDate{Time: t}
}

func claimsInvalid(format string, args ...any) *problem.Error {
	return &problem.Error{Status: http.StatusUnauthorized, Code: "token_claims_invalid", Message: fmt.Sprintf(format, args...)}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// maxLocale bounds the "locale" claim: a language, a script and a region ("zh-Hant-TW") fit well
// within it; longer tags (variants, extensions) name nothing the widget could tell apart.
const maxLocale = 20

// CanonicalLocale checks a short BCP 47 tag (a language of 2 or 3 letters, then optionally a script of
// 4 letters, a region of 2 letters or 3 digits, and variants of 5 to 8 letters or digits) and returns it
// in the canonical case: "PT-br" becomes "pt-BR", "zh-hant" "zh-Hant".
func CanonicalLocale(tag string) (string, bool) {
	if tag == "" || len(tag) > maxLocale {
		return "", false
	}
	parts := strings.Split(strings.ReplaceAll(tag, "_", "-"), "-")
	for i, p := range parts {
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return "", false
			}
		}
		letters := strings.IndexFunc(p, func(r rune) bool { return r >= '0' && r <= '9' }) < 0
		switch {
		case i == 0:
			if !letters || len(p) < 2 || len(p) > 3 {
				return "", false
			}
			parts[i] = strings.ToLower(p)
		case i == 1 && len(p) == 4 && letters:
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		case len(p) == 2 && letters, len(p) == 3 && !letters && strings.Trim(p, "0123456789") == "":
			if i > 2 || (i == 2 && len(parts[1]) != 4) {
				return "", false // a region comes right after the language or its script
			}
			parts[i] = strings.ToUpper(p)
		case len(p) >= 5 && len(p) <= 8:
			parts[i] = strings.ToLower(p)
		default:
			return "", false
		}
	}
	return strings.Join(parts, "-"), true
}
