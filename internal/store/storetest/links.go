package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Agent links (invitations, resets): single use, expiry, a newer link voiding older ones, cleanup.
func testAgentLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))
	mk := func(name, agentID, purpose string, expires time.Time) store.AgentLink {
		t.Helper()
		l := store.AgentLink{TokenHash: tokenHash(name), WorkspaceID: w.ID, AgentID: agentID, Purpose: purpose,
			CreatedBy: "agent:admin", CreatedAt: at(0), ExpiresAt: expires}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentLink(ctx, &l) })
		return l
	}
	use := func(name string, when time.Time) (store.AgentLink, error) {
		var l store.AgentLink
		err := tryUpdate(t, s, func(tx store.Tx) error {
			var err error
			l, err = tx.UseAgentLink(ctx, tokenHash(name), when)
			return err
		})
		return l, err
	}

	invite := mk("invite", ada.ID, store.AgentLinkInvite, at(72*time.Hour))
	got, err := s.AgentLink(ctx, invite.TokenHash)
	if err != nil || got.AgentID != ada.ID || got.Purpose != store.AgentLinkInvite || got.CreatedBy != "agent:admin" ||
		!sameTime(got.ExpiresAt, invite.ExpiresAt) || !got.UsedAt.IsZero() {
		t.Fatalf("AgentLink = %+v, %v", got, err)
	}
	if err := tryUpdate(t, s, func(tx store.Tx) error { l := invite; return tx.CreateAgentLink(ctx, &l) }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateAgentLink(same hash) = %v; want ErrConflict", err)
	}
	missing := store.AgentLink{TokenHash: tokenHash("orphan"), WorkspaceID: w.ID, AgentID: "ag-missing", Purpose: store.AgentLinkReset, CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentLink(ctx, &missing) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateAgentLink(missing agent) = %v; want ErrNotFound", err)
	}

	// Used once, then never again.
	l, err := use("invite", at(time.Hour))
	if err != nil || !bytes.Equal(l.TokenHash, invite.TokenHash) || l.AgentID != ada.ID || l.Purpose != store.AgentLinkInvite || !sameTime(l.UsedAt, at(time.Hour)) {
		t.Fatalf("UseAgentLink = %+v, %v", l, err)
	}
	if _, err := use("invite", at(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseAgentLink(used) = %v; want ErrNotFound", err)
	}
	if _, err := use("nothing", at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseAgentLink(unknown) = %v; want ErrNotFound", err)
	}

	// Expired: at its expiry instant it is over.
	mk("reset-old", bob.ID, store.AgentLinkReset, at(time.Hour))
	if _, err := use("reset-old", at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseAgentLink(expired) = %v; want ErrNotFound", err)
	}

	// A newer link voids older ones of the same purpose and agent only.
	mk("reset-1", bob.ID, store.AgentLinkReset, at(time.Hour+time.Minute))
	mk("invite-bob", bob.ID, store.AgentLinkInvite, at(72*time.Hour))
	mk("reset-ada", ada.ID, store.AgentLinkReset, at(time.Hour))
	var n int
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.RevokeAgentLinks(ctx, bob.ID, store.AgentLinkReset, at(time.Minute))
		return err
	})
	if n != 2 { // reset-old and reset-1 (unused, expired or not)
		t.Errorf("RevokeAgentLinks = %d; want 2", n)
	}
	if _, err := use("reset-1", at(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseAgentLink(voided) = %v; want ErrNotFound", err)
	}
	if _, err := use("invite-bob", at(2*time.Minute)); err != nil {
		t.Errorf("UseAgentLink(other purpose) = %v; want it usable", err)
	}
	if _, err := use("reset-ada", at(2*time.Minute)); err != nil {
		t.Errorf("UseAgentLink(other agent) = %v; want it usable", err)
	}

	// Concurrent uses: exactly one wins.
	mk("race", ada.ID, store.AgentLinkReset, at(time.Hour))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			if _, err := use("race", at(time.Minute)); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UseAgentLink(race): %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent uses succeeded; want 1", wins)
	}

	// Cleanup deletes expired links, in batches, and keeps the others.
	mk("live", ada.ID, store.AgentLinkInvite, at(100*time.Hour))
	total := 0
	for range 10 {
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteAgentLinks(ctx, at(80*time.Hour), 2)
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
	if total != 6 {
		t.Errorf("DeleteAgentLinks deleted %d; want 6", total)
	}
	if _, err := s.AgentLink(ctx, tokenHash("live")); err != nil {
		t.Errorf("AgentLink(live) after cleanup: %v", err)
	}
	if _, err := s.AgentLink(ctx, tokenHash("invite")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AgentLink(expired) after cleanup = %v; want ErrNotFound", err)
	}
}

// An agent's list of live sessions; ending one by id (only one's own), ending all others.
func testAgentSessionList(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))
	mk := func(name, agentID string, created, expires time.Time) store.AgentSession {
		t.Helper()
		x := store.AgentSession{ID: "as_" + name, Method: store.AgentMethodPassword, TokenHash: tokenHash(name), AgentID: agentID,
			CSRFToken: "csrf-" + name, CreatedAt: created, ExpiresAt: expires, UserAgent: "ua-" + name, Addr: "192.0.2.1", LastSeenAt: created}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentSession(ctx, &x) })
		return x
	}
	ids := func(list []store.AgentSession) []string {
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	live := func(agentID string, now time.Time) []string {
		t.Helper()
		list, err := s.AgentSessions(ctx, agentID, now)
		if err != nil {
			t.Fatal(err)
		}
		return ids(list)
	}
	mk("old", ada.ID, at(0), at(12*time.Hour))
	mk("new", ada.ID, at(2*time.Hour), at(14*time.Hour))
	mk("mid", ada.ID, at(time.Hour), at(13*time.Hour))
	mk("expired", ada.ID, at(-13*time.Hour), at(-time.Hour))
	gone := mk("revoked", ada.ID, at(-time.Hour), at(11*time.Hour))
	mustUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSession(ctx, gone.TokenHash, at(0)) })
	mk("bob", bob.ID, at(0), at(12*time.Hour))

	if got, want := live(ada.ID, at(3*time.Hour)), []string{"as_new", "as_mid", "as_old"}; !slices.Equal(got, want) {
		t.Errorf("AgentSessions = %v; want %v (newest first, live only)", got, want)
	}
	list, _ := s.AgentSessions(ctx, ada.ID, at(3*time.Hour))
	if x := list[0]; x.UserAgent != "ua-new" || x.Addr != "192.0.2.1" || !sameTime(x.LastSeenAt, at(2*time.Hour)) || x.Method != store.AgentMethodPassword {
		t.Errorf("AgentSessions[0] = %+v", x)
	}
	if got := live(ada.ID, at(12*time.Hour)); !slices.Equal(got, []string{"as_new", "as_mid"}) {
		t.Errorf("AgentSessions at the old one's expiry = %v", got)
	}

	// By id: only the agent's own.
	err := tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSessionByID(ctx, bob.ID, "as_mid", at(3*time.Hour)) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAgentSessionByID(another agent's) = %v; want ErrNotFound", err)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSessionByID(ctx, ada.ID, "as_mid", at(3*time.Hour)) })
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSessionByID(ctx, ada.ID, "as_mid", at(3*time.Hour)) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAgentSessionByID(ended) = %v; want ErrNotFound", err)
	}
	if got := live(ada.ID, at(3*time.Hour)); !slices.Equal(got, []string{"as_new", "as_old"}) {
		t.Errorf("after ending as_mid: %v", got)
	}

	// All others: the kept one stays, and the other agent's are untouched.
	var n int
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.RevokeOtherAgentSessions(ctx, ada.ID, tokenHash("new"), at(3*time.Hour))
		return err
	})
	if n != 2 { // as_old and the expired one (unrevoked)
		t.Errorf("RevokeOtherAgentSessions = %d; want 2", n)
	}
	if got := live(ada.ID, at(3*time.Hour)); !slices.Equal(got, []string{"as_new"}) {
		t.Errorf("after RevokeOtherAgentSessions: %v", got)
	}
	if got := live(bob.ID, at(3*time.Hour)); !slices.Equal(got, []string{"as_bob"}) {
		t.Errorf("another agent's sessions: %v", got)
	}
	if _, err := s.AgentSessionByTokenHash(ctx, tokenHash("old")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ended session still found: %v", err)
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.RevokeOtherAgentSessions(ctx, ada.ID, nil, at(3*time.Hour))
		return err
	})
	if n != 1 {
		t.Errorf("RevokeOtherAgentSessions(keep none) = %d; want 1", n)
	}
}
