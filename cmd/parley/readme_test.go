package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeSnippets returns the code blocks of README.md marked <!-- readme-test:NAME -->.
func readmeSnippets(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- readme-test:([a-z0-9-]+) -->\\s*```[a-z]*\\n(.*?)```")
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// runSnippet runs a README code block exactly as written, with env, and returns what it printed.
func runSnippet(t *testing.T, name, code string, env []string) string {
	t.Helper()
	var cmd *exec.Cmd
	if strings.HasPrefix(name, "go") {
		// Inside the module, so the snippet's import resolves to the module's golang-jwt.
		dir, err := os.MkdirTemp("testdata", "readme-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		file := filepath.Join(dir, "main.go")
		if err := os.WriteFile(file, []byte(code), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command("go", "run", "./"+file)
	} else {
		dir := requireNode(t)
		// Next to tests/node_modules, so the snippet's imports resolve.
		file := filepath.Join(dir, ".readme-"+name+".mjs")
		if err := os.WriteFile(file, []byte(code), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(file)
		cmd = exec.Command("node", file)
	}
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("README snippet %s: %v\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestREADMESnippets runs the README's integration snippets exactly as written — signing with a Parley
// secret, with your own private key, and asking the customers API for a token — with what the CLI
// printed, and logs in with the tokens they print.
func TestREADMESnippets(t *testing.T) {
	snippets := readmeSnippets(t)
	names := []string{"go", "node-jsonwebtoken", "node-jsrsasign", "go-public-key", "node-public-key", "go-customers-api", "node-customers-api"}
	for _, name := range names {
		if snippets[name] == "" {
			t.Fatalf("README.md has no snippet marked readme-test:%s", name)
		}
	}
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Readme")["id"].(string)
	key := cli(t, data, "key", "create", "--workspace", ws)

	// The README's openssl commands, done in Go: a P-256 key pair, the public half registered.
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privFile, pubFile := filepath.Join(data, "private.pem"), filepath.Join(data, "public.pem")
	os.WriteFile(privFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600)
	public := cli(t, data, "key", "create", "--workspace", ws, "--alg", "ES256", "--public-key", pubFile)
	apiKey := cli(t, data, "apikey", "create", "--workspace", ws, "--name", "readme")

	srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits")
	env := map[string][]string{
		"secret":    append(os.Environ(), "PARLEY_SECRET="+key["secret"].(string), "PARLEY_KID="+key["kid"].(string)),
		"public":    append(os.Environ(), "PARLEY_PRIVATE_KEY_FILE="+privFile, "PARLEY_KID="+public["kid"].(string)),
		"customers": append(os.Environ(), "PARLEY_URL="+srv.url(), "PARLEY_API_KEY="+apiKey["key"].(string)),
	}

	login := func(t *testing.T, token string) map[string]any {
		t.Helper()
		s := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)
		res := mustCall(t, "POST", srv.url()+"/v1/widget/login", s["session_token"].(string), map[string]string{"token": token}, 200)
		id := res["identity"].(map[string]any)
		if id["level"] != "verified" {
			t.Fatalf("login with the README token: %v", res)
		}
		return id
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			style := "secret"
			switch {
			case strings.HasSuffix(name, "public-key"):
				style = "public"
			case strings.HasSuffix(name, "customers-api"):
				style = "customers"
			}
			if !strings.HasPrefix(name, "go") {
				requireNode(t)
			}
			id := login(t, runSnippet(t, name, snippets[name], env[style]))
			if style == "customers" && (id["email"] != "ada@example.com" || id["name"] != "Ada Lovelace") {
				t.Errorf("the customers API snippet logged in as %v", id)
			}
		})
	}
}
