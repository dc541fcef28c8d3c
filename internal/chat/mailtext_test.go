package chat_test

import (
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
)

// replyMail has an agent answer the customer and returns the email it leads to once nobody saw it.
func (e *mailEnv) replyMail(t *testing.T, v *chat.Visitor, convID string, n int) email {
	t.Helper()
	if convID == "" {
		m, _, err := e.svc.PostMessage(t.Context(), v, "Hallo?", "")
		if err != nil {
			t.Fatal(err)
		}
		convID = m.ConversationID
	}
	e.reply(t, convID, "Gern geschehen.")
	e.clock.Advance(2 * time.Hour) // past the delay and any interval
	e.runJobs(t)
	got := e.wantMails(t, n, "a reply nobody saw")
	return parseEmail(t, got[n-1].Data)
}

func subject(t *testing.T, m email) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Emails to customers speak their language: the locale claim of their last login, else the
// workspace's default language, else English; a transcript the widget asks for is in the widget's
// language. The language is marked (Content-Language, <html lang dir>), and the rules of who gets
// email and what it holds do not change with it.
func TestEmailsSpeakTheCustomersLanguage(t *testing.T) {
	e := newMailEnv(t)
	ctx := t.Context()

	// The login token says German ("de-AT": the texts have "de").
	ada := e.signIn(t, jwt.MapClaims{"sub": "ada", "email": "ada@example.com", "name": "Ada Lovelace", "locale": "de-AT"})
	m := e.replyMail(t, ada, "", 1)
	if got := subject(t, m); got != "Neue Antwort von Acme <Bank>" {
		t.Errorf("German subject = %q", got)
	}
	if m.Header.Get("Content-Language") != "de" || !strings.Contains(m.HTML, `<html lang="de">`) {
		t.Errorf("Content-Language %q, HTML %.80q", m.Header.Get("Content-Language"), m.HTML)
	}
	for _, want := range []string{"Hallo Ada,", "Sie haben eine neue Antwort von Acme <Bank>:", "Unterhaltung fortsetzen: https://chat.acme.example/chat/", "Abmelden: https://chat.acme.example/email/unsubscribe?t="} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("German text lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "Sie haben eine neue Antwort von Acme &lt;Bank&gt;:") {
		t.Errorf("the workspace name in the German HTML is not escaped:\n%s", m.HTML)
	}

	// A login without the claim leaves the language as it was; one with another changes it: Arabic,
	// written right to left.
	e.signIn(t, jwt.MapClaims{"sub": "ada", "email": "ada@example.com"})
	if c, err := e.st.CustomerByExternalID(ctx, e.ws, "ada"); err != nil || c.Locale != "de-AT" {
		t.Fatalf("after a login without a locale: %q, %v; want de-AT kept", c.Locale, err)
	}
	ada = e.signIn(t, jwt.MapClaims{"sub": "ada", "email": "ada@example.com", "locale": "ar"})
	m = e.replyMail(t, ada, "", 2)
	if got := subject(t, m); got != "رد جديد من Acme <Bank>" || !strings.Contains(m.HTML, `<html lang="ar" dir="rtl">`) {
		t.Errorf("Arabic subject %q, HTML %.80q", got, m.HTML)
	}

	// No claim ever: the workspace's default language (French), for the reply email and the transcript
	// an agent sends; what the widget asks for is in the widget's language (Japanese).
	fr := "fr"
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{DefaultLocale: &fr}); err != nil {
		t.Fatal(err)
	}
	bob := e.signIn(t, jwt.MapClaims{"sub": "bob", "email": "bob@example.com", "name": "Bob"})
	bm, _, err := e.svc.PostMessage(ctx, bob, "Bonjour ?", "")
	if err != nil {
		t.Fatal(err)
	}
	m = e.replyMail(t, bob, bm.ConversationID, 3)
	if got := subject(t, m); got != "Nouvelle réponse de Acme <Bank>" || !strings.Contains(m.Text, "Bonjour Bob,") || m.Header.Get("Content-Language") != "fr" {
		t.Errorf("French subject %q, Content-Language %q:\n%s", got, m.Header.Get("Content-Language"), m.Text)
	}
	if _, _, err := e.svc.PostNote(ctx, e.agent, bm.ConversationID, "interne : client difficile", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.EmailTranscript(ctx, e.agent, bm.ConversationID); err != nil {
		t.Fatal(err)
	}
	e.runJobs(t)
	m = parseEmail(t, e.wantMails(t, 4, "the agent's transcript")[3].Data)
	m.Text = strings.ReplaceAll(m.Text, "\r\n", "\n")
	if got := subject(t, m); got != "Votre conversation avec Acme <Bank>" || !strings.Contains(m.Text, "Conversation avec Acme <Bank>\nCommencée le ") ||
		!strings.Contains(m.Text, "] Vous\u202f:\nBonjour ?") || strings.Contains(m.Text+m.HTML, "client difficile") {
		t.Errorf("French transcript %q:\n%s", got, m.Text)
	}
	e.clock.Advance(10 * time.Minute) // a new window for transcripts of this conversation
	if _, err := e.svc.EmailTranscriptToVisitor(ctx, bob, bm.ConversationID, "ja"); err != nil {
		t.Fatal(err)
	}
	e.runJobs(t)
	m = parseEmail(t, e.wantMails(t, 5, "the customer's transcript")[4].Data)
	m.Text = strings.ReplaceAll(m.Text, "\r\n", "\n")
	if got := subject(t, m); got != "Acme <Bank>との会話" || !strings.Contains(m.Text, "] あなた：\nBonjour ?") || m.Header.Get("Content-Language") != "ja" {
		t.Errorf("Japanese transcript %q:\n%s", got, m.Text)
	}

	// The download too; a language the texts lack falls back; a tag that is no tag is refused.
	text, err := e.svc.VisitorTranscript(ctx, bob, bm.ConversationID, "es-MX")
	if err != nil || !strings.HasPrefix(text, "Conversación con Acme <Bank>\nIniciada el ") || strings.Contains(text, "client difficile") {
		t.Errorf("Spanish download = %q, %v", text, err)
	}
	if text, err = e.svc.VisitorTranscript(ctx, bob, bm.ConversationID, "sv"); err != nil || !strings.HasPrefix(text, "Conversation avec") {
		t.Errorf("a language without texts, in a French workspace = %q, %v", text, err)
	}
	_, err = e.svc.VisitorTranscript(ctx, bob, bm.ConversationID, "de_DE<script>")
	wantCode(t, "a locale that is no language tag", err, "invalid_field")
	_, err = e.svc.EmailTranscriptToVisitor(ctx, bob, bm.ConversationID, strings.Repeat("x", 100))
	wantCode(t, "an overlong locale", err, "invalid_field")

	// Whatever the language, email goes only to verified addresses: a claimed visitor gets none.
	_, eve := e.session(t)
	_, eve, _ = e.svc.Identify(ctx, eve, chat.Claims{Name: "Eve", Email: "victim@example.com"})
	_, err = e.svc.EmailTranscriptToVisitor(ctx, eve, bm.ConversationID, "de")
	wantCode(t, "another visitor's conversation", err, "conversation_not_found")
	if c, err := e.st.CustomerByExternalID(ctx, e.ws, "bob"); err != nil || c.Locale != "" {
		t.Errorf("bob's locale = %q, %v; want none", c.Locale, err)
	}
}
