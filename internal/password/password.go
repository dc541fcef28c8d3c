// Package password hashes and verifies agents' passwords with argon2id, stored as PHC strings
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>").
//
// One hash costs about 19 MiB of memory and tens of milliseconds of CPU, on purpose. A server uses a
// Hasher, which bounds how many run at once so that a burst of logins cannot exhaust memory; the
// package-level Hash and Verify are the uncapped primitives beneath it.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// OWASP's recommended argon2id parameters (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.
const (
	Memory      = 19 * 1024 // KiB
	Iterations  = 2
	Parallelism = 1
	SaltLength  = 16 // bytes
	KeyLength   = 32 // bytes
)

// Limits on what a stored hash may ask for. A hash is data, possibly restored from a backup or written
// by someone with database access: without caps one row could make every login attempt for that email
// allocate gigabytes or spin for minutes.
const (
	MaxMemory      = 64 * 1024 // KiB
	MaxIterations  = 10
	MaxParallelism = 4
	minSaltLength  = 8
	maxSaltLength  = 64
	minKeyLength   = 16
	maxKeyLength   = 64
)

// MaxBytes is the longest password hashed. Longer ones add no security, and argon2 reads all of its
// input, so an unbounded one would let a client make the server hash megabytes.
const MaxBytes = 1024

// Errors. ErrMalformed and ErrUnsupported are returned wrapped, with details.
var (
	ErrTooLong     = fmt.Errorf("password: longer than %d bytes", MaxBytes)
	ErrMalformed   = errors.New("password: malformed hash")
	ErrUnsupported = errors.New("password: unsupported hash parameters")
)

const (
	algorithm = "argon2id"
	version   = "v=19" // argon2.Version, 0x13
)

var b64 = base64.RawStdEncoding.Strict() // PHC: standard alphabet, no padding

// params are the inputs argon2id takes besides the password and salt.
type params struct {
	memory      uint32
	iterations  uint32
	parallelism uint8
}

var defaults = params{memory: Memory, iterations: Iterations, parallelism: Parallelism}

func (p params) key(password string, salt []byte, length int) []byte {
	return argon2.IDKey([]byte(password), salt, p.iterations, p.memory, p.parallelism, uint32(length))
}

// Hash returns the PHC string of password under a fresh random salt and the package's parameters.
func Hash(password string) (string, error) {
	if len(password) > MaxBytes {
		return "", ErrTooLong
	}
	salt := make([]byte, SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	key := defaults.key(password, salt, KeyLength)
	return fmt.Sprintf("$%s$%s$m=%d,t=%d,p=%d$%s$%s", algorithm, version, defaults.memory, defaults.iterations,
		defaults.parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string encoded, recomputing it with the parameters
// stored there. A wrong password is (false, nil); an encoded string that is not an argon2id hash this
// package accepts is an error wrapping ErrMalformed or ErrUnsupported.
func Verify(password, encoded string) (bool, error) {
	p, salt, want, err := parse(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxBytes {
		return false, nil // Hash never stored one
	}
	got := p.key(password, salt, len(want))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parse reads a PHC string strictly: exactly the fields Hash writes, in its order, canonical decimal
// numbers and canonical unpadded base64, parameters within the caps.
func parse(encoded string) (p params, salt, key []byte, err error) {
	malformed := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, malformed("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if fields[1] != algorithm {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q; only %s is supported", ErrUnsupported, fields[1], algorithm)
	}
	if fields[2] != version {
		return p, nil, nil, fmt.Errorf("%w: version %q; only %s is supported", ErrUnsupported, fields[2], version)
	}
	names := []string{"m", "t", "p"}
	values := make([]uint64, len(names))
	parts := strings.Split(fields[3], ",")
	if len(parts) != len(names) {
		return p, nil, nil, malformed("parameters %q: want m=…,t=…,p=…", fields[3])
	}
	for i, part := range parts {
		name, value, ok := strings.Cut(part, "=")
		if !ok || name != names[i] {
			return p, nil, nil, malformed("parameters %q: want m=…,t=…,p=…", fields[3])
		}
		n, ok := canonicalUint(value)
		if !ok {
			return p, nil, nil, malformed("parameter %s=%q is not a decimal number", name, value)
		}
		values[i] = n
	}
	m, t, par := values[0], values[1], values[2]
	switch {
	case par < 1 || par > MaxParallelism:
		return p, nil, nil, fmt.Errorf("%w: p=%d; must be 1 to %d", ErrUnsupported, par, MaxParallelism)
	case t < 1 || t > MaxIterations:
		return p, nil, nil, fmt.Errorf("%w: t=%d; must be 1 to %d", ErrUnsupported, t, MaxIterations)
	case m < 8*par || m > MaxMemory:
		// argon2 needs at least 8 KiB per lane.
		return p, nil, nil, fmt.Errorf("%w: m=%d; must be %d to %d KiB", ErrUnsupported, m, 8*par, MaxMemory)
	}
	p = params{memory: uint32(m), iterations: uint32(t), parallelism: uint8(par)}
	if salt, err = b64.DecodeString(fields[4]); err != nil {
		return p, nil, nil, malformed("salt is not unpadded base64")
	}
	if len(salt) < minSaltLength || len(salt) > maxSaltLength {
		return p, nil, nil, fmt.Errorf("%w: salt of %d bytes; must be %d to %d", ErrUnsupported, len(salt), minSaltLength, maxSaltLength)
	}
	if key, err = b64.DecodeString(fields[5]); err != nil {
		return p, nil, nil, malformed("hash is not unpadded base64")
	}
	if len(key) < minKeyLength || len(key) > maxKeyLength {
		return p, nil, nil, fmt.Errorf("%w: hash of %d bytes; must be %d to %d", ErrUnsupported, len(key), minKeyLength, maxKeyLength)
	}
	return p, salt, key, nil
}

// canonicalUint parses a decimal number without sign, leading zeros or anything else around it.
func canonicalUint(s string) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Hasher runs Hash and Verify at most a fixed number at a time. Memory use is bounded by that number
// times the memory of one hash (19 MiB for hashes made here, at most MaxMemory for stored ones).
type Hasher struct {
	sem chan struct{}
	// derivations counts the key derivations run, the work that decides how long a check takes: every
	// way a sign-in can fail must do the same number, which tests check by counting instead of timing.
	derivations atomic.Uint64
}

// Derivations reports how many key derivations (hashes, verifications, dummy verifications) ran.
func (h *Hasher) Derivations() uint64 { return h.derivations.Load() }

// NewHasher returns a Hasher that runs at most maxConcurrent hashes at once (at least 1).
func NewHasher(maxConcurrent int) *Hasher {
	return &Hasher{sem: make(chan struct{}, max(1, maxConcurrent))}
}

// acquire waits for a slot, or for ctx to end.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash is the package's Hash, waiting for a slot first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxBytes {
		return "", ErrTooLong
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	h.derivations.Add(1)
	return Hash(password)
}

// Verify is the package's Verify, waiting for a slot first.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	if _, _, _, err := parse(encoded); err != nil {
		return false, err // refuse before queueing for a slot
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	h.derivations.Add(1)
	return Verify(password, encoded)
}

// VerifyDummy does the work of verifying password against a hash made by Hash, and throws the answer
// away. Call it when there is no hash to check (the email is unknown), so that the response takes as
// long as a real check and does not tell which emails have accounts.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	if len(password) > MaxBytes {
		return nil // Verify does no work for these either
	}
	h.derivations.Add(1)
	// Any salt of the real length costs the same; the comparison stands in for Verify's.
	key := defaults.key(password, make([]byte, SaltLength), KeyLength)
	subtle.ConstantTimeCompare(key, make([]byte, KeyLength))
	return nil
}
