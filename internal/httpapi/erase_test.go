package httpapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// Erasure and export (docs/api.md, DELETE /v1/customers/{external_id} and GET …/export): after an
// erasure nothing of the customer remains in any table of the schema, whatever tables it has.

func TestCustomerEraseLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const ext, email, name = "erase-me-7f3a", "grace.erased@example.com", "Grace Erasable"
	const before, withFile, answer, noteText, unsent = "hello before login 5c1e", "see the file 9d2b", "agent answer 4e7f", "internal note 0a6c", "never sent 3b8d"
	eraser := e.apiKey(store.ScopeCustomersWrite, store.ScopeCustomersRead, store.ScopeCustomersErase)
	reader := e.apiKey(store.ScopeCustomersRead)
	plain := e.apiKey() // the default scopes: no erasure

	r := e.customers("PUT", ext, "", eraser, map[string]any{"email": email, "name": name, "phone": "+44 20 7946 0000"})
	expect(t, r, 201, "")
	customerID := r.str("customer", "id")

	// Someone else, who must keep everything.
	expect(t, e.customers("PUT", "keep-me", "", eraser, map[string]any{"email": "keep@example.com"}), 201, "")
	keepTok := e.customers("POST", "keep-me", "/login-tokens", eraser, nil).str("token")
	keep := e.login(e.session(), keepTok)
	expect(t, keep, 200, "")
	expect(t, e.send(keep.str("session_token"), "I stay", "k1"), 201, "")

	// An anonymous visitor writes, then logs in as the customer: the conversation is adopted.
	anon := e.session()
	expect(t, e.send(anon, before, "c1"), 201, "")
	loginTok := e.customers("POST", ext, "/login-tokens", eraser, nil).str("token")
	lr := e.login(anon, loginTok)
	expect(t, lr, 200, "")
	tok := lr.str("session_token")
	att := e.uploaded(tok, "erase-shot.png", "image/png", pngBytes(t, 4, 4))
	attID := att["id"].(string)
	sent := e.sendWith(tok, withFile, "c2", attID)
	expect(t, sent, 201, "")
	orphan := e.uploaded(tok, "unsent.png", "image/png", pngBytes(t, 5, 5))["id"].(string)
	expect(t, e.send(tok, unsent[:5]+" typed", "c3"), 201, "")

	convs := e.conversations(tok)
	if len(convs) != 1 {
		t.Fatalf("conversations: %v", convs)
	}
	convID := convs[0]["id"].(string)
	agent := e.noteAgent()
	reply, err := e.svc.Reply(ctx, agent, convID, answer, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PostNote(ctx, agent, convID, noteText, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.MarkRead(ctx, agent, convID, reply.Seq); err != nil {
		t.Fatal(err)
	}
	expect(t, e.request("POST", "/v1/widget/conversations/"+convID+"/seen", tok, map[string]string{"message_id": chat.MessageID(reply)}), 204, "")
	if err := e.st.Update(ctx, func(tx store.Tx) error { return tx.SetCustomerOptOut(ctx, customerID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.BlockVisitor(ctx, agent, convID, chat.BlockInput{Reason: "test block"}); err != nil {
		t.Fatal(err)
	}

	// The ids the erasure must take away, gathered before it.
	live, err := e.st.LiveSessionsOfCustomer(ctx, customerID)
	if err != nil || len(live) == 0 {
		t.Fatalf("live sessions: %v, %v", live, err)
	}
	conv, err := e.st.Conversation(ctx, convID)
	if err != nil {
		t.Fatal(err)
	}
	sessionIDs := []string{conv.SessionID}
	for _, s := range live {
		sessionIDs = append(sessionIDs, s.ID)
	}
	socket := wsConnect(t, e, tok)

	// The export, taken first, holds every message the customer could see, and no note.
	x := e.customers("GET", ext, "/export", reader, nil)
	expect(t, x, 200, "")
	if cd := x.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("export Content-Disposition %q", cd)
	}
	if cc := x.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("export Cache-Control %q", cc)
	}
	var doc chat.CustomerExport
	if err := json.Unmarshal(x.raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Customer.ExternalID != ext || doc.Customer.Email != email || doc.Customer.Name != name || len(doc.Sessions) == 0 || doc.Email.OptedOutAt == nil {
		t.Errorf("export customer part: %s", x.raw)
	}
	var bodies []string
	var files []string
	for _, c := range doc.Conversations {
		for _, m := range c.Messages {
			bodies = append(bodies, m.Body)
			for _, a := range m.Attachments {
				files = append(files, a.ID+" "+a.Name)
			}
		}
	}
	for _, want := range []string{before, withFile, answer, unsent[:5] + " typed"} {
		if !slices.Contains(bodies, want) {
			t.Errorf("export lacks the message %q: %v", want, bodies)
		}
	}
	if strings.Contains(string(x.raw), noteText) {
		t.Error("the export carries an internal note")
	}
	if !slices.Contains(files, attID+" erase-shot.png") {
		t.Errorf("export attachments %v, want %s", files, attID)
	}
	if strings.Contains(string(x.raw), "token_hash") {
		t.Error("the export names token hashes")
	}

	// Scope: only a key made with customers:erase may erase.
	expect(t, e.customers("DELETE", ext, "", reader, nil), 403, "insufficient_scope")
	expect(t, e.customers("DELETE", ext, "", plain, nil), 403, "insufficient_scope")
	expect(t, e.customers("DELETE", "nobody-here", "", eraser, nil), 404, "customer_not_found")

	r = e.customers("DELETE", ext, "", eraser, nil)
	expect(t, r, 204, "")

	// The socket is told why and closed.
	ended, _ := wsNext(t, socket, "session_ended")
	if ended["reason"] != chat.ReasonErased {
		t.Errorf("session_ended %v, want reason %q", ended, chat.ReasonErased)
	}
	if f, err := wsRead(socket, wsWait); err == nil {
		t.Errorf("the socket stayed open after the erasure: %v", f)
	}

	// Old tokens and attachment ids are refused; the customer is unknown now.
	expect(t, e.request("GET", "/v1/widget/session", tok, nil), 401, "session_invalid")
	expect(t, e.request("GET", "/v1/widget/session", anon, nil), 401, "session_invalid")
	stranger := e.session()
	for _, id := range []string{attID, orphan} {
		if r := e.request("GET", "/v1/widget/attachments/"+id, stranger, nil); r.status != 404 {
			t.Errorf("attachment %s after the erasure: %d %s", id, r.status, r.raw)
		}
	}
	expect(t, e.customers("DELETE", ext, "", eraser, nil), 404, "customer_not_found")
	expect(t, e.customers("GET", ext, "/export", reader, nil), 404, "customer_not_found")
	expect(t, e.customers("GET", ext, "", reader, nil), 404, "customer_not_found")
	if r := e.login(e.session(), loginTok); r.status != 401 {
		t.Errorf("the customer's login token after the erasure: %d %s", r.status, r.raw)
	}

	// Nothing of them in any table. The audit trail is append-only: it may keep internal ids (the
	// erasure's own row names the customer's), never what names the person.
	personal := []string{ext, email, name, "+44 20 7946 0000", before, withFile, answer, noteText, "erase-shot.png", "unsent.png"}
	ids := append([]string{customerID, convID, attID, orphan}, sessionIDs...)
	for _, hit := range dbtest.Grep(t, e.st, append(ids, personal...)...) {
		if strings.HasPrefix(hit, "audit_events: ") {
			continue
		}
		t.Errorf("left after the erasure: %s", hit)
	}
	for _, hit := range dbtest.Grep(t, e.st, personal...) {
		t.Errorf("personal data left after the erasure: %s", hit)
	}

	// The audit row says an erasure happened, with the internal id and counts only.
	events, err := e.st.AuditEvents(ctx, e.ws.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ev := range events {
		if ev.Action == chat.AuditCustomerErased {
			found = true
			if ev.Target != customerID || !strings.HasPrefix(ev.Detail, "conversations=1 messages=5 attachments=2 ") {
				t.Errorf("audit row %+v", ev)
			}
		}
	}
	if !found {
		t.Error("no customer.erased audit row")
	}

	// The other customer keeps everything.
	if got := e.conversations(keep.str("session_token")); len(got) != 1 {
		t.Errorf("the other customer's conversations after the erasure: %v", got)
	}
	if hits := dbtest.Grep(t, e.st, "I stay", "keep@example.com"); len(hits) < 2 {
		t.Errorf("the other customer's data went with the erasure: %v", hits)
	}
}
