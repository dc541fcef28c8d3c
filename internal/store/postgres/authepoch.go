package postgres

import (
	"context"

	"github.com/parleyhq/parley/internal/store"
)

// AuthEpoch: PostgreSQL keeps no authentication epoch, so package chat reads every widget session from
// the database here, and no triggers bump a counter (SQLite's migration 0024 has them). Measured
// (docs/performance.md, "Sessions from memory"): reading the epoch is a round trip as reading the
// session is, so a cache saves little per request; and one counter row that every session change
// writes puts those changes, across all instances, behind one row lock — under SERIALIZABLE the losers
// abort and retry, and concurrent logins fell to about a third.
func (queries) AuthEpoch(context.Context) (int64, error) { return 0, store.ErrNoAuthEpoch }
