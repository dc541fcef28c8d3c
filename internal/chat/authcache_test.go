package chat_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// Authenticated sessions are cached in memory (authcache.go). These tests run two services over one
// database, each with its own store — as `parley serve` and a CLI command share a SQLite file, or
// instances share a PostgreSQL database — warm A's cache, change something in B, and require A's very
// next authentication to see the change.

// sessionReads is a store counting the session reads authentication makes, to tell a request served
// from memory from one read from the store.
type sessionReads struct {
	store.Store
	n atomic.Int64
}

func (s *sessionReads) SessionAndWorkspace(ctx context.Context, hash []byte) (store.Session, store.Workspace, error) {
	s.n.Add(1)
	return s.Store.SessionAndWorkspace(ctx, hash)
}

// twoStores opens the same fresh database twice: SQLite (one file), or PostgreSQL (one schema) with
// PARLEY_TEST_STORE=postgres.
func twoStores(t *testing.T) (a, b store.Store) {
	t.Helper()
	if dbtest.UsePostgres() {
		schema := dbtest.SchemaName(t)
		a = dbtest.OpenSchema(t, schema, postgres.Options{})
		return a, dbtest.OpenSchema(t, schema, postgres.Options{})
	}
	path := filepath.Join(t.TempDir(), "parley.db")
	open := func() store.Store {
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}

type crossEnv struct {
	a, b   *chat.Service
	reads  *sessionReads // A's store
	stB    store.Store
	cached bool // the store keeps an authentication epoch, so A caches
	clock  *lifeClock
	ws     string
	key    chat.NewKey
}

func newCrossEnv(t *testing.T) *crossEnv {
	t.Helper()
	stA, stB := twoStores(t)
	clock := &lifeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	// Both must open the signing keys' secrets, as instances sharing a master key do.
	master := make([]byte, seal.KeySize)
	_, _ = rand.Read(master)
	box, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	reads := &sessionReads{Store: stA}
	cfg := func(st store.Store) chat.Config {
		return chat.Config{Store: st, Events: realtime.NewHub(), Now: clock.Now, Secrets: box, Passwords: password.NewHasher(2)}
	}
	e := &crossEnv{a: chat.New(cfg(reads)), b: chat.New(cfg(stB)), reads: reads, stB: stB, clock: clock}
	_, err = stA.AuthEpoch(t.Context())
	e.cached = !errors.Is(err, store.ErrNoAuthEpoch)
	w, err := e.a.CreateWorkspace(t.Context(), "Acme Bank")
	if err != nil {
		t.Fatal(err)
	}
	e.ws = w.ID
	if e.key, err = e.a.CreateKey(t.Context(), w.ID, "HS256"); err != nil {
		t.Fatal(err)
	}
	return e
}

// verified starts a session in B and signs it in as sub with that email; it returns the token.
func (e *crossEnv) verified(t *testing.T, sub, email string) (string, *chat.Visitor) {
	t.Helper()
	token, _, err := e.b.CreateSession(t.Context(), e.ws)
	if err != nil {
		t.Fatal(err)
	}
	return e.login(t, token, sub, email)
}

// login signs the session of token in as sub, in B, and returns the new token.
func (e *crossEnv) login(t *testing.T, token, sub, email string) (string, *chat.Visitor) {
	t.Helper()
	v, err := e.b.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	jt := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "email": email, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
	jt.Header["kid"] = e.key.ID
	raw, err := jt.SignedString([]byte(e.key.Secret))
	if err != nil {
		t.Fatal(err)
	}
	next, nv, _, err := e.b.Login(t.Context(), v, raw)
	if err != nil {
		t.Fatalf("login as %s: %v", sub, err)
	}
	return next, nv
}

// warm authenticates token in A until A serves it from memory.
func (e *crossEnv) warm(t *testing.T, token string) {
	t.Helper()
	for i := range 2 {
		if _, err := e.a.Authenticate(t.Context(), token); err != nil {
			t.Fatalf("authenticate in A (%d): %v", i, err)
		}
	}
	before := e.reads.n.Load()
	if _, err := e.a.Authenticate(t.Context(), token); err != nil {
		t.Fatalf("authenticate in A: %v", err)
	}
	if read := e.reads.n.Load() - before; e.cached && read != 0 {
		t.Fatalf("A read the session %d times on a warm cache; want it served from memory", read)
	}
}

// refused requires A's next authentication of token to fail with session_invalid.
func (e *crossEnv) refused(t *testing.T, what, token string) {
	t.Helper()
	_, err := e.a.Authenticate(t.Context(), token)
	wantProblem(t, what, err, http.StatusUnauthorized, "session_invalid")
}

func TestAuthCacheSeesOtherProcess(t *testing.T) {
	ctx := context.Background()

	t.Run("logout", func(t *testing.T) {
		e := newCrossEnv(t)
		token, v := e.verified(t, "ada", "ada@bank.example")
		e.warm(t, token)
		if _, _, err := e.b.Logout(ctx, v); err != nil {
			t.Fatal(err)
		}
		e.refused(t, "token after logout in B", token)
	})

	t.Run("anonymous logout", func(t *testing.T) {
		e := newCrossEnv(t)
		token, v, err := e.b.CreateSession(ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		e.warm(t, token)
		if _, _, err := e.b.Logout(ctx, v); err != nil {
			t.Fatal(err)
		}
		e.refused(t, "anonymous token after logout in B", token)
	})

	t.Run("token rotated by login", func(t *testing.T) {
		e := newCrossEnv(t)
		token, _, err := e.b.CreateSession(ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		e.warm(t, token)
		next, _ := e.login(t, token, "ada", "ada@bank.example")
		e.refused(t, "token replaced by a login in B", token)
		v, err := e.a.Authenticate(ctx, next)
		if err != nil {
			t.Fatalf("the new token in A: %v", err)
		}
		if v.Session.Level != store.LevelVerified {
			t.Errorf("the new token's level in A = %q; want verified", v.Session.Level)
		}
	})

	t.Run("identified", func(t *testing.T) {
		// Not a refusal: the cached session must reflect the change (level, claimed name).
		e := newCrossEnv(t)
		token, v, err := e.b.CreateSession(ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		if token, v, err = e.b.Identify(ctx, v, chat.Claims{Name: "Ada", Email: "ada@home.example"}); err != nil {
			t.Fatal(err)
		}
		e.warm(t, token)
		if _, _, err := e.b.Identify(ctx, v, chat.Claims{Name: "Ada Lovelace"}); err != nil {
			t.Fatal(err)
		}
		got, err := e.a.Authenticate(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if got.Session.ClaimedName != "Ada Lovelace" {
			t.Errorf("claimed name in A after B's identify = %q; want %q", got.Session.ClaimedName, "Ada Lovelace")
		}
	})

	t.Run("customer logged out by the business", func(t *testing.T) {
		e := newCrossEnv(t)
		token, v := e.verified(t, "ada", "ada@bank.example")
		e.warm(t, token)
		if n, err := e.b.LogoutCustomer(ctx, e.ws, v.Session.CustomerID); err != nil || n != 1 {
			t.Fatalf("LogoutCustomer = %d, %v; want 1 session ended", n, err)
		}
		e.refused(t, "token after the customer's logout in B", token)
	})

	t.Run("customer erased", func(t *testing.T) {
		e := newCrossEnv(t)
		token, v := e.verified(t, "ada", "ada@bank.example")
		e.warm(t, token)
		if _, err := e.b.EraseCustomer(ctx, e.ws, v.Session.CustomerID); err != nil {
			t.Fatal(err)
		}
		e.refused(t, "token after the customer's erasure in B", token)
	})

	t.Run("allowed email domains changed", func(t *testing.T) {
		e := newCrossEnv(t)
		token, _ := e.verified(t, "ada", "ada@bank.example")
		e.warm(t, token)
		domains := []string{"other.example"}
		if _, err := e.b.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{AllowedEmailDomains: &domains}); err != nil {
			t.Fatal(err)
		}
		e.refused(t, "token after B narrowed the allowed domains", token)
	})

	t.Run("lifetime shortened", func(t *testing.T) {
		e := newCrossEnv(t)
		token, _ := e.verified(t, "ada", "ada@bank.example")
		e.clock.Advance(20 * time.Minute)
		e.warm(t, token) // 20 minutes after the login: live under the default 7 days
		life := 10 * time.Minute
		idle := 5 * time.Minute
		if _, err := e.b.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{VerifiedLifetime: &life, VerifiedIdleTimeout: &idle}); err != nil {
			t.Fatal(err)
		}
		_, err := e.a.Authenticate(ctx, token)
		if p := wantProblem(t, "token past the lifetime B set", err, http.StatusUnauthorized, "session_invalid"); chat.EndReason(err) != chat.ReasonExpired {
			t.Errorf("end reason = %q (%v); want expired", chat.EndReason(err), p)
		}
	})

	// Writes that bypass the service's own revocations, as another program on the database might:
	// the triggers still see them.
	t.Run("customer email changed in the store", func(t *testing.T) {
		e := newCrossEnv(t)
		domains := []string{"bank.example"}
		if _, err := e.b.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{AllowedEmailDomains: &domains}); err != nil {
			t.Fatal(err)
		}
		token, v := e.verified(t, "ada", "ada@bank.example")
		e.warm(t, token)
		err := e.stB.Update(ctx, func(tx store.Tx) error {
			c, err := tx.Customer(ctx, v.Session.CustomerID)
			if err != nil {
				return err
			}
			c.Email = "ada@elsewhere.example"
			return tx.UpdateCustomer(ctx, &c)
		})
		if err != nil {
			t.Fatal(err)
		}
		e.refused(t, "token whose customer's email left the allowed domains", token)
	})

	t.Run("settings changed in the store", func(t *testing.T) {
		e := newCrossEnv(t)
		token, _, err := e.b.CreateSession(ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		e.warm(t, token)
		err = e.stB.Update(ctx, func(tx store.Tx) error {
			w, err := tx.Workspace(ctx, e.ws)
			if err != nil {
				return err
			}
			w.Settings.VisitorIdleTimeout = time.Hour
			return tx.UpdateWorkspace(ctx, &w)
		})
		if err != nil {
			t.Fatal(err)
		}
		// Idle for 2 hours: live under the cached settings (30 days), expired under the stored ones.
		e.clock.Advance(2 * time.Hour)
		_, err = e.a.Authenticate(ctx, token)
		wantProblem(t, "token idle past the timeout B set", err, http.StatusUnauthorized, "session_invalid")
	})

	t.Run("live session deleted by retention", func(t *testing.T) {
		// Retention deletes an anonymous visitor's session with their old closed conversation, live or
		// not: a delete, which no update announces.
		e := newCrossEnv(t)
		keep, days := 365*24*time.Hour, 30
		if _, err := e.b.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{VisitorIdleTimeout: &keep, RetentionDays: &days}); err != nil {
			t.Fatal(err)
		}
		agent, err := e.b.CreateAgent(ctx, e.ws, "agent@bank.example", "Ada", "agent", signInPassword)
		if err != nil {
			t.Fatal(err)
		}
		token, v, err := e.b.CreateSession(ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := e.b.PostMessage(ctx, v, "hello", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.SetConversationStatus(ctx, agent, m.ConversationID, store.StatusClosed); err != nil {
			t.Fatal(err)
		}
		e.warm(t, token)
		e.clock.Advance(40 * 24 * time.Hour)
		if n, err := e.b.PurgeClosedConversations(ctx, e.ws); err != nil || n != 1 {
			t.Fatalf("purge in B = %d, %v; want 1 conversation", n, err)
		}
		e.refused(t, "token of a session retention deleted in B", token)
	})

	t.Run("session revoked in the store", func(t *testing.T) {
		e := newCrossEnv(t)
		token, v, err := e.b.CreateSession(ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		e.warm(t, token)
		err = e.stB.Update(ctx, func(tx store.Tx) error {
			_, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: v.Session.WorkspaceID}, e.clock.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.refused(t, "token revoked by another program", token)
	})
}

// TestAuthCacheTouch: a use A records keeps its cached copy live, and a use another instance recorded
// (which A's copy does not know of) does not let A end a session that is live in the store.
func TestAuthCacheTouch(t *testing.T) {
	ctx := context.Background()
	e := newCrossEnv(t)
	idle := time.Hour
	if _, err := e.b.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{VisitorIdleTimeout: &idle}); err != nil {
		t.Fatal(err)
	}
	token, _, err := e.b.CreateSession(ctx, e.ws)
	if err != nil {
		t.Fatal(err)
	}
	e.warm(t, token)
	// B records a use 50 minutes in; A's copy still says the session began idle.
	e.clock.Advance(50 * time.Minute)
	if _, err := e.b.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	// 70 minutes in, A's copy is idle past the hour; the store's is not.
	e.clock.Advance(20 * time.Minute)
	v, err := e.a.Recheck(ctx, token)
	if err != nil {
		t.Fatalf("A refused a session B used 20 minutes ago: %v", err)
	}
	if got, want := v.Session.LastSeenAt, e.clock.Now().Add(-20*time.Minute).UTC(); !got.Equal(want) {
		t.Errorf("LastSeenAt = %s; want B's use at %s", got, want)
	}
	// A's own use is recorded and remembered: an hour of A's uses keeps it live.
	for range 6 {
		e.clock.Advance(15 * time.Minute)
		if _, err := e.a.Authenticate(ctx, token); err != nil {
			t.Fatalf("A's use %s after its previous one: %v", 15*time.Minute, err)
		}
	}
	// Within the minute, and at its end (when the next use is recorded), A needs no read: its copy knows
	// its own last recorded use.
	before := e.reads.n.Load()
	for range 2 {
		e.clock.Advance(30 * time.Second)
		if _, err := e.a.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if read := e.reads.n.Load() - before; e.cached && read != 0 {
		t.Errorf("A read the session %d times right after recording its own use; want it from memory", read)
	}
}
