package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// The custom identity provider's records: keys of every kind, API keys and the audit trail.

func testSigningKeyKinds(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	pem := "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"
	public := store.SigningKey{WorkspaceID: w.ID, ID: "pub", Kind: store.KeyPublic, Alg: "EdDSA", Secret: []byte{},
		PublicKey: pem, CreatedAt: at(time.Second)}
	jwks := store.SigningKey{WorkspaceID: w.ID, ID: "jwks", Kind: store.KeyJWKS, Secret: []byte{},
		JWKSURL: "https://idp.example/.well-known/jwks.json?tenant=ä", AllowPrivate: true, CreatedAt: at(2 * time.Second)}
	server := store.SigningKey{WorkspaceID: w.ID, ID: "srv", Kind: store.KeyServer, Alg: "EdDSA",
		Secret: []byte{1, 0, 0xff, 7}, PublicKey: pem, CreatedAt: at(3 * time.Second)}
	// A key stored without a kind is an HMAC key, and one stored without a secret reads back empty.
	implicit := store.SigningKey{WorkspaceID: w.ID, ID: "hmac", Alg: "HS256", Secret: []byte("s"), CreatedAt: at(4 * time.Second)}
	for _, k := range []store.SigningKey{public, jwks, server, implicit} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateSigningKey(ctx, &k) })
	}
	noSecret := store.SigningKey{WorkspaceID: w.ID, ID: "nil-secret", Kind: store.KeyPublic, Alg: "ES256", PublicKey: pem, CreatedAt: at(5 * time.Second)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateSigningKey(ctx, &noSecret) })

	implicit.Kind = store.KeyHMAC
	noSecret.Secret = []byte{}
	got, err := s.SigningKeys(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].Secret == nil {
			got[i].Secret = []byte{} // empty and nil are the same secret
		}
	}
	checkList(t, "SigningKeys of every kind", got, []store.SigningKey{public, jwks, server, implicit, noSecret}, signingKeyKey)

	// Replacing a secret (sealing one stored in the clear) touches that key only.
	sealed := bytes.Repeat([]byte{1, 2}, 30)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetSigningKeySecret(ctx, w.ID, "hmac", sealed) })
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.SetSigningKeySecret(ctx, w.ID, "missing", sealed) })
	wantErr(t, "SetSigningKeySecret(missing kid)", err, store.ErrNotFound)
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.SetSigningKeySecret(ctx, "ws-other", "hmac", sealed) })
	wantErr(t, "SetSigningKeySecret(another workspace)", err, store.ErrNotFound)
	got, err = s.SigningKeys(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	implicit.Secret = sealed
	for i := range got {
		if got[i].Secret == nil {
			got[i].Secret = []byte{}
		}
	}
	checkList(t, "SigningKeys after SetSigningKeySecret", got, []store.SigningKey{public, jwks, server, implicit, noSecret}, signingKeyKey)
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	hash := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 32) }
	k1 := store.APIKey{ID: "ak_1", WorkspaceID: w.ID, Name: "billing back end — ünïcode", KeyHash: hash(1),
		Scopes: []string{store.ScopeCustomersWrite, store.ScopeCustomersRead, store.ScopeSessionsRevoke}, CreatedAt: at(time.Minute)}
	k0 := store.APIKey{ID: "ak_0", WorkspaceID: w.ID, KeyHash: hash(2), Scopes: []string{store.ScopeCustomersRead}, CreatedAt: at(0)}
	ko := store.APIKey{ID: "ak_o", WorkspaceID: other.ID, KeyHash: hash(3), Scopes: []string{store.ScopeSessionsRevoke}, CreatedAt: at(0)}
	for _, k := range []store.APIKey{k1, k0, ko} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, &k) })
	}
	list := func(ws string) []store.APIKey {
		t.Helper()
		got, err := s.APIKeys(ctx, ws)
		if err != nil {
			t.Fatalf("APIKeys(%s): %v", ws, err)
		}
		return got
	}
	checkList(t, "APIKeys (oldest first)", list(w.ID), []store.APIKey{k0, k1}, apiKeyKey)
	checkList(t, "APIKeys(other)", list(other.ID), []store.APIKey{ko}, apiKeyKey)

	byHash := func(h []byte) (store.APIKey, error) {
		t.Helper()
		return s.APIKeyByHash(ctx, h)
	}
	if got, err := byHash(hash(1)); err != nil {
		t.Fatalf("APIKeyByHash: %v", err)
	} else {
		checkEqual(t, "APIKeyByHash", got, k1)
	}
	_, err := byHash(hash(9))
	wantErr(t, "APIKeyByHash(unknown)", err, store.ErrNotFound)

	// Uniqueness of id and hash; a missing workspace.
	dupID := store.APIKey{ID: "ak_1", WorkspaceID: w.ID, KeyHash: hash(4), Scopes: []string{store.ScopeCustomersRead}, CreatedAt: at(0)}
	wantErr(t, "CreateAPIKey(duplicate id)", tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, &dupID) }), store.ErrConflict)
	dupHash := store.APIKey{ID: "ak_5", WorkspaceID: w.ID, KeyHash: hash(1), Scopes: []string{store.ScopeCustomersRead}, CreatedAt: at(0)}
	wantErr(t, "CreateAPIKey(duplicate hash)", tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, &dupHash) }), store.ErrConflict)
	orphan := store.APIKey{ID: "ak_6", WorkspaceID: "ws-missing", KeyHash: hash(6), Scopes: []string{store.ScopeCustomersRead}, CreatedAt: at(0)}
	wantErr(t, "CreateAPIKey(missing workspace)", tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, &orphan) }), store.ErrNotFound)

	// Revoking: once, in its own workspace only. A revoked key is still found by hash.
	wantErr(t, "RevokeAPIKey(another workspace's)", tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, w.ID, "ak_o", at(time.Hour)) }), store.ErrNotFound)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, w.ID, "ak_1", at(time.Hour)) })
	wantErr(t, "RevokeAPIKey(again)", tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, w.ID, "ak_1", at(2*time.Hour)) }), store.ErrNotFound)
	k1.RevokedAt = at(time.Hour)
	if got, err := byHash(hash(1)); err != nil {
		t.Fatal(err)
	} else {
		checkEqual(t, "APIKeyByHash(revoked)", got, k1)
	}
	checkList(t, "APIKeys(other) after revoking in ws", list(other.ID), []store.APIKey{ko}, apiKeyKey)

	// Touching: a use within a minute of the recorded one need not be written, a later one is.
	touch := func(id string, when time.Time) {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error { return tx.TouchAPIKey(ctx, id, when) })
	}
	touch("ak_0", at(10*time.Minute))
	k0.LastUsedAt = at(10 * time.Minute)
	checkList(t, "APIKeys after a use", list(w.ID), []store.APIKey{k0, k1}, apiKeyKey)
	touch("ak_0", at(10*time.Minute+time.Second))
	if got := list(w.ID); got[0].LastUsedAt != at(10*time.Minute) && got[0].LastUsedAt != at(10*time.Minute+time.Second) {
		t.Errorf("LastUsedAt after a second use = %v", got[0].LastUsedAt)
	}
	touch("ak_0", at(20*time.Minute))
	k0.LastUsedAt = at(20 * time.Minute)
	checkList(t, "APIKeys after a use 10m later", list(w.ID), []store.APIKey{k0, k1}, apiKeyKey)
	checkList(t, "APIKeys(other) after uses in ws", list(other.ID), []store.APIKey{ko}, apiKeyKey)
}

func testAuditEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	if got, err := s.AuditEvents(ctx, w.ID, 10); err != nil || len(got) != 0 {
		t.Fatalf("AuditEvents of a new workspace = %v, %v", got, err)
	}
	var added []store.AuditEvent
	for i := range 4 {
		e := store.AuditEvent{WorkspaceID: w.ID, At: at(time.Duration(i) * time.Minute), Actor: "agent ag_1 (ädmin@example.com)",
			Action: fmt.Sprintf("key.action%d", i), Target: "k_1", Detail: "HS256"}
		if i == 1 {
			e.Actor, e.Target, e.Detail = "cli", "", ""
		}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.AddAuditEvent(ctx, &e) })
		if e.Seq == 0 || (i > 0 && e.Seq <= added[i-1].Seq) {
			t.Errorf("AddAuditEvent %d assigned Seq %d; want one above the previous", i, e.Seq)
		}
		added = append(added, e)
	}
	theirs := store.AuditEvent{WorkspaceID: other.ID, At: at(0), Actor: "cli", Action: "apikey.created", Target: "ak_1"}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.AddAuditEvent(ctx, &theirs) })
	got, err := s.AuditEvents(ctx, w.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "AuditEvents (newest first)", got, []store.AuditEvent{added[3], added[2], added[1], added[0]}, auditKey)
	got, _ = s.AuditEvents(ctx, w.ID, 2)
	checkList(t, "AuditEvents(limit 2)", got, []store.AuditEvent{added[3], added[2]}, auditKey)
	got, _ = s.AuditEvents(ctx, other.ID, 10)
	checkList(t, "AuditEvents(other)", got, []store.AuditEvent{theirs}, auditKey)
	orphan := store.AuditEvent{WorkspaceID: "ws-missing", At: at(0), Actor: "cli", Action: "x"}
	wantErr(t, "AddAuditEvent(missing workspace)", tryUpdate(t, s, func(tx store.Tx) error { return tx.AddAuditEvent(ctx, &orphan) }), store.ErrNotFound)
}
