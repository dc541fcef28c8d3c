package chat_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// lifeClock is a clock the test moves by hand.
type lifeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lifeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lifeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingStore is the real store, counting write transactions.
type countingStore struct {
	store.Store
	updates atomic.Int64
}

func (c *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

// lifeEnv is a workspace with a signing key, on a clock the test controls.
type lifeEnv struct {
	svc   *chat.Service
	st    store.Store // the real store, for reads and dbtest.Count
	count *countingStore
	hub   *realtime.Hub
	clock *lifeClock
	ws    string
	key   chat.NewKey
}

func newLifeEnv(t *testing.T) *lifeEnv {
	t.Helper()
	return newLifeEnvOn(t, dbtest.Open(t)) // SQLite, or PostgreSQL with PARLEY_TEST_STORE=postgres
}

func newLifeEnvOn(t *testing.T, st store.Store) *lifeEnv {
	t.Helper()
	clock := &lifeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	hub := realtime.NewHub()
	count := &countingStore{Store: st}
	svc := chattest.Start(t, chat.Config{Store: count, Events: hub, Now: clock.Now, Passwords: password.NewHasher(2)}, hub)
	w, err := svc.CreateWorkspace(t.Context(), "Acme Bank")
	if err != nil {
		t.Fatal(err)
	}
	key, err := svc.CreateKey(t.Context(), w.ID, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	return &lifeEnv{svc: svc, st: st, count: count, hub: hub, clock: clock, ws: w.ID, key: key}
}

// settings sets the workspace's session lifetimes.
func (e *lifeEnv) settings(t *testing.T, verifiedIdle, verifiedLifetime, visitorIdle time.Duration) {
	t.Helper()
	_, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{
		VerifiedIdleTimeout: &verifiedIdle, VerifiedLifetime: &verifiedLifetime, VisitorIdleTimeout: &visitorIdle,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// session starts an anonymous session and returns its token.
func (e *lifeEnv) session(t *testing.T) (string, *chat.Visitor) {
	t.Helper()
	token, v, err := e.svc.CreateSession(t.Context(), e.ws)
	if err != nil {
		t.Fatal(err)
	}
	return token, v
}

// loginToken signs a login token for the user id, issued now by the test's clock.
func (e *lifeEnv) loginToken(t *testing.T, sub string) string {
	t.Helper()
	now := e.clock.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "email": sub + "@bank.example", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
	tok.Header["kid"] = e.key.ID
	raw, err := tok.SignedString([]byte(e.key.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// login signs the session in as sub and returns the new session token.
func (e *lifeEnv) login(t *testing.T, token, sub string) (string, *chat.Visitor) {
	t.Helper()
	v, err := e.svc.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatalf("authenticate before login: %v", err)
	}
	next, nv, _, err := e.svc.Login(t.Context(), v, e.loginToken(t, sub))
	if err != nil {
		t.Fatalf("login as %s: %v", sub, err)
	}
	return next, nv
}

// verified starts a session and signs it in as sub.
func (e *lifeEnv) verified(t *testing.T, sub string) (string, *chat.Visitor) {
	t.Helper()
	token, _ := e.session(t)
	return e.login(t, token, sub)
}

// wantLive fails unless the token authenticates (or, with recheck, passes Recheck).
func (e *lifeEnv) wantLive(t *testing.T, what, token string, recheck bool) *chat.Visitor {
	t.Helper()
	check := e.svc.Authenticate
	if recheck {
		check = e.svc.Recheck
	}
	v, err := check(t.Context(), token)
	if err != nil {
		t.Fatalf("%s: %v; want the session live", what, err)
	}
	return v
}

// wantExpired fails unless the token is refused as expired, and the session ended with reason expired.
func (e *lifeEnv) wantExpired(t *testing.T, what, token string, recheck bool, sessionID string) {
	t.Helper()
	sub := e.hub.Subscribe(8, chat.SessionTopic(sessionID))
	defer sub.Close()
	check := e.svc.Authenticate
	if recheck {
		check = e.svc.Recheck
	}
	_, err := check(t.Context(), token)
	p := wantProblem(t, what, err, http.StatusUnauthorized, "session_invalid")
	if !strings.Contains(p.Message, "expired") {
		t.Errorf("%s: message %q does not say the session expired", what, p.Message)
	}
	if got := chat.EndReason(err); got != chat.ReasonExpired {
		t.Errorf("%s: EndReason = %q; want %q", what, got, chat.ReasonExpired)
	}
	stored, err := e.st.Session(t.Context(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.RevokedAt.IsZero() {
		t.Errorf("%s: the expired session was not ended in the store", what)
	}
	select {
	case ev := <-sub.Events():
		if ended, ok := ev.Data.(chat.SessionEnded); !ok || ended.Reason != chat.ReasonExpired || !ev.Final {
			t.Errorf("%s: sockets got %+v; want a final session_ended with reason expired", what, ev)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("%s: no session_ended event reached the session's sockets", what)
	}
	// Once ended it stays refused, with the generic message (which still names expiry as a cause).
	_, err = e.svc.Authenticate(t.Context(), token)
	wantProblem(t, what+", again", err, http.StatusUnauthorized, "session_invalid")
}

// Idle timeouts, both levels: live up to the last microsecond before the limit, expired at it. Recheck
// (a socket's periodic check) does not slide the timer, so it can probe the boundary exactly.
func TestSessionIdleBoundaries(t *testing.T) {
	e := newLifeEnv(t)
	e.settings(t, 2*time.Hour, 10*time.Hour, 5*time.Hour)
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (string, *chat.Visitor)
		idle  time.Duration
	}{
		{"anonymous", e.session, 5 * time.Hour},
		{"identified", func(t *testing.T) (string, *chat.Visitor) {
			token, v := e.session(t)
			next, nv, err := e.svc.Identify(t.Context(), v, chat.Claims{Name: "Ada", Email: "ada@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if next == "" {
				next = token
			}
			return next, nv
		}, 5 * time.Hour},
		{"verified", func(t *testing.T) (string, *chat.Visitor) { return e.verified(t, "u-idle") }, 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, recheck := range []bool{true, false} {
				token, v := tc.start(t)
				if got := v.Lifetime().IdleTimeout; got != tc.idle {
					t.Errorf("Lifetime().IdleTimeout = %s; want %s", got, tc.idle)
				}
				e.clock.Advance(tc.idle - time.Microsecond)
				if recheck {
					e.wantLive(t, "Recheck a microsecond before the idle timeout", token, true)
					e.clock.Advance(time.Microsecond)
					e.wantExpired(t, "Recheck at exactly the idle timeout", token, true, v.Session.ID)
				} else {
					// Authenticate at the last live microsecond is activity: the timer starts again.
					e.wantLive(t, "Authenticate a microsecond before the idle timeout", token, false)
					e.clock.Advance(tc.idle - time.Microsecond)
					e.wantLive(t, "Authenticate a full idle timeout later, less a microsecond", token, false)
					e.clock.Advance(tc.idle)
					e.wantExpired(t, "Authenticate after a whole idle timeout", token, false, v.Session.ID)
				}
			}
		})
	}
}

// The absolute lifetime of a verified session: activity does not extend it, a new login restarts it.
func TestSessionAbsoluteLifetime(t *testing.T) {
	e := newLifeEnv(t)
	e.settings(t, time.Hour, 3*time.Hour, 24*time.Hour)
	token, v := e.verified(t, "u-life")
	loggedIn := e.clock.Now()
	if got, want := v.Lifetime().ExpiresAt, loggedIn.Add(3*time.Hour); !got.Equal(want) {
		t.Fatalf("Lifetime().ExpiresAt = %s; want the login + 3h = %s", got, want)
	}
	// Busy all along: every 50 minutes, within the idle timeout.
	for e.clock.Now().Add(50 * time.Minute).Before(loggedIn.Add(3 * time.Hour)) {
		e.clock.Advance(50 * time.Minute)
		e.wantLive(t, "a busy session within its lifetime", token, false)
	}
	e.clock.Advance(loggedIn.Add(3*time.Hour - time.Microsecond).Sub(e.clock.Now()))
	got := e.wantLive(t, "a microsecond before expires_at", token, false)
	if !got.Lifetime().ExpiresAt.Equal(loggedIn.Add(3 * time.Hour)) {
		t.Errorf("activity moved expires_at to %s", got.Lifetime().ExpiresAt)
	}
	e.clock.Advance(time.Microsecond)
	e.wantExpired(t, "at exactly expires_at, however busy", token, false, v.Session.ID)

	// A new login of the same customer restarts the lifetime.
	token, v = e.verified(t, "u-again")
	first := e.clock.Now()
	for range 3 {
		e.clock.Advance(50 * time.Minute)
		e.wantLive(t, "before the relogin", token, false)
	}
	token, v = e.login(t, token, "u-again")
	relogin := e.clock.Now()
	if got, want := v.Lifetime().ExpiresAt, relogin.Add(3*time.Hour); !got.Equal(want) {
		t.Errorf("after a new login of the same customer, expires_at = %s; want %s (the first login's was %s)", got, want, first.Add(3*time.Hour))
	}
	e.clock.Advance(50 * time.Minute) // past the first login's end
	e.wantLive(t, "after the first login's lifetime, within the second's", token, false)
	for e.clock.Now().Add(50 * time.Minute).Before(relogin.Add(3 * time.Hour)) {
		e.clock.Advance(50 * time.Minute)
		e.wantLive(t, "a busy session within its new lifetime", token, false)
	}
	e.clock.Advance(relogin.Add(3*time.Hour - time.Microsecond).Sub(e.clock.Now()))
	e.wantLive(t, "a microsecond before the new expires_at", token, true)
	e.clock.Advance(time.Microsecond)
	e.wantExpired(t, "at the new expires_at", token, true, v.Session.ID)
}

// Anonymous and identified sessions have no absolute lifetime.
func TestSessionLifetimeOfVisitors(t *testing.T) {
	e := newLifeEnv(t)
	token, v := e.session(t)
	if l := v.Lifetime(); !l.ExpiresAt.IsZero() || l.IdleTimeout != chat.DefaultVisitorIdleTimeout {
		t.Errorf("anonymous Lifetime() = %+v; want no expires_at and the default 30-day idle timeout", l)
	}
	for range 40 { // 40 days, used every day
		e.clock.Advance(24 * time.Hour)
		e.wantLive(t, "an anonymous session used daily", token, false)
	}
	_, vv := e.verified(t, "u-default")
	if l := vv.Lifetime(); !l.ExpiresAt.Equal(vv.Session.VerifiedAt.Add(7*24*time.Hour)) || l.IdleTimeout != 12*time.Hour {
		t.Errorf("verified Lifetime() = %+v; want expires_at 7 days after login and the 12h idle timeout", l)
	}
}

// The idle timer is written at most once a minute per session, however often the session is used, and
// socket rechecks never write it.
func TestSessionTouchOncePerMinute(t *testing.T) {
	e := newLifeEnv(t)
	token, v := e.session(t)
	created := e.clock.Now()
	lastSeen := func() time.Time {
		t.Helper()
		s, err := e.st.Session(t.Context(), v.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}
	if got := lastSeen(); !got.Equal(created) {
		t.Fatalf("a new session's LastSeenAt = %s; want its creation %s", got, created)
	}
	use := func(n int, step time.Duration) {
		for range n {
			e.wantLive(t, "a use", token, false)
			e.clock.Advance(step)
		}
	}
	writes := func() int64 { return e.count.updates.Load() }

	before := writes()
	use(30, time.Second) // the first 30 s after creation: LastSeenAt is fresh
	if n := writes() - before; n != 0 {
		t.Errorf("30 uses within a minute of creation wrote %d times; want 0", n)
	}
	e.clock.Advance(31 * time.Second) // 61 s after creation
	first := e.clock.Now()
	before = writes()
	use(59, time.Second) // 59 uses over the next 59 s
	if n := writes() - before; n != 1 {
		t.Errorf("59 uses within one minute wrote %d times; want exactly 1", n)
	}
	if got := lastSeen(); !got.Equal(first) {
		t.Errorf("LastSeenAt = %s; want the first use of the minute, %s", got, first)
	}
	e.clock.Advance(time.Second) // a minute after that write
	second := e.clock.Now()
	before = writes()
	use(10, time.Second)
	if n := writes() - before; n != 1 {
		t.Errorf("the next minute's uses wrote %d times; want 1", n)
	}
	if got := lastSeen(); !got.Equal(second) {
		t.Errorf("LastSeenAt = %s; want %s", got, second)
	}

	// Socket rechecks every 30 minutes for a day: no write.
	before = writes()
	seen := lastSeen()
	for range 48 {
		e.clock.Advance(30 * time.Minute)
		e.wantLive(t, "a socket recheck", token, true)
	}
	if n := writes() - before; n != 0 {
		t.Errorf("socket rechecks wrote %d times; want 0", n)
	}
	if got := lastSeen(); !got.Equal(seen) {
		t.Errorf("socket rechecks moved LastSeenAt from %s to %s", seen, got)
	}
}

// Concurrent uses of one session in the same minute store one write between them, whatever the
// interleaving: the store's conditional touch decides.
func TestSessionTouchConcurrent(t *testing.T) {
	e := newLifeEnv(t)
	token, v := e.session(t)
	e.clock.Advance(2 * time.Minute)
	at := e.clock.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := e.svc.Authenticate(t.Context(), token); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s, err := e.st.Session(t.Context(), v.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !s.LastSeenAt.Equal(at) {
		t.Errorf("LastSeenAt = %s; want %s", s.LastSeenAt, at)
	}
	// A touch with a stale threshold changes nothing.
	var wrote bool
	err = e.st.Update(t.Context(), func(tx store.Tx) error {
		var err error
		wrote, err = tx.TouchSession(t.Context(), v.Session.ID, at.Add(30*time.Second), at.Add(-time.Minute))
		return err
	})
	if err != nil || wrote {
		t.Errorf("TouchSession with LastSeenAt within the interval = %t, %v; want no write", wrote, err)
	}
}

func TestSessionLifetimeSettings(t *testing.T) {
	e := newLifeEnv(t)
	d := func(s string) *time.Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	for _, tc := range []struct {
		name  string
		patch chat.SettingsPatch
		field string // "" when accepted
	}{
		{"verified idle too short", chat.SettingsPatch{VerifiedIdleTimeout: d("59s")}, "verified_idle_timeout"},
		{"verified idle too long", chat.SettingsPatch{VerifiedIdleTimeout: d("721h")}, "verified_idle_timeout"},
		{"verified idle beyond the lifetime", chat.SettingsPatch{VerifiedIdleTimeout: d("200h")}, "verified_idle_timeout"},
		{"verified lifetime too short", chat.SettingsPatch{VerifiedLifetime: d("4m59s")}, "verified_lifetime"},
		{"verified lifetime too long", chat.SettingsPatch{VerifiedLifetime: d("8761h")}, "verified_lifetime"},
		{"verified lifetime below the idle timeout", chat.SettingsPatch{VerifiedLifetime: d("11h")}, "verified_lifetime"},
		{"visitor idle too short", chat.SettingsPatch{VisitorIdleTimeout: d("59m")}, "visitor_idle_timeout"},
		{"visitor idle too long", chat.SettingsPatch{VisitorIdleTimeout: d("8761h")}, "visitor_idle_timeout"},
		{"negative", chat.SettingsPatch{VisitorIdleTimeout: d("-1h")}, "visitor_idle_timeout"},
		{"the lowest bounds", chat.SettingsPatch{VerifiedIdleTimeout: d("1m"), VerifiedLifetime: d("5m"), VisitorIdleTimeout: d("1h")}, ""},
		{"the highest bounds", chat.SettingsPatch{VerifiedIdleTimeout: d("720h"), VerifiedLifetime: d("8760h"), VisitorIdleTimeout: d("8760h")}, ""},
		{"idle equal to the lifetime", chat.SettingsPatch{VerifiedIdleTimeout: d("24h"), VerifiedLifetime: d("24h")}, ""},
		{"zero restores the defaults", chat.SettingsPatch{VerifiedIdleTimeout: d("0s"), VerifiedLifetime: d("0s"), VisitorIdleTimeout: d("0s")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := e.svc.Workspace(t.Context(), e.ws)
			if err != nil {
				t.Fatal(err)
			}
			w, err := e.svc.UpdateWorkspace(t.Context(), e.ws, tc.patch)
			if tc.field != "" {
				p := wantProblem(t, tc.name, err, http.StatusUnprocessableEntity, "invalid_field")
				if p.Field != tc.field {
					t.Errorf("field = %q; want %q (%s)", p.Field, tc.field, p.Message)
				}
				after, _ := e.svc.Workspace(t.Context(), e.ws)
				if !reflect.DeepEqual(after.Settings, before.Settings) {
					t.Errorf("a refused patch changed the settings")
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdateWorkspace: %v", err)
			}
			st := w.Settings
			for _, c := range []struct {
				set  *time.Duration
				got  time.Duration
				name string
			}{
				{tc.patch.VerifiedIdleTimeout, chat.VerifiedIdleTimeout(st), "verified idle"},
				{tc.patch.VerifiedLifetime, chat.VerifiedLifetime(st), "verified lifetime"},
				{tc.patch.VisitorIdleTimeout, chat.VisitorIdleTimeout(st), "visitor idle"},
			} {
				if c.set == nil {
					continue
				}
				want := *c.set
				if want == 0 {
					want = map[string]time.Duration{"verified idle": 12 * time.Hour, "verified lifetime": 168 * time.Hour, "visitor idle": 720 * time.Hour}[c.name]
				}
				if c.got != want {
					t.Errorf("%s = %s; want %s", c.name, c.got, want)
				}
			}
		})
	}
}
