package chat

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Email to customers who left: "continue by email". An agent's reply that the customer has not seen
// within a delay is mailed to them — to the verified customer's address only, never to a claimed or
// anonymous one (EmailRecipient is the one rule), with internal notes left out (CustomerVisible), a link
// to the workspace's sign-in page or chat page (never a link that signs anyone in), and a one-click
// unsubscribe.

// Mailer sends one email (package mail's Sender).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Defaults of the workspace's email settings.
const (
	DefaultEmailReplyDelay = 10 * time.Minute
	DefaultEmailInterval   = time.Hour
	// JobEmailReply is the job kind that mails unseen replies.
	JobEmailReply = "email.reply"
	// emailRepliesPerMessage bounds the replies one email quotes (the newest are kept).
	emailRepliesPerMessage = 20
	// emailReplyAttempts bounds the attempts of a reply email: retries of passing failures and
	// postponements for the per-customer spacing together.
	emailReplyAttempts = 12
	unsubscribeLabel   = "parley email unsubscribe"
)

// EmailReplyDelay is how long an agent's reply may stay unseen before it is mailed.
func EmailReplyDelay(st store.Settings) time.Duration {
	if st.EmailReplyDelay > 0 {
		return st.EmailReplyDelay
	}
	return DefaultEmailReplyDelay
}

// EmailInterval is the least time between two emails to one customer.
func EmailInterval(st store.Settings) time.Duration {
	if st.EmailInterval > 0 {
		return st.EmailInterval
	}
	return DefaultEmailInterval
}

// EmailRecipient is THE rule for email to a customer about a conversation: the address of the verified
// customer the conversation belongs to — never a claimed address, never anybody for an anonymous or
// merely identified visitor — unless they unsubscribed or the workspace's allowed email domains no longer
// admit it. why says why there is none. Every path that emails a customer (replies, transcripts) asks it.
func EmailRecipient(conv store.Conversation, c store.Customer, state store.CustomerEmail, st store.Settings) (to, why string) {
	switch {
	case conv.CustomerID == "":
		return "", "the conversation's visitor never verified who they are"
	case c.ID != conv.CustomerID:
		return "", "not the conversation's customer"
	case c.Email == "":
		return "", "the customer has no verified email address"
	case !state.OptedOutAt.IsZero():
		return "", "the customer unsubscribed from email"
	case emailAllowed(st, c.Email) != nil:
		return "", "the workspace's allowed email domains exclude the customer's address"
	}
	return c.Email, ""
}

// emailReplyJob is the payload of a JobEmailReply job.
type emailReplyJob struct {
	WorkspaceID    string `json:"workspace_id"`
	ConversationID string `json:"conversation_id"`
}

// enqueueReplyEmail schedules the mail of an agent's reply the customer may not see: only when email is
// configured, the workspace mails replies and the conversation belongs to a verified customer. The key
// names the reply, so each reply schedules one job; the job mails every reply still unseen when it runs,
// and later jobs find them emailed already.
func (s *Service) enqueueReplyEmail(ctx context.Context, tx store.Tx, ws store.Workspace, conv store.Conversation, m store.Message) error {
	if s.mailer == nil || ws.Settings.EmailRepliesOff || conv.CustomerID == "" || !CustomerVisible(m) || m.Sender != store.SenderAgent {
		return nil
	}
	_, _, err := jobs.Enqueue(ctx, tx, jobs.Job{
		Kind: JobEmailReply, Key: fmt.Sprintf("%s:%d", conv.ID, m.N),
		Payload: emailReplyJob{WorkspaceID: ws.ID, ConversationID: conv.ID},
		RunAt:   m.CreatedAt.Add(EmailReplyDelay(ws.Settings)), MaxAttempts: emailReplyAttempts,
	}, s.clock())
	return err
}

// RegisterJobs gives the runner the domain's background work.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobEmailReply, jobs.Kind{Handler: s.runReplyEmail, Backoff: jobs.Backoff{Base: time.Minute, Max: time.Hour}})
	r.Handle(JobEmailTranscript, jobs.Kind{Handler: s.runTranscriptEmail, Backoff: jobs.Backoff{Base: time.Minute, Max: time.Hour}})
	r.Handle(JobUnreadCheck, jobs.Kind{Handler: s.runUnreadCheck})
	r.Handle(JobAgentAlert, jobs.Kind{Handler: s.runAgentAlert, Backoff: jobs.Backoff{Base: time.Minute, Max: time.Hour}})
	r.Handle(JobAgentLinkEmail, jobs.Kind{Handler: s.runLinkEmail, Backoff: jobs.Backoff{Base: 30 * time.Second, Max: 10 * time.Minute}})
	r.Handle(JobWebhook, jobs.Kind{Handler: s.runWebhook, Backoff: webhookBackoff})
	r.Handle(JobPurgeClosed, jobs.Kind{Handler: s.runRetention})
}

// runReplyEmail mails a conversation's unseen agent replies to its verified customer.
func (s *Service) runReplyEmail(ctx context.Context, j store.Job) error {
	var p emailReplyJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	if s.mailer == nil {
		return jobs.Permanent(errors.New("no SMTP server is configured"))
	}
	ws, err := s.store.Workspace(ctx, p.WorkspaceID)
	if isNotFound(err) {
		return nil // the workspace is gone: nothing to tell anyone
	}
	if err != nil {
		return err
	}
	conv, err := s.store.Conversation(ctx, p.ConversationID)
	if isNotFound(err) || (err == nil && conv.WorkspaceID != ws.ID) {
		return nil
	}
	if err != nil {
		return err
	}
	if ws.Settings.EmailRepliesOff || conv.CustomerID == "" {
		return nil
	}
	customer, err := s.store.Customer(ctx, conv.CustomerID)
	if err != nil {
		return err
	}
	state, err := s.store.CustomerEmail(ctx, customer.ID)
	if err != nil {
		return err
	}
	to, _ := EmailRecipient(conv, customer, state, ws.Settings)
	if to == "" {
		return nil
	}
	// What the customer has not seen, and was not emailed yet: agent replies only, never notes.
	seen, err := s.store.CustomerSeen(ctx, conv.ID)
	if err != nil {
		return err
	}
	emailed, err := s.store.ConversationEmailed(ctx, conv.ID)
	if err != nil {
		return err
	}
	msgs, err := s.store.MessagesAfterNumber(ctx, conv.ID, max(seen.N, emailed), DefaultPageSize)
	if err != nil {
		return err
	}
	var replies []store.Message
	for _, m := range customerVisible(msgs) {
		if m.Sender == store.SenderAgent {
			replies = append(replies, m)
		}
	}
	if len(replies) == 0 {
		return nil // seen meanwhile, or mailed by an earlier job
	}
	now := s.clock()
	if next := state.LastEmailedAt.Add(EmailInterval(ws.Settings)); !state.LastEmailedAt.IsZero() && now.Before(next) {
		return jobs.Later(next, "the customer was emailed less than the workspace's interval ago")
	}
	if len(replies) > emailRepliesPerMessage {
		replies = replies[len(replies)-emailRepliesPerMessage:]
	}
	_, names, err := s.agentNames(ctx, ws.ID)
	if err != nil {
		return err
	}
	msg, err := s.replyEmail(ws, conv, customer, to, replies, names)
	if err != nil {
		return jobs.Permanent(err)
	}
	last := replies[len(replies)-1].N
	// A crash between the send and its record would mail the same replies again on the job's next run,
	// with the same Message-ID, so that mail clients can tell it is one message.
	return s.sendLogged(ctx, j, ws.ID, "reply", msg, func(tx store.Tx) error {
		if err := tx.MarkConversationEmailed(ctx, conv.ID, last, now); err != nil {
			return err
		}
		return tx.MarkCustomerEmailed(ctx, customer.ID, now)
	})
}

// replyView is what the reply email's templates show, in the customer's language (mailtext.go).
type replyView struct {
	Lang, Dir   string
	Greeting    string
	Intro       string
	Replies     []replyLine
	Continue    string
	Link        string
	Footer      string
	Unsubscribe string // the label
	Colon       string
	Leave       string // the unsubscribe link
}

type replyLine struct {
	Agent string
	At    string
	Body  string
}

// The templates quote replies as text: html/template escapes everything a customer or agent wrote, and
// the texts around them, which name the business.
var (
	replyText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Greeting}}

{{.Intro}}
{{range .Replies}}
{{.Agent}}, {{.At}}:
{{.Body}}
{{end}}
{{.Continue}}{{.Colon}}{{.Link}}

{{.Footer}} {{.Unsubscribe}}{{.Colon}}{{.Leave}}
`))
	replyHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="{{.Lang}}"{{if .Dir}} dir="{{.Dir}}"{{end}}><body style="font-family: sans-serif; line-height: 1.5">
<p>{{.Greeting}}</p>
<p>{{.Intro}}</p>
{{range .Replies}}<blockquote style="margin: 0 0 1em; padding-inline-start: 1em; border-inline-start: 3px solid #ccc">
<p style="margin: 0; color: #555">{{.Agent}}, {{.At}}</p>
<p style="margin: 0; white-space: pre-wrap">{{.Body}}</p>
</blockquote>
{{end}}<p><a href="{{.Link}}">{{.Continue}}</a></p>
<p style="color: #777; font-size: 0.9em">{{.Footer}}
<a href="{{.Leave}}">{{.Unsubscribe}}</a></p>
</body></html>
`))
)

// transcriptHTML shows a transcript's text, escaped, as preformatted text.
var transcriptHTML = htmltemplate.Must(htmltemplate.New("transcript").Parse(`<!doctype html>
<html lang="{{.Lang}}"{{if .Dir}} dir="{{.Dir}}"{{end}}><body style="font-family: sans-serif">
<p>{{.Intro}}</p>
<pre style="white-space: pre-wrap; font-family: inherit">{{.Text}}</pre>
</body></html>
`))

// replyEmail builds the email of a batch of replies, in the customer's language.
func (s *Service) replyEmail(ws store.Workspace, conv store.Conversation, c store.Customer, to string, replies []store.Message, names map[string]string) (mail.Message, error) {
	if s.publicURL == "" {
		return mail.Message{}, errors.New("no public URL is configured (--public-url), so an email could not link back")
	}
	lang := customerLocale(c.Locale, ws.Settings.DefaultLocale)
	t := textsFor(lang)
	n := strconv.Itoa(len(replies))
	v := replyView{Lang: lang, Dir: t.Dir, Greeting: t.Greeting, Intro: format(t.ReplyIntroMany, "n", n, "workspace", ws.Name),
		Continue: t.Continue, Link: ws.Settings.LoginURL, Footer: format(t.Footer, "workspace", ws.Name),
		Unsubscribe: t.Unsubscribe, Colon: t.Colon, Leave: s.UnsubscribeURL(c)}
	subject := format(t.ReplySubjectMany, "n", n, "workspace", ws.Name)
	if len(replies) == 1 {
		v.Intro, subject = format(t.ReplyIntroOne, "workspace", ws.Name), format(t.ReplySubjectOne, "workspace", ws.Name)
	}
	if name := firstNonEmpty(c.FirstName, firstName(c.Name)); name != "" {
		v.Greeting = format(t.GreetingNamed, "name", name)
	}
	if v.Link == "" {
		v.Link = s.publicURL + "/chat/" + url.PathEscape(ws.ID)
	}
	for _, m := range replies {
		name := names[m.AgentID]
		if name == "" {
			name = ws.Name
		}
		v.Replies = append(v.Replies, replyLine{Agent: name, At: m.CreatedAt.UTC().Format(t.TimeLayout) + " UTC", Body: m.Body})
	}
	var text, html bytes.Buffer
	if err := replyText.Execute(&text, v); err != nil {
		return mail.Message{}, err
	}
	if err := replyHTML.Execute(&html, v); err != nil {
		return mail.Message{}, err
	}
	return mail.Message{
		To: to, Subject: subject, Text: text.String(), HTML: html.String(), Unsubscribe: v.Leave, Language: lang,
		MessageID: fmt.Sprintf("reply-%s-%d@%s", conv.ID, replies[len(replies)-1].N, s.mailHost()),
		Headers:   map[string]string{"X-Parley-Workspace": ws.ID, "X-Parley-Conversation": conv.ID},
	}, nil
}

// mailHost is the domain of Message-IDs: the public URL's host.
func (s *Service) mailHost() string {
	if u, err := url.Parse(s.publicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "parley.invalid"
}

// UnsubscribeURL is the one-click unsubscribe link of a customer: a token sealed with the master key
// names them, so that nobody can unsubscribe anybody else, and it stays valid (an old email's link
// still works).
func (s *Service) UnsubscribeURL(c store.Customer) string {
	sealed := s.box.Seal([]byte(c.ID), unsubscribeLabel)
	return s.publicURL + "/email/unsubscribe?t=" + base64.RawURLEncoding.EncodeToString(sealed)
}

// Unsubscribe records that the customer named by an unsubscribe token wants no more email (RFC 8058:
// a POST from their mail client, or the button of the page the link opens). It returns the words of
// the page that says so, or that the link does not work (UnsubscribePage), with the error.
func (s *Service) Unsubscribe(ctx context.Context, token, acceptLanguage string) (UnsubscribeWords, error) {
	c, ws, err := s.unsubscribing(ctx, token)
	words := unsubscribeWords(c, ws, err, acceptLanguage)
	if err != nil {
		return words, err
	}
	now := s.clock()
	err = s.update(ctx, func(tx store.Tx, _ *outbox) error { return tx.SetCustomerOptOut(ctx, c.ID, now) })
	return words, err
}

// unsubscribing is the customer an unsubscribe token names, and their workspace.
func (s *Service) unsubscribing(ctx context.Context, token string) (store.Customer, store.Workspace, error) {
	invalid := problem.NotFound("unsubscribe_invalid", "this unsubscribe link is not valid; use the link of a recent email")
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(token) > 512 {
		return store.Customer{}, store.Workspace{}, invalid
	}
	id, err := s.box.Open(sealed, unsubscribeLabel)
	if err != nil {
		return store.Customer{}, store.Workspace{}, invalid
	}
	c, err := s.store.Customer(ctx, string(id))
	if isNotFound(err) {
		return c, store.Workspace{}, invalid
	}
	if err != nil {
		return c, store.Workspace{}, err
	}
	ws, err := s.store.Workspace(ctx, c.WorkspaceID)
	return c, ws, err
}

// UnsubscribeWords is what the page an unsubscribe link opens says, in one language.
type UnsubscribeWords struct {
	Lang, Dir                 string
	FormTitle, FormText       string
	Button                    string
	DoneTitle, DoneText       string // DoneText names the workspace
	InvalidTitle, InvalidText string
}

// UnsubscribePage gives the words of the unsubscribe page of a token (the page before the button).
func (s *Service) UnsubscribePage(ctx context.Context, token, acceptLanguage string) UnsubscribeWords {
	c, ws, err := s.unsubscribing(ctx, token)
	return unsubscribeWords(c, ws, err, acceptLanguage)
}

// unsubscribeWords words the unsubscribe page in the customer's language, as their emails are; for a
// token that names nobody (err), in the first of the browser's languages (an Accept-Language header)
// that the texts have.
func unsubscribeWords(c store.Customer, ws store.Workspace, err error, acceptLanguage string) UnsubscribeWords {
	lang := customerLocale(acceptedLanguages(acceptLanguage)...)
	if err == nil {
		lang = customerLocale(c.Locale, ws.Settings.DefaultLocale)
	}
	t := textsFor(lang)
	return UnsubscribeWords{Lang: lang, Dir: t.Dir, FormTitle: t.UnsubscribeTitle, FormText: t.UnsubscribeText, Button: t.Unsubscribe,
		DoneTitle: t.UnsubscribedTitle, DoneText: format(t.UnsubscribedText, "workspace", ws.Name),
		InvalidTitle: t.LinkInvalidTitle, InvalidText: t.LinkInvalidText}
}

// acceptedLanguages reads the tags of an Accept-Language header in its order, leaving out those with
// q=0 and "*"; a long header is read in part.
func acceptedLanguages(header string) []string {
	var tags []string
	for i, part := range strings.Split(header, ",") {
		if i == 10 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue // "not this one"
			}
		}
		if tag = strings.TrimSpace(tag); tag != "" && tag != "*" {
			tags = append(tags, tag)
		}
	}
	return tags
}

// EmailLog returns the workspace's newest emails, for administrators.
func (s *Service) EmailLog(ctx context.Context, admin store.Agent, limit int) ([]store.EmailLogEntry, error) {
	if err := RequireAdmin(admin); err != nil {
		return nil, err
	}
	return s.store.EmailLog(ctx, admin.WorkspaceID, limit)
}

// EmailConfigured reports whether Parley can send email at all.
func (s *Service) EmailConfigured() bool { return s.mailer != nil }
