package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A JWKS on a private address is the operator's decision: `key create --jwks-url` fetches from
// 127.0.0.1 only with --jwks-allow-networks (or PARLEY_JWKS_ALLOW_NETWORKS, which serve reads too);
// --allow-private-addresses is still accepted, and grants nothing.
func TestCLIKeyCreateJWKSAllowNetworks(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub), "kid": "idp-1", "alg": "EdDSA", "use": "sig",
	}}})
	var hits atomic.Int64
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write(set)
	}))
	defer idp.Close()
	jwksURL := idp.URL + "/jwks.json"
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	ws := newCLIWorkspace(t, env)
	create := func(env map[string]string, extra ...string) (map[string]any, string, error) {
		t.Helper()
		out, errOut, err := runCLI(t, env, append([]string{"key", "create", "--workspace", ws, "--jwks-url", jwksURL, "--json"}, extra...)...)
		return decodeOne(t, out), errOut, err
	}

	for _, extra := range [][]string{nil, {"--allow-private-addresses"}, {"--jwks-allow-networks", "10.0.0.0/8"}} {
		out, errOut, err := create(env, extra...)
		e, _ := out["error"].(map[string]any)
		if err == nil || e["code"] != "invalid_field" || !strings.Contains(e["message"].(string), "--jwks-allow-networks") {
			t.Fatalf("%v: %v %v", extra, out, err)
		}
		if len(extra) == 1 && !strings.Contains(errOut, "--allow-private-addresses no longer changes anything") {
			t.Errorf("no note that --allow-private-addresses grants nothing: %q", errOut)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d fetches of a refused URL", n)
	}
	if _, _, err := runCLI(t, env, "key", "create", "--workspace", ws, "--jwks-url", jwksURL, "--jwks-allow-networks", "not-a-network"); exitCode(err) != 2 {
		t.Fatalf("a bad --jwks-allow-networks: %v (exit %d), want a usage error", err, exitCode(err))
	}

	// The operator's allow-list, by flag or environment.
	out, _, err := create(env, "--jwks-allow-networks", "127.0.0.0/8")
	if err != nil || out["kind"] != "jwks" || out["keys"] != float64(1) {
		t.Fatalf("allowed by flag: %v %v", out, err)
	}
	withEnv := map[string]string{"PARLEY_DATA": env["PARLEY_DATA"], "PARLEY_JWKS_ALLOW_NETWORKS": "192.168.0.0/16, 127.0.0.1"}
	if out, _, err := create(withEnv); err != nil || out["kind"] != "jwks" {
		t.Fatalf("allowed by environment: %v %v", out, err)
	}
}

// serve refuses an allow-list it cannot read before it opens anything.
func TestServeJWKSAllowNetworksMalformed(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--jwks-allow-networks", "10.0.0.0/33"},
		{"serve", "--addr", "127.0.0.1:0", "--jwks-allow-networks", "intranet"},
	} {
		if _, errOut, err := runCLI(t, env, args...); exitCode(err) != 2 || !strings.Contains(errOut+err.Error(), "--jwks-allow-networks") {
			t.Errorf("%v: %v (exit %d) %s", args, err, exitCode(err), errOut)
		}
	}
	withEnv := map[string]string{"PARLEY_DATA": env["PARLEY_DATA"], "PARLEY_JWKS_ALLOW_NETWORKS": "nope"}
	if _, _, err := runCLI(t, withEnv, "serve", "--addr", "127.0.0.1:0"); exitCode(err) != 2 {
		t.Errorf("from the environment: %v (exit %d)", err, exitCode(err))
	}
}
