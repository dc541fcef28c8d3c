package chat_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/mail/mailtest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// mailEnv is a service that mails through a real SMTP server on loopback, with a job runner on the test
// clock.
type mailEnv struct {
	*lifeEnv
	smtp   *mailtest.Server
	runner *jobs.Runner
	agent  store.Agent
	busy   atomic.Bool // the SMTP server answers 451 while set
}

func newMailEnv(t *testing.T) *mailEnv {
	t.Helper()
	e := &mailEnv{}
	e.smtp = mailtest.Start(t, mailtest.Options{Username: "parley", Password: "pw", Reject: func(string) int {
		if e.busy.Load() {
			return 451
		}
		return 0
	}})
	settings, err := mail.ParseURL(e.smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSender(mail.Config{Settings: settings, From: "Acme Support <support@acme.example>", TLSConfig: e.smtp.ClientTLS(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st := dbtest.Open(t)
	clock := &lifeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	hub := realtime.NewHub()
	svc := chattest.Start(t, chat.Config{Store: st, Events: hub, Now: clock.Now, Passwords: password.NewHasher(2),
		Mailer: sender, PublicURL: "https://chat.acme.example/"}, hub)
	w, err := svc.CreateWorkspace(t.Context(), "Acme <Bank>")
	if err != nil {
		t.Fatal(err)
	}
	key, err := svc.CreateKey(t.Context(), w.ID, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	e.lifeEnv = &lifeEnv{svc: svc, st: st, count: &countingStore{Store: st}, hub: hub, clock: clock, ws: w.ID, key: key}
	e.runner = jobs.New(jobs.Config{Store: st, Now: clock.Now})
	svc.RegisterJobs(e.runner)
	if e.agent, err = svc.CreateAgent(t.Context(), w.ID, "ann@acme.example", "Ann Agent", store.RoleAgent, agentPassword); err != nil {
		t.Fatal(err)
	}
	return e
}

// customer signs a fresh browser in as a customer with that id, email and name.
func (e *mailEnv) customer(t *testing.T, sub, email, name string) *chat.Visitor {
	t.Helper()
	return e.signIn(t, jwt.MapClaims{"sub": sub, "email": email, "name": name})
}

// signIn logs a fresh browser in with a token of these claims (iat, exp and kid added).
func (e *mailEnv) signIn(t *testing.T, claims jwt.MapClaims) *chat.Visitor {
	t.Helper()
	now := e.clock.Now()
	claims["iat"], claims["exp"] = now.Unix(), now.Add(5*time.Minute).Unix()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = e.key.ID
	raw, err := tok.SignedString([]byte(e.key.Secret))
	if err != nil {
		t.Fatal(err)
	}
	_, v := e.session(t)
	_, nv, _, err := e.svc.Login(t.Context(), v, raw)
	if err != nil {
		t.Fatal(err)
	}
	return nv
}

func (e *mailEnv) reply(t *testing.T, convID, body string) store.Message {
	t.Helper()
	m, err := e.svc.Reply(t.Context(), e.agent, convID, body, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// runJobs runs every due job.
func (e *mailEnv) runJobs(t *testing.T) {
	t.Helper()
	for {
		n, err := e.runner.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// wantMails fails unless exactly n messages have arrived in total.
func (e *mailEnv) wantMails(t *testing.T, n int, when string) []mailtest.Received {
	t.Helper()
	got := e.smtp.Messages()
	if len(got) != n {
		t.Fatalf("%s: %d emails arrived; want %d", when, len(got), n)
	}
	return got
}

type email struct {
	Header     netmail.Header
	Text, HTML string
}

func parseEmail(t *testing.T, data []byte) email {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out := email{Header: m.Header}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			out.HTML = string(b)
		} else {
			out.Text = string(b)
		}
	}
	return out
}

// Unseen agent replies reach the verified customer by email, batched, after the delay; never internal
// notes; a hostile name stays text in the HTML; the link is the chat page, never a sign-in link.
func TestContinueByEmail(t *testing.T) {
	e := newMailEnv(t)
	ctx := t.Context()
	ada := e.customer(t, "ada", "ada@example.com", "<b>Ada</b> Lovelace")
	msg, _, err := e.svc.PostMessage(ctx, ada, "my card is blocked", "")
	if err != nil {
		t.Fatal(err)
	}
	conv := msg.ConversationID
	e.reply(t, conv, "We are looking into it.")
	if _, _, err := e.svc.PostNote(ctx, e.agent, conv, "internal: fraud team says <i>wait</i>", ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.reply(t, conv, "Your card works again.\nPlease try now & tell us.")

	e.clock.Advance(9 * time.Minute) // 10 minutes after the first reply
	e.runJobs(t)
	got := e.wantMails(t, 1, "ten minutes after the first reply")
	if got[0].To[0] != "ada@example.com" || !got[0].TLS {
		t.Fatalf("envelope %+v", got[0])
	}
	m := parseEmail(t, got[0].Data)
	for _, want := range []string{"We are looking into it.", "Your card works again.", "Please try now & tell us.", "Ann Agent", "https://chat.acme.example/chat/" + e.ws} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text+m.HTML, "fraud team") {
		t.Error("an internal note was emailed")
	}
	if !strings.Contains(m.HTML, "&lt;b&gt;Ada&lt;/b&gt;") || strings.Contains(m.HTML, "<b>Ada</b>") {
		t.Errorf("the hostile name is not escaped in the HTML part:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "Please try now &amp; tell us.") || !strings.Contains(m.HTML, "Acme &lt;Bank&gt;") {
		t.Errorf("the HTML part does not escape replies and the workspace name:\n%s", m.HTML)
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); subj != "2 new replies from Acme <Bank>" {
		t.Errorf("Subject = %q", subj)
	}
	unsub := strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, "https://chat.acme.example/email/unsubscribe?t=") || m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe = %q, %q", m.Header.Get("List-Unsubscribe"), m.Header.Get("List-Unsubscribe-Post"))
	}
	// Every link is the chat page or the unsubscribe link: nothing that signs anyone in.
	for _, link := range regexp.MustCompile(`https?://[^\s"<>]+`).FindAllString(m.Text+m.HTML, -1) {
		if link != "https://chat.acme.example/chat/"+e.ws && !strings.HasPrefix(link, "https://chat.acme.example/email/unsubscribe?t=") {
			t.Errorf("the email links to %s", link)
		}
	}

	// Later jobs for the same replies find them emailed already; the log says sent.
	e.clock.Advance(time.Hour)
	e.runJobs(t)
	e.wantMails(t, 1, "after the batch")
	log, err := e.svc.EmailLog(ctx, store.Agent{WorkspaceID: e.ws, Role: store.RoleAdmin}, 10)
	if err != nil || len(log) != 1 || log[0].State != store.EmailSent || log[0].Recipient != "ada@example.com" || log[0].Reply == "" {
		t.Errorf("EmailLog = %+v, %v", log, err)
	}

	// A reply the customer sees in time is not emailed.
	seenReply := e.reply(t, conv, "Anything else?")
	if err := e.svc.MarkSeen(ctx, ada, conv, chat.MessageID(seenReply)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Minute)
	e.runJobs(t)
	e.wantMails(t, 1, "after a reply the customer saw")

	// A reply not seen, more than the interval after the first email, is mailed.
	e.reply(t, conv, "One more thing.")
	e.clock.Advance(10 * time.Minute)
	e.runJobs(t)
	e.wantMails(t, 2, "an interval after the first email")

	// Unsubscribing stops them.
	if _, err := e.svc.Unsubscribe(ctx, strings.TrimPrefix(unsub, "https://chat.acme.example/email/unsubscribe?t="), ""); err != nil {
		t.Fatal(err)
	}
	e.reply(t, conv, "Are you there?")
	e.clock.Advance(2 * time.Hour)
	e.runJobs(t)
	e.wantMails(t, 2, "after unsubscribing")
	if _, err := e.svc.Unsubscribe(ctx, "not-a-token", ""); err == nil {
		t.Error("a forged unsubscribe token was accepted")
	}
}

// The per-customer spacing postpones an email instead of dropping it.
func TestEmailInterval(t *testing.T) {
	e := newMailEnv(t)
	ctx := t.Context()
	ada := e.customer(t, "ada", "ada@example.com", "Ada")
	msg, _, _ := e.svc.PostMessage(ctx, ada, "hi", "")
	e.reply(t, msg.ConversationID, "first")
	e.clock.Advance(10 * time.Minute)
	e.runJobs(t)
	e.wantMails(t, 1, "first reply")
	e.reply(t, msg.ConversationID, "second")
	e.clock.Advance(10 * time.Minute) // 10 minutes after the first email: too soon
	e.runJobs(t)
	e.wantMails(t, 1, "second reply, inside the interval")
	e.clock.Advance(49 * time.Minute) // a minute before the hour since the first email is up
	e.runJobs(t)
	e.wantMails(t, 1, "second reply, a minute before the interval is up")
	e.clock.Advance(time.Minute)
	e.runJobs(t)
	got := e.wantMails(t, 2, "second reply, after the interval")
	if m := parseEmail(t, got[1].Data); !strings.Contains(m.Text, "second") || strings.Contains(m.Text, "first") {
		t.Errorf("the second email should carry only the new reply:\n%s", m.Text)
	}
}

// Only a verified customer's own address ever receives email: not a claimed email, not an anonymous
// visitor, and a browser that signed in as A then as B gets A's replies at A only.
func TestEmailOnlyToVerifiedCustomers(t *testing.T) {
	e := newMailEnv(t)
	ctx := t.Context()
	_, anon := e.session(t)
	anonMsg, _, _ := e.svc.PostMessage(ctx, anon, "anonymous question", "")
	_, claimer := e.session(t)
	_, claimer, err := e.svc.Identify(ctx, claimer, chat.Claims{Name: "Eve", Email: "victim@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	claimMsg, _, _ := e.svc.PostMessage(ctx, claimer, "send my statement to my email", "")
	e.reply(t, anonMsg.ConversationID, "answer to anonymous")
	e.reply(t, claimMsg.ConversationID, "here is the statement")

	a := e.customer(t, "a", "a@example.com", "A")
	aMsg, _, _ := e.svc.PostMessage(ctx, a, "I am A", "")
	// The same browser signs in as B (a shared computer): A's conversation stays A's.
	b := e.customer(t, "b", "b@example.com", "B")
	if _, _, err := e.svc.PostMessage(ctx, b, "I am B", ""); err != nil {
		t.Fatal(err)
	}
	e.reply(t, aMsg.ConversationID, "for A only")

	e.clock.Advance(time.Hour)
	e.runJobs(t)
	got := e.wantMails(t, 1, "replies to anonymous, claimed and A")
	if got[0].To[0] != "a@example.com" || !strings.Contains(string(got[0].Data), "for A only") {
		t.Errorf("the email went to %v", got[0].To)
	}
	for _, r := range got {
		if strings.Contains(string(r.Data), "statement") || r.To[0] == "victim@example.com" {
			t.Error("a claimed email address received mail")
		}
	}
}

// A passing SMTP failure is retried and shows in the log; the email goes once the server takes it.
func TestEmailRetriesAndLogs(t *testing.T) {
	e := newMailEnv(t)
	ctx := t.Context()
	ada := e.customer(t, "ada", "ada@example.com", "Ada")
	msg, _, _ := e.svc.PostMessage(ctx, ada, "hi", "")
	e.reply(t, msg.ConversationID, "hello")
	e.busy.Store(true)
	e.clock.Advance(10 * time.Minute)
	e.runJobs(t)
	e.wantMails(t, 0, "while the server refuses with 451")
	admin := store.Agent{WorkspaceID: e.ws, Role: store.RoleAdmin}
	log, _ := e.svc.EmailLog(ctx, admin, 10)
	if len(log) != 1 || log[0].State != store.EmailRetrying || !strings.Contains(log[0].Reply, "451") {
		t.Fatalf("log after a 451 = %+v", log)
	}
	e.busy.Store(false)
	e.clock.Advance(5 * time.Minute)
	e.runJobs(t)
	e.wantMails(t, 1, "after the server recovered")
	log, _ = e.svc.EmailLog(ctx, admin, 10)
	if len(log) != 1 || log[0].State != store.EmailSent || log[0].Attempts != 2 {
		t.Errorf("log after the retry = %+v", log)
	}
	if _, err := e.svc.EmailLog(ctx, e.agent, 10); err == nil {
		t.Error("an agent who is not an administrator read the email log")
	}
}

// A transcript goes to the verified customer's address only — asked for by the customer or by an agent —
// and never carries internal notes.
func TestTranscriptEmail(t *testing.T) {
	e := newMailEnv(t)
	ctx := t.Context()
	ada := e.customer(t, "ada", "ada@example.com", "Ada")
	msg, _, _ := e.svc.PostMessage(ctx, ada, "where is my parcel?", "")
	conv := msg.ConversationID
	e.reply(t, conv, "It left the warehouse.")
	if _, _, err := e.svc.PostNote(ctx, e.agent, conv, "internal: customer is VIP", ""); err != nil {
		t.Fatal(err)
	}
	seen := e.reply(t, conv, "Tracking: 12345")
	_ = e.svc.MarkSeen(ctx, ada, conv, chat.MessageID(seen)) // seen: no reply email

	to, err := e.svc.EmailTranscriptToVisitor(ctx, ada, conv, "")
	if err != nil || to != "ada@example.com" {
		t.Fatalf("EmailTranscriptToVisitor = %q, %v", to, err)
	}
	if _, err := e.svc.EmailTranscriptToVisitor(ctx, ada, conv, ""); err != nil { // pressed twice: one email
		t.Fatal(err)
	}
	e.runJobs(t)
	got := e.wantMails(t, 1, "a transcript asked for twice")
	m := parseEmail(t, got[0].Data)
	if got[0].To[0] != "ada@example.com" || !strings.Contains(m.Text, "where is my parcel?") || !strings.Contains(m.Text, "Tracking: 12345") ||
		!strings.Contains(m.Text, "Ann Agent") || strings.Contains(m.Text+m.HTML, "VIP") {
		t.Errorf("transcript email to %v:\n%s", got[0].To, m.Text)
	}

	// Not for visitors who never proved an address, whoever asks.
	_, claimer := e.session(t)
	_, claimer, _ = e.svc.Identify(ctx, claimer, chat.Claims{Name: "Eve", Email: "victim@example.com"})
	cm, _, _ := e.svc.PostMessage(ctx, claimer, "mail me everything", "")
	_, err = e.svc.EmailTranscriptToVisitor(ctx, claimer, cm.ConversationID, "")
	wantCode(t, "a claimed visitor asking", err, "verification_required")
	_, err = e.svc.EmailTranscript(ctx, e.agent, cm.ConversationID)
	wantCode(t, "an agent asking for a claimed visitor", err, "no_verified_email")
	_, err = e.svc.EmailTranscriptToVisitor(ctx, claimer, conv, "")
	wantCode(t, "another visitor's conversation", err, "conversation_not_found")

	// An agent can send it to the verified customer.
	e.clock.Advance(10 * time.Minute)
	if to, err := e.svc.EmailTranscript(ctx, e.agent, conv); err != nil || to != "ada@example.com" {
		t.Fatalf("EmailTranscript = %q, %v", to, err)
	}
	e.runJobs(t)
	e.wantMails(t, 2, "the agent's transcript")

	// Downloaded as text by anyone who can see the conversation: the same, without notes.
	text, err := e.svc.VisitorTranscript(ctx, ada, conv, "")
	if err != nil || !strings.Contains(text, "It left the warehouse.") || strings.Contains(text, "VIP") {
		t.Errorf("VisitorTranscript = %q, %v", text, err)
	}
}

// A customer message nobody reads within the delay is mailed to the agents of its inbox who opted in —
// once for a run of messages, and not when an agent read it in time.
func TestAgentEmailAlerts(t *testing.T) {
	e := newMailEnv(t)
	ctx := t.Context()
	bob, err := e.svc.CreateAgent(ctx, e.ws, "bob@acme.example", "Bob Agent", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAgent(ctx, e.ws, "cat@acme.example", "Cat Agent", store.RoleAgent, agentPassword); err != nil {
		t.Fatal(err)
	}
	for _, a := range []store.Agent{e.agent, bob} { // Cat did not opt in
		if _, err := e.svc.SetAgentEmailAlerts(ctx, a, true); err != nil {
			t.Fatal(err)
		}
	}
	// Saving the other preferences keeps the email choice.
	if p, err := e.svc.SetAgentPrefs(ctx, bob, false, true); err != nil || !p.EmailAlerts {
		t.Fatalf("SetAgentPrefs lost EmailAlerts: %+v, %v", p, err)
	}
	_, v := e.session(t)
	_, v, _ = e.svc.Identify(ctx, v, chat.Claims{Name: "<img src=x onerror=alert(1)>", Email: "eve@example.com"})
	first, _, _ := e.svc.PostMessage(ctx, v, "hello?", "")
	e.clock.Advance(time.Minute)
	if _, _, err := e.svc.PostMessage(ctx, v, "is anyone there? <script>x</script>", ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(4 * time.Minute) // five minutes after the first message
	e.runJobs(t)
	e.wantMails(t, 0, "five minutes after the first of two messages")
	e.clock.Advance(time.Minute) // five after the second
	e.runJobs(t)
	got := e.wantMails(t, 2, "five minutes after the second message")
	to := map[string]bool{}
	for _, r := range got {
		to[r.To[0]] = true
		m := parseEmail(t, r.Data)
		if !strings.Contains(m.Text, "is anyone there?") || !strings.Contains(m.Text, "claimed, not verified") ||
			!strings.Contains(m.Text, "https://chat.acme.example/console/conversations/"+first.ConversationID) {
			t.Errorf("alert text:\n%s", m.Text)
		}
		if strings.Contains(m.HTML, "<img src=x") || strings.Contains(m.HTML, "<script>x") {
			t.Errorf("the alert's HTML does not escape the visitor's words:\n%s", m.HTML)
		}
	}
	if !to["ann@acme.example"] || !to["bob@acme.example"] {
		t.Errorf("alerts went to %v; want Ann and Bob (Cat did not opt in)", to)
	}

	// Read in time: no alert.
	again, _, _ := e.svc.PostMessage(ctx, v, "one more question", "")
	if err := e.svc.MarkRead(ctx, e.agent, again.ConversationID, again.Seq); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	e.runJobs(t)
	e.wantMails(t, 2, "a message an agent read in time")
}
