package identity_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/identity"
)

// The JOSE cookbook's signature examples (RFC 7520 §4.1–4.4 and the Ed25519 example of RFC 8037) verify
// with their keys registered the way an admin would register them. RFC 7520 §4.2 and §4.3 (PS384,
// ES512) are randomized, so their signatures cannot be reproduced, but the compact outputs still verify.
// The input keys are private JWKs: ParsePublicKey must refuse them as they are, and accept them once
// the private members are removed.
func TestJOSECookbook(t *testing.T) {
	for _, tc := range []struct{ file, alg string }{
		{"4_1.rsa_v15_signature.json", identity.RS256},
		{"4_2.rsa-pss_signature.json", identity.PS384},
		{"4_3.ecdsa_signature.json", identity.ES512},
		{"4_4.hmac-sha2_integrity_protection.json", identity.HS256},
		{"curve25519_jws.json", identity.EdDSA},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(vectorFile("jose-cookbook", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var example struct {
				Input struct {
					Payload string `json:"payload"`
					Key     jwk    `json:"key"`
					Alg     string `json:"alg"`
				} `json:"input"`
				Output struct {
					Compact string `json:"compact"`
				} `json:"output"`
			}
			if err := json.Unmarshal(data, &example); err != nil {
				t.Fatal(err)
			}
			if example.Input.Alg != tc.alg || example.Output.Compact == "" {
				t.Fatalf("unexpected example: alg %q, compact %q", example.Input.Alg, example.Output.Compact)
			}

			var key identity.Key
			if tc.alg == identity.HS256 {
				key = example.Input.Key.hmacKey(t)
			} else {
				public, hadPrivate := publicJWK(t, example.Input.Key.Raw)
				if !hadPrivate {
					t.Fatal("the cookbook key has no private members; the refusal below would test nothing")
				}
				_, err := identity.ParsePublicKey(example.Input.Key.Raw, tc.alg)
				wantInvalidKey(t, err, "paste the public key only")
				pk, err := identity.ParsePublicKey(public, tc.alg)
				if err != nil {
					t.Fatal(err)
				}
				key = identity.Key{ID: "k", Alg: pk.Alg, Public: pk.Key}
			}

			tok, err := identity.ParseCompact(example.Output.Compact)
			if err != nil {
				t.Fatal(err)
			}
			if err := identity.VerifySignature(tok, key); err != nil {
				t.Fatal(err)
			}
			if tok.Header.Alg != tc.alg || tok.Header.Kid != example.Input.Key.Kid || string(tok.Payload) != example.Input.Payload {
				t.Errorf("header %+v, payload %q", tok.Header, tok.Payload)
			}

			// One bit of the signature changed: refused.
			parts := strings.Split(example.Output.Compact, ".")
			sig, _ := b64.DecodeString(parts[2])
			for _, bit := range []int{0, len(sig)*8 - 1, len(sig) * 4} {
				flipped := append([]byte(nil), sig...)
				flipped[bit/8] ^= 1 << (bit % 8)
				bad, err := identity.ParseCompact(parts[0] + "." + parts[1] + "." + b64.EncodeToString(flipped))
				if err == nil {
					err = identity.VerifySignature(bad, key)
				}
				if err == nil {
					t.Errorf("verified with bit %d of the signature flipped", bit)
				}
			}
			// One bit of the key changed: refused (as a wrong signature, or as an unusable key).
			if identity.VerifySignature(tok, flipKeyBit(t, key)) == nil {
				t.Error("verified with one bit of the key flipped")
			}
		})
	}
}

// flipKeyBit returns key with the lowest bit of its material flipped: of the secret, of RSA's modulus,
// of an EC point's x (which leaves the point off its curve), or of the Ed25519 point.
func flipKeyBit(t *testing.T, key identity.Key) identity.Key {
	t.Helper()
	one := big.NewInt(1)
	switch pub := key.Public.(type) {
	case nil:
		key.Secret = append([]byte(nil), key.Secret...)
		key.Secret[len(key.Secret)-1] ^= 1
	case *rsa.PublicKey:
		key.Public = &rsa.PublicKey{N: new(big.Int).Xor(pub.N, one), E: pub.E}
	case *ecdsa.PublicKey:
		key.Public = &ecdsa.PublicKey{Curve: pub.Curve, X: new(big.Int).Xor(pub.X, one), Y: pub.Y}
	case ed25519.PublicKey:
		flipped := append(ed25519.PublicKey(nil), pub...)
		flipped[0] ^= 1
		key.Public = flipped
	default:
		t.Fatalf("key of type %T", pub)
	}
	return key
}
