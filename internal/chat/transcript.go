package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Transcripts: a conversation as plain text, as its customer saw it — internal notes never
// (CustomerVisible), files by name. Anyone who can see a conversation in the widget may download it; a
// verified customer may have it emailed to their verified address, and so may an agent for them
// (EmailRecipient decides the address, as for every email to customers).

// JobEmailTranscript is the job kind that mails a transcript.
const JobEmailTranscript = "email.transcript"

// transcriptEmailSpacing is the least time between two transcript emails of one conversation: a
// button pressed twice, or a script, sends one.
const transcriptEmailSpacing = 5 * time.Minute

// transcript renders the conversation as text for someone allowed to see it, in a language
// customerLocale chose.
func (s *Service) transcript(ctx context.Context, ws store.Workspace, conv store.Conversation, lang string) (string, error) {
	_, names, err := s.agentNames(ctx, ws.ID)
	if err != nil {
		return "", err
	}
	t := textsFor(lang)
	var b strings.Builder
	b.WriteString(format(t.TranscriptTitle, "workspace", ws.Name) + "\n")
	b.WriteString(format(t.TranscriptStarted, "time", conv.CreatedAt.UTC().Format(t.TimeLayout)+" UTC") + "\n\n")
	var after int64
	for {
		msgs, err := s.store.MessagesAfterNumber(ctx, conv.ID, after, DefaultPageSize)
		if err != nil {
			return "", err
		}
		for _, m := range customerVisible(msgs) {
			who := t.You
			switch m.Sender {
			case store.SenderAgent:
				who = firstNonEmpty(names[m.AgentID], ws.Name)
			case store.SenderSystem:
				who = ws.Name
			}
			fmt.Fprintf(&b, "[%s] %s%s\n", m.CreatedAt.UTC().Format(t.TimeLayout), who, strings.TrimRight(t.Colon, " "))
			if m.Body != "" {
				b.WriteString(m.Body)
				b.WriteString("\n")
			}
			for _, a := range m.Attachments {
				b.WriteString("(" + format(t.File, "name", a.Name, "size", files.HumanSize(a.Size)) + ")\n")
			}
			b.WriteString("\n")
			after = m.N
		}
		if len(msgs) < DefaultPageSize {
			return b.String(), nil
		}
	}
}

// VisitorTranscript is the text of one of the visitor's conversations, in locale (the widget's
// language: a BCP 47 tag, or "" for the workspace's default; one the texts lack falls back).
func (s *Service) VisitorTranscript(ctx context.Context, v *Visitor, conversationID, locale string) (string, error) {
	if _, err := parseLocale(locale); err != nil {
		return "", err
	}
	conv, err := s.visibleConversation(ctx, v, conversationID)
	if err != nil {
		return "", err
	}
	return s.transcript(ctx, v.Workspace, conv, customerLocale(locale, v.Workspace.Settings.DefaultLocale))
}

// EmailTranscriptToVisitor mails a conversation's transcript to the visitor: only a verified customer,
// at their verified address, in locale (as VisitorTranscript). It returns that address so the widget
// can say where it went.
func (s *Service) EmailTranscriptToVisitor(ctx context.Context, v *Visitor, conversationID, locale string) (string, error) {
	if _, err := parseLocale(locale); err != nil {
		return "", err
	}
	conv, err := s.visibleConversation(ctx, v, conversationID)
	if err != nil {
		return "", err
	}
	if v.Session.Level != store.LevelVerified || conv.CustomerID != v.Session.CustomerID {
		return "", forbidden("verification_required", "only a signed-in customer can have a transcript emailed, to the address their sign-in proved")
	}
	return s.enqueueTranscript(ctx, v.Workspace, conv, "customer", locale)
}

// EmailTranscript mails a conversation's transcript to its verified customer on an agent's request.
func (s *Service) EmailTranscript(ctx context.Context, agent store.Agent, conversationID string) (string, error) {
	conv, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, conversationID)
	if err != nil {
		return "", err
	}
	ws, err := s.store.Workspace(ctx, agent.WorkspaceID)
	if err != nil {
		return "", err
	}
	return s.enqueueTranscript(ctx, ws, conv, "agent "+agent.ID, "")
}

type transcriptJob struct {
	WorkspaceID    string `json:"workspace_id"`
	ConversationID string `json:"conversation_id"`
	RequestedBy    string `json:"requested_by"`
	// Locale is the widget's language when the customer asked; "" when an agent did (the customer's
	// own language is looked up when the job runs).
	Locale string `json:"locale,omitempty"`
}

func (s *Service) enqueueTranscript(ctx context.Context, ws store.Workspace, conv store.Conversation, by, locale string) (string, error) {
	if s.mailer == nil {
		return "", problem.New(http.StatusServiceUnavailable, "email_unavailable", "this server sends no email (no SMTP server is configured)")
	}
	var c store.Customer
	var state store.CustomerEmail
	if conv.CustomerID != "" {
		var err error
		if c, err = s.store.Customer(ctx, conv.CustomerID); err != nil {
			return "", err
		}
		if state, err = s.store.CustomerEmail(ctx, c.ID); err != nil {
			return "", err
		}
	}
	// A transcript asked for explicitly goes even to a customer who unsubscribed from reply emails.
	state.OptedOutAt = time.Time{}
	to, why := EmailRecipient(conv, c, state, ws.Settings)
	if to == "" {
		return "", conflict("no_verified_email", "a transcript can be emailed only to the verified customer's address: %s", why)
	}
	now := s.clock()
	// One job per conversation per spacing window: pressing twice sends once.
	window := now.Truncate(transcriptEmailSpacing).Unix()
	err := s.update(ctx, func(tx store.Tx, _ *outbox) error {
		_, _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobEmailTranscript, Key: fmt.Sprintf("%s:%d", conv.ID, window),
			Payload: transcriptJob{WorkspaceID: ws.ID, ConversationID: conv.ID, RequestedBy: by, Locale: locale}, MaxAttempts: 8}, now)
		if err != nil {
			return err
		}
		// A transcript leaving by email is an export of the conversation: the trail says who sent it where.
		actor := actorOf(ctx)
		if by == "customer" {
			actor = "customer " + conv.CustomerID
		}
		return s.auditIn(ctx, tx, ws.ID, actor, AuditTranscriptMailed, conv.ID, "to "+to, addrOf(ctx))
	})
	return to, err
}

// runTranscriptEmail mails a transcript to the conversation's verified customer.
func (s *Service) runTranscriptEmail(ctx context.Context, j store.Job) error {
	var p transcriptJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	if s.mailer == nil {
		return jobs.Permanent(errors.New("no SMTP server is configured"))
	}
	ws, err := s.store.Workspace(ctx, p.WorkspaceID)
	if err != nil {
		return ignoreMissing(err)
	}
	conv, err := s.store.Conversation(ctx, p.ConversationID)
	if err != nil || conv.WorkspaceID != ws.ID || conv.CustomerID == "" {
		return ignoreMissing(err)
	}
	c, err := s.store.Customer(ctx, conv.CustomerID)
	if err != nil {
		return err
	}
	// Checked again when sending: the customer may have changed address or left the allowed domains.
	to, _ := EmailRecipient(conv, c, store.CustomerEmail{}, ws.Settings)
	if to == "" {
		return nil
	}
	lang := customerLocale(p.Locale, c.Locale, ws.Settings.DefaultLocale)
	t := textsFor(lang)
	text, err := s.transcript(ctx, ws, conv, lang)
	if err != nil {
		return err
	}
	var html bytes.Buffer
	view := map[string]string{"Lang": lang, "Dir": t.Dir, "Intro": format(t.TranscriptIntro, "workspace", ws.Name), "Text": text}
	if err := transcriptHTML.Execute(&html, view); err != nil {
		return jobs.Permanent(err)
	}
	msg := mail.Message{To: to, Subject: format(t.TranscriptSubject, "workspace", ws.Name), Text: text, HTML: html.String(), Language: lang,
		MessageID: fmt.Sprintf("transcript-%s-%s@%s", conv.ID, strings.ReplaceAll(j.Key, ":", "-"), s.mailHost()),
		Headers:   map[string]string{"X-Parley-Workspace": ws.ID, "X-Parley-Conversation": conv.ID}}
	return s.sendLogged(ctx, j, ws.ID, "transcript", msg, nil)
}

// sendLogged sends one email and records it in the delivery log; on success it runs after (in the
// same transaction as the log entry).
func (s *Service) sendLogged(ctx context.Context, j store.Job, workspaceID, kind string, msg mail.Message, after func(tx store.Tx) error) error {
	now := s.clock()
	entry := store.EmailLogEntry{WorkspaceID: workspaceID, JobKey: j.Kind + ":" + j.Key, Kind: kind, Recipient: msg.To, Subject: msg.Subject,
		Attempts: j.Attempts, CreatedAt: now, UpdatedAt: now}
	wctx := context.WithoutCancel(ctx)
	reply, err := s.mailer.Send(ctx, msg)
	if err != nil {
		var me *mail.Error
		permanent := errors.As(err, &me) && me.Permanent
		entry.State, entry.Reply = store.EmailRetrying, err.Error()
		if permanent || j.Attempts >= j.MaxAttempts {
			entry.State = store.EmailFailed
		}
		if me != nil && me.Reply != "" {
			entry.Reply = me.Reply
		}
		s.metrics.EmailDelivery(entry.State)
		_ = s.store.Update(wctx, func(tx store.Tx) error { return tx.LogEmail(wctx, &entry) })
		if permanent {
			return jobs.Permanent(err)
		}
		return err
	}
	entry.State, entry.Reply = store.EmailSent, reply
	s.metrics.EmailDelivery(entry.State)
	return s.store.Update(wctx, func(tx store.Tx) error {
		if after != nil {
			if err := after(tx); err != nil {
				return err
			}
		}
		return tx.LogEmail(wctx, &entry)
	})
}

func ignoreMissing(err error) error {
	if err == nil || isNotFound(err) {
		return nil
	}
	return err
}
