// Package identity verifies the signed login tokens that businesses issue for their customers.
//
// Verification happens in layers, each refusing what it can before the next runs: ParseCompact (size,
// characters, segments, base64url, header), ParseClaims (typed claims), key selection, the signature
// (golang-jwt's cryptography), then times and audience. Every refusal is a *problem.Error with a stable
// code from docs/api.md and a message that tells the integrator what to fix, without revealing secrets.
//
// Keys are HMAC secrets that Parley generates (HS256/384/512), public keys an admin registers
// (ParsePublicKey: RS*, PS*, ES*, EdDSA), or public keys published at a JWKS URL (JWKSFetcher). Each key
// has exactly one algorithm, and the token's header must name it.
package identity

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/problem"
)

// DefaultLeeway absorbs clock skew between the business's servers and Parley.
const DefaultLeeway = 60 * time.Second

// DefaultMaxLifetime is the longest exp − iat a workspace accepts unless configured otherwise.
const DefaultMaxLifetime = 10 * time.Minute

// Policy is what a workspace requires of its tokens.
type Policy struct {
	Workspace   string        // a token's "aud", when present, must name it
	MaxLifetime time.Duration // upper bound for exp − iat
	Leeway      time.Duration
	Now         time.Time
}

// Verified is the outcome of a successful verification.
type Verified struct {
	Claims *Claims
	Key    Key // the key whose signature matched
}

// Verify checks a login token against a workspace's keys and policy.
func Verify(raw string, keys []Key, p Policy) (*Verified, error) {
	tok, err := ParseCompact(raw)
	if err != nil {
		return nil, err
	}
	candidates, err := selectKeys(keys, tok.Header)
	if err != nil {
		return nil, err
	}
	claims, err := ParseClaims(tok.Payload)
	if err != nil {
		return nil, err
	}
	key, err := matchSignature(tok, candidates)
	if err != nil {
		return nil, err
	}
	if err := checkTimes(claims, p); err != nil {
		return nil, err
	}
	if err := checkAudience(claims, p); err != nil {
		return nil, err
	}
	return &Verified{Claims: claims, Key: key}, nil
}

// matchSignature returns the candidate key whose signature matches.
func matchSignature(tok *Token, candidates []Key) (Key, error) {
	var firstErr error
	for _, k := range candidates {
		err := VerifySignature(tok, k)
		if err == nil {
			return k, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	// A key that cannot verify at all (say, an RSA key below 2048 bits left from an old row) is a
	// different problem from a wrong signature, and its message says so.
	if len(candidates) == 1 && !problem.HasCode(firstErr, "token_bad_signature") {
		return Key{}, firstErr
	}
	alg := tok.Header.Alg
	if IsHMAC(alg) {
		if len(candidates) == 1 {
			return Key{}, badSignature("signature does not match key %q: sign with that key's secret, passed unchanged as the key string, and %s", candidates[0].ID, alg)
		}
		return Key{}, badSignature("signature matches none of this workspace's active %s keys: sign with the secret of an active key, passed unchanged as the key string", alg)
	}
	if len(candidates) == 1 {
		k := candidates[0]
		from := ""
		if k.Source != "" {
			from = " (from " + k.Source + ")"
		}
		return Key{}, badSignature("signature does not match key %q%s: sign with the private key matching key %q, using %s", k.ID, from, k.ID, alg)
	}
	return Key{}, badSignature("signature matches none of this workspace's active %s keys: sign with the private key matching one of them, or name it with \"kid\"", alg)
}

func checkAudience(claims *Claims, p Policy) error {
	if len(claims.Audience) > 0 && !slices.Contains(claims.Audience, p.Workspace) {
		return problem.New(http.StatusUnauthorized, "token_audience_mismatch",
			"token audience is %s; it must name this workspace (%q) or be left out", quoteList(claims.Audience), p.Workspace)
	}
	return nil
}

// Check is one step of CheckSteps: what was checked, whether it passed, and the message.
type Check struct {
	Name    string
	OK      bool
	Code    string // the API error code when it failed
	Message string
}

// CheckSteps runs Verify's checks one by one for a person debugging their integration, with the very
// messages Verify returns. It stops at the first failure of a step the later ones depend on (a token
// that does not parse has no claims to check) and returns the claims when they could be read.
func CheckSteps(raw string, keys []Key, p Policy) ([]Check, *Claims) {
	var out []Check
	step := func(name string, err error, okMsg string) bool {
		c := Check{Name: name, OK: err == nil, Message: okMsg}
		if err != nil {
			c.Message = err.Error()
			if pe, ok := problem.As(err); ok {
				c.Code, c.Message = pe.Code, pe.Message
			}
		}
		out = append(out, c)
		return err == nil
	}
	tok, err := ParseCompact(raw)
	if !step("Format", err, "a compact JWS: three base64url parts and a JSON header") {
		return out, nil
	}
	candidates, err := selectKeys(keys, tok.Header)
	keyMsg := ""
	if err == nil {
		keyMsg = fmt.Sprintf("alg %s, key %s", tok.Header.Alg, keyIDs(candidates))
	}
	keyOK := step("Algorithm and key", err, keyMsg)
	claims, err := ParseClaims(tok.Payload)
	claimsMsg := ""
	if err == nil {
		claimsMsg = "claims are well-formed: " + describeSubject(claims)
	}
	if !step("Claims", err, claimsMsg) {
		claims = nil
	}
	if keyOK {
		key, err := matchSignature(tok, candidates)
		step("Signature", err, fmt.Sprintf("signed with key %q", key.ID))
	}
	if claims != nil {
		step("Times", checkTimes(claims, p), fmt.Sprintf("issued %s, expires %s (lifetime %s, at most %s)",
			clock(claims.IssuedAt, p.Now), clock(claims.ExpiresAt, p.Now), human(claims.ExpiresAt.Sub(claims.IssuedAt)), human(p.MaxLifetime)))
		audMsg := "no audience (allowed)"
		if len(claims.Audience) > 0 {
			audMsg = "audience names this workspace"
		}
		step("Audience", checkAudience(claims, p), audMsg)
	}
	return out, claims
}

func describeSubject(c *Claims) string {
	var parts []string
	if c.Subject != "" {
		parts = append(parts, fmt.Sprintf("sub %q", c.Subject))
	}
	if c.Email != "" {
		parts = append(parts, fmt.Sprintf("email %q", c.Email))
	}
	if c.Name != "" {
		parts = append(parts, fmt.Sprintf("name %q", c.Name))
	}
	if c.JTI != "" {
		parts = append(parts, "jti (single use)")
	}
	return strings.Join(parts, ", ")
}

func checkTimes(c *Claims, p Policy) error {
	now, leeway := p.Now, p.Leeway
	// RFC 7519 §4.1.4: the token is valid only before exp (+ leeway), so the instant itself is expired.
	if !now.Before(c.ExpiresAt.Add(leeway)) {
		return problem.New(http.StatusUnauthorized, "token_expired",
			"token expired %s ago (exp %s); leeway is %s — sign a fresh token for each login", human(now.Sub(c.ExpiresAt)), clock(c.ExpiresAt, now), human(leeway))
	}
	if !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore) {
		return problem.New(http.StatusUnauthorized, "token_not_yet_valid",
			"token is not valid until %s (nbf, %s from now); leeway is %s — check your server's clock", clock(c.NotBefore, now), human(c.NotBefore.Sub(now)), human(leeway))
	}
	if now.Add(leeway).Before(c.IssuedAt) {
		return problem.New(http.StatusUnauthorized, "token_not_yet_valid",
			"token was issued %s in the future (iat %s); leeway is %s — check your server's clock", human(c.IssuedAt.Sub(now)), clock(c.IssuedAt, now), human(leeway))
	}
	// A millisecond of tolerance absorbs float rounding in Date.now()/1000 arithmetic.
	if lifetime := c.ExpiresAt.Sub(c.IssuedAt); lifetime > p.MaxLifetime+time.Millisecond {
		return problem.New(http.StatusUnauthorized, "token_lifetime_too_long",
			"token lifetime (exp − iat) is %s; this workspace accepts at most %s — issue shorter-lived tokens", human(lifetime), human(p.MaxLifetime))
	}
	// A second, independent opinion from golang-jwt: if it disagrees with the checks above, refuse.
	v := jwt.NewValidator(jwt.WithLeeway(leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err := v.Validate(c); err != nil {
		return claimsInvalid("token times are not valid: %s", err)
	}
	return nil
}

// human formats a duration the way people read it: 42s, 90s, 3m05s, 2h03m, 3d04h.
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 100:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
	}
}

// clock formats t as a time of day when it is near now, and as a full timestamp otherwise.
func clock(t, now time.Time) string {
	t = t.UTC()
	if t.Sub(now).Abs() < 12*time.Hour {
		return t.Format("15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05Z")
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
