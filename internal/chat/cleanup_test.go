package chat_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
)

func (e *lifeEnv) cleanup(t *testing.T) chat.CleanupCounts {
	t.Helper()
	c, err := e.svc.Cleanup(t.Context())
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	return c
}

func (e *lifeEnv) rows(t *testing.T, table string) int {
	t.Helper()
	return dbtest.Count(t, e.st, "SELECT COUNT(*) FROM "+table)
}

// One pass ends expired sessions (their sockets are told), then deletes the ended sessions nothing refers
// to once their grace hour has passed, used token ids past their expiry and old agent sessions.
func TestCleanup(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	e.settings(t, time.Hour, 3*time.Hour, 2*time.Hour)

	idle, _ := e.session(t)                              // never used again
	chatty, chattyV := e.session(t)                      // starts a conversation, then goes idle
	busy, _ := e.session(t)                              // keeps being used
	verifiedTok, verifiedV := e.verified(t, "u-cleanup") // a login with a jti-less token
	if _, _, err := e.svc.PostMessage(ctx, chattyV, "hello", ""); err != nil {
		t.Fatal(err)
	}
	_ = verifiedTok
	// A single-use token id, valid 5 minutes.
	v, err := e.svc.Authenticate(ctx, busy)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	if err := e.st.Update(ctx, func(tx store.Tx) error {
		return tx.UseJTI(ctx, e.ws, "jti-1", now.Add(5*time.Minute), now)
	}); err != nil {
		t.Fatal(err)
	}
	agentEmail := "agent@acme.example"
	if _, err := e.svc.CreateAgent(ctx, e.ws, agentEmail, "Agent", store.RoleAgent, agentPassword); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.svc.StartAgentSession(ctx, agentEmail, agentPassword, chat.SignInInfo{}); err != nil {
		t.Fatal(err)
	}
	_ = v

	if c := e.cleanup(t); c != (chat.CleanupCounts{}) {
		t.Errorf("a pass with nothing expired did %+v", c)
	}
	sessions := e.rows(t, "sessions")

	// 90 minutes on: the verified session is idle past its hour; the visitors are within their two.
	e.clock.Advance(90 * time.Minute)
	e.wantLive(t, "the busy one", busy, false)
	sub := e.hub.Subscribe(8, chat.SessionTopic(verifiedV.Session.ID))
	defer sub.Close()
	if c := e.cleanup(t); c.ExpiredSessions != 1 || c.DeletedSessions != 0 || c.UsedJTIs != 1 {
		t.Errorf("after 90 minutes: %+v; want the verified session ended and the used token id deleted", c)
	}
	select {
	case ev := <-sub.Events():
		if d, ok := ev.Data.(chat.SessionEnded); !ok || d.Reason != chat.ReasonExpired {
			t.Errorf("the expired session's sockets got %+v; want session_ended, reason expired", ev)
		}
	case <-time.After(10 * time.Second):
		t.Error("the expired session's sockets were not told")
	}

	// Two and a half hours: the idle visitors expire; the verified one is deleted an hour after its end.
	e.clock.Advance(60 * time.Minute)
	e.wantLive(t, "the busy one", busy, false)
	c := e.cleanup(t)
	if c.ExpiredSessions != 2 || c.DeletedSessions != 1 {
		t.Errorf("after 150 minutes: %+v; want the two idle visitors ended and the verified one deleted", c)
	}
	// Another hour: the idle one goes, the chatty one stays as its conversation's participant.
	e.clock.Advance(61 * time.Minute)
	e.wantLive(t, "the busy one", busy, false)
	c = e.cleanup(t)
	if c.ExpiredSessions != 0 || c.DeletedSessions != 1 {
		t.Errorf("after 211 minutes: %+v; want the idle visitor deleted", c)
	}
	if got := e.rows(t, "sessions"); got != sessions-2 {
		t.Errorf("%d sessions stored; want %d (the idle and the verified one deleted)", got, sessions-2)
	}
	if _, err := e.st.Session(ctx, chattyV.Session.ID); err != nil {
		t.Errorf("the session that started a conversation: %v; want it kept", err)
	}
	for _, tok := range []string{idle, chatty, verifiedTok} {
		if _, err := e.svc.Authenticate(ctx, tok); err == nil {
			t.Error("a cleaned-up session still authenticates")
		}
	}
	// The agent session expires after 12 hours and goes a day later.
	e.clock.Advance(chat.AgentSessionLifetime + 24*time.Hour)
	if c := e.cleanup(t); c.AgentSessions != 1 {
		t.Errorf("a day after the agent session expired: %+v; want it deleted", c)
	}
	if n := e.rows(t, "agent_sessions"); n != 0 {
		t.Errorf("%d agent sessions stored; want 0", n)
	}
}

// Blocks stay listed for BlockRetention after they were lifted or expired, then go; a live block stays.
func TestCleanupBlocks(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	agent, err := e.svc.CreateAgent(ctx, e.ws, "agent@acme.example", "Agent", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	block := func(d time.Duration) store.Block {
		t.Helper()
		_, v := e.session(t)
		m, _, err := e.svc.PostMessage(ctx, v, "spam", "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.svc.BlockVisitor(ctx, agent, m.ConversationID, chat.BlockInput{For: d})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	expiring := block(time.Hour)
	lifted := block(0)
	live := block(0)
	if _, err := e.svc.LiftBlock(ctx, agent, lifted.ID); err != nil {
		t.Fatal(err)
	}
	listed := func() map[string]bool {
		t.Helper()
		got := map[string]bool{}
		bs, err := e.svc.Blocks(ctx, agent, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			got[b.ID] = true
		}
		return got
	}
	e.clock.Advance(chat.BlockRetention - time.Minute)
	if c := e.cleanup(t); c.Blocks != 0 {
		t.Errorf("within the retention: %+v; want no block deleted", c)
	}
	e.clock.Advance(time.Hour + time.Minute) // the expiring block ended an hour after the others
	if c := e.cleanup(t); c.Blocks != 2 {
		t.Errorf("after the retention: %+v; want the expired and the lifted block deleted", c)
	}
	if got := listed(); got[expiring.ID] || got[lifted.ID] || !got[live.ID] {
		t.Errorf("the console lists %v; want only the live block %s", got, live.ID)
	}
}

// churn simulates a day of traffic: visitors who come once, a few who chat, customers who log in, and
// single-use login tokens.
func churn(t *testing.T, e *lifeEnv, day, visitors int) {
	t.Helper()
	ctx := t.Context()
	for i := range visitors {
		tok, v := e.session(t)
		switch i % 10 {
		case 0:
			if _, _, err := e.svc.PostMessage(ctx, v, "hello", ""); err != nil {
				t.Fatal(err)
			}
		case 1:
			e.login(t, tok, fmt.Sprintf("u-%d-%d", day, i))
		case 2:
			if _, _, err := e.svc.Logout(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		now := e.clock.Now()
		if err := e.st.Update(ctx, func(tx store.Tx) error {
			return tx.UseJTI(ctx, e.ws, fmt.Sprintf("jti-%d-%d", day, i), now.Add(10*time.Minute), now)
		}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
}

// Under steady churn the tables stay bounded: what a day adds, cleanup takes away once it expired. Without
// cleanup the same traffic grows them without end.
func TestCleanupBoundsTables(t *testing.T) {
	e := newLifeEnv(t)
	e.settings(t, time.Hour, 2*time.Hour, 24*time.Hour)
	const days, perDay = 8, 40
	var sessions, jtis []int
	for day := range days {
		churn(t, e, day, perDay)
		e.clock.Advance(24*time.Hour - perDay*time.Minute)
		e.cleanup(t)
		sessions = append(sessions, e.rows(t, "sessions"))
		jtis = append(jtis, e.rows(t, "used_jtis"))
	}
	// Each day keeps its conversations' sessions (4), and at most the last day's visitors (40, plus
	// the sessions logouts created).
	conversations := e.rows(t, "conversations")
	for day, n := range sessions {
		if bound := 4*(day+1) + 2*perDay; n > bound {
			t.Errorf("day %d: %d sessions stored; want at most %d (sessions per day: %v)", day+1, n, bound, sessions)
		}
	}
	if conversations != days*perDay/10 {
		t.Errorf("%d conversations; want %d", conversations, days*perDay/10)
	}
	for day, n := range jtis {
		if n > 0 {
			t.Errorf("day %d: %d used token ids stored after cleanup; want 0 (all expired): %v", day+1, n, jtis)
		}
	}
	// The same traffic without cleanup: the table only grows.
	before := e.rows(t, "sessions")
	churn(t, e, days, perDay)
	e.clock.Advance(48 * time.Hour)
	if after := e.rows(t, "sessions"); after < before+perDay {
		t.Errorf("without cleanup the sessions table went from %d to %d; the bound above proves nothing", before, after)
	}
}

// Two instances sharing one PostgreSQL schema clean at the same time while visitors keep arriving on
// both: no pass fails, every expired session is ended exactly once between them, and the sessions table
// stays bounded (without cleanup it would hold every visitor of every round).
func TestCleanupTwoInstances(t *testing.T) {
	schema := dbtest.SchemaName(t) // skips when there is no PostgreSQL server
	clock := &lifeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	open := func() (*chat.Service, store.Store) {
		st := dbtest.OpenSchema(t, schema, postgres.Options{})
		hub := realtime.NewHub()
		return chattest.Start(t, chat.Config{Store: st, Events: hub, Now: clock.Now, Passwords: password.NewHasher(2)}, hub), st
	}
	a, st := open()
	b, _ := open()
	w, err := a.CreateWorkspace(t.Context(), "Shared")
	if err != nil {
		t.Fatal(err)
	}
	visitor := 24 * time.Hour
	if _, err := a.UpdateWorkspace(t.Context(), w.ID, chat.SettingsPatch{VisitorIdleTimeout: &visitor}); err != nil {
		t.Fatal(err)
	}
	instances := []*chat.Service{a, b}
	var mu sync.Mutex
	ended, passes := 0, 0
	clean := func(ctx context.Context, i int, svc *chat.Service) {
		c, err := svc.Cleanup(ctx)
		if err != nil && ctx.Err() == nil {
			t.Errorf("instance %d: Cleanup: %v", i, err)
		}
		mu.Lock()
		ended += c.ExpiredSessions
		passes++
		mu.Unlock()
	}
	sessions := func() int { return dbtest.Count(t, st, "SELECT COUNT(*) FROM sessions") }

	const rounds, perRound = 6, 160
	peak := 0
	for round := range rounds {
		// The cleaners stop between passes, never cutting one short: a pass cancelled midway would leave
		// its rows to the next pass, skipped by the other instance's while it still held them.
		var stop atomic.Bool
		var arrivals, cleaners sync.WaitGroup
		for i, svc := range instances {
			arrivals.Go(func() {
				for j := range perRound / 2 {
					tok, v, err := svc.CreateSession(t.Context(), w.ID)
					if err != nil {
						t.Errorf("create session: %v", err)
						return
					}
					if j%8 == 0 {
						if _, _, err := svc.PostMessage(t.Context(), v, fmt.Sprintf("round %d, %d/%d", round, i, j), ""); err != nil {
							t.Errorf("post: %v", err)
						}
					}
					if _, err := svc.Authenticate(t.Context(), tok); err != nil {
						t.Errorf("authenticate a fresh session: %v", err)
					}
				}
			})
			cleaners.Go(func() {
				for !stop.Load() {
					clean(t.Context(), i, svc)
				}
			})
		}
		arrivals.Wait()
		stop.Store(true)
		cleaners.Wait()
		// One more pass each, both at once.
		for i, svc := range instances {
			cleaners.Go(func() { clean(t.Context(), i, svc) })
		}
		cleaners.Wait()
		peak = max(peak, sessions())
		t.Logf("round %d: %d sessions, %d revoked, %d kept", round, sessions(), dbtest.Count(t, st, "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL"), dbtest.Count(t, st, "SELECT COUNT(DISTINCT session_id) FROM conversations"))
		clock.Advance(25 * time.Hour) // this round's visitors expire
	}
	// The last round's visitors are ended, then deleted after their grace hour.
	for range 2 {
		var wg sync.WaitGroup
		for i, svc := range instances {
			wg.Go(func() { clean(t.Context(), i, svc) })
		}
		wg.Wait()
		clock.Advance(2 * time.Hour)
	}
	kept := dbtest.Count(t, st, "SELECT COUNT(DISTINCT session_id) FROM conversations")
	if want := rounds * perRound / 8; kept != want {
		t.Errorf("%d sessions started conversations; want %d", kept, want)
	}
	if n := sessions(); n != kept {
		t.Errorf("%d sessions stored after the last pass; want only the %d that started conversations", n, kept)
	}
	if ended != rounds*perRound {
		t.Errorf("the instances ended %d expired sessions between them in %d passes; want each of the %d exactly once", ended, passes, rounds*perRound)
	}
	// At most: the sessions kept for conversations, this round's visitors, and the previous round's,
	// ended but within their grace hour.
	if bound := kept + 2*perRound; peak > bound {
		t.Errorf("the sessions table peaked at %d rows; want at most %d", peak, bound)
	}
	t.Logf("%d cleanup passes; the sessions table peaked at %d rows for %d visitors", passes, peak, rounds*perRound)
}
