package chat

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Authenticated sessions from memory. Every widget request authenticates, and reading the session
// joined with its workspace is most of what that costs; the store's authentication epoch (a counter
// that database triggers bump in the same transaction as any change that can alter the outcome, see
// store.Reader.AuthEpoch) costs one primary-key read. So authenticate reads the epoch first and serves
// a session from memory when it was cached under that same epoch.
//
// Why this is exact: an entry is stored under the epoch e read BEFORE its session, workspace and
// customer were read. A request that reads e again, and is served that entry, started after every
// commit that came before it; any of those that could change its authentication bumped the epoch in
// its own transaction, so it either committed before e was read (and the entry's reads, made later,
// saw it) or after (and this request would have read a larger epoch, since the counter only grows).
// A change committed between the epoch read and the session read leaves a fresher entry under an
// older epoch: it is read again next time, never stale. The triggers live in the database, so writes
// of other processes (the CLI on the same SQLite file, other instances) bump it as much as ours.
//
// What the epoch leaves out is LastSeenAt, which a use rewrites about once a minute: the cached value
// is never newer than the stored one (it comes from a read or from this process's own committed
// touch, and the stored value only grows), so a session the cache finds live by its idle timeout is
// live; one the cache finds expired is read again before anything ends.
//
// Entries are shared between requests: a Visitor's Session and Workspace are read-only for its users.

// authCacheSize bounds the entries kept; when full, arbitrary ones make room.
const authCacheSize = 100_000

// authCache holds authenticated sessions by token hash, all under one epoch: entries of an older one
// can never be served again, so a newer epoch empties it.
type authCache struct {
	off atomic.Bool // the store keeps no epoch (store.ErrNoAuthEpoch)

	mu         sync.Mutex
	max        int // entries kept at most
	epoch      int64
	sessions   map[[sha256.Size]byte]store.Session
	workspaces map[string]*store.Workspace // shared by the entries of a workspace: the epoch pins its row
}

func newAuthCache() *authCache {
	return &authCache{max: authCacheSize, sessions: map[[sha256.Size]byte]store.Session{}, workspaces: map[string]*store.Workspace{}}
}

// readEpoch reads the store's epoch; ok is false when the store keeps none, and the cache stays off.
func (c *authCache) readEpoch(ctx context.Context, st store.Reader) (epoch int64, ok bool, err error) {
	if c.off.Load() {
		return 0, false, nil
	}
	epoch, err = st.AuthEpoch(ctx)
	if errors.Is(err, store.ErrNoAuthEpoch) {
		c.off.Store(true)
		return 0, false, nil
	}
	return epoch, err == nil, err
}

// advance empties the cache when epoch is newer than its own. c.mu is held.
func (c *authCache) advance(epoch int64) {
	if epoch > c.epoch {
		c.epoch = epoch
		clear(c.sessions)
		clear(c.workspaces)
	}
}

// get returns the session and workspace cached for the token hash under epoch.
func (c *authCache) get(epoch int64, hash []byte) (store.Session, store.Workspace, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(epoch)
	if epoch != c.epoch {
		return store.Session{}, store.Workspace{}, false
	}
	sess, ok := c.sessions[[sha256.Size]byte(hash)]
	if !ok {
		return store.Session{}, store.Workspace{}, false
	}
	return sess, *c.workspaces[sess.WorkspaceID], true
}

// put caches a session and its workspace, read after epoch was.
func (c *authCache) put(epoch int64, sess store.Session, w store.Workspace) {
	if len(sess.TokenHash) != sha256.Size {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(epoch)
	if epoch != c.epoch {
		return // read under an older epoch: possibly stale already
	}
	key := [sha256.Size]byte(sess.TokenHash)
	if _, ok := c.sessions[key]; !ok && len(c.sessions) >= c.max {
		for k := range c.sessions { // map order is arbitrary
			delete(c.sessions, k)
			break
		}
	}
	if _, ok := c.workspaces[w.ID]; !ok {
		if len(c.workspaces) >= c.max {
			clear(c.workspaces)
			clear(c.sessions)
		}
		c.workspaces[w.ID] = &w
	}
	c.sessions[key] = sess
}

// seen records this process's committed touch of a cached session.
func (c *authCache) seen(hash []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := [sha256.Size]byte(hash)
	if sess, ok := c.sessions[key]; ok && sess.LastSeenAt.Before(at) {
		sess.LastSeenAt = at
		c.sessions[key] = sess
	}
}

// drop forgets a session, so the next request reads it from the store.
func (c *authCache) drop(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, [sha256.Size]byte(hash))
}

// len counts the cached sessions (tests).
func (c *authCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}
