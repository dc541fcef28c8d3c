package password_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/password"
)

const secret = "correct horse battery staple"

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := password.Hash(pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

func TestPasswordHashFormat(t *testing.T) {
	h := mustHash(t, secret)
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("Hash = %q; want a PHC argon2id string with OWASP parameters, 16-byte salt, 32-byte key", h)
	}
	if h2 := mustHash(t, secret); h2 == h {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", h)
	}
}

func TestPasswordVerify(t *testing.T) {
	h := mustHash(t, secret)
	for _, c := range []struct {
		pw   string
		want bool
	}{
		{secret, true},
		{secret + " ", false},
		{"Correct horse battery staple", false},
		{"", false},
		{strings.Repeat("x", password.MaxBytes+1), false},
	} {
		ok, err := password.Verify(c.pw, h)
		if err != nil || ok != c.want {
			t.Errorf("Verify(%.40q) = %t, %v; want %t", c.pw, ok, err, c.want)
		}
	}
	// Unicode and the longest allowed password round-trip too.
	for _, pw := range []string{"pässwörd 🔑 ünïcode", strings.Repeat("é", password.MaxBytes/2)} {
		if ok, err := password.Verify(pw, mustHash(t, pw)); !ok || err != nil {
			t.Errorf("Verify(%.20q…) of its own hash = %t, %v", pw, ok, err)
		}
	}
	if _, err := password.Hash(strings.Repeat("x", password.MaxBytes+1)); !errors.Is(err, password.ErrTooLong) {
		t.Errorf("Hash(too long) = %v; want ErrTooLong", err)
	}
}

// replaceField swaps one $-separated field of a PHC string.
func replaceField(h string, i int, v string) string {
	f := strings.Split(h, "$")
	f[i] = v
	return strings.Join(f, "$")
}

func TestPasswordTamperedHash(t *testing.T) {
	h := mustHash(t, secret)
	f := strings.Split(h, "$")
	flip := func(s string) string { // change the first character to another valid one
		c := "A"
		if s[0] == 'A' {
			c = "B"
		}
		return c + s[1:]
	}
	for name, tampered := range map[string]string{
		"hash":       replaceField(h, 5, flip(f[5])),
		"salt":       replaceField(h, 4, flip(f[4])),
		"iterations": replaceField(h, 3, "m=19456,t=3,p=1"),
		"memory":     replaceField(h, 3, "m=19457,t=2,p=1"),
		"lanes":      replaceField(h, 3, "m=19456,t=2,p=2"),
	} {
		if ok, err := password.Verify(secret, tampered); ok || err != nil {
			t.Errorf("Verify with tampered %s = %t, %v; want false, nil", name, ok, err)
		}
	}
}

func TestPasswordMalformedRefused(t *testing.T) {
	h := mustHash(t, secret)
	f := strings.Split(h, "$")
	salt, key := f[4], f[5]
	cases := map[string]struct {
		encoded string
		want    error
	}{
		"empty":               {"", password.ErrMalformed},
		"plain text":          {secret, password.ErrMalformed},
		"no leading $":        {strings.TrimPrefix(h, "$"), password.ErrMalformed},
		"trailing $":          {h + "$", password.ErrMalformed},
		"missing hash":        {strings.Join(f[:5], "$"), password.ErrMalformed},
		"argon2i":             {replaceField(h, 1, "argon2i"), password.ErrUnsupported},
		"argon2d":             {replaceField(h, 1, "argon2d"), password.ErrUnsupported},
		"bcrypt":              {"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", password.ErrMalformed},
		"upper-case alg":      {replaceField(h, 1, "ARGON2ID"), password.ErrUnsupported},
		"version 16":          {replaceField(h, 2, "v=16"), password.ErrUnsupported},
		"version missing":     {"$argon2id$m=19456,t=2,p=1$" + salt + "$" + key, password.ErrMalformed},
		"params reordered":    {replaceField(h, 3, "t=2,m=19456,p=1"), password.ErrMalformed},
		"param missing":       {replaceField(h, 3, "m=19456,t=2"), password.ErrMalformed},
		"extra param":         {replaceField(h, 3, "m=19456,t=2,p=1,keyid=x"), password.ErrMalformed},
		"leading zero":        {replaceField(h, 3, "m=019456,t=2,p=1"), password.ErrMalformed},
		"plus sign":           {replaceField(h, 3, "m=+19456,t=2,p=1"), password.ErrMalformed},
		"negative":            {replaceField(h, 3, "m=19456,t=-2,p=1"), password.ErrMalformed},
		"space":               {replaceField(h, 3, "m=19456, t=2,p=1"), password.ErrMalformed},
		"hex":                 {replaceField(h, 3, "m=0x4c00,t=2,p=1"), password.ErrMalformed},
		"huge number":         {replaceField(h, 3, "m=99999999999999999999,t=2,p=1"), password.ErrMalformed},
		"padded salt":         {replaceField(h, 4, salt+"=="), password.ErrMalformed},
		"url-safe base64":     {replaceField(h, 5, strings.NewReplacer("+", "-", "/", "_").Replace(key)+"-_"), password.ErrMalformed},
		"non-canonical tail":  {replaceField(h, 4, salt[:len(salt)-1]+"B"), password.ErrMalformed},
		"short salt":          {replaceField(h, 4, "AAAAAAAA"), password.ErrUnsupported},
		"short hash":          {replaceField(h, 5, "AAAAAAAAAAAAAAAAAAAA"), password.ErrUnsupported},
		"memory too high":     {replaceField(h, 3, "m=65537,t=2,p=1"), password.ErrUnsupported},
		"memory absurd":       {replaceField(h, 3, "m=4294967295,t=2,p=1"), password.ErrUnsupported},
		"memory below lanes":  {replaceField(h, 3, "m=15,t=2,p=2"), password.ErrUnsupported},
		"iterations too many": {replaceField(h, 3, "m=19456,t=11,p=1"), password.ErrUnsupported},
		"iterations zero":     {replaceField(h, 3, "m=19456,t=0,p=1"), password.ErrUnsupported},
		"lanes too many":      {replaceField(h, 3, "m=19456,t=2,p=5"), password.ErrUnsupported},
		"lanes zero":          {replaceField(h, 3, "m=19456,t=2,p=0"), password.ErrUnsupported},
		"lanes overflow byte": {replaceField(h, 3, "m=19456,t=2,p=257"), password.ErrUnsupported},
	}
	// Were an absurd hash ever computed rather than refused, "memory absurd" alone would allocate 4 TiB.
	hasher := password.NewHasher(1)
	for name, c := range cases {
		ok, err := password.Verify(secret, c.encoded)
		if ok || !errors.Is(err, c.want) {
			t.Errorf("%s: Verify(%q) = %t, %v; want an error wrapping %v", name, c.encoded, ok, err, c.want)
		}
		if ok, err := hasher.Verify(t.Context(), secret, c.encoded); ok || !errors.Is(err, c.want) {
			t.Errorf("%s: Hasher.Verify = %t, %v; want an error wrapping %v", name, ok, err, c.want)
		}
	}
	// The caps themselves are accepted (a hash made with stronger settings elsewhere still verifies).
	if ok, err := password.Verify(secret, replaceField(h, 3, "m=65536,t=1,p=4")); ok || err != nil {
		t.Errorf("Verify at the memory and lane caps = %t, %v; want false, nil", ok, err)
	}
}

func TestPasswordHasher(t *testing.T) {
	ctx := t.Context()
	hasher := password.NewHasher(2)
	h, err := hasher.Hash(ctx, secret)
	if err != nil {
		t.Fatalf("Hasher.Hash: %v", err)
	}
	if ok, err := hasher.Verify(ctx, secret, h); !ok || err != nil {
		t.Errorf("Hasher.Verify(right password) = %t, %v", ok, err)
	}
	if ok, err := hasher.Verify(ctx, "wrong password!", h); ok || err != nil {
		t.Errorf("Hasher.Verify(wrong password) = %t, %v", ok, err)
	}
	if ok, err := password.Verify(secret, h); !ok || err != nil {
		t.Errorf("package Verify of a Hasher's hash = %t, %v", ok, err)
	}
	if err := hasher.VerifyDummy(ctx, secret); err != nil {
		t.Errorf("VerifyDummy: %v", err)
	}
	if _, err := hasher.Hash(ctx, strings.Repeat("x", password.MaxBytes+1)); !errors.Is(err, password.ErrTooLong) {
		t.Errorf("Hasher.Hash(too long) = %v; want ErrTooLong", err)
	}
}

// TestPasswordHasherCap holds the only slot and checks that every method waits for it, and gives up
// when its context ends.
func TestPasswordHasherCap(t *testing.T) {
	hasher := password.NewHasher(1)
	h := mustHash(t, secret)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := hasher.Hash(cancelled, secret); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with a cancelled context = %v", err)
	}

	// Occupy the slot with a long verification: high memory and iterations within the caps.
	slow := replaceField(h, 3, "m=65536,t=10,p=1")
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		close(started)
		hasher.Verify(context.Background(), secret, slow)
	}()
	<-started
	// Wait until the slot is taken: a probe that cannot get it within 5ms is refused.
	for deadline := time.Now().Add(5 * time.Second); ; {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		err := hasher.VerifyDummy(ctx, secret)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow verification never took the slot")
		}
	}
	calls := map[string]func(ctx context.Context) error{
		"Hash": func(ctx context.Context) error { _, err := hasher.Hash(ctx, secret); return err },
		"Verify": func(ctx context.Context) error {
			_, err := hasher.Verify(ctx, secret, h)
			return err
		},
		"VerifyDummy": func(ctx context.Context) error { return hasher.VerifyDummy(ctx, secret) },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		err := call(ctx)
		cancel()
		select {
		case <-done:
			t.Skip("the slow verification finished before the others could be refused; machine too fast")
		default:
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while the only slot is busy = %v; want to give up with the context", name, err)
		}
	}
	<-done
	if err := hasher.VerifyDummy(t.Context(), secret); err != nil {
		t.Errorf("VerifyDummy once the slot is free: %v", err)
	}
}

// VerifyDummy must cost what a real verification does, so that a sign-in with an unknown email is not
// measurably faster. Timing it here would be noise on a busy machine; instead: it runs exactly one key
// derivation, as Verify does (the parameters it derives with are checked in dummy_internal_test.go), and
// BenchmarkVerify / BenchmarkVerifyDummy report the two costs side by side.
func TestPasswordDummyDoesTheWork(t *testing.T) {
	ctx := t.Context()
	hasher := password.NewHasher(1)
	h := mustHash(t, secret)
	for name, fn := range map[string]func(){
		"Verify":      func() { hasher.Verify(ctx, "wrong password!", h) },
		"VerifyDummy": func() { hasher.VerifyDummy(ctx, "wrong password!") },
	} {
		before := hasher.Derivations()
		fn()
		if n := hasher.Derivations() - before; n != 1 {
			t.Errorf("%s ran %d key derivations, want 1", name, n)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h, err := password.Hash(secret)
	if err != nil {
		b.Fatal(err)
	}
	hasher := password.NewHasher(1)
	for b.Loop() {
		hasher.Verify(b.Context(), "wrong password!", h)
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	hasher := password.NewHasher(1)
	for b.Loop() {
		hasher.VerifyDummy(b.Context(), "wrong password!")
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := password.Hash(secret); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHasherHashParallel(b *testing.B) {
	hasher := password.NewHasher(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := hasher.Hash(context.Background(), secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}
