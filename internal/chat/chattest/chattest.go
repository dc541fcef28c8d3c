// Package chattest starts a chat.Service the way `parley serve` does, for tests of the layers above it.
package chattest

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
)

// Start returns a service over cfg's store. When the store carries events between instances
// (PostgreSQL), it also runs the event relay until the test ends, and waits until it listens, so live
// events travel through the database in the test as in production.
func Start(t testing.TB, cfg chat.Config, resync chat.Resyncer) *chat.Service {
	t.Helper()
	n, shared := cfg.Store.(chat.Notifier)
	if shared {
		cfg.Notifier = n
	}
	svc := chat.New(cfg)
	if !shared {
		return svc
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.RunRelay(ctx, resync, ready); err != nil && ctx.Err() == nil {
			t.Errorf("event relay: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the event relay did not start listening within 10s")
	}
	return svc
}
