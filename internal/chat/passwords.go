package chat

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// The password lifecycle of console agents: an administrator invites an agent (no password yet, a
// single-use link to set one) or sends a reset link; the agent changes their own password with the
// current one. A link is a random 256-bit token of which only the SHA-256 is stored; using it sets the
// password and signs the agent in through beginAgentSession, so two-factor still applies. Links are
// emailed when the server can mail (SMTP and a public URL), through the job runner so that a failed
// send is retried and exactly one instance sends; otherwise the console shows the link to the
// administrator once. The console's sessions are the agent's to list and end.

// Lifetimes of agent links.
const (
	InviteLinkLifetime = 72 * time.Hour
	ResetLinkLifetime  = time.Hour
)

// Bounds of a workspace's console idle timeout (store.Settings.ConsoleIdleTimeout): shorter than five
// minutes signs agents out between two chats; longer than a session's whole lifetime means nothing.
const (
	MinConsoleIdleTimeout = 5 * time.Minute
	MaxConsoleIdleTimeout = AgentSessionLifetime
)

// agentLinkPrefix marks an agent link's token, so that one pasted in the wrong place is recognisable.
const agentLinkPrefix = "pal_"

// Audit actions of the password lifecycle and console sessions.
const (
	AuditAgentInvited           = "agent.invited"
	AuditInviteAccepted         = "invite.accepted"
	AuditResetLinkCreated       = "password.reset_link_created"
	AuditPasswordReset          = "password.reset"
	AuditPasswordChanged        = "password.changed"
	AuditSessionEnded           = "session.ended"
	AuditAgentSessionsSignedOut = "sessions.agent_signed_out"
)

// JobAgentLinkEmail mails an invitation or reset link.
const JobAgentLinkEmail = "email.agent_link"

// IssuedLink is an invitation or reset link just made. Token is the secret part; when Emailed is false
// the caller shows it to the administrator once (it is stored only as a hash).
type IssuedLink struct {
	Agent     store.Agent
	Purpose   string // store.AgentLinkInvite or store.AgentLinkReset
	Token     string
	ExpiresAt time.Time
	Emailed   bool // queued for email to the agent
}

// LinkPath is the console path of an agent link; the token goes in the query (see docs/security.md: a
// path would end up in access logs of proxies more often, and the page sends no Referer).
func LinkPath(token string) string { return "/console/link?t=" + token }

// canEmailLinks: links can be mailed only when there is an SMTP server and a public URL to link to.
func (s *Service) canEmailLinks() bool { return s.mailer != nil && s.publicURL != "" }

func linkInvalid() *problem.Error {
	return problem.NotFound("link_invalid", "this link cannot be used: it was used already, it expired, or a newer one replaced it; ask an administrator of your workspace for a new one")
}

// InviteAgent creates an agent of the workspace without a password, with a single-use link (valid
// InviteLinkLifetime) to set one. The agent cannot sign in until they use it.
func (s *Service) InviteAgent(ctx context.Context, workspaceID, email, name, role string) (IssuedLink, error) {
	canon, err := identity.CanonicalEmail(email)
	if err != nil {
		return IssuedLink{}, problem.InvalidField("email", "%s", err)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return IssuedLink{}, problem.InvalidField("name", "must not be empty")
	}
	if err := checkText("name", name, maxNameLength, false); err != nil {
		return IssuedLink{}, err
	}
	if role == "" {
		role = store.RoleAgent
	}
	if role != store.RoleAgent && role != store.RoleAdmin {
		return IssuedLink{}, problem.InvalidField("role", "must be %q or %q, not %q", store.RoleAgent, store.RoleAdmin, role)
	}
	now := s.clock()
	a := store.Agent{ID: newID("ag_"), WorkspaceID: workspaceID, Email: canon, Name: name, Role: role,
		Available: true, CreatedAt: now, UpdatedAt: now}
	link := IssuedLink{Agent: a, Purpose: store.AgentLinkInvite}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		err := tx.CreateAgent(ctx, &a)
		switch {
		case errors.Is(err, store.ErrConflict):
			return agentEmailUnavailable()
		case isNotFound(err):
			return workspaceMissing(workspaceID)
		case err != nil:
			return err
		}
		if err := s.issueLink(ctx, tx, a, &link, InviteLinkLifetime); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, AuditAgentInvited, a.ID, fmt.Sprintf("%s as %s emailed=%t", a.Email, role, link.Emailed))
	})
	if err != nil {
		return IssuedLink{}, err
	}
	return link, nil
}

// ResetPasswordLink makes a single-use link (valid ResetLinkLifetime) for an agent of the workspace to
// set a new password; a newer link voids older ones. Nothing ends until the link is used.
func (s *Service) ResetPasswordLink(ctx context.Context, workspaceID, agentID string) (IssuedLink, error) {
	link := IssuedLink{Purpose: store.AgentLinkReset}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		a, err := tx.Agent(ctx, agentID)
		if isNotFound(err) || (err == nil && a.WorkspaceID != workspaceID) {
			return problem.NotFound("agent_not_found", "no agent %q", agentID)
		}
		if err != nil {
			return err
		}
		if !a.DisabledAt.IsZero() {
			return conflict("agent_disabled", "%s is disabled; enable them first", a.Email)
		}
		a.PasswordHash = ""
		link.Agent = a
		if _, err := tx.RevokeAgentLinks(ctx, a.ID, store.AgentLinkReset, s.clock()); err != nil {
			return err
		}
		if err := s.issueLink(ctx, tx, a, &link, ResetLinkLifetime); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, AuditResetLinkCreated, a.ID, fmt.Sprintf("emailed=%t", link.Emailed))
	})
	if err != nil {
		return IssuedLink{}, err
	}
	return link, nil
}

// issueLink stores a new link of link.Purpose for a and, when the server can mail, queues its email.
func (s *Service) issueLink(ctx context.Context, tx store.Tx, a store.Agent, link *IssuedLink, lifetime time.Duration) error {
	now := s.clock()
	link.Token = randomToken(agentLinkPrefix)
	link.ExpiresAt = now.Add(lifetime)
	l := store.AgentLink{TokenHash: hashToken(link.Token), WorkspaceID: a.WorkspaceID, AgentID: a.ID, Purpose: link.Purpose,
		CreatedBy: actorOf(ctx), CreatedAt: now, ExpiresAt: link.ExpiresAt}
	if err := tx.CreateAgentLink(ctx, &l); err != nil {
		return err
	}
	if !s.canEmailLinks() {
		return nil
	}
	// The job carries the token sealed with the master key: the jobs table must not hold a usable link.
	p := linkEmailJob{WorkspaceID: a.WorkspaceID, AgentID: a.ID,
		Sealed: base64.RawURLEncoding.EncodeToString(s.box.Seal([]byte(link.Token), linkEmailLabel(a.ID)))}
	job := jobs.Job{Kind: JobAgentLinkEmail, Key: hex.EncodeToString(l.TokenHash), Payload: p, MaxAttempts: 8}
	if _, _, err := jobs.Enqueue(ctx, tx, job, now); err != nil {
		return err
	}
	link.Emailed = true
	return nil
}

// AgentLinkInfo returns a usable link's purpose and agent, for the page that asks for the new password;
// a used, expired or unknown link is the 404 problem link_invalid.
func (s *Service) AgentLinkInfo(ctx context.Context, token string) (store.AgentLink, store.Agent, error) {
	l, a, err := s.usableLink(ctx, token)
	return l, a, err
}

func (s *Service) usableLink(ctx context.Context, token string) (store.AgentLink, store.Agent, error) {
	if !strings.HasPrefix(token, agentLinkPrefix) || len(token) != len(agentLinkPrefix)+43 {
		return store.AgentLink{}, store.Agent{}, linkInvalid()
	}
	l, err := s.store.AgentLink(ctx, hashToken(token))
	if isNotFound(err) {
		return store.AgentLink{}, store.Agent{}, linkInvalid()
	}
	if err != nil {
		return store.AgentLink{}, store.Agent{}, err
	}
	if !l.UsedAt.IsZero() || !s.clock().Before(l.ExpiresAt) {
		return store.AgentLink{}, store.Agent{}, linkInvalid()
	}
	a, err := s.store.Agent(ctx, l.AgentID)
	if isNotFound(err) || (err == nil && !a.DisabledAt.IsZero()) {
		return store.AgentLink{}, store.Agent{}, linkInvalid()
	}
	if err != nil {
		return store.AgentLink{}, store.Agent{}, err
	}
	// A link sets a password: where agents sign in through single sign-on only, it would be a way around
	// the provider (its MFA, its offboarding). The link stays unused; the agent signs in with the provider.
	ws, err := s.store.Workspace(ctx, a.WorkspaceID)
	if err != nil {
		return store.AgentLink{}, store.Agent{}, err
	}
	if ws.Settings.SSO.Enabled && ws.Settings.SSO.PasswordsOff {
		return store.AgentLink{}, store.Agent{}, passwordsOff()
	}
	a.PasswordHash = ""
	return l, a, nil
}

// AcceptLink uses an invitation or reset link: it sets the agent's password (the password rules apply),
// uses up the link and every other of the agent's unused links, ends all of the agent's sessions after a
// reset, and begins a console session (which may still owe a second factor). It returns the session's
// token and the session.
func (s *Service) AcceptLink(ctx context.Context, token, newPassword string, info SignInInfo) (string, store.AgentSession, error) {
	_, a, err := s.usableLink(ctx, token)
	if err != nil {
		return "", store.AgentSession{}, err
	}
	if err := checkPassword(newPassword, a.Email); err != nil {
		return "", store.AgentSession{}, err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return "", store.AgentSession{}, fmt.Errorf("chat: hash password: %w", err)
	}
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		now := s.clock()
		l, err := tx.UseAgentLink(ctx, hashToken(token), now)
		if isNotFound(err) {
			return linkInvalid()
		}
		if err != nil {
			return err
		}
		if a, err = tx.Agent(ctx, l.AgentID); err != nil {
			return err
		}
		if !a.DisabledAt.IsZero() {
			return linkInvalid()
		}
		a.PasswordHash, a.PasswordChangedAt, a.UpdatedAt = hash, now, now
		if err := tx.UpdateAgent(ctx, &a); err != nil {
			return err
		}
		for _, purpose := range []string{store.AgentLinkInvite, store.AgentLinkReset} {
			if _, err := tx.RevokeAgentLinks(ctx, a.ID, purpose, now); err != nil {
				return err
			}
		}
		action, detail := AuditInviteAccepted, ""
		if l.Purpose == store.AgentLinkReset {
			n, err := tx.RevokeAgentSessions(ctx, a.ID, now)
			if err != nil {
				return err
			}
			out.add(realtime.Event{Type: EventAgentSessionEnded, Data: a.ID}, AgentTopic(a.ID))
			action, detail = AuditPasswordReset, fmt.Sprintf("sessions_ended=%d", n)
		}
		return s.auditIn(ctx, tx, a.WorkspaceID, AgentActor(a), action, a.ID, detail, info.Addr)
	})
	if err != nil {
		return "", store.AgentSession{}, err
	}
	a.PasswordHash = ""
	ws, err := s.store.Workspace(ctx, a.WorkspaceID)
	if err != nil {
		return "", store.AgentSession{}, err
	}
	return s.beginAgentSession(ctx, a, ws, store.AgentMethodLink, info, false)
}

// ChangePassword sets the signed-in agent's password, given the current one, and ends every other
// session of theirs (keepToken names the one to keep: the session changing it). It returns how many
// sessions ended. A wrong current password is the 403 problem current_password_wrong; callers count
// those against a failure budget, as sign-ins are.
func (s *Service) ChangePassword(ctx context.Context, agent store.Agent, current, newPassword, keepToken string) (int, error) {
	a, err := s.store.Agent(ctx, agent.ID)
	if err != nil {
		return 0, err
	}
	if a.PasswordHash == "" {
		return 0, conflict("no_password", "you sign in through single sign-on or have not set a password yet, so there is no password to change")
	}
	if len(current) > MaxPasswordBytes {
		return 0, currentPasswordWrong()
	}
	ok, err := s.hasher.Verify(ctx, current, a.PasswordHash)
	if err != nil {
		return 0, err
	}
	if !ok {
		s.auditAgent(ctx, a, AuditPasswordChangeFailed, "reason=current_password_wrong", SignInInfo{Addr: addrOf(ctx)})
		return 0, currentPasswordWrong()
	}
	if err := checkPassword(newPassword, a.Email); err != nil {
		return 0, err
	}
	if newPassword == current {
		return 0, problem.InvalidField("password", "is your current password; choose a new one")
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return 0, fmt.Errorf("chat: hash password: %w", err)
	}
	var ended int
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		now := s.clock()
		a, err := tx.Agent(ctx, agent.ID)
		if err != nil {
			return err
		}
		a.PasswordHash, a.PasswordChangedAt, a.UpdatedAt = hash, now, now
		if err := tx.UpdateAgent(ctx, &a); err != nil {
			return err
		}
		if ended, err = tx.RevokeOtherAgentSessions(ctx, a.ID, hashToken(keepToken), now); err != nil {
			return err
		}
		// A reset link sent before the change must not undo it.
		if _, err := tx.RevokeAgentLinks(ctx, a.ID, store.AgentLinkReset, now); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventAgentSessionEnded, Data: a.ID}, AgentTopic(a.ID))
		return s.audit(ctx, tx, a.WorkspaceID, AuditPasswordChanged, a.ID, fmt.Sprintf("other_sessions_ended=%d", ended))
	})
	return ended, err
}

// AuditPasswordChangeFailed records a password change refused for a wrong current password.
const AuditPasswordChangeFailed = "password.change_failed"

func currentPasswordWrong() *problem.Error {
	return problem.New(http.StatusForbidden, "current_password_wrong", "your current password is not right; type it again")
}

// AgentSessions lists the agent's live console sessions, newest first: not ended, not expired, not idle
// past the workspace's timeout. Sessions still owing a second factor are listed too (Stage says so).
func (s *Service) AgentSessions(ctx context.Context, agent store.Agent, ws store.Workspace) ([]store.AgentSession, error) {
	now := s.clock()
	list, err := s.store.AgentSessions(ctx, agent.ID, now)
	if err != nil {
		return nil, err
	}
	idle := ConsoleIdleTimeout(ws.Settings)
	live := list[:0]
	for _, x := range list {
		if x.Stage == "" && !x.LastSeenAt.IsZero() && !now.Before(x.LastSeenAt.Add(idle)) {
			continue
		}
		x.TokenHash, x.CSRFToken = nil, ""
		live = append(live, x)
	}
	return live, nil
}

// EndOwnSession ends one of the agent's own console sessions by its id; another agent's, or an ended
// one, is the 404 problem session_not_found.
func (s *Service) EndOwnSession(ctx context.Context, agent store.Agent, id string) error {
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		if err := tx.RevokeAgentSessionByID(ctx, agent.ID, id, s.clock()); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventAgentSessionEnded, Data: agent.ID}, AgentTopic(agent.ID))
		return s.audit(ctx, tx, agent.WorkspaceID, AuditSessionEnded, agent.ID, "session="+id)
	})
	if isNotFound(err) {
		return problem.NotFound("session_not_found", "you have no live session %q; it may have ended already", id)
	}
	return err
}

// EndAgentSessions signs an agent of the administrator's workspace out everywhere and returns how many
// sessions ended.
func (s *Service) EndAgentSessions(ctx context.Context, admin store.Agent, agentID string) (int, error) {
	if err := RequireAdmin(admin); err != nil {
		return 0, err
	}
	var n int
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		a, err := tx.Agent(ctx, agentID)
		if isNotFound(err) || (err == nil && a.WorkspaceID != admin.WorkspaceID) {
			return problem.NotFound("agent_not_found", "no agent %q", agentID)
		}
		if err != nil {
			return err
		}
		if n, err = tx.RevokeAgentSessions(ctx, a.ID, s.clock()); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventAgentSessionEnded, Data: a.ID}, AgentTopic(a.ID))
		return s.audit(ctx, tx, a.WorkspaceID, AuditAgentSessionsSignedOut, a.ID, fmt.Sprintf("sessions_ended=%d", n))
	})
	return n, err
}

// Account is what an agent's account page says about their password (never the hash).
type Account struct {
	HasPassword       bool
	PasswordChangedAt time.Time
}

// AgentAccount returns the password facts of an agent's account.
func (s *Service) AgentAccount(ctx context.Context, agentID string) (Account, error) {
	a, err := s.store.Agent(ctx, agentID)
	if err != nil {
		return Account{}, err
	}
	return Account{HasPassword: a.PasswordHash != "", PasswordChangedAt: a.PasswordChangedAt}, nil
}

// CanEmailLinks reports whether invitation and reset links go out by email (an SMTP server and a public
// URL are configured); otherwise the console shows them to the administrator once.
func (s *Service) CanEmailLinks() bool { return s.canEmailLinks() }
