package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// testOIDCFlows: a flow is taken once, with every field as stored; an expired one is refused; a flow of
// a missing workspace or a taken state hash is refused; two takes racing for one flow cannot both win;
// the cleanup deletes only expired flows, in bounded batches.
func testOIDCFlows(t *testing.T, s store.Store) {
	ctx := t.Context()
	newWorkspace(t, s, "ws_1")
	flow := func(hash string, expires time.Duration) store.OIDCFlow {
		return store.OIDCFlow{StateHash: []byte(hash), WorkspaceID: "ws_1", Nonce: "nonce-" + hash, Verifier: "verifier-" + hash,
			Next: "/console/c/1?x=" + hash, CreatedAt: at(0), ExpiresAt: at(expires)}
	}
	create := func(f store.OIDCFlow) error {
		return tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateOIDCFlow(ctx, &f) })
	}
	take := func(hash string, when time.Time) (store.OIDCFlow, error) {
		var got store.OIDCFlow
		err := tryUpdate(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.TakeOIDCFlow(ctx, []byte(hash), when)
			return err
		})
		return got, err
	}

	a := flow("state-a", 10*time.Minute)
	if err := create(a); err != nil {
		t.Fatalf("CreateOIDCFlow: %v", err)
	}
	wantErr(t, "CreateOIDCFlow with a taken state hash", create(a), store.ErrConflict)
	orphan := flow("state-orphan", 10*time.Minute)
	orphan.WorkspaceID = "ws_missing"
	wantErr(t, "CreateOIDCFlow for a missing workspace", create(orphan), store.ErrNotFound)

	got, err := take("state-a", at(time.Minute))
	if err != nil {
		t.Fatalf("TakeOIDCFlow: %v", err)
	}
	if !bytes.Equal(got.StateHash, a.StateHash) || got.WorkspaceID != a.WorkspaceID || got.Nonce != a.Nonce || got.Verifier != a.Verifier ||
		got.Next != a.Next || !sameTime(got.CreatedAt, a.CreatedAt) || !sameTime(got.ExpiresAt, a.ExpiresAt) {
		t.Errorf("TakeOIDCFlow = %+v; want %+v", got, a)
	}
	_, err = take("state-a", at(time.Minute))
	wantErr(t, "TakeOIDCFlow a second time", err, store.ErrNotFound)
	_, err = take("state-unknown", at(time.Minute))
	wantErr(t, "TakeOIDCFlow of an unknown state", err, store.ErrNotFound)

	// Expired: at ExpiresAt the flow is over.
	if err := create(flow("state-b", 10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = take("state-b", at(10*time.Minute))
	wantErr(t, "TakeOIDCFlow at its expiry", err, store.ErrNotFound)

	// Two callbacks racing for one flow: exactly one takes it.
	if err := create(flow("state-race", 10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = take("state-race", at(time.Minute)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("racing TakeOIDCFlow: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d racing takes won; want exactly 1", won)
	}

	// Cleanup: state-b (expired at 10 min) and two more expired ones go, two at a time; the live one stays.
	for _, h := range []string{"state-c", "state-d"} {
		if err := create(flow(h, 5*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(flow("state-live", time.Hour)); err != nil {
		t.Fatal(err)
	}
	deleted := func(before time.Time, limit int) int {
		t.Helper()
		var n int
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteOIDCFlows(ctx, before, limit)
			return err
		})
		return n
	}
	if n := deleted(at(10*time.Minute), 2); n != 2 {
		t.Errorf("DeleteOIDCFlows, first batch of 2: %d", n)
	}
	if n := deleted(at(10*time.Minute), 2); n != 1 {
		t.Errorf("DeleteOIDCFlows, second batch: %d; want the last expired one", n)
	}
	if n := deleted(at(10*time.Minute), 2); n != 0 {
		t.Errorf("DeleteOIDCFlows, nothing left expired: %d", n)
	}
	if _, err := take("state-live", at(20*time.Minute)); err != nil {
		t.Errorf("the live flow after cleanup: %v", err)
	}
}
