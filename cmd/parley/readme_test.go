package main

import (
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

// TestREADMESnippets runs the token-signing snippets of the README exactly as written, with the secret
// and kid `parley key create` printed, and logs in with the tokens they print.
func TestREADMESnippets(t *testing.T) {
	snippets := readmeSnippets(t)
	for _, name := range []string{"go", "node-jsonwebtoken", "node-jsrsasign"} {
		if snippets[name] == "" {
			t.Fatalf("README.md has no snippet marked readme-test:%s", name)
		}
	}
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Readme")["id"].(string)
	key := cli(t, data, "key", "create", "--workspace", ws)
	srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits")
	env := append(os.Environ(), "PARLEY_SECRET="+key["secret"].(string), "PARLEY_KID="+key["kid"].(string))

	login := func(t *testing.T, token string) {
		t.Helper()
		s := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)
		res := mustCall(t, "POST", srv.url()+"/v1/widget/login", s["session_token"].(string), map[string]string{"token": token}, 200)
		if res["identity"].(map[string]any)["level"] != "verified" {
			t.Fatalf("login with the README token: %v", res)
		}
	}

	t.Run("go", func(t *testing.T) {
		// Inside the module, so the snippet's import resolves to the module's golang-jwt.
		dir, err := os.MkdirTemp("testdata", "readme-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		file := filepath.Join(dir, "main.go")
		if err := os.WriteFile(file, []byte(snippets["go"]), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "run", "./"+file)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go run README snippet: %v", err)
		}
		login(t, strings.TrimSpace(string(out)))
	})
	for _, name := range []string{"node-jsonwebtoken", "node-jsrsasign"} {
		t.Run(name, func(t *testing.T) {
			dir := requireNode(t)
			// Next to tests/node_modules, so the snippet's imports resolve.
			file := filepath.Join(dir, ".readme-"+name+".mjs")
			if err := os.WriteFile(file, []byte(snippets[name]), 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(file)
			cmd := exec.Command("node", file)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node README snippet: %v", err)
			}
			login(t, strings.TrimSpace(string(out)))
		})
	}
}
