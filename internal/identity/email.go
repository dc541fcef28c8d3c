package identity

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CanonicalEmail returns the form under which Parley stores and compares an email address: surrounding
// whitespace trimmed and ASCII letters lower-cased. Nothing else is folded — not "+tags", not dots, not
// Unicode look-alikes — because folding more would let one person claim another's profile.
func CanonicalEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("is empty")
	}
	if len(s) > 254 {
		return "", errors.New("is longer than 254 bytes")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("is not valid UTF-8")
	}
	at := strings.IndexByte(s, '@')
	if at < 0 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", errors.New("must contain exactly one @")
	}
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 {
		return "", errors.New("must have 1 to 64 bytes before the @")
	}
	if domain == "" || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", errors.New("has an invalid domain")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`<>()[]\,;:"`, r) {
			return "", errors.New("contains a character not allowed in an address")
		}
		// Invisible format characters (zero-width spaces, bidirectional overrides) would let a claimed
		// address look like another one to an agent.
		if unicode.Is(unicode.Cf, r) {
			return "", errors.New("contains an invisible formatting character")
		}
	}
	return asciiLower(s), nil
}

// EmailDomain returns the part after the @ of a canonical email.
func EmailDomain(canonical string) string {
	return canonical[strings.LastIndexByte(canonical, '@')+1:]
}

// CanonicalDomain normalizes a domain for the allowed-email-domains setting the same way CanonicalEmail
// normalizes addresses.
func CanonicalDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, err := CanonicalEmail("x@" + s); err != nil || s == "" {
		return "", errors.New("is not a valid domain")
	}
	return asciiLower(s), nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
