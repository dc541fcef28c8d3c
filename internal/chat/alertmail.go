package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	texttemplate "text/template"
	"time"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/store"
)

// Email alerts to agents: a customer message that no agent has read within the workspace's delay is
// mailed to the agents who answer it — the members of its inbox (or, without inboxes, every agent) and
// its assignee — who opted in (store.AgentPrefs.EmailAlerts). Agents see everything a customer wrote, so
// the email quotes the message; it links to the console, where the agent signs in as usual.

// Kinds of the agent alert jobs: one per unread message, which fans out to one per agent (so that a
// retry never mails an agent twice for another's failure).
const (
	JobUnreadCheck = "email.unread"
	JobAgentAlert  = "email.agent_alert"
	// DefaultUnreadAlertDelay is how long a customer message may stay unread before agents are mailed.
	DefaultUnreadAlertDelay = 5 * time.Minute
)

// UnreadAlertDelay is the workspace's delay before unread customer messages are mailed to agents.
func UnreadAlertDelay(st store.Settings) time.Duration {
	if st.UnreadAlertDelay > 0 {
		return st.UnreadAlertDelay
	}
	return DefaultUnreadAlertDelay
}

type unreadJob struct {
	WorkspaceID    string `json:"workspace_id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	N              int64  `json:"n"`
	AgentID        string `json:"agent_id,omitempty"`
}

// enqueueUnreadCheck schedules the check of a customer message for agents' email alerts.
func (s *Service) enqueueUnreadCheck(ctx context.Context, tx store.Tx, st store.Settings, m store.Message) error {
	if s.mailer == nil {
		return nil
	}
	_, _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobUnreadCheck, Key: fmt.Sprintf("%s:%d", m.ConversationID, m.Seq),
		Payload: unreadJob{ConversationID: m.ConversationID, Seq: m.Seq, N: m.N}, RunAt: m.CreatedAt.Add(UnreadAlertDelay(st)), MaxAttempts: 5}, s.clock())
	return err
}

// SetAgentEmailAlerts turns the agent's own unread-conversation emails on or off.
func (s *Service) SetAgentEmailAlerts(ctx context.Context, agent store.Agent, on bool) (store.AgentPrefs, error) {
	var p store.AgentPrefs
	err := s.update(ctx, func(tx store.Tx, _ *outbox) error {
		var err error
		if p, err = tx.AgentPrefs(ctx, agent.ID); err != nil {
			return err
		}
		p.EmailAlerts, p.UpdatedAt = on, s.clock()
		return tx.SetAgentPrefs(ctx, &p)
	})
	return p, err
}

// runUnreadCheck finds whether a customer message is still unread and, if so, which agents to mail.
func (s *Service) runUnreadCheck(ctx context.Context, j store.Job) error {
	var p unreadJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(err)
	}
	conv, err := s.store.Conversation(ctx, p.ConversationID)
	if err != nil {
		return ignoreMissing(err)
	}
	// A newer customer message has a check of its own: one alert for a run of messages.
	newer, err := s.store.Messages(ctx, conv.ID, p.Seq, 50)
	if err != nil {
		return err
	}
	for _, m := range newer {
		if m.Sender == store.SenderCustomer {
			return nil
		}
	}
	read, err := s.store.AgentsReadUpTo(ctx, conv.ID)
	if err != nil {
		return err
	}
	if read >= p.N || conv.Status == store.StatusClosed {
		return nil
	}
	agents, err := s.store.Agents(ctx, conv.WorkspaceID)
	if err != nil {
		return err
	}
	answer := map[string]bool{conv.AssigneeID: conv.AssigneeID != ""}
	if conv.InboxID != "" {
		in, err := s.store.Inbox(ctx, conv.InboxID)
		if err != nil && !isNotFound(err) {
			return err
		}
		for _, id := range in.Members {
			answer[id] = true
		}
	} else {
		for _, a := range agents {
			answer[a.ID] = true
		}
	}
	now := s.clock()
	return s.update(ctx, func(tx store.Tx, _ *outbox) error {
		for _, a := range agents {
			if !answer[a.ID] || !a.DisabledAt.IsZero() {
				continue
			}
			prefs, err := tx.AgentPrefs(ctx, a.ID)
			if err != nil {
				return err
			}
			if !prefs.EmailAlerts {
				continue
			}
			q := p
			q.WorkspaceID, q.AgentID = conv.WorkspaceID, a.ID
			if _, _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobAgentAlert, Key: j.Key + ":" + a.ID, Payload: q, MaxAttempts: 8}, now); err != nil {
				return err
			}
		}
		return nil
	})
}

type alertView struct {
	Agent, Workspace, Customer, Level, Body, Link, Preferences string
	Files                                                      []string
}

var (
	alertText = texttemplate.Must(texttemplate.New("alert").Parse(`Hello {{.Agent}},

{{.Customer}} ({{.Level}}) has been waiting in {{.Workspace}}:

{{.Body}}
{{range .Files}}(file: {{.}})
{{end}}
Open the conversation: {{.Link}}

You receive this because you turned on email alerts. Turn them off: {{.Preferences}}
`))
	alertHTML = htmltemplate.Must(htmltemplate.New("alert").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello {{.Agent}},</p>
<p><strong>{{.Customer}}</strong> ({{.Level}}) has been waiting in {{.Workspace}}:</p>
<blockquote style="margin: 0 0 1em; padding-left: 1em; border-left: 3px solid #ccc; white-space: pre-wrap">{{.Body}}</blockquote>
{{range .Files}}<p>(file: {{.}})</p>{{end}}
<p><a href="{{.Link}}">Open the conversation</a></p>
<p style="color: #777; font-size: 0.9em">You receive this because you turned on email alerts. <a href="{{.Preferences}}">Turn them off</a></p>
</body></html>
`))
)

// runAgentAlert mails one agent about one unread conversation, if it is still unread.
func (s *Service) runAgentAlert(ctx context.Context, j store.Job) error {
	var p unreadJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(err)
	}
	if s.mailer == nil {
		return jobs.Permanent(errors.New("no SMTP server is configured"))
	}
	if s.publicURL == "" {
		return jobs.Permanent(errors.New("no public URL is configured (--public-url), so an email could not link back"))
	}
	conv, err := s.store.Conversation(ctx, p.ConversationID)
	if err != nil {
		return ignoreMissing(err)
	}
	if read, err := s.store.AgentsReadUpTo(ctx, conv.ID); err != nil || read >= p.N {
		return err // read meanwhile: nothing to say
	}
	agent, err := s.store.Agent(ctx, p.AgentID)
	if err != nil || agent.WorkspaceID != conv.WorkspaceID || !agent.DisabledAt.IsZero() {
		return ignoreMissing(err)
	}
	ws, err := s.store.Workspace(ctx, conv.WorkspaceID)
	if err != nil {
		return err
	}
	msgs, err := s.store.Messages(ctx, conv.ID, p.Seq-1, 1)
	if err != nil || len(msgs) == 0 || msgs[0].Seq != p.Seq {
		return ignoreMissing(err)
	}
	m := msgs[0]
	v := alertView{Agent: firstNonEmpty(firstName(agent.Name), agent.Name), Workspace: ws.Name, Body: m.Body,
		Link:        s.publicURL + "/console/conversations/" + url.PathEscape(conv.ID),
		Preferences: s.publicURL + "/console/preferences"}
	for _, a := range m.Attachments {
		v.Files = append(v.Files, a.Name)
	}
	switch ConversationLevel(conv) {
	case store.LevelVerified:
		v.Level = "verified"
		if c, err := s.store.Customer(ctx, conv.CustomerID); err == nil {
			v.Customer = firstNonEmpty(c.Name, c.Email)
		}
	case store.LevelIdentified:
		v.Level, v.Customer = "claimed, not verified", firstNonEmpty(conv.ClaimedName, conv.ClaimedEmail)
	default:
		v.Level = "anonymous"
	}
	v.Customer = firstNonEmpty(v.Customer, "A visitor")
	var text, html bytes.Buffer
	if err := alertText.Execute(&text, v); err != nil {
		return jobs.Permanent(err)
	}
	if err := alertHTML.Execute(&html, v); err != nil {
		return jobs.Permanent(err)
	}
	msg := mail.Message{To: agent.Email, Subject: "Waiting in " + ws.Name + ": " + v.Customer, Text: text.String(), HTML: html.String(),
		MessageID: fmt.Sprintf("alert-%s-%d-%s@%s", conv.ID, p.Seq, agent.ID, s.mailHost()),
		Headers:   map[string]string{"X-Parley-Workspace": ws.ID, "X-Parley-Conversation": conv.ID}}
	return s.sendLogged(ctx, j, ws.ID, "agent alert", msg, nil)
}
