package main

import (
	"net/http"
	"testing"
)

// An operator ends every widget session of a workspace from the command line while the server runs;
// revoking a key says how many sessions it ended.
func TestCLIEndSessions(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Acme")["id"].(string)
	key := cli(t, data, "key", "create", "--workspace", ws)
	srv := startServer(t, data, freeAddr(t))

	session := func() string {
		v := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, http.StatusCreated)
		return v["session_token"].(string)
	}
	first, second := session(), session()
	// Used before: the server holds them in its memory (chat's authcache.go), which must learn of the
	// CLI's commit, another process's, at once.
	for range 2 {
		for _, tok := range []string{first, second} {
			mustCall(t, "GET", srv.url()+"/v1/widget/session", tok, nil, http.StatusOK)
		}
	}
	got := cli(t, data, "workspace", "end-sessions", "--workspace", ws)
	if got["ended_sessions"] != float64(2) || got["workspace"] != ws {
		t.Fatalf("workspace end-sessions printed %v; want 2 ended", got)
	}
	for _, tok := range []string{first, second} {
		mustCall(t, "GET", srv.url()+"/v1/widget/session", tok, nil, http.StatusUnauthorized)
	}
	mustCall(t, "GET", srv.url()+"/v1/widget/session", session(), nil, http.StatusOK)

	got = cli(t, data, "key", "revoke", "--workspace", ws, "--kid", key["kid"].(string))
	if got["ended_sessions"] != float64(0) || got["revoked"] != true {
		t.Fatalf("key revoke printed %v", got)
	}
}
