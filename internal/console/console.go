// Package console is the agent console: server-rendered pages (html/template) for the inbox,
// conversations, customers, workspace settings, signing keys, API keys, the audit trail, the identity log
// and the report, plus a small script that keeps the inbox and the open conversation live over a
// WebSocket.
//
// Every page goes through the chat service with the signed-in agent, which scopes what it reads and
// writes to the agent's workspace. Handlers are exported so that httpapi can list every route in its
// one routes file; the middleware (Agent, Fragment, Admin, Public) does sign-in, CSRF and the security
// headers.
package console

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/realtime"
)

// Subscriber is the part of the realtime hub the console's WebSocket needs.
type Subscriber interface {
	Subscribe(buffer int, topics ...string) *realtime.Subscription
}

// Limits bound sign-in attempts, so passwords cannot be guessed at speed.
type Limits struct {
	LoginsPerIP    ratelimit.Rate
	LoginsPerEmail ratelimit.Rate
}

// DefaultLimits allow ten sign-in attempts a minute (five at once) per client address and per email.
func DefaultLimits() Limits {
	r := ratelimit.Rate{Every: 6 * time.Second, Burst: 5}
	return Limits{LoginsPerIP: r, LoginsPerEmail: r}
}

// Config wires a Console.
type Config struct {
	Chat   *chat.Service
	Events Subscriber
	Logger *slog.Logger
	Limits Limits
	// TrustedProxies are the load balancers whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the agent console's pages.
type Console struct {
	chat    *chat.Service
	events  Subscriber
	log     *slog.Logger
	trusted []netip.Prefix
	now     func() time.Time
	pages   *pages
	assets  *assets

	loginPerIP    *ratelimit.Limiter
	loginPerEmail *ratelimit.Limiter

	// Sockets outlive http.Server.Shutdown (they are hijacked), so the console tracks them itself.
	sockets      sync.WaitGroup
	socketCtx    context.Context
	closeSockets context.CancelFunc
}

// New returns a Console; it fails only if the embedded templates or files are broken.
func New(cfg Config) (*Console, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	ps, err := loadPages(as)
	if err != nil {
		return nil, err
	}
	c := &Console{
		chat: cfg.Chat, events: cfg.Events, log: log, trusted: cfg.TrustedProxies, now: now,
		pages: ps, assets: as,
		loginPerIP:    ratelimit.New(cfg.Limits.LoginsPerIP, now),
		loginPerEmail: ratelimit.New(cfg.Limits.LoginsPerEmail, now),
	}
	c.socketCtx, c.closeSockets = context.WithCancel(context.Background())
	return c, nil
}

// Shutdown closes every console WebSocket (the pages reconnect) and waits for their handlers to
// finish, or for ctx to end.
func (c *Console) Shutdown(ctx context.Context) error {
	c.closeSockets()
	done := make(chan struct{})
	go func() { c.sockets.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
