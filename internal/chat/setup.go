package chat

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// First-run setup (issue 18): on an installation with no workspace yet, the setup page creates the
// workspace, its first administrator and its first signing key at once. The rules are those of
// CreateWorkspace, UpdateWorkspace's allowed origins, CreateAgent and CreateKey; what is new is that all
// three are written in one transaction that first checks the installation is still empty, so that of
// several instances sharing a database (each with its own setup link) exactly one setup wins.

// SetupInput is what the setup page asks for.
type SetupInput struct {
	Workspace string // the business's name
	Origin    string // the website that embeds the widget: the workspace's one allowed origin
	Name      string // the administrator's name
	Email     string
	Password  string
}

// SetupResult is what setup created; Key.Secret is shown once and never again.
type SetupResult struct {
	Workspace store.Workspace
	Agent     store.Agent
	Key       NewKey
}

// AlreadySetUp is the answer to a setup that comes after another: the installation has a workspace.
func AlreadySetUp() *problem.Error {
	return conflict("already_set_up", "Parley is already set up — sign in at /console/")
}

// Configured reports whether the installation has been set up: it has a workspace (agents belong to
// one, so without a workspace there is no agent either).
func (s *Service) Configured(ctx context.Context) (bool, error) {
	ws, err := s.store.Workspaces(ctx)
	if err != nil {
		return false, err
	}
	return len(ws) > 0, nil
}

// SetUp creates the installation's first workspace (with in.Origin its allowed origin), an administrator
// of it and an HS256 signing key, in one transaction, or answers AlreadySetUp when a workspace exists.
func (s *Service) SetUp(ctx context.Context, in SetupInput) (SetupResult, error) {
	now := s.clock()
	w := store.Workspace{ID: newID("ws_"), CreatedAt: now, UpdatedAt: now}
	name, origin := in.Workspace, in.Origin
	if strings.TrimSpace(in.Workspace) == "" {
		return SetupResult{}, problem.InvalidField("workspace_name", "must not be empty")
	}
	if strings.TrimSpace(origin) == "" {
		return SetupResult{}, problem.InvalidField("origin", "must not be empty: give the address of the website that embeds the chat, e.g. https://www.example.com")
	}
	// The same validation as `workspace create`'s name and `workspace update --allowed-origins`; the
	// setup form names its fields differently.
	if err := applyPatch(&w, SettingsPatch{Name: &name, AllowedOrigins: &[]string{origin}}); err != nil {
		return SetupResult{}, renameField(renameField(err, "name", "workspace_name"), "allowed_origins", "origin")
	}
	canon, err := identity.CanonicalEmail(in.Email)
	if err != nil {
		return SetupResult{}, problem.InvalidField("email", "%s", err)
	}
	agentName := strings.TrimSpace(in.Name)
	if agentName == "" {
		return SetupResult{}, problem.InvalidField("name", "must not be empty")
	}
	if err := checkText("name", agentName, maxNameLength, false); err != nil {
		return SetupResult{}, err
	}
	if err := checkPassword(in.Password, canon); err != nil {
		return SetupResult{}, err
	}
	// Hashing is slow: not inside the transaction, which on SQLite holds the one writer.
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return SetupResult{}, fmt.Errorf("chat: hash password: %w", err)
	}
	a := store.Agent{
		ID: newID("ag_"), WorkspaceID: w.ID, Email: canon, Name: agentName, Role: store.RoleAdmin, PasswordHash: hash,
		Available: true, CreatedAt: now, UpdatedAt: now,
	}
	secret, err := identity.GenerateSecret(identity.HS256)
	if err != nil {
		return SetupResult{}, err
	}
	k := store.SigningKey{WorkspaceID: w.ID, ID: identity.NewKeyID(), Kind: store.KeyHMAC, Alg: identity.HS256, CreatedAt: now}
	k.Secret = s.box.Seal([]byte(secret), secretLabel(w.ID, k.ID))

	err = s.store.Update(ctx, func(tx store.Tx) error {
		// Inside the transaction: on PostgreSQL it is serializable, so two setups that both read an empty
		// table cannot both commit; the one run again reads the winner's workspace here.
		existing, err := tx.Workspaces(ctx)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return AlreadySetUp()
		}
		if err := tx.CreateWorkspace(ctx, &w); err != nil {
			return err
		}
		if err := tx.CreateAgent(ctx, &a); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, w.ID, AuditAgentCreated, a.ID, a.Email+" as "+a.Role+" (first-run setup)"); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, &k); err != nil {
			return err
		}
		return s.audit(ctx, tx, w.ID, "key.created", k.ID, identity.HS256+" (first-run setup)")
	})
	if err != nil {
		return SetupResult{}, err
	}
	a.PasswordHash = ""
	return SetupResult{Workspace: w, Agent: a, Key: NewKey{ID: k.ID, Alg: k.Alg, Secret: secret}}, nil
}

// renameField gives a field refusal another field name (message included); other errors pass unchanged.
func renameField(err error, from, to string) error {
	p, ok := problem.As(err)
	if !ok || p.Field != from {
		return err
	}
	return problem.InvalidField(to, "%s", strings.TrimPrefix(p.Message, from+": "))
}
