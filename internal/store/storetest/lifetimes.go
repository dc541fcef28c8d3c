package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Session lifetimes and cleanup: TouchSession, RevokeExpiredSessions, DeleteEndedSessions,
// DeleteUsedJTIs and DeleteAgentSessions.

func testTouchSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	x := newSession(t, s, w.ID, "sess", "")
	if !sameTime(x.LastSeenAt, x.CreatedAt) {
		t.Errorf("CreateSession without LastSeenAt set it to %s; want CreatedAt %s", x.LastSeenAt, x.CreatedAt)
	}
	stored := func() store.Session {
		t.Helper()
		got, err := s.Session(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := stored().LastSeenAt; !sameTime(got, at(0)) {
		t.Errorf("stored LastSeenAt = %s; want CreatedAt", got)
	}
	touch := func(id string, when, staleBefore time.Time) bool {
		t.Helper()
		var wrote bool
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			wrote, err = tx.TouchSession(ctx, id, when, staleBefore)
			return err
		})
		return wrote
	}
	// Stored 0; a threshold before it writes nothing, one at it or after writes.
	if touch(x.ID, at(30*time.Second), at(-time.Microsecond)) {
		t.Error("TouchSession wrote although the stored time is after staleBefore")
	}
	if !touch(x.ID, at(time.Minute), at(0)) {
		t.Error("TouchSession did not write with the stored time equal to staleBefore")
	}
	if got := stored().LastSeenAt; !sameTime(got, at(time.Minute)) {
		t.Errorf("LastSeenAt after a touch = %s; want 1m", got)
	}
	if touch(x.ID, at(90*time.Second), at(30*time.Second)) {
		t.Error("TouchSession wrote within the interval")
	}
	if !touch(x.ID, at(3*time.Minute), at(2*time.Minute)) {
		t.Error("TouchSession did not write after the interval")
	}
	if touch("sess-missing", at(time.Hour), at(time.Hour)) {
		t.Error("TouchSession of a missing session reported a write")
	}

	// UpdateSession stores LastSeenAt but never moves it back: a caller holding an older copy of the
	// session does not undo a touch.
	stale := stored()
	stale.LastSeenAt, stale.ClaimedName = at(time.Minute), "Ada"
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &stale) })
	if got := stored(); !sameTime(got.LastSeenAt, at(3*time.Minute)) || got.ClaimedName != "Ada" {
		t.Errorf("UpdateSession with an older LastSeenAt stored %s (name %q); want 3m kept and the name stored", got.LastSeenAt, got.ClaimedName)
	}
	later := stored()
	later.LastSeenAt = at(10 * time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &later) })
	if got := stored().LastSeenAt; !sameTime(got, at(10*time.Minute)) {
		t.Errorf("UpdateSession with a later LastSeenAt stored %s; want 10m", got)
	}
	zero := stored()
	zero.LastSeenAt = time.Time{}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &zero) })
	if got := stored().LastSeenAt; !sameTime(got, at(10*time.Minute)) {
		t.Errorf("UpdateSession with a zero LastSeenAt stored %s; want 10m kept", got)
	}

	// A revoked session is not touched.
	revoked := stored()
	revoked.RevokedAt = at(11 * time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &revoked) })
	if touch(x.ID, at(time.Hour), at(time.Hour)) {
		t.Error("TouchSession wrote to a revoked session")
	}
	if got := stored().LastSeenAt; !sameTime(got, at(10*time.Minute)) {
		t.Errorf("a revoked session's LastSeenAt changed to %s", got)
	}
}

// lifetimeSession creates a session with the given level, last activity and verification time.
func lifetimeSession(t *testing.T, s store.Store, w store.Workspace, c store.Customer, id, level string, seen, verified time.Time) store.Session {
	t.Helper()
	x := store.Session{ID: id, WorkspaceID: w.ID, TokenHash: tokenHash("token of " + id), Level: level,
		CreatedAt: at(-100 * time.Hour), UpdatedAt: at(-100 * time.Hour), LastSeenAt: seen}
	if level == store.LevelVerified {
		x.CustomerID, x.KeyID, x.VerifiedAt = c.ID, "k1", verified
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateSession(t.Context(), &x) })
	return x
}

func testRevokeExpiredSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-ada", "ada@example.com")
	bob := newCustomer(t, s, other.ID, "cust-bob", "user-bob", "bob@example.com")
	// Cutoffs: verified sessions seen at or before -1h or verified at or before -10h, others seen at or
	// before -24h.
	e := store.SessionExpiry{WorkspaceID: w.ID, VerifiedSeenBefore: at(-time.Hour), VerifiedBefore: at(-10 * time.Hour),
		VisitorSeenBefore: at(-24 * time.Hour)}
	lv, li, la := store.LevelVerified, store.LevelIdentified, store.LevelAnonymous
	recent := at(-5 * time.Hour)
	expired := []store.Session{
		lifetimeSession(t, s, w, ada, "v-idle-at", lv, at(-time.Hour), recent),
		lifetimeSession(t, s, w, ada, "v-idle-before", lv, at(-2*time.Hour), recent),
		lifetimeSession(t, s, w, ada, "v-life-at", lv, at(-time.Minute), at(-10*time.Hour)),
		lifetimeSession(t, s, w, ada, "v-life-before", lv, at(-time.Minute), at(-20*time.Hour)),
		lifetimeSession(t, s, w, ada, "v-both", lv, at(-50*time.Hour), at(-50*time.Hour)),
		lifetimeSession(t, s, w, ada, "i-at", li, at(-24*time.Hour), time.Time{}),
		lifetimeSession(t, s, w, ada, "a-at", la, at(-24*time.Hour), time.Time{}),
		lifetimeSession(t, s, w, ada, "a-before", la, at(-99*time.Hour), time.Time{}),
	}
	live := []store.Session{
		lifetimeSession(t, s, w, ada, "v-idle-after", lv, at(-time.Hour+time.Microsecond), at(-10*time.Hour+time.Microsecond)),
		// An anonymous session idle longer than the verified idle timeout but not its own.
		lifetimeSession(t, s, w, ada, "a-after", la, at(-24*time.Hour+time.Microsecond), time.Time{}),
		lifetimeSession(t, s, w, ada, "i-recent", li, at(-2*time.Hour), time.Time{}),
		// Another workspace's sessions are its own settings' business.
		lifetimeSession(t, s, other, bob, "other-v", lv, at(-99*time.Hour), at(-99*time.Hour)),
		lifetimeSession(t, s, other, bob, "other-a", la, at(-99*time.Hour), time.Time{}),
	}
	// An ended session is not ended again.
	gone := lifetimeSession(t, s, w, ada, "a-revoked", la, at(-99*time.Hour), time.Time{})
	gone.RevokedAt = at(-98 * time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &gone) })

	revoke := func(e store.SessionExpiry, limit int) []string {
		t.Helper()
		var ids []string
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			ids, err = tx.RevokeExpiredSessions(ctx, e, at(0), limit)
			return err
		})
		return ids
	}
	// Zero cutoffs select nothing.
	if ids := revoke(store.SessionExpiry{WorkspaceID: w.ID}, 100); len(ids) != 0 {
		t.Errorf("RevokeExpiredSessions with no cutoffs ended %v", ids)
	}
	// In batches of 3: every expired session once, whatever the order.
	var got []string
	for range 10 {
		ids := revoke(e, 3)
		if len(ids) > 3 {
			t.Fatalf("a batch of 3 ended %d sessions", len(ids))
		}
		got = append(got, ids...)
		if len(ids) < 3 {
			break
		}
	}
	var want []string
	for _, x := range expired {
		want = append(want, x.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("RevokeExpiredSessions ended %v; want %v", got, want)
	}
	for _, x := range expired {
		got, err := s.Session(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTime(got.RevokedAt, at(0)) || !sameTime(got.UpdatedAt, at(0)) {
			t.Errorf("%s: RevokedAt %s, UpdatedAt %s; want both the given time", x.ID, got.RevokedAt, got.UpdatedAt)
		}
		if _, err := s.SessionByTokenHash(ctx, x.TokenHash); err == nil {
			t.Errorf("%s: its token still finds the session", x.ID)
		}
	}
	for _, x := range live {
		got, err := s.Session(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.RevokedAt.IsZero() {
			t.Errorf("%s: ended, but it has not expired", x.ID)
		}
	}
	if got, _ := s.Session(ctx, gone.ID); !sameTime(got.RevokedAt, at(-98*time.Hour)) {
		t.Errorf("an ended session was ended again: RevokedAt %s", got.RevokedAt)
	}
	if ids := revoke(e, 100); len(ids) != 0 {
		t.Errorf("a second pass ended %v", ids)
	}
}

func testDeleteEndedSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-ada", "ada@example.com")
	end := func(x store.Session, when time.Time) store.Session {
		t.Helper()
		x.RevokedAt, x.UpdatedAt = when, when
		mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &x) })
		return x
	}
	// Ended at -3h..-1h; several at the same instant, so the cursor must order by id too.
	var deletable, kept []string
	for i := range 6 {
		x := end(newSession(t, s, w.ID, fmt.Sprintf("gone-%d", i), ""), at(-time.Duration(3-i/2)*time.Hour))
		deletable = append(deletable, x.ID)
	}
	// Ended, but a conversation refers to them: one it started anonymously, one adopted by a customer.
	started := end(newSession(t, s, w.ID, "kept-anon", ""), at(-2*time.Hour))
	newConversation(t, s, w.ID, "conv-anon", started.ID, "", at(-4*time.Hour))
	adopted := end(newSession(t, s, w.ID, "kept-adopted", ""), at(-2*time.Hour))
	newConversation(t, s, w.ID, "conv-adopted", adopted.ID, ada.ID, at(-4*time.Hour))
	kept = append(kept, started.ID, adopted.ID)
	// Live, and ended after the cutoff.
	liveOne := newSession(t, s, w.ID, "live", "")
	recent := end(newSession(t, s, w.ID, "recent", ""), at(-time.Minute))
	kept = append(kept, liveOne.ID, recent.ID)

	walk := func(after store.SessionCursor, limit int) (int, store.SessionCursor) {
		t.Helper()
		var n int
		var next store.SessionCursor
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, next, err = tx.DeleteEndedSessions(ctx, after, at(-time.Hour), limit)
			return err
		})
		return n, next
	}
	cur, deleted, batches := store.SessionCursor{}, 0, 0
	for {
		n, next := walk(cur, 3)
		batches++
		if next.ID == cur.ID && next.RevokedAt.Equal(cur.RevokedAt) {
			if n != 0 {
				t.Errorf("a walk over nothing deleted %d", n)
			}
			break
		}
		if !next.RevokedAt.After(cur.RevokedAt) && !(next.RevokedAt.Equal(cur.RevokedAt) && next.ID > cur.ID) {
			t.Fatalf("the cursor went from %+v back to %+v", cur, next)
		}
		deleted += n
		cur = next
		if batches > 10 {
			t.Fatal("the walk does not end")
		}
	}
	// 8 ended sessions before the cutoff, 3 a batch: 3 batches with something, then one with nothing.
	if deleted != len(deletable) || batches != 4 {
		t.Errorf("deleted %d in %d batches; want %d in 4", deleted, batches, len(deletable))
	}
	if !sameTime(cur.RevokedAt, at(-time.Hour)) || cur.ID != "gone-5" {
		t.Errorf("the final cursor is %+v; want the last session ended before the cutoff (gone-5 at -1h)", cur)
	}
	for _, id := range deletable {
		if _, err := s.Session(ctx, id); err == nil {
			t.Errorf("%s: still stored", id)
		}
	}
	for _, id := range kept {
		if _, err := s.Session(ctx, id); err != nil {
			t.Errorf("%s: %v; want it kept", id, err)
		}
	}
	// Walking again from the start finds only the kept ones and deletes nothing.
	if n, next := walk(store.SessionCursor{}, 100); n != 0 || next.ID != "kept-anon" && next.ID != "kept-adopted" {
		t.Errorf("a second walk deleted %d and stopped at %+v; want 0, at a kept session", n, next)
	}
	// After the recent one's cutoff passes, it goes too.
	var n int
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		n, _, err = tx.DeleteEndedSessions(ctx, cur, at(0), 100)
		return err
	})
	if n != 1 {
		t.Errorf("a walk past the recent session's end deleted %d; want 1", n)
	}
}

func testDeleteUsedJTIs(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	for i := range 7 {
		mustUpdate(t, s, func(tx store.Tx) error {
			return tx.UseJTI(ctx, w.ID, fmt.Sprintf("jti-%d", i), at(time.Duration(i)*time.Minute), at(-time.Hour))
		})
	}
	del := func(before time.Time, limit int) int {
		t.Helper()
		var n int
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteUsedJTIs(ctx, before, limit)
			return err
		})
		return n
	}
	// until 0..6 minutes: at or before 4m are jti-0..4.
	if n := del(at(4*time.Minute), 3); n != 3 {
		t.Errorf("first batch deleted %d; want 3", n)
	}
	if n := del(at(4*time.Minute), 3); n != 2 {
		t.Errorf("second batch deleted %d; want 2", n)
	}
	if n := del(at(4*time.Minute), 3); n != 0 {
		t.Errorf("third batch deleted %d; want 0", n)
	}
	// The later ones are still recorded: using them again is a replay.
	err := tryUpdate(t, s, func(tx store.Tx) error { return tx.UseJTI(ctx, w.ID, "jti-5", at(time.Hour), at(4*time.Minute)) })
	wantErr(t, "UseJTI(jti-5, kept)", err, store.ErrConflict)
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.UseJTI(ctx, w.ID, "jti-1", at(time.Hour), at(-time.Hour)) }); err != nil {
		t.Errorf("UseJTI(jti-1, deleted): %v", err)
	}
}

func testDeleteAgentSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	mk := func(name string, expires, revoked time.Time) store.AgentSession {
		t.Helper()
		x := store.AgentSession{ID: "as_" + name, Method: store.AgentMethodPassword, TokenHash: tokenHash(name), AgentID: ada.ID, CSRFToken: "csrf-" + name,
			CreatedAt: at(-100 * time.Hour), ExpiresAt: expires}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentSession(ctx, &x) })
		if !revoked.IsZero() {
			mustUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSession(ctx, x.TokenHash, revoked) })
		}
		x.RevokedAt = revoked
		return x
	}
	gone := []store.AgentSession{
		mk("expired-at", at(-24*time.Hour), time.Time{}),
		mk("expired-long-ago", at(-90*time.Hour), time.Time{}),
		mk("revoked-at", at(time.Hour), at(-24*time.Hour)),
		mk("revoked-long-ago", at(time.Hour), at(-50*time.Hour)),
	}
	kept := []store.AgentSession{
		mk("live", at(time.Hour), time.Time{}),
		mk("expired-recently", at(-24*time.Hour+time.Microsecond), time.Time{}),
		mk("revoked-recently", at(time.Hour), at(-time.Hour)),
	}
	total := 0
	for range 5 {
		var n int
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteAgentSessions(ctx, at(-24*time.Hour), 3)
			return err
		})
		if n > 3 {
			t.Fatalf("a batch of 3 deleted %d", n)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total != len(gone) {
		t.Errorf("deleted %d agent sessions; want %d", total, len(gone))
	}
	// Whether a token hash is still stored, revoked or not: storing it again is a conflict.
	stored := func(x store.AgentSession) bool {
		t.Helper()
		err := tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentSession(ctx, &x) })
		return err != nil
	}
	for _, x := range gone {
		if stored(x) {
			t.Errorf("%s: still stored", x.CSRFToken)
		}
	}
	for _, x := range kept {
		if !stored(x) {
			t.Errorf("%s: deleted; want it kept", x.CSRFToken)
		}
	}
}

// Several cleaners at once (instances sharing a database) neither fail nor end a session twice.
func testCleanupConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	const n = 120
	for i := range n {
		lifetimeSession(t, s, w, store.Customer{}, fmt.Sprintf("a-%03d", i), store.LevelAnonymous, at(-48*time.Hour), time.Time{})
	}
	e := store.SessionExpiry{WorkspaceID: w.ID, VisitorSeenBefore: at(-24 * time.Hour)}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				var ids []string
				err := s.Update(ctx, func(tx store.Tx) error {
					var err error
					ids, err = tx.RevokeExpiredSessions(ctx, e, at(0), 10)
					return err
				})
				if err != nil {
					t.Errorf("RevokeExpiredSessions: %v", err)
					return
				}
				mu.Lock()
				for _, id := range ids {
					seen[id]++
				}
				mu.Unlock()
				if len(ids) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("the cleaners ended %d sessions; want all %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s was reported ended %d times", id, c)
		}
	}
	// And delete them concurrently.
	var deleted int
	for range 4 {
		wg.Go(func() {
			cur := store.SessionCursor{}
			for {
				var k int
				var next store.SessionCursor
				err := s.Update(ctx, func(tx store.Tx) error {
					var err error
					k, next, err = tx.DeleteEndedSessions(ctx, cur, at(time.Hour), 10)
					return err
				})
				if err != nil {
					t.Errorf("DeleteEndedSessions: %v", err)
					return
				}
				mu.Lock()
				deleted += k
				mu.Unlock()
				if next.ID == cur.ID {
					return
				}
				cur = next
			}
		})
	}
	wg.Wait()
	if deleted != n {
		t.Errorf("the cleaners deleted %d sessions; want %d", deleted, n)
	}
}

// Blocks that were lifted or expired at or before the cutoff are deleted, in batches; live blocks, and
// those that ended after the cutoff, stay.
func testDeleteEndedBlocks(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	mk := func(id string, expires, lifted time.Time) {
		t.Helper()
		b := store.Block{ID: id, WorkspaceID: w.ID, SessionID: "se-" + id, CreatedBy: "ag", CreatedAt: at(-200 * time.Hour), ExpiresAt: expires}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateBlock(ctx, &b) })
		if !lifted.IsZero() {
			mustUpdate(t, s, func(tx store.Tx) error { return tx.LiftBlock(ctx, w.ID, id, "ag", lifted) })
		}
	}
	gone := []string{"bl-expired-at", "bl-expired-long-ago", "bl-lifted-at", "bl-lifted-long-ago", "bl-expiring-lifted-long-ago"}
	mk("bl-expired-at", at(-24*time.Hour), time.Time{})
	mk("bl-expired-long-ago", at(-90*time.Hour), time.Time{})
	mk("bl-lifted-at", time.Time{}, at(-24*time.Hour))
	mk("bl-lifted-long-ago", time.Time{}, at(-50*time.Hour))
	mk("bl-expiring-lifted-long-ago", at(100*time.Hour), at(-50*time.Hour))
	kept := []string{"bl-live", "bl-live-until", "bl-expired-recently", "bl-lifted-recently"}
	mk("bl-live", time.Time{}, time.Time{})
	mk("bl-live-until", at(time.Hour), time.Time{})
	mk("bl-expired-recently", at(-24*time.Hour+time.Microsecond), time.Time{})
	mk("bl-lifted-recently", time.Time{}, at(-time.Hour))

	total := 0
	for range 5 {
		var n int
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteEndedBlocks(ctx, at(-24*time.Hour), 2)
			return err
		})
		if n > 2 {
			t.Fatalf("a batch of 2 deleted %d", n)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total != len(gone) {
		t.Errorf("deleted %d blocks; want %d", total, len(gone))
	}
	for _, id := range gone {
		if _, err := s.Block(ctx, w.ID, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v; want it deleted", id, err)
		}
	}
	for _, id := range kept {
		if _, err := s.Block(ctx, w.ID, id); err != nil {
			t.Errorf("%s: %v; want it kept", id, err)
		}
	}
}
