package chat

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Console sign-in. Every way in — a password, single sign-on, an invitation or reset link — ends in
// beginAgentSession, which decides what is still owed: a two-factor code when the agent has enrolled,
// an enrolment when the workspace requires two-factor and the agent has none. A session that owes
// something has a Stage; AgentSession refuses it, so no page, fragment or socket of the console opens
// with it, and only PendingAgentSession (the pages of that step) accepts it.

// AgentSessionLifetime bounds a console sign-in whatever its use; agents sign in again after a working day.
const AgentSessionLifetime = 12 * time.Hour

// DefaultConsoleIdleTimeout ends a console session unused this long (Settings.ConsoleIdleTimeout).
const DefaultConsoleIdleTimeout = 12 * time.Hour

// PendingSignInLifetime bounds a session that still owes a second factor or an enrolment.
const PendingSignInLifetime = 15 * time.Minute

// agentTouchInterval: a console session's LastSeenAt is written at most this often.
const agentTouchInterval = time.Minute

// SignInInfo says where a console sign-in comes from, for the agent's list of sessions and the audit trail.
type SignInInfo struct {
	UserAgent string
	Addr      string
}

// ConsoleIdleTimeout is the workspace's console idle timeout, its default applied.
func ConsoleIdleTimeout(st store.Settings) time.Duration {
	if st.ConsoleIdleTimeout > 0 {
		return st.ConsoleIdleTimeout
	}
	return DefaultConsoleIdleTimeout
}

func passwordsOff() *problem.Error {
	return problem.New(http.StatusForbidden, "password_sign_in_off",
		"this workspace signs agents in through single sign-on only; use the single sign-on button")
}

// StartAgentSession signs an agent in with a password (see AuthenticateAgent) and returns a new session
// token for the console's cookie, with the session: its Stage says what is still owed (a two-factor
// code, an enrolment) and its CSRFToken protects forms. Successes and failures for a known agent are
// audited in the agent's workspace.
func (s *Service) StartAgentSession(ctx context.Context, email, pw string, info SignInInfo) (string, store.Agent, store.AgentSession, error) {
	a, err := s.AuthenticateAgent(ctx, email, pw)
	if err != nil {
		if p, ok := problem.As(err); ok && p.Code == "login_failed" {
			s.auditSignInFailure(ctx, email, AuditSignInFailed, "method=password", info)
		}
		return "", store.Agent{}, store.AgentSession{}, err
	}
	ws, err := s.store.Workspace(ctx, a.WorkspaceID)
	if err != nil {
		return "", store.Agent{}, store.AgentSession{}, err
	}
	if ws.Settings.SSO.Enabled && ws.Settings.SSO.PasswordsOff {
		// Told only after the right password: it reveals nothing to someone guessing.
		s.auditAgent(ctx, a, AuditSignInFailed, "method=password reason=passwords_off", info)
		return "", store.Agent{}, store.AgentSession{}, passwordsOff()
	}
	token, sess, err := s.beginAgentSession(ctx, a, ws, store.AgentMethodPassword, info, false)
	return token, a, sess, err
}

// beginAgentSession creates a console session for an agent whose first factor was accepted by method.
// mfaDone says a second factor was already proven (the provider's MFA, trusted by the workspace).
func (s *Service) beginAgentSession(ctx context.Context, a store.Agent, ws store.Workspace, method string, info SignInInfo, mfaDone bool) (string, store.AgentSession, error) {
	stage := ""
	if !mfaDone {
		if !a.TOTPEnabledAt.IsZero() {
			stage = store.AgentStageTOTP
		} else if ws.Settings.Require2FA {
			stage = store.AgentStageEnrol
		}
	}
	now := s.clock()
	token := randomToken(agentTokenPrefix)
	sess := store.AgentSession{ID: newID("as_"), TokenHash: hashToken(token), AgentID: a.ID, CSRFToken: randomToken(""),
		CreatedAt: now, ExpiresAt: now.Add(AgentSessionLifetime), Stage: stage, Method: method,
		UserAgent: clip(info.UserAgent, 300), Addr: clip(info.Addr, 64), LastSeenAt: now}
	if stage != "" {
		sess.ExpiresAt = now.Add(PendingSignInLifetime)
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateAgentSession(ctx, &sess); err != nil {
			return err
		}
		detail := "method=" + method
		if stage != "" {
			detail += " pending=" + stage
		} else if mfaDone {
			detail += " second_factor=provider"
		}
		return s.auditIn(ctx, tx, a.WorkspaceID, AgentActor(a), AuditSignIn, a.ID, detail, info.Addr)
	})
	if err != nil {
		return "", store.AgentSession{}, err
	}
	return token, sess, nil
}

// CompleteAgentSession replaces a pending session (one that owed a second factor or an enrolment, now
// provided) with a full one: a new token, so a token seen before the second factor is worth nothing
// after it. how names what was provided, for the audit trail ("totp", "recovery_code", "enrolled").
func (s *Service) CompleteAgentSession(ctx context.Context, pendingToken, how string) (string, store.AgentSession, error) {
	old, a, err := s.PendingAgentSession(ctx, pendingToken)
	if err != nil {
		return "", store.AgentSession{}, err
	}
	if old.Stage == "" {
		return "", store.AgentSession{}, conflict("not_pending", "this session owes nothing; it is signed in already")
	}
	now := s.clock()
	token := randomToken(agentTokenPrefix)
	sess := old
	sess.ID, sess.TokenHash, sess.CSRFToken, sess.Stage = newID("as_"), hashToken(token), randomToken(""), ""
	sess.CreatedAt, sess.ExpiresAt, sess.LastSeenAt = now, now.Add(AgentSessionLifetime), now
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.RevokeAgentSession(ctx, old.TokenHash, now); err != nil {
			return err
		}
		if err := tx.CreateAgentSession(ctx, &sess); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, a.WorkspaceID, AgentActor(a), AuditSignIn, a.ID, "method="+sess.Method+" second_factor="+how, sess.Addr)
	})
	if isNotFound(err) {
		return "", store.AgentSession{}, agentSessionInvalid()
	}
	if err != nil {
		return "", store.AgentSession{}, err
	}
	return token, sess, nil
}

// AgentSession returns the agent signed in with token. An unknown, expired, idle, revoked or pending
// session (one still owing a second factor), or a disabled agent, is the 401 problem session_invalid.
func (s *Service) AgentSession(ctx context.Context, token string) (store.Agent, store.AgentSession, error) {
	a, sess, _, err := s.AgentSignIn(ctx, token)
	return a, sess, err
}

// AgentSignIn is AgentSession with the agent's workspace, which it reads anyway for the idle timeout.
// It records the session's use (at most once a minute).
func (s *Service) AgentSignIn(ctx context.Context, token string) (store.Agent, store.AgentSession, store.Workspace, error) {
	a, sess, ws, err := s.agentSession(ctx, token)
	if err != nil {
		return store.Agent{}, store.AgentSession{}, store.Workspace{}, err
	}
	if sess.Stage != "" {
		return store.Agent{}, store.AgentSession{}, store.Workspace{}, agentSessionInvalid()
	}
	s.touchAgentSession(ctx, &sess)
	return a, sess, ws, nil
}

// CheckAgentSession is AgentSession without recording a use: a console socket's periodic check that
// its sign-in still holds is no sign of a person at the keyboard, so it must not keep an idle session
// alive.
func (s *Service) CheckAgentSession(ctx context.Context, token string) error {
	_, sess, _, err := s.agentSession(ctx, token)
	if err == nil && sess.Stage != "" {
		err = agentSessionInvalid()
	}
	return err
}

// PendingAgentSession returns a live session whatever its stage, for the pages that complete a sign-in
// (the two-factor code, the enrolment). Callers check sess.Stage.
func (s *Service) PendingAgentSession(ctx context.Context, token string) (store.AgentSession, store.Agent, error) {
	a, sess, _, err := s.agentSession(ctx, token)
	return sess, a, err
}

func (s *Service) agentSession(ctx context.Context, token string) (store.Agent, store.AgentSession, store.Workspace, error) {
	var none store.Agent
	if !strings.HasPrefix(token, agentTokenPrefix) || len(token) != len(agentTokenPrefix)+43 {
		return none, store.AgentSession{}, store.Workspace{}, agentSessionInvalid()
	}
	sess, a, err := s.store.AgentSessionAndAgent(ctx, hashToken(token))
	if isNotFound(err) {
		return none, store.AgentSession{}, store.Workspace{}, agentSessionInvalid()
	}
	if err != nil {
		return none, store.AgentSession{}, store.Workspace{}, err
	}
	now := s.clock()
	if !now.Before(sess.ExpiresAt) || !a.DisabledAt.IsZero() {
		return none, store.AgentSession{}, store.Workspace{}, agentSessionInvalid()
	}
	ws, err := s.store.Workspace(ctx, a.WorkspaceID)
	if err != nil {
		return none, store.AgentSession{}, store.Workspace{}, err
	}
	if sess.Stage == "" && !sess.LastSeenAt.IsZero() && !now.Before(sess.LastSeenAt.Add(ConsoleIdleTimeout(ws.Settings))) {
		return none, store.AgentSession{}, store.Workspace{}, problem.New(http.StatusUnauthorized, "session_invalid",
			"your console session ended after %s without use; sign in again", formatDuration(ConsoleIdleTimeout(ws.Settings)))
	}
	a.PasswordHash = ""
	return a, sess, ws, nil
}

// touchAgentSession records a use of the session when its LastSeenAt is a minute old or more. A failure
// only costs the idle timer that minute, so it is logged, not returned.
func (s *Service) touchAgentSession(ctx context.Context, sess *store.AgentSession) {
	now := s.clock()
	if now.Sub(sess.LastSeenAt) < agentTouchInterval {
		return
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.TouchAgentSession(ctx, sess.TokenHash, now, now.Add(-agentTouchInterval))
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("record console session use", "session", sess.ID, "err", err)
		}
		return
	}
	sess.LastSeenAt = now
}

// Audit actions of console sign-in.
const (
	AuditSignIn       = "signin.succeeded"
	AuditSignInFailed = "signin.failed"
)

// auditAgent records an event about agent a in its own transaction (sign-in failures and the like,
// which change nothing else). A failure to record is logged: it must not turn a refusal into a 500.
func (s *Service) auditAgent(ctx context.Context, a store.Agent, action, detail string, info SignInInfo) {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		return s.auditIn(ctx, tx, a.WorkspaceID, AgentActor(a), action, a.ID, detail, info.Addr)
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("audit", "action", action, "agent", a.ID, "err", err)
	}
}

// auditSignInFailure records a failed sign-in for the account named by email, in its workspace. An
// email that names no agent has no workspace to record it in; it is logged only.
func (s *Service) auditSignInFailure(ctx context.Context, email, action, detail string, info SignInInfo) {
	canon, err := identity.CanonicalEmail(email)
	if err != nil {
		return
	}
	a, err := s.store.AgentByEmail(ctx, canon)
	if err != nil {
		s.log.Info("console sign-in failed for an unknown email", "addr", info.Addr)
		return
	}
	s.auditAgent(ctx, a, action, detail, info)
}

// auditIn records an audit event with an explicit actor and address (sign-ins happen before there is
// an actor in the context).
func (s *Service) auditIn(ctx context.Context, tx store.Tx, workspaceID, actor, action, target, detail, addr string) error {
	e := store.AuditEvent{WorkspaceID: workspaceID, At: s.clock(), Actor: clip(actor, 300), Action: action, Target: target,
		Detail: clip(detail, 2000), Addr: clip(addr, 64)}
	return tx.AddAuditEvent(ctx, &e)
}
