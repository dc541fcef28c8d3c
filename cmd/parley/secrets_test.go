package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// dataFiles reads every file of the data folder but the master key: the database, its WAL and anything
// else a backup of "the database" would copy.
func dataFiles(t *testing.T, data string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == seal.FileName {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no database files found")
	}
	return out
}

// secretForms are the ways a secret could sit in a file: as is, and base64-encoded either way.
func secretForms(secret []byte) [][]byte {
	return [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte(base64.RawURLEncoding.EncodeToString(secret))}
}

// TestDatabaseHoldsNoSecret reads the database files byte by byte, as someone holding a copy of them
// (without the master key) would, and finds none of the secrets Parley handed out or holds: the HMAC
// secret, the API key, and the server's private key for customers API login tokens.
func TestDatabaseHoldsNoSecret(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Secrets")["id"].(string)
	hmac := cli(t, data, "key", "create", "--workspace", ws)["secret"].(string)
	hmac512 := cli(t, data, "key", "create", "--workspace", ws, "--alg", "HS512")["secret"].(string)
	apiKey := cli(t, data, "apikey", "create", "--workspace", ws)["key"].(string)

	info, err := os.Stat(filepath.Join(data, seal.FileName))
	if err != nil {
		t.Fatalf("no master key file in the data folder: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("master key file mode %v, want 0600", info.Mode().Perm())
	}

	// The customers API creates the server key on the first login token.
	srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits")
	mustCall(t, "PUT", srv.url()+"/v1/customers/user-1", apiKey, map[string]string{"email": "ada@example.com"}, 201)
	tok := mustCall(t, "POST", srv.url()+"/v1/customers/user-1/login-tokens", apiKey, nil, 201)["token"].(string)
	s := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)
	mustCall(t, "POST", srv.url()+"/v1/widget/login", s["session_token"].(string), map[string]string{"token": tok}, 200)
	srv.stop()

	// What the secrets are, read with the master key the way Parley reads them.
	keyText, err := os.ReadFile(filepath.Join(data, seal.FileName))
	if err != nil {
		t.Fatal(err)
	}
	master, err := seal.Decode(string(keyText))
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(context.Background(), ws)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{"HS256 secret": []byte(hmac), "HS512 secret": []byte(hmac512), "API key": []byte(apiKey), "master key": master}
	var server int
	for _, k := range keys {
		if len(k.Secret) == 0 {
			continue
		}
		plain, err := box.Open(k.Secret, "signing_key/"+ws+"/"+k.ID)
		if err != nil {
			t.Fatalf("the master key does not open key %s: %v", k.ID, err)
		}
		if k.Kind == store.KeyServer {
			server++
			secrets["server private key "+k.ID] = plain
		} else if string(plain) != hmac && string(plain) != hmac512 {
			t.Errorf("key %s opens to something else than the secret the CLI printed", k.ID)
		}
	}
	if server != 1 {
		t.Fatalf("%d server keys with a secret, want 1", server)
	}

	for path, content := range dataFiles(t, data) {
		for what, secret := range secrets {
			for _, form := range secretForms(secret) {
				if bytes.Contains(content, form) {
					t.Errorf("%s holds the %s", filepath.Base(path), what)
				}
			}
		}
	}
	// And the database is not readable with another master key.
	other, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	for _, k := range keys {
		if len(k.Secret) > 0 {
			if _, err := other.Open(k.Secret, "signing_key/"+ws+"/"+k.ID); err == nil {
				t.Errorf("key %s opens with another master key", k.ID)
			}
		}
	}
}

// TestMasterKeyMismatchStopsStart: with the wrong PARLEY_MASTER_KEY, Parley refuses to start (and
// commands refuse to run) instead of failing customers' logins later.
func TestMasterKeyMismatchStopsStart(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Mismatch")["id"].(string)
	cli(t, data, "key", "create", "--workspace", ws)

	wrong := seal.Encode(bytes.Repeat([]byte{9}, seal.KeySize))
	for _, args := range [][]string{{"key", "list", "--workspace", ws}, {"serve", "--addr", "127.0.0.1:0"}} {
		cmd := exec.Command(parleyBinary(t), append(args, "--data", data)...)
		cmd.Env = append(os.Environ(), seal.EnvVar+"="+wrong)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("parley %s ran with the wrong master key:\n%s", args[0], out)
		}
		if !strings.Contains(string(out), "master key does not open") {
			t.Errorf("parley %s with the wrong master key said:\n%s", args[0], out)
		}
	}
	// A malformed one is refused too, with what to do.
	cmd := exec.Command(parleyBinary(t), "key", "list", "--workspace", ws, "--data", data)
	cmd.Env = append(os.Environ(), seal.EnvVar+"=tooshort")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "openssl rand -base64 32") {
		t.Errorf("a malformed master key: %v\n%s", err, out)
	}
}

// TestPlaintextSecretsAreSealedAtStart: a database written before secrets were sealed (its secrets in
// the clear) is sealed by the next command, and its keys keep working.
func TestPlaintextSecretsAreSealedAtStart(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Legacy")["id"].(string)
	key := cli(t, data, "key", "create", "--workspace", ws)
	secret, kid := key["secret"].(string), key["kid"].(string)

	// Put the secret back in the clear, as an earlier version stored it.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.SetSigningKeySecret(ctx, ws, kid, []byte(secret)) }); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cli(t, data, "key", "list", "--workspace", ws) // any command seals
	for path, content := range dataFiles(t, data) {
		// The WAL may still hold the page written in the clear until a checkpoint; the database
		// proper must not.
		if filepath.Base(path) == "parley.db" && bytes.Contains(content, []byte(secret)) {
			t.Errorf("%s still holds the secret in the clear", path)
		}
	}
	srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits")
	s := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)
	token := signHS256(t, kid, secret)
	mustCall(t, "POST", srv.url()+"/v1/widget/login", s["session_token"].(string), map[string]string{"token": token}, 200)
}

// signHS256 signs a short-lived login token for user-1 with an HMAC secret.
func signHS256(t *testing.T, kid, secret string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "user-1", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	tok.Header["kid"] = kid
	s, err := tok.SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
