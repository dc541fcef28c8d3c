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
	"errors"
	"log/slog"
	"time"

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
	// events are then published from RunRelay, in commit order, on every instance.
	Notifier Notifier
	// JWKS fetches and caches the key sets of workspaces that configured a JWKS URL; nil means one with
	// the default limits.
	JWKS *identity.JWKSFetcher
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
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, events: cfg.Events, log: cfg.Logger, now: cfg.Now, leeway: cfg.Leeway, hasher: cfg.Passwords,
		box: cfg.Secrets, jwks: cfg.JWKS, parsed: &parsedKeys{}, cursor: &cleanupCursor{}}
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
		s.relay = newRelay(cfg.Notifier)
		if b, ok := cfg.Notifier.(Broadcaster); ok {
			s.flash = newEphemeralRelay(b, s.relay.instance, s.log)
		}
	}
	if s.jwks == nil {
		s.jwks = identity.NewJWKSFetcher(identity.JWKSOptions{Logger: s.log})
	}
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
		if err := fn(tx, &out); err != nil {
			return err
		}
		if s.relay != nil {
			return s.relay.announce(ctx, tx, out, time.Now())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.relay == nil {
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
