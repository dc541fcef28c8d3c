package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireNode reports where the Node test project is, skipping when its packages are not installed
// unless PARLEY_REQUIRE_NODE=1 (set by the test script and CI), where a skip would hide a failure.
func requireNode(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../tests")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jsrsasign")); err != nil {
		if os.Getenv("PARLEY_REQUIRE_NODE") == "1" {
			t.Fatalf("the Node test packages are not installed (run `npm ci` in tests/): %v", err)
		}
		t.Skip("Node test packages not installed; run `npm ci` in tests/ (scripts/test does)")
	}
	return dir
}

// nodeSign signs claims with one of the JavaScript JWT libraries through tests/interop/sign.mjs.
func nodeSign(t *testing.T, dir, lib, alg, secret, kid string, claims map[string]any) string {
	t.Helper()
	in := map[string]any{"lib": lib, "alg": alg, "secret": secret, "claims": claims}
	if kid != "" {
		in["kid"] = kid
	}
	req, _ := json.Marshal(in)
	cmd := exec.Command("node", filepath.Join(dir, "interop", "sign.mjs"))
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sign.mjs (%s %s): %v\n%s", lib, alg, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestInteropJavaScriptLibraries signs login tokens with jsrsasign (as the Chat for JSM sample does,
// with Date.now()/1000 times), jsonwebtoken and jose, using secrets exactly as `parley key create`
// prints them, and logs in with each against a running `parley serve`.
func TestInteropJavaScriptLibraries(t *testing.T) {
	dir := requireNode(t)
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Interop Shop")["id"].(string)
	keys := map[string]map[string]any{}
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		keys[alg] = cli(t, data, "key", "create", "--workspace", ws, "--alg", alg)
	}
	srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits")

	for _, lib := range []string{"jsrsasign", "jsonwebtoken", "jose"} {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			for _, withKid := range []bool{true, false} {
				key := keys[alg]
				kid := ""
				if withKid {
					kid = key["kid"].(string)
				}
				name := lib + "/" + alg
				if !withKid {
					name += "/no-kid"
				}
				t.Run(name, func(t *testing.T) {
					now := float64(time.Now().UnixMilli()) / 1000 // Date.now() / 1000, fraction and all
					email := strings.ToLower(lib+"-"+alg) + "@example.com"
					claims := map[string]any{"email": email, "displayName": "Interop " + lib, "iat": now, "exp": now + 60*5}
					token := nodeSign(t, dir, lib, alg, key["secret"].(string), kid, claims)

					session := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)
					res := mustCall(t, "POST", srv.url()+"/v1/widget/login", session["session_token"].(string), map[string]string{"token": token}, 200)
					id := res["identity"].(map[string]any)
					if id["level"] != "verified" || id["email"] != email || id["name"] != "Interop "+lib {
						t.Fatalf("identity = %v", id)
					}
					// The signature is what matters: one flipped secret character must fail.
					secret := []byte(key["secret"].(string))
					secret[len(secret)-1] ^= 1
					bad := nodeSign(t, dir, lib, alg, string(secret), kid, claims)
					s2 := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)
					res = mustCall(t, "POST", srv.url()+"/v1/widget/login", s2["session_token"].(string), map[string]string{"token": bad}, 401)
					if code := res["error"].(map[string]any)["code"]; code != "token_bad_signature" {
						t.Fatalf("wrong secret gave %v", code)
					}
				})
			}
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, srv.log())
	}
}
