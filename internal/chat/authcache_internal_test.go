package chat

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

func cacheSession(i int, workspaceID string) store.Session {
	h := sha256.Sum256(fmt.Appendf(nil, "token %d", i))
	return store.Session{ID: fmt.Sprintf("se_%d", i), WorkspaceID: workspaceID, TokenHash: h[:], Level: store.LevelAnonymous}
}

// The cache keeps at most its bound, serves only the epoch it holds, and empties on a newer one.
func TestAuthCacheBoundAndEpochs(t *testing.T) {
	c := newAuthCache()
	c.max = 10
	w := store.Workspace{ID: "ws_1"}
	for i := range 25 {
		c.put(5, cacheSession(i, w.ID), w)
		if n := c.len(); n > c.max {
			t.Fatalf("after %d puts the cache holds %d entries; want at most %d", i+1, n, c.max)
		}
	}
	last := cacheSession(24, w.ID)
	if _, _, ok := c.get(5, last.TokenHash); !ok {
		t.Error("the newest entry is missing")
	}
	// An entry read under an older epoch is not kept, nor served.
	old := cacheSession(100, w.ID)
	c.put(4, old, w)
	if _, _, ok := c.get(5, old.TokenHash); ok {
		t.Error("an entry put under an older epoch was served")
	}
	if _, _, ok := c.get(4, last.TokenHash); ok {
		t.Error("an entry was served to a request that read an older epoch")
	}
	// A newer epoch empties the cache.
	if _, _, ok := c.get(6, last.TokenHash); ok {
		t.Error("an entry of epoch 5 was served under epoch 6")
	}
	if n := c.len(); n != 0 {
		t.Errorf("after a newer epoch the cache holds %d entries; want 0", n)
	}
	// seen only moves LastSeenAt forward; drop forgets.
	s := cacheSession(1, w.ID)
	s.LastSeenAt = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	c.put(6, s, w)
	c.seen(s.TokenHash, s.LastSeenAt.Add(-time.Minute))
	if got, _, _ := c.get(6, s.TokenHash); !got.LastSeenAt.Equal(s.LastSeenAt) {
		t.Errorf("seen moved LastSeenAt back to %s", got.LastSeenAt)
	}
	c.seen(s.TokenHash, s.LastSeenAt.Add(time.Minute))
	if got, _, _ := c.get(6, s.TokenHash); !got.LastSeenAt.Equal(s.LastSeenAt.Add(time.Minute)) {
		t.Errorf("seen left LastSeenAt at %s", got.LastSeenAt)
	}
	c.drop(s.TokenHash)
	if _, _, ok := c.get(6, s.TokenHash); ok {
		t.Error("a dropped entry was served")
	}
}
