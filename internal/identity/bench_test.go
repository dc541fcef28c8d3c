package identity_test

import (
	"crypto"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/identity"
)

// BenchmarkVerify is a whole Verify of a typical login token, per algorithm: strict parsing, key
// selection, the signature and the claims. The signature dominates every public-key algorithm.
func BenchmarkVerify(b *testing.B) {
	claims := `{"sub":"u1","email":"ada@example.com","name":"Ada Lovelace","aud":"ws_test","iat":` + at(-10) + `,"exp":` + at(290) + `}`
	for _, tc := range []struct {
		alg    string
		method jwt.SigningMethod
		priv   crypto.PrivateKey
		pub    crypto.PublicKey
	}{
		{identity.HS256, jwt.SigningMethodHS256, testSecret, nil},
		{identity.RS256, jwt.SigningMethodRS256, rsaKey(), &rsaKey().PublicKey},
		{identity.PS256, jwt.SigningMethodPS256, rsaKey(), &rsaKey().PublicKey},
		{identity.ES256, jwt.SigningMethodES256, p256Key(), &p256Key().PublicKey},
		{identity.EdDSA, jwt.SigningMethodEdDSA, edKey(), edKey().Public()},
	} {
		b.Run(tc.alg, func(b *testing.B) {
			key := identity.Key{ID: "k1", Alg: tc.alg, Secret: testSecret}
			if tc.pub != nil {
				key = register(b, "k1", tc.alg, tc.pub)
			}
			raw := signWith(b, tc.method, tc.priv, `{"alg":"`+tc.alg+`","kid":"k1","typ":"JWT"}`, claims)
			keys := []identity.Key{key}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := identity.Verify(raw, keys, testPolicy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
