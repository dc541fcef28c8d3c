package chat

import (
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// rfc6238Vectors are the SHA1 rows of the test vectors of RFC 6238, Appendix B ("TOTP: Time-Based
// One-Time Password Algorithm", M'Raihi et al., IETF, May 2011; Copyright (c) 2011 IETF Trust and the
// persons identified as the document authors, reproduced under the IETF Trust's Legal Provisions
// Relating to IETF Documents, section 4, which allow code components to be copied). The seed is the
// ASCII string "12345678901234567890", the step 30 s, the codes 8 digits.
var rfc6238Vectors = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

const rfc6238Seed = "12345678901234567890"

// TestTOTPRFC6238 checks the library as Parley calls it (the options of totpOpts, with 8 digits as the
// RFC's vectors have) against the RFC's vectors, and Parley's own matching of a 6-digit code to its
// step: a 6-digit code is the last six digits of the 8-digit one (both truncate the same number).
func TestTOTPRFC6238(t *testing.T) {
	b32 := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32 of the seed
	if got := encodeSecret([]byte(rfc6238Seed)); got != b32 {
		t.Fatalf("base32 of the seed = %q; want %q", got, b32)
	}
	opts := totpOpts
	opts.Digits = otp.DigitsEight
	for _, v := range rfc6238Vectors {
		at := time.Unix(v.unix, 0).UTC()
		got, err := totp.GenerateCodeCustom(b32, at, opts)
		if err != nil || got != v.code {
			t.Errorf("T=%d: code %q, %v; want %s", v.unix, got, err, v.code)
		}
		if ok, err := totp.ValidateCustom(v.code, b32, at, opts); !ok || err != nil {
			t.Errorf("T=%d: %s not valid: %v", v.unix, v.code, err)
		}
		step, ok, err := matchTOTP([]byte(rfc6238Seed), v.code[2:], at)
		if err != nil || !ok || step != v.unix/30 {
			t.Errorf("T=%d: matchTOTP(%s) = step %d, %v, %v; want step %d", v.unix, v.code[2:], step, ok, err, v.unix/30)
		}
		// A step either side is accepted (the skew), and reported as the step the code is of.
		if step, ok, _ := matchTOTP([]byte(rfc6238Seed), v.code[2:], at.Add(30*time.Second)); !ok || step != v.unix/30 {
			t.Errorf("T=%d, a step later: step %d, %v", v.unix, step, ok)
		}
		// Two steps away, it is not.
		if _, ok, _ := matchTOTP([]byte(rfc6238Seed), v.code[2:], at.Add(61*time.Second)); ok {
			t.Errorf("T=%d: accepted two steps later", v.unix)
		}
	}
	if totpOpts.Period != 30 || totpOpts.Algorithm != otp.AlgorithmSHA1 || totpOpts.Digits != otp.DigitsSix || totpOpts.Skew != 1 {
		t.Errorf("totpOpts = %+v; want what authenticator apps expect: 30 s, SHA1, 6 digits, a step of skew", totpOpts)
	}
}
