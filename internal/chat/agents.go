package chat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Agent accounts: created by an administrator, signed in with email and password. The console builds
// its sessions on AuthenticateAgent. Password hashes never leave this file: every agent it returns has
// PasswordHash cleared.

// Password rules. Length is what makes a password hard to guess, so there is a minimum and no
// composition rules; the maximum keeps hashing cheap to refuse.
const (
	MinPasswordLength = 12                // characters
	MaxPasswordBytes  = password.MaxBytes // bytes of UTF-8
)

// loginFailed is the one answer to every failed sign-in, so that it never tells whether the email has
// an account, or a disabled one.
func loginFailed() *problem.Error {
	return problem.New(http.StatusUnauthorized, "login_failed", "email or password is wrong")
}

// CreateAgent creates an agent of the workspace. Role is store.RoleAgent (the default, when empty) or
// store.RoleAdmin. Emails are unique across the installation, since an agent signs in with email alone.
func (s *Service) CreateAgent(ctx context.Context, workspaceID, email, name, role, pw string) (store.Agent, error) {
	canon, err := identity.CanonicalEmail(email)
	if err != nil {
		return store.Agent{}, problem.InvalidField("email", "%s", err)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Agent{}, problem.InvalidField("name", "must not be empty")
	}
	if err := checkText("name", name, maxNameLength, false); err != nil {
		return store.Agent{}, err
	}
	if role == "" {
		role = store.RoleAgent
	}
	if role != store.RoleAgent && role != store.RoleAdmin {
		return store.Agent{}, problem.InvalidField("role", "must be %q or %q, not %q", store.RoleAgent, store.RoleAdmin, role)
	}
	if err := checkPassword(pw, canon); err != nil {
		return store.Agent{}, err
	}
	// A missing workspace is cheap to find out, hashing is not: look first.
	if _, err := s.Workspace(ctx, workspaceID); err != nil {
		return store.Agent{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return store.Agent{}, fmt.Errorf("chat: hash password: %w", err)
	}
	now := s.clock()
	a := store.Agent{
		ID: newID("ag_"), WorkspaceID: workspaceID, Email: canon, Name: name, Role: role, PasswordHash: hash,
		Available: true, CreatedAt: now, UpdatedAt: now,
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		err := tx.CreateAgent(ctx, &a)
		switch {
		case errors.Is(err, store.ErrConflict):
			// Emails are unique across the installation, so the agent holding this one may belong to
			// another workspace: the answer must not tell the two cases apart, nor repeat the address.
			return agentEmailUnavailable()
		case isNotFound(err): // the workspace went away since we looked
			return problem.NotFound("workspace_not_found", "no workspace %q", workspaceID)
		case err != nil:
			return err
		}
		return s.audit(ctx, tx, workspaceID, AuditAgentCreated, a.ID, a.Email+" as "+role)
	})
	if err != nil {
		return store.Agent{}, err
	}
	a.PasswordHash = ""
	return a, nil
}

// agentEmailUnavailable refuses an agent whose email another agent, of any workspace, signs in with.
// The code stays agent_exists (the contract); the words claim nothing about who holds the address.
func agentEmailUnavailable() *problem.Error {
	return conflict("agent_exists", "could not create this agent with this email address; it may be in use. Every agent signs in with an email address of their own: try another")
}

// checkPassword applies the password rules to a new password of the agent with that (canonical) email,
// saying what to change: long enough, not the email or its name part, not a commonly used password. The
// last two are what anyone guessing tries first, whatever the length.
func checkPassword(pw, email string) error {
	if len(pw) > MaxPasswordBytes {
		return problem.InvalidField("password", "must be at most %d bytes (got %d); a longer one adds nothing to its strength", MaxPasswordBytes, len(pw))
	}
	if !utf8.ValidString(pw) {
		return problem.InvalidField("password", "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return problem.InvalidField("password", "must be at least %d characters (got %d), since length is what makes a password hard to guess; a few unrelated words make a good one", MinPasswordLength, n)
	}
	folded := strings.ToLower(pw)
	if local, _, _ := strings.Cut(email, "@"); email != "" && (strings.Contains(folded, strings.ToLower(email)) ||
		len(local) >= 3 && strings.Contains(folded, strings.ToLower(local))) {
		return problem.InvalidField("password", "must not contain your email address or its name part, which anyone guessing tries first")
	}
	if password.Common(pw) {
		return problem.InvalidField("password", "is a commonly used password, among the first anyone guessing tries; choose another (a few unrelated words make a good one)")
	}
	return nil
}

// AuthenticateAgent checks an agent's email and password. An unknown email, a wrong password and a
// disabled agent all fail alike, with the 401 problem login_failed, and take about as long: an unknown
// email costs a dummy verification and a disabled agent's password is checked all the same.
func (s *Service) AuthenticateAgent(ctx context.Context, email, pw string) (store.Agent, error) {
	canon, err := identity.CanonicalEmail(email)
	if err != nil || len(pw) > MaxPasswordBytes {
		// No account can match these, and refusing them at once tells nothing about any account.
		return store.Agent{}, loginFailed()
	}
	a, err := s.store.AgentByEmail(ctx, canon)
	if isNotFound(err) {
		if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
			return store.Agent{}, err
		}
		return store.Agent{}, loginFailed()
	}
	if err != nil {
		return store.Agent{}, err
	}
	if a.PasswordHash == "" {
		// No password yet (invited, not accepted) or none at all (single sign-on only): nothing matches,
		// after as long as a wrong password takes.
		if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
			return store.Agent{}, err
		}
		return store.Agent{}, loginFailed()
	}
	ok, err := s.hasher.Verify(ctx, pw, a.PasswordHash)
	if errors.Is(err, password.ErrMalformed) || errors.Is(err, password.ErrUnsupported) {
		// A stored hash this build cannot check is the operator's to fix (reset the password); the client
		// hears what it would for a wrong password, after as long.
		s.log.Error("agent password hash unusable; reset the agent's password", "agent", a.ID, "err", err)
		if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
			return store.Agent{}, err
		}
		return store.Agent{}, loginFailed()
	}
	if err != nil {
		return store.Agent{}, err
	}
	if !ok || !a.DisabledAt.IsZero() {
		return store.Agent{}, loginFailed()
	}
	a.PasswordHash = ""
	return a, nil
}

// Agents lists a workspace's agents, oldest first; a missing workspace is a 404 problem.
func (s *Service) Agents(ctx context.Context, workspaceID string) ([]store.Agent, error) {
	if _, err := s.Workspace(ctx, workspaceID); err != nil {
		return nil, err
	}
	agents, err := s.store.Agents(ctx, workspaceID)
	for i := range agents {
		agents[i].PasswordHash = ""
	}
	return agents, err
}
