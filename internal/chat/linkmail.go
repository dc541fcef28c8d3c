package chat

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/store"
)

// The email of an invitation or reset link (passwords.go queues it). The job holds the token sealed
// with the master key, bound to the agent; it mails nothing once the link was used, voided or expired.

type linkEmailJob struct {
	WorkspaceID string `json:"workspace_id"`
	AgentID     string `json:"agent_id"`
	Sealed      string `json:"sealed"` // the link's token, sealed (linkEmailLabel)
}

func linkEmailLabel(agentID string) string { return "agent_link/" + agentID }

type linkView struct {
	Agent, Workspace, Link, Expires string
	Invite                          bool
}

var (
	linkText = texttemplate.Must(texttemplate.New("link").Parse(`Hello {{.Agent}},
{{if .Invite}}
You are invited to answer chats for {{.Workspace}} with Parley. Choose your password here:
{{else}}
An administrator of {{.Workspace}} sent you a link to choose a new password for the Parley console:
{{end}}
{{.Link}}

The link works once, until {{.Expires}}.{{if not .Invite}} Using it signs you out everywhere else.{{end}}
If you did not expect this email, ignore it{{if not .Invite}}: your password stays as it is{{end}}.
`))
	linkHTML = htmltemplate.Must(htmltemplate.New("link").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello {{.Agent}},</p>
{{if .Invite}}<p>You are invited to answer chats for <strong>{{.Workspace}}</strong> with Parley.</p>
<p><a href="{{.Link}}">Choose your password</a></p>
{{else}}<p>An administrator of <strong>{{.Workspace}}</strong> sent you a link to choose a new password for the Parley console.</p>
<p><a href="{{.Link}}">Choose a new password</a></p>
{{end}}<p>The link works once, until {{.Expires}}.{{if not .Invite}} Using it signs you out everywhere else.{{end}}</p>
<p style="color: #777; font-size: 0.9em">If you did not expect this email, ignore it{{if not .Invite}}: your password stays as it is{{end}}.</p>
</body></html>
`))
)

// runLinkEmail mails an invitation or reset link, if it is still usable.
func (s *Service) runLinkEmail(ctx context.Context, j store.Job) error {
	var p linkEmailJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(err)
	}
	if !s.canEmailLinks() {
		return jobs.Permanent(errors.New("no SMTP server or public URL is configured"))
	}
	sealed, err := base64.RawURLEncoding.DecodeString(p.Sealed)
	if err != nil {
		return jobs.Permanent(err)
	}
	token, err := s.box.Open(sealed, linkEmailLabel(p.AgentID))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("open the link's token: %w", err))
	}
	l, err := s.store.AgentLink(ctx, hashToken(string(token)))
	if err != nil {
		return ignoreMissing(err)
	}
	if !l.UsedAt.IsZero() || !s.clock().Before(l.ExpiresAt) || l.AgentID != p.AgentID {
		return nil // used, voided or expired meanwhile: nothing worth sending
	}
	agent, err := s.store.Agent(ctx, l.AgentID)
	if err != nil || !agent.DisabledAt.IsZero() {
		return ignoreMissing(err)
	}
	ws, err := s.store.Workspace(ctx, l.WorkspaceID)
	if err != nil {
		return ignoreMissing(err)
	}
	v := linkView{Agent: firstNonEmpty(firstName(agent.Name), agent.Name), Workspace: ws.Name,
		Link: s.publicURL + LinkPath(string(token)), Invite: l.Purpose == store.AgentLinkInvite,
		Expires: l.ExpiresAt.UTC().Format("Monday 2 January 15:04 UTC")}
	var text, html bytes.Buffer
	if err := linkText.Execute(&text, v); err != nil {
		return jobs.Permanent(err)
	}
	if err := linkHTML.Execute(&html, v); err != nil {
		return jobs.Permanent(err)
	}
	subject := "Your invitation to " + ws.Name + " on Parley"
	if !v.Invite {
		subject = "Choose a new password for " + ws.Name + " on Parley"
	}
	msg := mail.Message{To: agent.Email, Subject: subject, Text: text.String(), HTML: html.String(),
		MessageID: fmt.Sprintf("link-%s@%s", j.Key[:32], s.mailHost()),
		Headers:   map[string]string{"X-Parley-Workspace": ws.ID}}
	return s.sendLogged(ctx, j, ws.ID, "agent "+l.Purpose+" link", msg, nil)
}
