package seal_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/seal"
)

func newBox(t *testing.T) (*seal.Box, []byte) {
	t.Helper()
	key := bytes.Repeat([]byte{7}, seal.KeySize)
	b, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b, key
}

func TestSealOpen(t *testing.T) {
	b, _ := newBox(t)
	secret := []byte("psk_secret-value")
	sealed := b.Seal(secret, "signing_key/ws_1/k_1")
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	if !seal.IsSealed(sealed) || seal.IsSealed(secret) {
		t.Fatal("IsSealed cannot tell sealed from plaintext")
	}
	got, err := b.Open(sealed, "signing_key/ws_1/k_1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again := b.Seal(secret, "signing_key/ws_1/k_1"); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are identical: the nonce is not random")
	}
	// Another row's label, another master key, or one flipped bit: all refused.
	if _, err := b.Open(sealed, "signing_key/ws_2/k_1"); err != seal.ErrOpen {
		t.Errorf("opened under another label: %v", err)
	}
	other, err := seal.New(bytes.Repeat([]byte{8}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, "signing_key/ws_1/k_1"); err != seal.ErrOpen {
		t.Errorf("opened with another master key: %v", err)
	}
	for i := range sealed {
		flipped := bytes.Clone(sealed)
		flipped[i] ^= 0x40
		if _, err := b.Open(flipped, "signing_key/ws_1/k_1"); err == nil {
			t.Fatalf("opened with byte %d changed", i)
		}
	}
	for _, short := range [][]byte{nil, {1}, sealed[:20]} {
		if _, err := b.Open(short, "x"); err != seal.ErrOpen {
			t.Errorf("Open(%x) = %v", short, err)
		}
	}
}

func TestNewRefusesWrongKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := seal.New(make([]byte, n)); err == nil {
			t.Errorf("accepted a %d-byte key", n)
		}
	}
}

func TestLoadCreatesKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key, created, err := seal.Load("", dir)
	if err != nil || !created || len(key) != seal.KeySize {
		t.Fatalf("Load = %x, %v, %v", key, created, err)
	}
	info, err := os.Stat(filepath.Join(dir, seal.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}
	again, created, err := seal.Load("", dir)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second Load = %x, %v, %v; want the same key, not created", again, created, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data folder holds %d entries, want only the key file (no temporary left behind)", len(entries))
	}
}

func TestLoadConcurrentStartersAgree(t *testing.T) {
	dir := t.TempDir()
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := seal.Load("", dir)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent starters ended with different master keys")
		}
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte{0xab}, seal.KeySize)
	for _, s := range []string{seal.Encode(want), "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=", "  " + seal.Encode(want) + "\n"} {
		key, created, err := seal.Load(s, dir)
		if err != nil || created || !bytes.Equal(key, want) {
			t.Errorf("Load(%q) = %x, %v, %v", s, key, created, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Error("a key from the environment must not write a key file")
	}
	for _, bad := range []string{"not base64 !!", seal.Encode(make([]byte, 16))} {
		if _, _, err := seal.Load(bad, dir); err == nil {
			t.Errorf("Load(%q) accepted", bad)
		}
	}
}
