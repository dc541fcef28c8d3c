package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/chat"
)

// DefaultCleanupInterval is how often `parley serve` cleans up by default.
const DefaultCleanupInterval = 5 * time.Minute

// runCleanup runs a cleanup pass at start and then every interval until ctx ends (see chat.Cleanup).
// Each instance sharing a database runs its own; the passes do not block each other.
func runCleanup(ctx context.Context, svc *chat.Service, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c, err := svc.Cleanup(ctx)
		if ctx.Err() != nil {
			return
		}
		attrs := []any{"expired_sessions", c.ExpiredSessions, "deleted_sessions", c.DeletedSessions,
			"used_jtis", c.UsedJTIs, "agent_sessions", c.AgentSessions, "oidc_flows", c.OIDCFlows, "blocks", c.Blocks, "attachments", c.Attachments, "jobs", c.Jobs}
		switch {
		case err != nil:
			log.Warn("cleanup failed; retrying at the next interval", append(attrs, "err", err)...)
		case c != (chat.CleanupCounts{}):
			log.Info("cleanup", attrs...)
		default:
			log.Debug("cleanup", attrs...) // a pass with nothing to do is no news
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// durationEnv reads a duration from an environment variable, def when it is unset.
func durationEnv(e env, key string, def time.Duration) (time.Duration, error) {
	v := e.getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, usagef("%s: %q is not a duration such as 5m", key, v)
	}
	return d, nil
}

// intEnv reads an integer from the environment, def when unset.
func intEnv(e env, key string, def int) (int, error) {
	v := e.getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, usagef("%s: %q is not a whole number", key, v)
	}
	return n, nil
}
