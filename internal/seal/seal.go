// Package seal encrypts the secrets Parley must be able to read back — workspaces' HMAC secrets and the
// server's own signing keys — with a master key kept outside the database, so that a copy of the
// database alone reveals none of them.
//
// The cipher is AES-256-GCM from the standard library. Every sealed value is bound to the row it belongs
// to (the caller passes a label such as "signing_key/ws_1/k_2" as additional data), so a ciphertext
// copied into another row does not open there.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a master key: AES-256.
const KeySize = 32

// EnvVar names the environment variable that carries the master key.
const EnvVar = "PARLEY_MASTER_KEY"

// FileName is the master key's file in the data folder when EnvVar is not set.
const FileName = "master.key"

// version prefixes every sealed value, so the format can change without guessing.
const version byte = 1

// ErrOpen means a sealed value could not be opened: a different master key, another row's value, or
// damage. The three are indistinguishable by design.
var ErrOpen = errors.New("seal: cannot open sealed value (wrong master key, or the value belongs to another row)")

// Box seals and opens values with one master key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte master key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: master key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext for the row named by label: version byte, random nonce, ciphertext and tag.
func (b *Box) Seal(plaintext []byte, label string) []byte {
	out := make([]byte, 1, 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out[0] = version
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	out = append(out, nonce...)
	return b.aead.Seal(out, nonce, plaintext, []byte(label))
}

// Open decrypts a value Seal produced for the same label.
func (b *Box) Open(sealed []byte, label string) ([]byte, error) {
	n := b.aead.NonceSize()
	if !IsSealed(sealed) || len(sealed) < 1+n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(label))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// IsSealed reports whether v looks like a sealed value rather than a plaintext secret from a database
// written before secrets were sealed. Plaintext secrets are printable ASCII ("psk_…"), never byte 1.
func IsSealed(v []byte) bool { return len(v) > 0 && v[0] == version }

// Encode formats a master key for EnvVar or the key file.
func Encode(key []byte) string { return base64.RawURLEncoding.EncodeToString(key) }

// Decode reads a master key as Encode writes it; standard base64 (with or without padding) is accepted
// too, since `openssl rand -base64 32` is how many people will make one.
func Decode(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("master key decodes to %d bytes; it must be %d (make one with `openssl rand -base64 32`)", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, errors.New("master key is not base64 (make one with `openssl rand -base64 32`)")
}

// Load returns the master key: from the environment value when it is set, else from the key file in
// dir, which is created (mode 0600, 32 random bytes) when it does not exist yet. created reports that.
func Load(envValue, dir string) (key []byte, created bool, err error) {
	if envValue != "" {
		key, err := Decode(envValue)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvVar, err)
		}
		return key, false, nil
	}
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := Decode(string(data))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	key = make([]byte, KeySize)
	_, _ = rand.Read(key)
	// Written to a temporary file and linked into place: link fails if the name exists, so two processes
	// starting at once never each keep their own key, and nobody ever reads a half-written file.
	tmp, err := os.CreateTemp(dir, ".master.key-*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if _, err := tmp.WriteString(Encode(key) + "\n"); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Load("", dir)
		}
		return nil, false, err
	}
	return key, true, nil
}
