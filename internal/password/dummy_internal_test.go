package password

import "testing"

// VerifyDummy derives a key with the defaults, a zero salt of SaltLength and KeyLength bytes: the same
// work as verifying a hash made by Hash, which this checks by parsing one.
func TestDummyMatchesHashParameters(t *testing.T) {
	h, err := Hash("a password of some length")
	if err != nil {
		t.Fatal(err)
	}
	p, salt, key, err := parse(h)
	if err != nil {
		t.Fatal(err)
	}
	if p != defaults || len(salt) != SaltLength || len(key) != KeyLength {
		t.Fatalf("Hash made %+v with a %d-byte salt and a %d-byte key; VerifyDummy derives with %+v, %d and %d",
			p, len(salt), len(key), defaults, SaltLength, KeyLength)
	}
}
