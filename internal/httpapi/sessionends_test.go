package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Sessions end with what vouched for them: a revoked key ends the sessions it verified; an
// administrator can end every session of a workspace; a customer logged out everywhere cannot be signed
// back in with a token issued before; a workspace that stops admitting an email domain ends the
// sessions of that domain's customers.

func TestRevokingAKeyEndsTheSessionsItVerified(t *testing.T) {
	e := newEnv(t)
	ctx := chat.WithActor(context.Background(), "test")
	second, err := e.svc.CreateKey(ctx, e.ws.ID, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	byFirst := e.verified(claims(map[string]any{"sub": "ada"}))
	byFirstToo := e.verified(claims(map[string]any{"sub": "grace", "email": "grace@example.com"}))
	bySecond := e.login(e.session(), signWith(t, "HS256", second.ID, second.Secret, claims(map[string]any{"sub": "bob", "email": "bob@example.com"})))
	expect(t, bySecond, 200, "")
	anonymous := e.session()
	expect(t, e.send(byFirst, "hello", "c1"), 201, "")
	sock := wsConnect(t, e, byFirst)
	other := wsConnect(t, e, bySecond.str("session_token"))
	// Relayed events arrive in commit order: once the socket has this message, the login's "rotated"
	// event is behind it.
	synced := apiMessage(t, e.send(byFirst, "sync", "c0"))
	wsNextMessage(t, sock, synced["id"].(string))

	n, err := e.svc.RevokeKey(ctx, e.ws.ID, e.key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("RevokeKey ended %d sessions; want 2", n)
	}
	wsSessionEnded(t, wsExpectClose(t, sock, 4401, 5*time.Second), "key_revoked")
	for _, tok := range []string{byFirst, byFirstToo} {
		r := e.request("GET", "/v1/widget/session", tok, nil)
		expect(t, r, 401, "session_invalid")
		expect(t, e.send(tok, "still trusted?", "c2"), 401, "session_invalid")
	}
	// What another key verified, and anonymous visitors, carry on.
	expect(t, e.request("GET", "/v1/widget/session", bySecond.str("session_token"), nil), 200, "")
	expect(t, e.request("GET", "/v1/widget/session", anonymous, nil), 200, "")
	sent := apiMessage(t, e.send(bySecond.str("session_token"), "still here", "c3"))
	wsNextMessage(t, other, sent["id"].(string))

	// The audit trail says how many sessions went with the key.
	audit, err := e.svc.AuditEvents(context.Background(), e.ws.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) == 0 || audit[0].Action != "key.revoked" || audit[0].Detail != "2 widget sessions ended" {
		t.Errorf("audit trail: %+v", audit[:1])
	}
	// Revoking again is refused and ends nothing more.
	if _, err := e.svc.RevokeKey(ctx, e.ws.ID, e.key.ID); err == nil {
		t.Error("revoking a revoked key: want key_not_found")
	}
}

func TestCustomersAPILoginTokensEndWithTheirKey(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()
	expect(t, e.customers("PUT", "user-7", "", key, map[string]string{"email": "ada@example.com"}), 201, "")
	tok := e.customers("POST", "user-7", "/login-tokens", key, nil)
	expect(t, tok, 201, "")
	r := e.login(e.session(), tok.str("token"))
	expect(t, r, 200, "")
	keys, err := e.svc.Keys(context.Background(), e.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	server := ""
	for _, k := range keys {
		if k.Kind == store.KeyServer {
			server = k.ID
		}
	}
	if n, err := e.svc.RevokeKey(context.Background(), e.ws.ID, server); err != nil || n != 1 {
		t.Fatalf("RevokeKey(server key) = %d, %v; want 1 session ended", n, err)
	}
	expect(t, e.request("GET", "/v1/widget/session", r.str("session_token"), nil), 401, "session_invalid")
}

func TestEndEveryWidgetSessionOfAWorkspace(t *testing.T) {
	e := newEnv(t)
	verified := e.verified(claims(nil))
	anonymous := e.session()
	sock := wsConnect(t, e, anonymous)
	other, err := e.svc.CreateWorkspace(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": other.ID})
	expect(t, r, 201, "")
	elsewhere := r.str("session_token")

	n, err := e.svc.EndWorkspaceSessions(chat.WithActor(context.Background(), "test"), e.ws.ID)
	if err != nil || n != 2 {
		t.Fatalf("EndWorkspaceSessions = %d, %v; want 2", n, err)
	}
	wsSessionEnded(t, wsExpectClose(t, sock, 4401, 5*time.Second), "revoked")
	for _, tok := range []string{verified, anonymous} {
		expect(t, e.request("GET", "/v1/widget/session", tok, nil), 401, "session_invalid")
	}
	expect(t, e.request("GET", "/v1/widget/session", elsewhere, nil), 200, "")
	// The browser carries on as a fresh visitor.
	expect(t, e.send(e.session(), "hello again", "c1"), 201, "")
}

func TestTokensIssuedBeforeLogoutEverywhereAreRefused(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()
	expect(t, e.customers("PUT", "user-1", "", key, map[string]string{"email": "ada@example.com"}), 201, "")
	issued := e.customers("POST", "user-1", "/login-tokens", key, nil)
	expect(t, issued, 201, "")
	siteSigned := e.sign(claims(map[string]any{"sub": "user-1"})) // iat: now
	// Another customer's token is not affected.
	bystander := e.sign(claims(map[string]any{"sub": "user-2", "email": "grace@example.com"}))
	time.Sleep(2 * time.Millisecond) // the logout must come after the tokens' iat, as in life

	expect(t, e.customers("POST", "user-1", "/logout", key, nil), 200, "")
	for name, tok := range map[string]string{"server-issued": issued.str("token"), "site-signed": siteSigned} {
		r := e.login(e.session(), tok)
		expect(t, r, 401, "token_revoked")
		if r.message() == "" {
			t.Errorf("%s: no message", name)
		}
	}
	expect(t, e.login(e.session(), bystander), 200, "")

	// Tokens issued after the logout sign the customer in again, at once.
	fresh := e.customers("POST", "user-1", "/login-tokens", key, nil)
	expect(t, fresh, 201, "")
	expect(t, e.login(e.session(), fresh.str("token")), 200, "")
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"sub": "user-1"}))), 200, "")

	// The refusals are in the identity log.
	failures, err := e.svc.LoginFailures(context.Background(), e.ws.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range failures {
		if f.Code == "token_revoked" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("identity log has %d token_revoked entries; want 2", n)
	}
}

func TestAllowedEmailDomainsEndSessionsTheyNoLongerAdmit(t *testing.T) {
	e := newEnv(t)
	ada := e.verified(claims(map[string]any{"sub": "ada", "email": "ada@bank.example"}))
	bob := e.verified(claims(map[string]any{"sub": "bob", "email": "bob@other.example"}))
	anonymous := e.session()
	adaSock, bobSock := wsConnect(t, e, ada), wsConnect(t, e, bob)
	// With PostgreSQL, events travel in commit order after the responses that caused them: once each
	// socket has its own message, the logins' "rotated" events are behind it.
	for tok, sock := range map[string]*websocket.Conn{ada: adaSock, bob: bobSock} {
		sent := apiMessage(t, e.send(tok, "hello", "sync-"+tok[len(tok)-6:]))
		wsNextMessage(t, sock, sent["id"].(string))
	}

	domains := []string{"bank.example"}
	e.update(chat.SettingsPatch{AllowedEmailDomains: &domains})
	wsSessionEnded(t, wsExpectClose(t, bobSock, 4401, 5*time.Second), "not_allowed")
	expect(t, e.request("GET", "/v1/widget/session", bob, nil), 401, "session_invalid")
	expect(t, e.request("GET", "/v1/widget/session", ada, nil), 200, "")
	expect(t, e.request("GET", "/v1/widget/session", anonymous, nil), 200, "")

	// The customers API moves Ada to an email outside the list: her sessions end with it.
	key := e.apiKey()
	expect(t, e.customers("PUT", "ada", "", key, map[string]string{"email": "ada@elsewhere.example"}), 200, "")
	wsSessionEnded(t, wsExpectClose(t, adaSock, 4401, 5*time.Second), "not_allowed")
	expect(t, e.request("GET", "/v1/widget/session", ada, nil), 401, "session_invalid")

	// Checked on use too: a customer whose email changed by any other way is refused at the next call.
	grace := e.verified(claims(map[string]any{"sub": "grace", "email": "grace@bank.example"}))
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.CustomerByExternalID(context.Background(), e.ws.ID, "grace")
		if err != nil {
			return err
		}
		c.Email = "grace@other.example"
		return tx.UpdateCustomer(context.Background(), &c)
	})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.send(grace, "hello", "c1"), 401, "session_invalid")
	expect(t, e.request("GET", "/v1/widget/session", grace, nil), 401, "session_invalid")
}
