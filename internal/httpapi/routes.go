// Package httpapi serves Parley's HTTP and WebSocket APIs. Every route is listed in routes below; the
// shapes of API.md live in shapes.go and nowhere else.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/widget"
)

// Limits are the per-client request limits.
type Limits struct {
	SessionsPerIP      Rate // POST /v1/widget/sessions
	LoginsPerIP        Rate // POST /v1/widget/login
	MessagesPerSession Rate // POST /v1/widget/messages
}

// DefaultLimits are generous for people and tight for scripts.
func DefaultLimits() Limits {
	return Limits{
		SessionsPerIP:      Rate{Every: 2 * time.Second, Burst: 30},
		LoginsPerIP:        Rate{Every: time.Second, Burst: 20},
		MessagesPerSession: Rate{Every: 200 * time.Millisecond, Burst: 20},
	}
}

// Subscriber is the part of the realtime hub the WebSocket needs.
type Subscriber interface {
	Subscribe(buffer int, topics ...string) *realtime.Subscription
}

// Config wires the API.
type Config struct {
	Chat   *chat.Service
	Events Subscriber
	Logger *slog.Logger
	Limits Limits
	// TrustedProxies are the load balancers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// Ready reports whether the service can take traffic (the database answers).
	Ready func(context.Context) error
	// Widget serves the embeddable widget's files; nil leaves them out.
	Widget *widget.Assets
	// Site is served at / (the demo business website); nil serves a short notice.
	Site http.Handler
}

// API is the HTTP handler for every Parley route.
type API struct {
	chat    *chat.Service
	events  Subscriber
	log     *slog.Logger
	trusted []netip.Prefix
	ready   func(context.Context) error
	widget  *widget.Assets
	site    http.Handler
	mux     *http.ServeMux
	handler http.Handler

	sessionLimit *limiter
	loginLimit   *limiter
	messageLimit *limiter

	// Sockets outlive http.Server.Shutdown (they are hijacked), so the API tracks them itself.
	sockets     sync.WaitGroup
	socketCtx   context.Context
	closeSocket context.CancelFunc
}

// New returns the API handler.
func New(cfg Config) *API {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &API{
		chat:         cfg.Chat,
		events:       cfg.Events,
		log:          log,
		trusted:      cfg.TrustedProxies,
		ready:        cfg.Ready,
		widget:       cfg.Widget,
		site:         cfg.Site,
		mux:          http.NewServeMux(),
		sessionLimit: newLimiter(cfg.Limits.SessionsPerIP, now),
		loginLimit:   newLimiter(cfg.Limits.LoginsPerIP, now),
		messageLimit: newLimiter(cfg.Limits.MessagesPerSession, now),
	}
	a.socketCtx, a.closeSocket = context.WithCancel(context.Background())
	a.routes()
	a.handler = a.recoverPanics(a.logRequests(a.mux))
	return a
}

func (a *API) routes() {
	m := a.mux
	widget := func(h http.HandlerFunc) http.Handler { return a.widgetCORS(h) }

	m.Handle("OPTIONS /v1/widget/", widget(preflight))
	m.Handle("POST /v1/widget/sessions", widget(a.createSession))
	m.Handle("GET /v1/widget/session", widget(a.withVisitor(a.getSession)))
	m.Handle("POST /v1/widget/identify", widget(a.withVisitor(a.identify)))
	m.Handle("POST /v1/widget/login", widget(a.login))
	m.Handle("POST /v1/widget/logout", widget(a.withVisitor(a.logout)))
	m.Handle("GET /v1/widget/conversations", widget(a.withVisitor(a.listConversations)))
	m.Handle("POST /v1/widget/messages", widget(a.withVisitor(a.postMessage)))
	m.Handle("GET /v1/widget/conversations/{id}/messages", widget(a.withVisitor(a.listMessages)))
	m.HandleFunc("GET /v1/widget/ws", a.widgetSocket)

	m.HandleFunc("GET /healthz", a.healthz)
	m.HandleFunc("GET /readyz", a.readyz)
	m.Handle("/v1/", widget(a.notFound))

	if a.widget != nil {
		m.HandleFunc("GET /widget.js", a.widget.ServeLoader)
		m.HandleFunc("GET /widget/{name}", a.widget.ServeFile)
	}
	if a.site != nil {
		m.Handle("/", a.site)
	} else {
		m.HandleFunc("GET /{$}", a.home)
	}
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Shutdown closes every WebSocket (clients reconnect elsewhere and resume) and waits for their handlers
// to finish, or for ctx to end.
func (a *API) Shutdown(ctx context.Context) error {
	a.closeSocket()
	done := make(chan struct{})
	go func() { a.sockets.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
