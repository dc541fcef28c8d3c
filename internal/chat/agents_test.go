package chat_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

const agentPassword = "correct horse battery staple"

// agentEnv is a service over a real SQLite file with one workspace.
type agentEnv struct {
	svc *chat.Service
	st  store.Store
	ws  string
}

func newAgentEnv(t *testing.T, cfg chat.Config) *agentEnv {
	t.Helper()
	st := dbtest.Open(t) // SQLite, or PostgreSQL with PARLEY_TEST_STORE=postgres
	cfg.Store = st
	hub, ok := cfg.Events.(*realtime.Hub)
	if !ok && cfg.Events == nil {
		hub = realtime.NewHub()
		cfg.Events = hub
	}
	svc := chattest.Start(t, cfg, hub)
	ws, err := svc.CreateWorkspace(t.Context(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return &agentEnv{svc: svc, st: st, ws: ws.ID}
}

func (e *agentEnv) createAgent(t *testing.T, email, role string) store.Agent {
	t.Helper()
	a, err := e.svc.CreateAgent(t.Context(), e.ws, email, "Agent "+email, role, agentPassword)
	if err != nil {
		t.Fatalf("CreateAgent(%s): %v", email, err)
	}
	return a
}

// wantProblem fails unless err is a problem with that status and code, and returns it.
func wantProblem(t *testing.T, what string, err error, status int, code string) *problem.Error {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Status != status || p.Code != code {
		t.Errorf("%s: err = %v; want problem %d %s", what, err, status, code)
		return &problem.Error{}
	}
	return p
}

func TestAgentCreate(t *testing.T) {
	ctx := t.Context()
	e := newAgentEnv(t, chat.Config{}) // no Passwords: the service makes its own Hasher
	a, err := e.svc.CreateAgent(ctx, e.ws, "  Ada.Lovelace@Example.COM ", "  Ada Lovelace ", "", agentPassword)
	if err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	if !strings.HasPrefix(a.ID, "ag_") || a.WorkspaceID != e.ws || a.Email != "ada.lovelace@example.com" ||
		a.Name != "Ada Lovelace" || a.Role != store.RoleAgent || !a.Available || !a.DisabledAt.IsZero() || a.CreatedAt.IsZero() {
		t.Errorf("CreateAgent returned %+v; want a canonical email, a trimmed name, role agent, available", a)
	}
	if a.PasswordHash != "" {
		t.Errorf("CreateAgent returned the password hash %q; it must not leave package chat", a.PasswordHash)
	}
	stored, err := e.st.Agent(ctx, a.ID)
	if err != nil {
		t.Fatalf("stored agent: %v", err)
	}
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(stored.PasswordHash, agentPassword) {
		t.Errorf("stored password hash %q; want an argon2id PHC string", stored.PasswordHash)
	}
	if ok, err := password.Verify(agentPassword, stored.PasswordHash); !ok || err != nil {
		t.Errorf("the stored hash does not verify the password: %t, %v", ok, err)
	}

	admin, err := e.svc.CreateAgent(ctx, e.ws, "grace@example.com", "Grace", store.RoleAdmin, agentPassword)
	if err != nil || admin.Role != store.RoleAdmin {
		t.Fatalf("CreateAgent(admin) = %+v, %v", admin, err)
	}
	// Exactly 12 characters is enough, counted as characters, not bytes.
	if _, err := e.svc.CreateAgent(ctx, e.ws, "short@example.com", "Short", "", "ünïcödé-pàss"); err != nil {
		t.Errorf("CreateAgent with a 12-character password: %v", err)
	}
	if _, err := e.svc.CreateAgent(ctx, e.ws, "long@example.com", "Long", "", strings.Repeat("x", chat.MaxPasswordBytes)); err != nil {
		t.Errorf("CreateAgent with a %d-byte password: %v", chat.MaxPasswordBytes, err)
	}

	agents, err := e.svc.Agents(ctx, e.ws)
	if err != nil {
		t.Fatalf("Agents: %v", err)
	}
	var ids []string
	for _, x := range agents {
		ids = append(ids, x.Email)
		if x.PasswordHash != "" {
			t.Errorf("Agents returned %s's password hash", x.Email)
		}
	}
	if want := "ada.lovelace@example.com grace@example.com short@example.com long@example.com"; strings.Join(ids, " ") != want {
		t.Errorf("Agents = %v; want %s (oldest first)", ids, want)
	}
	_, err = e.svc.Agents(ctx, "ws_missing")
	wantProblem(t, "Agents(missing workspace)", err, http.StatusNotFound, "workspace_not_found")
}

func TestAgentCreateValidation(t *testing.T) {
	ctx := t.Context()
	e := newAgentEnv(t, chat.Config{Passwords: password.NewHasher(4)})
	ok := struct{ email, name, role, pw string }{"ada@example.com", "Ada", "agent", agentPassword}
	cases := []struct {
		what             string
		email, name, pw  string
		role             string
		field, inMessage string
	}{
		{"empty email", "", ok.name, ok.pw, ok.role, "email", "empty"},
		{"email without @", "ada.example.com", ok.name, ok.pw, ok.role, "email", "@"},
		{"email with two @", "ada@x@example.com", ok.name, ok.pw, ok.role, "email", "@"},
		{"email with zero-width space", "ada\u200b@example.com", ok.name, ok.pw, ok.role, "email", "invisible"},
		{"empty name", ok.email, "   ", ok.pw, ok.role, "name", "empty"},
		{"name too long", ok.email, strings.Repeat("n", 201), ok.pw, ok.role, "name", "at most 200"},
		{"name with newline", ok.email, "Ada\nLovelace", ok.pw, ok.role, "name", "control"},
		{"name with bidi override", ok.email, "Ada \u202eecalevol", ok.pw, ok.role, "name", "bidirectional"},
		{"unknown role", ok.email, ok.name, ok.pw, "owner", "role", `"agent" or "admin"`},
		{"role in capitals", ok.email, ok.name, ok.pw, "Admin", "role", `"agent" or "admin"`},
		{"empty password", ok.email, ok.name, "", ok.role, "password", "at least 12 characters (got 0)"},
		{"11-character password", ok.email, ok.name, "hunter2hunt", ok.role, "password", "at least 12 characters (got 11)"},
		{"11 characters in 22 bytes", ok.email, ok.name, strings.Repeat("é", 11), ok.role, "password", "(got 11)"},
		{"password too long", ok.email, ok.name, strings.Repeat("x", chat.MaxPasswordBytes+1), ok.role, "password", "at most 1024 bytes"},
		{"password not UTF-8", ok.email, ok.name, "twelve bytes\xff", ok.role, "password", "UTF-8"},
	}
	for _, c := range cases {
		_, err := e.svc.CreateAgent(ctx, e.ws, c.email, c.name, c.role, c.pw)
		p := wantProblem(t, c.what, err, http.StatusUnprocessableEntity, "invalid_field")
		if p.Field != c.field || !strings.Contains(p.Message, c.inMessage) {
			t.Errorf("%s: field %q, message %q; want field %q and a message saying %q", c.what, p.Field, p.Message, c.field, c.inMessage)
		}
	}
	if agents, err := e.svc.Agents(ctx, e.ws); err != nil || len(agents) != 0 {
		t.Errorf("after refused creations Agents = %v, %v; want none", agents, err)
	}

	_, err := e.svc.CreateAgent(ctx, "ws_missing", ok.email, ok.name, ok.role, ok.pw)
	wantProblem(t, "CreateAgent(missing workspace)", err, http.StatusNotFound, "workspace_not_found")
	if _, err := e.st.AgentByEmail(ctx, ok.email); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an agent of a missing workspace was stored: %v", err)
	}
}

func TestAgentCreateDuplicateEmail(t *testing.T) {
	ctx := t.Context()
	e := newAgentEnv(t, chat.Config{})
	first := e.createAgent(t, "ada@example.com", "")
	other, err := e.svc.CreateWorkspace(ctx, "Other business")
	if err != nil {
		t.Fatal(err)
	}
	// The answer is the same whether the address is taken in this workspace or in another one, and
	// says neither that an agent exists nor which address: an admin of one workspace must not learn
	// who signs in to another.
	var messages []string
	for _, c := range []struct{ ws, email string }{
		{e.ws, "ada@example.com"},
		{e.ws, "  ADA@Example.com"}, // the same address once canonical
		{other.ID, "ada@example.com"},
	} {
		_, err := e.svc.CreateAgent(ctx, c.ws, c.email, "Impostor", store.RoleAdmin, "another password!")
		p := wantProblem(t, "CreateAgent("+c.email+" in "+c.ws+")", err, http.StatusConflict, "agent_exists")
		if strings.Contains(strings.ToLower(p.Message), "ada@example.com") || strings.Contains(p.Message, "exist") || p.Field != "" {
			t.Errorf("agent_exists message %q (field %q) says the agent exists or names the email", p.Message, p.Field)
		}
		messages = append(messages, p.Message)
	}
	if messages[0] != messages[2] || messages[1] != messages[2] {
		t.Errorf("the messages tell the cases apart: %q", messages)
	}
	// The first agent is untouched, and still signs in with its own password.
	got, err := e.svc.AuthenticateAgent(ctx, "ada@example.com", agentPassword)
	if err != nil || got.ID != first.ID || got.Role != store.RoleAgent {
		t.Errorf("AuthenticateAgent after refused duplicates = %+v, %v; want %s", got, err, first.ID)
	}
}

func TestAgentAuthenticate(t *testing.T) {
	ctx := t.Context()
	e := newAgentEnv(t, chat.Config{})
	ada := e.createAgent(t, "ada@example.com", store.RoleAdmin)
	disabled := e.createAgent(t, "gone@example.com", "")
	mustDisable(t, e, disabled.ID)

	got, err := e.svc.AuthenticateAgent(ctx, " Ada@EXAMPLE.com ", agentPassword)
	if err != nil {
		t.Fatalf("AuthenticateAgent(right password): %v", err)
	}
	if got.ID != ada.ID || got.WorkspaceID != e.ws || got.Role != store.RoleAdmin || got.Email != "ada@example.com" {
		t.Errorf("AuthenticateAgent = %+v; want agent %s", got, ada.ID)
	}
	if got.PasswordHash != "" {
		t.Errorf("AuthenticateAgent returned the password hash")
	}

	failures := []struct{ what, email, pw string }{
		{"wrong password", "ada@example.com", "correct horse battery stapler"},
		{"password differing in case", "ada@example.com", "Correct horse battery staple"},
		{"empty password", "ada@example.com", ""},
		{"unknown email", "nobody@example.com", agentPassword},
		{"disabled agent, right password", "gone@example.com", agentPassword},
		{"disabled agent, wrong password", "gone@example.com", "wrong password!!"},
		{"not an email", "ada", agentPassword},
		{"empty email", "", agentPassword},
		{"over-long password", "ada@example.com", strings.Repeat("x", chat.MaxPasswordBytes+1)},
		{"look-alike email", "аda@example.com", agentPassword}, // Cyrillic а
	}
	for _, f := range failures {
		a, err := e.svc.AuthenticateAgent(ctx, f.email, f.pw)
		p := wantProblem(t, f.what, err, http.StatusUnauthorized, "login_failed")
		// Every failure reads the same, so none tells which emails have accounts.
		if p.Message != "email or password is wrong" || p.Field != "" {
			t.Errorf("%s: message %q, field %q; want exactly \"email or password is wrong\"", f.what, p.Message, p.Field)
		}
		if a.ID != "" {
			t.Errorf("%s: returned agent %q along with the failure", f.what, a.ID)
		}
	}

	// A stored hash this build refuses to compute fails like a wrong password, not like a server error.
	broken := e.createAgent(t, "broken@example.com", "")
	mustUpdateAgent(t, e, broken.ID, func(a *store.Agent) {
		a.PasswordHash = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
	})
	_, err = e.svc.AuthenticateAgent(ctx, "broken@example.com", agentPassword)
	wantProblem(t, "agent with an unusable stored hash", err, http.StatusUnauthorized, "login_failed")

	// The caller giving up is not a failed login.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.svc.AuthenticateAgent(cancelled, "ada@example.com", agentPassword); !errors.Is(err, context.Canceled) {
		t.Errorf("AuthenticateAgent with a cancelled context = %v; want context.Canceled", err)
	}
}

// TestAgentAuthenticateTiming checks an unknown email takes about as long as a wrong password for a
// known one, so that response times do not reveal which emails have accounts.
// Every way a sign-in with a password can fail costs the same work — one key derivation — so the time
// it takes does not tell which emails have accounts, or which are disabled or not yet set up. Counted,
// not timed: a count is exact on a noisy machine.
func TestAgentAuthenticateSameWork(t *testing.T) {
	ctx := t.Context()
	hasher := password.NewHasher(2)
	e := newAgentEnv(t, chat.Config{Passwords: hasher})
	e.createAgent(t, "ada@example.com", "")
	disabled := e.createAgent(t, "gone@example.com", "")
	mustDisable(t, e, disabled.ID)
	unset := e.createAgent(t, "new@example.com", "")
	mustUpdateAgent(t, e, unset.ID, func(a *store.Agent) { a.PasswordHash = "" }) // invited, no password yet
	for what, email := range map[string]string{
		"a known email and a wrong password": "ada@example.com",
		"an unknown email":                   "nobody@example.com",
		"a disabled agent":                   "gone@example.com",
		"an agent without a password":        "new@example.com",
	} {
		before := hasher.Derivations()
		if _, err := e.svc.AuthenticateAgent(ctx, email, "wrong password!!"); err == nil {
			t.Fatalf("%s: signed in", what)
		}
		if n := hasher.Derivations() - before; n != 1 {
			t.Errorf("sign-in with %s ran %d key derivations, want 1 like every other failure", what, n)
		}
	}
}

func mustUpdateAgent(t *testing.T, e *agentEnv, id string, change func(*store.Agent)) {
	t.Helper()
	err := e.st.Update(t.Context(), func(tx store.Tx) error {
		a, err := tx.Agent(t.Context(), id)
		if err != nil {
			return err
		}
		change(&a)
		return tx.UpdateAgent(t.Context(), &a)
	})
	if err != nil {
		t.Fatalf("update agent %s: %v", id, err)
	}
}

func mustDisable(t *testing.T, e *agentEnv, id string) {
	t.Helper()
	mustUpdateAgent(t, e, id, func(a *store.Agent) { a.DisabledAt = time.Now() })
}
