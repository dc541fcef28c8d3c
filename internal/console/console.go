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
	"crypto/rand"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/seal"
)

// Subscriber is the part of the realtime hub the console's WebSocket needs.
type Subscriber interface {
	SubscribeQueue(limit int, topics ...string) *realtime.Subscription
}

// Limits bound failed sign-ins, so that passwords cannot be guessed at speed, without letting anyone
// lock an agent out by failing on purpose. Only failures count (a successful sign-in takes its attempt
// back). Each Rate allows Burst failures, and one more per Every.
//
// An account's failures count per client address and, with a higher ceiling, from everywhere; a browser
// that signed in to the account before (its known-device cookie) passes both, and has a budget of its
// own instead, so that a stolen cookie cannot guess at will either. Every attempt counts against its
// client address, whatever the account.
type Limits struct {
	LoginsPerIP        ratelimit.Rate // failures from one client address (an IPv6 /64), any account
	LoginsPerAccountIP ratelimit.Rate // failures for one account from one client address
	LoginsPerAccount   ratelimit.Rate // failures for one account from everywhere, known devices aside
	LoginsPerDevice    ratelimit.Rate // failures from one known device
	// SecondFactorsPerAgent bounds wrong two-factor codes per agent, wherever they come from: a code
	// has a million values, and the password was right already (twofactor.go).
	SecondFactorsPerAgent ratelimit.Rate
	// UploadsPerAgent bounds attachment uploads (POST /console/attachments) per agent.
	UploadsPerAgent ratelimit.Rate
	// SetupsPerIP bounds first-run setup attempts with a wrong token per client address (setup.go).
	SetupsPerIP ratelimit.Rate
}

// DefaultLimits: per client address 30 failures, then one per 30 s; per account and address 10, then
// one per 90 s (10 per 15 minutes); per account 100, then one per 9 s (100 per 15 minutes); per known
// device 10, then one per 90 s; wrong two-factor codes per agent 5, then one per 3 minutes (5 per 15
// minutes); uploads per agent 20, then one per 3 s; wrong setup tokens per client address 10, then one
// per minute.
func DefaultLimits() Limits {
	return Limits{
		LoginsPerIP:        ratelimit.Rate{Every: 30 * time.Second, Burst: 30},
		LoginsPerAccountIP: ratelimit.Rate{Every: 90 * time.Second, Burst: 10},
		LoginsPerAccount:   ratelimit.Rate{Every: 9 * time.Second, Burst: 100},
		LoginsPerDevice:    ratelimit.Rate{Every: 90 * time.Second, Burst: 10},
		UploadsPerAgent:    ratelimit.Rate{Every: 3 * time.Second, Burst: 20},
		SetupsPerIP:        ratelimit.Rate{Every: time.Minute, Burst: 10},

		SecondFactorsPerAgent: ratelimit.Rate{Every: 3 * time.Minute, Burst: 5},
	}
}

// Config wires a Console.
type Config struct {
	Chat   *chat.Service
	Events Subscriber
	Logger *slog.Logger
	Limits Limits
	// TrustedProxies are the load balancers whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// Secrets seals the known-device cookies set at sign-in (the server's master key). nil means a random
	// key held in memory, which suits tests alone: browsers are forgotten at every restart.
	Secrets *seal.Box
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// SetupToken opens the first-run setup page (setup.go); serve makes one when the store has no
	// workspace. Empty: this instance offers no setup.
	SetupToken string
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

	// Failed sign-ins, see Limits.
	loginPerIP, loginPerAccountIP, loginPerAccount, loginPerDevice *ratelimit.Failures
	devices                                                        *seal.Box
	uploads                                                        *ratelimit.Limiter // per agent

	secondFactorPerAgent *ratelimit.Failures // wrong two-factor codes, see Limits

	setup setup

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
	devices := cfg.Secrets
	if devices == nil {
		key := make([]byte, seal.KeySize)
		_, _ = rand.Read(key)      // crypto/rand.Read never fails on supported platforms
		devices, _ = seal.New(key) // cannot fail with a key of the right size
	}
	c := &Console{
		chat: cfg.Chat, events: cfg.Events, log: log, trusted: cfg.TrustedProxies, now: now,
		pages: ps, assets: as,
		loginPerIP:        ratelimit.NewFailures(cfg.Limits.LoginsPerIP, now),
		loginPerAccountIP: ratelimit.NewFailures(cfg.Limits.LoginsPerAccountIP, now),
		loginPerAccount:   ratelimit.NewFailures(cfg.Limits.LoginsPerAccount, now),
		loginPerDevice:    ratelimit.NewFailures(cfg.Limits.LoginsPerDevice, now),
		devices:           devices,
		uploads:           ratelimit.New(cfg.Limits.UploadsPerAgent, now),

		secondFactorPerAgent: ratelimit.NewFailures(cfg.Limits.SecondFactorsPerAgent, now),
	}
	c.setup.token = cfg.SetupToken
	c.setup.failures = ratelimit.NewFailures(cfg.Limits.SetupsPerIP, now)
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
