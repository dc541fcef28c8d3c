package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// testTOTPSteps: a step is accepted once, and never one at or before the last accepted; of two
// transactions offering the same step, only one succeeds; the agent's other columns are untouched.
func testTOTPSteps(t *testing.T, s store.Store) {
	ctx := t.Context()
	newWorkspace(t, s, "ws_1")
	newAgent(t, s, "ws_1", "ag_ann", "ann@example.com", at(0))
	newAgent(t, s, "ws_1", "ag_bob", "bob@example.com", at(0))

	use := func(agentID string, step int64) bool {
		t.Helper()
		var ok bool
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			ok, err = tx.UseTOTPStep(ctx, agentID, step)
			return err
		})
		return ok
	}
	if !use("ag_ann", 100) {
		t.Fatal("a first step was refused")
	}
	if use("ag_ann", 100) {
		t.Error("the same step was accepted twice")
	}
	if use("ag_ann", 99) {
		t.Error("an earlier step was accepted")
	}
	if !use("ag_ann", 101) {
		t.Error("a later step was refused")
	}
	if !use("ag_bob", 100) {
		t.Error("another agent's step was refused")
	}
	if use("ag_nobody", 100) {
		t.Error("a missing agent's step was accepted")
	}
	if a, err := s.Agent(ctx, "ag_ann"); err != nil || a.TOTPLastStep != 101 || a.Email != "ann@example.com" {
		t.Errorf("after use: %+v, %v", a, err)
	}
	// UpdateAgent leaves the step alone: only UseTOTPStep moves it.
	mustUpdate(t, s, func(tx store.Tx) error {
		a, err := tx.Agent(ctx, "ag_ann")
		if err != nil {
			return err
		}
		a.TOTPLastStep, a.TOTPSecret, a.TOTPEnabledAt = 5, []byte("sealed"), at(time.Minute)
		return tx.UpdateAgent(ctx, &a)
	})
	if a, _ := s.Agent(ctx, "ag_ann"); a.TOTPLastStep != 101 || string(a.TOTPSecret) != "sealed" || !sameTime(a.TOTPEnabledAt, at(time.Minute)) {
		t.Errorf("after UpdateAgent: step %d, secret %q, enabled %v", a.TOTPLastStep, a.TOTPSecret, a.TOTPEnabledAt)
	}

	// Concurrent offers of one step: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan bool, n)
	for range n {
		wg.Go(func() {
			var ok bool
			err := s.Update(ctx, func(tx store.Tx) error {
				var err error
				ok, err = tx.UseTOTPStep(ctx, "ag_bob", 200)
				return err
			})
			if err != nil {
				t.Errorf("concurrent UseTOTPStep: %v", err)
			}
			wins <- ok
		})
	}
	wg.Wait()
	close(wins)
	won := 0
	for ok := range wins {
		if ok {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent uses of one step won; want 1", won, n)
	}
}

// testRecoveryCodes: codes are stored by hash, each used once; replacing them removes the old ones,
// used or not; they belong to their agent.
func testRecoveryCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	newWorkspace(t, s, "ws_1")
	newAgent(t, s, "ws_1", "ag_ann", "ann@example.com", at(0))
	newAgent(t, s, "ws_1", "ag_bob", "bob@example.com", at(0))

	left := func(agentID string) int {
		t.Helper()
		n, err := s.RecoveryCodesLeft(ctx, agentID)
		if err != nil {
			t.Fatalf("RecoveryCodesLeft: %v", err)
		}
		return n
	}
	use := func(agentID, code string) bool {
		t.Helper()
		var ok bool
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			ok, err = tx.UseRecoveryCode(ctx, agentID, tokenHash(code), at(time.Hour))
			return err
		})
		return ok
	}
	replace := func(agentID string, codes ...string) {
		t.Helper()
		hashes := make([][]byte, len(codes))
		for i, c := range codes {
			hashes[i] = tokenHash(c)
		}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.ReplaceRecoveryCodes(ctx, agentID, hashes, at(time.Minute)) })
	}

	if n := left("ag_ann"); n != 0 {
		t.Errorf("before any: %d left", n)
	}
	replace("ag_ann", "a1", "a2", "a3")
	replace("ag_bob", "b1")
	if n := left("ag_ann"); n != 3 {
		t.Errorf("after storing three: %d left", n)
	}
	if !use("ag_ann", "a2") {
		t.Error("an unused code was refused")
	}
	if use("ag_ann", "a2") {
		t.Error("a used code was accepted again")
	}
	if use("ag_ann", "b1") {
		t.Error("another agent's code was accepted")
	}
	if use("ag_ann", "zz") {
		t.Error("an unknown code was accepted")
	}
	if n := left("ag_ann"); n != 2 {
		t.Errorf("after one use: %d left", n)
	}
	replace("ag_ann", "c1", "c2")
	if use("ag_ann", "a1") {
		t.Error("a replaced code was accepted")
	}
	if n := left("ag_ann"); n != 2 {
		t.Errorf("after replacing: %d left", n)
	}
	replace("ag_ann")
	if n := left("ag_ann"); n != 0 {
		t.Errorf("after replacing with none: %d left", n)
	}
	if n := left("ag_bob"); n != 1 {
		t.Errorf("another agent's after all that: %d left", n)
	}
	wantErr(t, "ReplaceRecoveryCodes of a missing agent", tryUpdate(t, s, func(tx store.Tx) error {
		return tx.ReplaceRecoveryCodes(ctx, "ag_nobody", [][]byte{tokenHash("x")}, at(0))
	}), store.ErrNotFound)
}
