// Package chat is Parley's domain: workspaces, visitor sessions and their identity levels, customers,
// conversations, messages and the timeline — and the rules of DESIGN.md that tie them together.
//
// Every rule that decides who may see or claim what lives here, above the store (plain SQL) and below
// the HTTP layer (shapes and status codes). Failures a client can act on are *problem.Error.
package chat

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/files"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store"
)

// Publisher delivers events to live connections after the write that caused them has committed.
type Publisher interface {
	Publish(ev realtime.Event, topics ...string)
}

// Config wires a Service.
type Config struct {
	Store  store.Store
	Events Publisher
	Logger *slog.Logger
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// Leeway absorbs clock skew when checking token times; zero means identity.DefaultLeeway.
	Leeway time.Duration
	// Passwords hashes and verifies agents' passwords, bounding how many run at once; nil means a
	// Hasher of its own that runs two at a time.
	Passwords *password.Hasher
	// Secrets seals signing secrets with the master key. nil means a random master key held only in
	// memory, which suits tests alone: secrets sealed with it cannot be opened after a restart.
	Secrets *seal.Box
	// Notifier, when set, carries events between the instances sharing the database (PostgreSQL):
	// events are then published from RunRelay on every instance, each conversation's messages in commit order.
	Notifier Notifier
	// AnnounceDelay holds each batch of announcements back that long after its commit. A test knob
	// (PARLEY_TEST_ANNOUNCE_DELAY): it widens the window in which a crash separates a commit from its
	// announcement. Zero in production.
	AnnounceDelay time.Duration
	// JWKS fetches and caches the key sets of workspaces that configured a JWKS URL; nil means one with
	// the default limits.
	JWKS *identity.JWKSFetcher
	// Files keeps attachments' bytes; nil means in the database (files.DBStorage over Store).
	Files files.Storage
	// Mailer sends email; nil means no email is sent (no SMTP server configured).
	Mailer Mailer
	// PublicURL is where people reach this server (https://chat.acme.example), for links in email.
	PublicURL string
	// WebhookAllowNetworks are the private, loopback or link-local networks webhooks may be delivered
	// to (the operator's --webhook-allow-networks); none by default.
	WebhookAllowNetworks []netip.Prefix
}

// Service runs the domain rules against a store.
type Service struct {
	store  store.Store
	events Publisher
	log    *slog.Logger
	now    func() time.Time
	leeway time.Duration
	hasher *password.Hasher
	box    *seal.Box
	jwks   *identity.JWKSFetcher
	parsed *parsedKeys
	relay  *relay          // nil when events stay in this process
	flash  *ephemeralRelay // nil when ephemeral events stay in this process
	cursor *cleanupCursor
	files  files.Storage
	mailer Mailer
	// publicURL has no trailing slash.
	publicURL string
	sso       *ssoProviders // single sign-on providers' discovery, cached (sso.go)
	metrics   Metrics
	// webhookClient delivers webhooks through the outbound address guard (webhooks.go).
	webhookClient *http.Client
	auth          *authCache // authenticated widget sessions (authcache.go)
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, events: cfg.Events, log: cfg.Logger, now: cfg.Now, leeway: cfg.Leeway, hasher: cfg.Passwords,
		box: cfg.Secrets, jwks: cfg.JWKS, parsed: &parsedKeys{}, cursor: &cleanupCursor{}, sso: &ssoProviders{}, files: cfg.Files,
		mailer: cfg.Mailer, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), auth: newAuthCache()}
	if s.files == nil {
		s.files = files.DBStorage{Store: cfg.Store}
	}
	s.metrics = noMetrics{}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.leeway == 0 {
		s.leeway = identity.DefaultLeeway
	}
	if s.events == nil {
		s.events = realtime.NewHub()
	}
	if s.hasher == nil {
		s.hasher = password.NewHasher(2)
	}
	if s.box == nil {
		key := make([]byte, seal.KeySize)
		_, _ = rand.Read(key)
		s.box, _ = seal.New(key) // cannot fail with a key of the right size
	}
	if cfg.Notifier != nil {
		s.relay = newRelay(cfg.Notifier, cfg.AnnounceDelay, s.log)
		s.flash = newEphemeralRelay(cfg.Notifier, s.relay.instance, s.log)
	}
	if s.jwks == nil {
		s.jwks = identity.NewJWKSFetcher(identity.JWKSOptions{Logger: s.log})
	}
	s.webhookClient = defaultWebhookClient(cfg.WebhookAllowNetworks, s.log)
	return s
}

// Store exposes the underlying store for read-only views (the agent console, tests).
func (s *Service) Store() store.Store { return s.store }

// clock returns the current time at the precision the stores keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Topics name what a live connection subscribes to.

// SessionTopic carries events for one widget session: its anonymous conversations, its end.
func SessionTopic(sessionID string) string { return "session:" + sessionID }

// CustomerTopic carries events for every conversation of a verified customer, on every device.
func CustomerTopic(customerID string) string { return "customer:" + customerID }

// WorkspaceTopic carries every conversation event of a workspace, for agents.
func WorkspaceTopic(workspaceID string) string { return "workspace:" + workspaceID }

// Event types published on the topics above.
const (
	EventMessage      = "message"      // Data: store.Message
	EventConversation = "conversation" // Data: store.Conversation
	EventSessionEnded = "session_ended"
	EventTimeline     = "timeline" // Data: store.Event, for agents
)

// SessionEnded is the Data of a session_ended event.
type SessionEnded struct {
	SessionID string
	// Reason is one of the Reason constants.
	Reason string
	// Token, when set, is the fingerprint (TokenFingerprint) of the one token that ended: a rotation
	// ends a token, not the session, and with several instances its event can reach a socket that
	// already authenticated with the new token, which must ignore it.
	Token string
}

// TokenFingerprint names a session token in events without revealing it: the first 8 bytes of its
// hash, in hex.
func TokenFingerprint(token string) string { return fingerprint(hashToken(token)) }

func fingerprint(hash []byte) string {
	if len(hash) < 8 {
		return ""
	}
	return hex.EncodeToString(hash[:8])
}

// Why a widget session ended, as its socket's session_ended event says.
const (
	ReasonLoggedOut  = "logged_out"  // the visitor logged out
	ReasonRevoked    = "revoked"     // the business's back end or an administrator ended it
	ReasonRotated    = "rotated"     // a new token replaced this one: the client should pick it up
	ReasonReplaced   = "replaced"    // another identity took over the browser
	ReasonKeyRevoked = "key_revoked" // the key that verified the session was revoked
	ReasonNotAllowed = "not_allowed" // the workspace's rules no longer admit the customer (email domains)
	ReasonExpired    = "expired"     // idle for longer than its idle timeout, or past its absolute lifetime
	ReasonErased     = "erased"      // the business erased the customer and everything held about them
)

// endSessions tells the sockets of ended sessions; they close after the event.
func endSessions(out *outbox, ids []string, reason string) {
	for _, id := range ids {
		out.add(realtime.Event{Type: EventSessionEnded, Data: SessionEnded{SessionID: id, Reason: reason}, Final: true}, SessionTopic(id))
	}
}

// outbox collects the events of one transaction so they are published only after it commits.
type outbox []pending

type pending struct {
	ev     realtime.Event
	topics []string
}

func (o *outbox) add(ev realtime.Event, topics ...string) { *o = append(*o, pending{ev, topics}) }

func (s *Service) flush(o outbox) {
	for _, p := range o {
		s.events.Publish(p.ev, p.topics...)
	}
}

// conversationTopics are the topics that see a conversation's events.
func conversationTopics(c store.Conversation) []string {
	owner := SessionTopic(c.SessionID)
	if c.CustomerID != "" {
		owner = CustomerTopic(c.CustomerID)
	}
	return []string{owner, WorkspaceTopic(c.WorkspaceID)}
}

// update runs fn in a write transaction and publishes its events once committed. fn gets a fresh
// outbox on every run, since the store may run it more than once.
func (s *Service) update(ctx context.Context, fn func(tx store.Tx, out *outbox) error) error {
	var out outbox
	err := s.store.Update(ctx, func(tx store.Tx) error {
		out = out[:0]
		return fn(tx, &out)
	})
	if err != nil {
		return err
	}
	countMessages(s.metrics, out)
	if s.relay != nil {
		s.relay.announce(ctx, out, time.Now())
	} else {
		s.flush(out)
	}
	return nil
}

// newID returns a random identifier with a type prefix, e.g. "cv_5k2q…". 80 random bits make ids
// unguessable enough that a mistaken authorization check is not also an enumeration.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + base32Lower.EncodeToString(b)
}

var base32Lower = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
