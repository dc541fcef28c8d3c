// Package httpapi serves Parley's HTTP and WebSocket APIs. Every route is listed in routes below; the
// shapes of docs/api.md live in shapes.go and nowhere else.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/console"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/widget"
)

// Limits are the per-client request limits.
type Limits struct {
	SessionsPerIP      Rate // POST /v1/widget/sessions
	LoginsPerIP        Rate // POST /v1/widget/login
	MessagesPerSession Rate // POST /v1/widget/messages
	// MessagesPerIP and MessagesPerCustomer keep the per-session limit from multiplying with sessions:
	// many sessions from one address, or one verified customer on many devices.
	MessagesPerIP       Rate
	MessagesPerCustomer Rate
	// ConversationsPerIP and ConversationsPerCustomer limit how often a message may open a new
	// conversation (each one reaches agents' inboxes and alerts).
	ConversationsPerIP       Rate
	ConversationsPerCustomer Rate
	SocketUpgradesPerIP      Rate // GET /v1/widget/ws
	UploadsPerSession        Rate // POST /v1/widget/attachments
	UploadsPerIP             Rate
	CallsPerAPIKey           Rate // the customers API
	BadAPIKeysPerIP          Rate // customers API calls refused for their key, per client IP
	Sockets                  SocketLimits
}

// DefaultLimits are generous for people and tight for scripts.
func DefaultLimits() Limits {
	return Limits{
		SessionsPerIP:            Rate{Every: 2 * time.Second, Burst: 30},
		LoginsPerIP:              Rate{Every: time.Second, Burst: 20},
		MessagesPerSession:       Rate{Every: 200 * time.Millisecond, Burst: 20},
		MessagesPerIP:            Rate{Every: 100 * time.Millisecond, Burst: 60},
		MessagesPerCustomer:      Rate{Every: 200 * time.Millisecond, Burst: 30},
		SocketUpgradesPerIP:      Rate{Every: 500 * time.Millisecond, Burst: 30},
		UploadsPerSession:        Rate{Every: 6 * time.Second, Burst: 10},
		UploadsPerIP:             Rate{Every: 2 * time.Second, Burst: 30},
		ConversationsPerIP:       Rate{Every: 30 * time.Second, Burst: 20},
		ConversationsPerCustomer: Rate{Every: time.Minute, Burst: 10},
		Sockets:                  DefaultSocketLimits(),
		CallsPerAPIKey:           Rate{Every: 10 * time.Millisecond, Burst: 200},
		BadAPIKeysPerIP:          Rate{Every: 5 * time.Second, Burst: 20},
	}
}

// Subscriber is the part of the realtime hub the WebSocket needs.
type Subscriber interface {
	Subscribe(buffer int, topics ...string) *realtime.Subscription
	SubscribeQueue(limit int, topics ...string) *realtime.Subscription
	SubscribeNotify(limit int, notify func(), topics ...string) *realtime.Subscription
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
	// Console is the agent console, served under /console/; nil leaves it out.
	Console *console.Console
	// Metrics records requests, WebSockets and widget logins; nil records nothing.
	Metrics Metrics
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
	console *console.Console
	metrics Metrics
	mux     *http.ServeMux
	handler http.Handler

	sessionLimit *limiter
	loginLimit   *limiter
	messageLimit *limiter
	apiKeyLimit  *limiter
	badKeyLimit  *limiter
	ipMessages   *limiter
	custMessages *limiter
	upgradeLimit *limiter
	ipStarts     *limiter
	custStarts   *limiter
	socketTable  *socketTable
	uploadLimit  *limiter
	ipUploads    *limiter

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
		console:      cfg.Console,
		metrics:      cfg.Metrics,
		mux:          http.NewServeMux(),
		sessionLimit: newLimiter(cfg.Limits.SessionsPerIP, now),
		loginLimit:   newLimiter(cfg.Limits.LoginsPerIP, now),
		messageLimit: newLimiter(cfg.Limits.MessagesPerSession, now),
		apiKeyLimit:  newLimiter(cfg.Limits.CallsPerAPIKey, now),
		badKeyLimit:  newLimiter(cfg.Limits.BadAPIKeysPerIP, now),
		ipMessages:   newLimiter(cfg.Limits.MessagesPerIP, now),
		custMessages: newLimiter(cfg.Limits.MessagesPerCustomer, now),
		upgradeLimit: newLimiter(cfg.Limits.SocketUpgradesPerIP, now),
		ipStarts:     newLimiter(cfg.Limits.ConversationsPerIP, now),
		custStarts:   newLimiter(cfg.Limits.ConversationsPerCustomer, now),
		socketTable:  newSocketTable(cfg.Limits.Sockets),
		uploadLimit:  newLimiter(cfg.Limits.UploadsPerSession, now),
		ipUploads:    newLimiter(cfg.Limits.UploadsPerIP, now),
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
	m.Handle("GET /v1/widget/config", widget(a.getConfig))
	m.Handle("POST /v1/widget/identify", widget(a.withVisitor(a.identify)))
	m.Handle("POST /v1/widget/login", widget(a.login))
	m.Handle("POST /v1/widget/logout", widget(a.withVisitor(a.logout)))
	m.Handle("GET /v1/widget/conversations", widget(a.withVisitor(a.listConversations)))
	m.Handle("POST /v1/widget/messages", widget(a.withVisitor(a.postMessage)))
	m.Handle("GET /v1/widget/conversations/{id}/messages", widget(a.withVisitor(a.listMessages)))
	m.Handle("POST /v1/widget/conversations/{id}/seen", widget(a.withVisitor(a.markSeen)))
	m.Handle("POST /v1/widget/attachments", widget(a.withVisitor(a.uploadAttachment)))
	m.Handle("GET /v1/widget/attachments/{id}", widget(a.withVisitor(a.downloadAttachment)))
	m.Handle("GET /v1/widget/conversations/{id}/transcript", widget(a.withVisitor(a.transcript)))
	m.Handle("POST /v1/widget/conversations/{id}/transcript/email", widget(a.withVisitor(a.emailTranscript)))
	m.HandleFunc("GET /v1/widget/ws", a.widgetSocket)

	m.Handle("GET /v1/customers/{external_id}", a.withAPIKey(a.getCustomer))
	m.Handle("PUT /v1/customers/{external_id}", a.withAPIKey(a.putCustomer))
	m.Handle("POST /v1/customers/{external_id}/login-tokens", a.withAPIKey(a.issueLoginToken))
	m.Handle("GET /v1/customers/{external_id}/conversations", a.withAPIKey(a.customerConversations))
	m.Handle("POST /v1/customers/{external_id}/logout", a.withAPIKey(a.logoutCustomer))
	m.Handle("DELETE /v1/customers/{external_id}", a.withAPIKey(a.eraseCustomer))
	m.Handle("GET /v1/customers/{external_id}/export", a.withAPIKey(a.exportCustomer))
	m.HandleFunc("/v1/customers/", a.notFound)

	m.HandleFunc("GET /v1/openapi.json", a.openAPI)

	m.HandleFunc("GET /email/unsubscribe", a.unsubscribeForm)
	m.HandleFunc("POST /email/unsubscribe", a.unsubscribe)

	m.HandleFunc("GET /healthz", a.healthz)
	m.HandleFunc("GET /readyz", a.readyz)
	m.Handle("/v1/", widget(a.notFound))

	if c := a.console; c != nil {
		m.HandleFunc("GET /console/static/{name}", c.Static)
		m.Handle("GET /console/login", c.Public(c.LoginPage))
		m.Handle("POST /console/login", c.Public(c.Login))
		// Invitation and password-reset links: the token in the query (GET) and a hidden field (POST).
		m.Handle("GET /console/link", c.Public(c.LinkPage))
		m.Handle("POST /console/link", c.Public(c.AcceptLink))
		m.Handle("GET /console/sso/{workspace}/start", c.Public(c.SSOStart))
		m.Handle("GET /console/sso/{workspace}/callback", c.Public(c.SSOCallback))
		// Two-factor sign-in: the code after the password, and the set-up a workspace requiring it asks
		// for; both open with a session still owing it (Pending), which every other page refuses.
		m.Handle("GET /console/login/2fa", c.Pending(c.SecondFactorPage))
		m.Handle("POST /console/login/2fa", c.Pending(c.SecondFactor))
		m.Handle("GET /console/login/enrol", c.Pending(c.EnrolPage))
		m.Handle("POST /console/login/enrol", c.Pending(c.Enrol))
		m.Handle("POST /console/logout", c.Agent(c.Logout))
		m.Handle("POST /console/availability", c.Agent(c.SetAvailability))
		m.Handle("GET /console/ws", c.Fragment(c.Socket))

		m.Handle("GET /console/{$}", c.Agent(c.InboxPage))
		m.Handle("GET /console/inbox/list", c.Fragment(c.InboxList))
		m.Handle("GET /console/conversations/{id}", c.Agent(c.ConversationPage))
		m.Handle("GET /console/conversations/{id}/live", c.Fragment(c.ConversationLive))
		m.Handle("GET /console/conversations/{id}/timeline", c.Fragment(c.ConversationTimeline))
		m.Handle("POST /console/conversations/{id}/reply", c.Agent(c.Reply))
		m.Handle("POST /console/conversations/{id}/close", c.Agent(c.CloseConversation))
		m.Handle("POST /console/conversations/{id}/reopen", c.Agent(c.ReopenConversation))
		m.Handle("POST /console/conversations/{id}/assign", c.Agent(c.Assign))
		m.Handle("POST /console/conversations/{id}/transfer", c.Agent(c.Transfer))
		m.Handle("GET /console/conversations/{id}/alert", c.Fragment(c.ConversationAlert))
		m.Handle("GET /console/alerts/state", c.Fragment(c.AlertState))
		m.Handle("GET /console/preferences", c.Agent(c.PreferencesPage))
		m.Handle("POST /console/preferences", c.Agent(c.SavePreferences))
		m.Handle("GET /console/account", c.Agent(c.AccountPage))
		m.Handle("POST /console/account/password", c.Agent(c.ChangePassword))
		m.Handle("POST /console/account/sessions/{id}/end", c.Agent(c.EndAccountSession))
		m.Handle("GET /console/account/2fa", c.Agent(c.AccountTwoFactorPage))
		m.Handle("POST /console/account/2fa", c.Agent(c.AccountTwoFactor))
		m.Handle("POST /console/conversations/{id}/request-login", c.Agent(c.RequestLogin))
		m.Handle("POST /console/conversations/{id}/transcript", c.Agent(c.EmailTranscript))
		m.Handle("POST /console/conversations/{id}/read", c.Fragment(c.MarkRead))
		m.Handle("POST /console/conversations/{id}/block", c.Agent(c.BlockVisitor))
		m.Handle("POST /console/conversations/{id}/canned", c.Agent(c.InsertCanned))
		m.Handle("GET /console/blocks", c.Agent(c.BlocksPage))
		m.Handle("GET /console/mentions", c.Agent(c.MentionsPage))
		m.Handle("POST /console/conversations/{id}/note", c.Agent(c.Note))
		m.Handle("POST /console/attachments", c.Uploader(c.UploadAttachment))
		m.Handle("GET /console/attachments/{id}", c.Agent(c.Attachment))
		m.Handle("POST /console/blocks/{id}/lift", c.Agent(c.LiftBlock))
		m.Handle("GET /console/customers/{id}", c.Agent(c.CustomerPage))
		m.Handle("GET /console/customers/{id}/export", c.Admin(c.ExportCustomer))
		m.Handle("POST /console/customers/{id}/erase", c.Admin(c.EraseCustomer))
		m.Handle("GET /console/canned", c.Agent(c.CannedPage))
		m.Handle("POST /console/canned", c.Agent(c.CreateCanned))
		m.Handle("POST /console/canned/{id}", c.Agent(c.UpdateCanned))
		m.Handle("POST /console/canned/{id}/delete", c.Agent(c.DeleteCanned))
		m.Handle("GET /console/report", c.Agent(c.ReportPage))

		m.Handle("GET /console/settings", c.Admin(c.SettingsPage))
		m.Handle("POST /console/settings", c.Admin(c.SaveSettings))
		m.Handle("POST /console/settings/end-sessions", c.Admin(c.EndSessions))
		m.Handle("GET /console/settings/appearance", c.Admin(c.AppearancePage))
		m.Handle("POST /console/settings/appearance", c.Admin(c.SaveAppearance))
		m.Handle("POST /console/settings/texts", c.Admin(c.SaveTexts))
		m.Handle("GET /console/settings/keys", c.Admin(c.KeysPage))
		m.Handle("POST /console/settings/keys", c.Admin(c.CreateKey))
		m.Handle("POST /console/settings/keys/{kid}/rotate", c.Admin(c.RotateKey))
		m.Handle("POST /console/settings/keys/{kid}/revoke", c.Admin(c.RevokeKey))
		m.Handle("POST /console/settings/keys/public", c.Admin(c.RegisterPublicKey))
		m.Handle("POST /console/settings/keys/jwks", c.Admin(c.AddJWKS))
		m.Handle("GET /console/settings/sso", c.Admin(c.SSOSettingsPage))
		m.Handle("POST /console/settings/sso", c.Admin(c.SaveSSOSettings))
		m.Handle("GET /console/settings/api-keys", c.Admin(c.APIKeysPage))
		m.Handle("POST /console/settings/api-keys", c.Admin(c.CreateAPIKey))
		m.Handle("POST /console/settings/api-keys/{id}/revoke", c.Admin(c.RevokeAPIKey))
		m.Handle("GET /console/settings/webhooks", c.Admin(c.WebhooksPage))
		m.Handle("POST /console/settings/webhooks", c.Admin(c.CreateWebhook))
		m.Handle("GET /console/settings/webhooks/{id}", c.Admin(c.WebhookLogPage))
		m.Handle("GET /console/settings/webhooks/{id}/edit", c.Admin(c.WebhookEditPage))
		m.Handle("POST /console/settings/webhooks/{id}/edit", c.Admin(c.UpdateWebhook))
		m.Handle("POST /console/settings/webhooks/{id}/test", c.Admin(c.TestWebhook))
		m.Handle("POST /console/settings/webhooks/{id}/rotate", c.Admin(c.RotateWebhook))
		m.Handle("POST /console/settings/webhooks/{id}/disable", c.Admin(c.SetWebhookDisabled(true)))
		m.Handle("POST /console/settings/webhooks/{id}/enable", c.Admin(c.SetWebhookDisabled(false)))
		m.Handle("POST /console/settings/webhooks/{id}/delete", c.Admin(c.DeleteWebhook))
		m.Handle("GET /console/settings/audit", c.Admin(c.AuditPage))
		m.Handle("GET /console/settings/audit.csv", c.Admin(c.AuditCSV))
		m.Handle("GET /console/settings/email", c.Admin(c.EmailLogPage))
		m.Handle("GET /console/settings/agents", c.Admin(c.AgentsPage))
		m.Handle("POST /console/settings/agents", c.Admin(c.CreateAgent))
		m.Handle("POST /console/settings/agents/{id}/role", c.Admin(c.SetAgentRole))
		m.Handle("POST /console/settings/agents/{id}/disable", c.Admin(c.DisableAgent))
		m.Handle("POST /console/settings/agents/{id}/enable", c.Admin(c.EnableAgent))
		m.Handle("POST /console/settings/agents/invite", c.Admin(c.InviteAgent))
		m.Handle("POST /console/settings/agents/{id}/reset-link", c.Admin(c.SendResetLink))
		m.Handle("POST /console/settings/agents/{id}/sign-out", c.Admin(c.SignOutAgent))
		m.Handle("GET /console/settings/routing", c.Admin(c.RoutingPage))
		m.Handle("POST /console/settings/inboxes", c.Admin(c.CreateInbox))
		m.Handle("POST /console/settings/inboxes/{id}", c.Admin(c.UpdateInbox))
		m.Handle("POST /console/settings/inboxes/{id}/delete", c.Admin(c.DeleteInbox))
		m.Handle("POST /console/settings/routing/rules", c.Admin(c.AddRule))
		m.Handle("POST /console/settings/routing/rules/{id}/move", c.Admin(c.MoveRule))
		m.Handle("POST /console/settings/routing/rules/{id}/remove", c.Admin(c.RemoveRule))
		m.Handle("GET /console/identity", c.Admin(c.IdentityPage))
		m.Handle("POST /console/identity/check", c.Admin(c.CheckToken))

		m.Handle("/console/", c.Public(c.NotFound))

		// First-run setup (console/setup.go): the token travels in the form body, never in a URL.
		m.Handle("GET /setup", c.Public(c.SetupPage))
		m.Handle("POST /setup", c.Public(c.Setup))
	}

	if a.widget != nil {
		m.HandleFunc("GET /widget.js", a.widget.ServeLoader)
		m.HandleFunc("GET /widget/{name}", a.widget.ServeFile)
		m.HandleFunc("GET /widget/i18n/{name}", a.widget.ServeCatalogue)
		m.HandleFunc("GET /chat/{workspace}", a.chatPage)
	}
	switch {
	case a.site != nil:
		m.Handle("/", a.site)
	case a.console != nil:
		m.Handle("GET /{$}", a.console.Public(a.console.Home)) // the status page, or the way to setup
	default:
		m.HandleFunc("GET /{$}", a.home)
	}
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Shutdown closes every WebSocket, the widget's and the console's (clients reconnect elsewhere and
// resume), and waits for their handlers to finish, or for ctx to end.
func (a *API) Shutdown(ctx context.Context) error {
	a.closeSocket()
	consoleDone := make(chan error, 1)
	go func() {
		if a.console == nil {
			consoleDone <- nil
			return
		}
		consoleDone <- a.console.Shutdown(ctx)
	}()
	done := make(chan struct{})
	go func() { a.sockets.Wait(); close(done) }()
	select {
	case <-done:
		return <-consoleDone
	case <-ctx.Done():
		return ctx.Err()
	}
}
