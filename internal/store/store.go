// Package store defines Parley's persistent records and the contract every database implementation
// fulfils. The implementations live in sub-packages (sqlite, postgres) and all pass the shared suite in
// storetest; the domain rules live in package chat, never here.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every implementation returns (possibly wrapped) so callers can branch on them.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict") // a uniqueness rule was violated
	ErrClosed   = errors.New("store: closed")
)

// Identity levels of a visitor session.
const (
	LevelAnonymous  = "anonymous"
	LevelIdentified = "identified"
	LevelVerified   = "verified"
)

// Conversation statuses.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Message senders.
const (
	SenderCustomer = "customer"
	SenderAgent    = "agent"
	SenderSystem   = "system"
)

// Agent roles.
const (
	RoleAgent = "agent" // answers conversations
	RoleAdmin = "admin" // also manages the workspace
)

// Workspace is one business (tenant).
type Workspace struct {
	ID        string
	Name      string
	Settings  Settings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Settings are a workspace's configuration, stored as one document so that adding a setting needs no
// schema change. Validation lives in package chat.
type Settings struct {
	AllowedOrigins      []string      `json:"allowed_origins,omitempty"`
	Onboarding          bool          `json:"onboarding,omitempty"`
	FirstMessage        string        `json:"first_message,omitempty"`
	LoginURL            string        `json:"login_url,omitempty"`
	HideUntilLogin      bool          `json:"hide_until_login,omitempty"`
	AllowedEmailDomains []string      `json:"allowed_email_domains,omitempty"`
	RequireVerified     bool          `json:"require_verified,omitempty"`
	MaxTokenLifetime    time.Duration `json:"max_token_lifetime,omitempty"` // zero means the default
}

// SigningKey verifies a workspace's login tokens.
type SigningKey struct {
	WorkspaceID string
	ID          string // the kid
	Alg         string
	Secret      []byte // HMAC secret bytes
	CreatedAt   time.Time
	RevokedAt   time.Time // zero while active
	LastUsedAt  time.Time // zero if never used
}

// Session is one browser's widget session. The bearer token itself is never stored, only its hash;
// rotating the token replaces the hash, so the old token stops working at once.
type Session struct {
	ID           string
	WorkspaceID  string
	TokenHash    []byte
	Level        string
	CustomerID   string // set when verified
	ClaimedName  string // what an identified visitor said; never trusted
	ClaimedEmail string // canonical
	ClaimedPhone string
	KeyID        string    // the key that verified the session
	VerifiedAt   time.Time // when the session became verified
	CreatedAt    time.Time
	UpdatedAt    time.Time
	RevokedAt    time.Time // zero while live
}

// Customer is a verified profile, keyed by ExternalID (a token's sub) when present, else by Email.
type Customer struct {
	ID          string
	WorkspaceID string
	ExternalID  string
	Email       string // canonical
	Name        string
	FirstName   string
	Phone       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Conversation is a thread between a visitor or customer and agents.
type Conversation struct {
	ID           string
	WorkspaceID  string
	CustomerID   string // the verified customer it belongs to; empty while anonymous or identified
	SessionID    string // the visitor session that started it, kept as a participant after adoption
	Status       string
	ClaimedName  string // the identity the visitor claimed, for agents' eyes only
	ClaimedEmail string
	AssigneeID   string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastMessage  time.Time // the newest message's CreatedAt (derived, not stored); zero before the first
	ClosedAt     time.Time
}

// Message is one chat message. Seq orders a conversation's messages in commit order.
type Message struct {
	Seq            int64
	ConversationID string
	Sender         string
	SessionID      string // the sending session, for customer messages
	AgentID        string // the sending agent, for agent messages
	Body           string
	Trusted        bool // the sending session was verified when the message was sent
	ClientID       string
	CreatedAt      time.Time
}

// Event is a timeline entry that is not a message: started, identified, authenticated, and so on.
type Event struct {
	Seq            int64
	ConversationID string
	Type           string
	Data           map[string]string
	CreatedAt      time.Time
}

// Agent is a support agent of a workspace. An agent signs in with email and password, so Email is unique
// across the whole installation, not just the workspace.
type Agent struct {
	ID           string
	WorkspaceID  string
	Email        string // canonical
	Name         string
	Role         string
	PasswordHash string // a PHC string (package password)
	Available    bool   // takes new conversations
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DisabledAt   time.Time // zero while the agent may sign in
}

// AgentSession is an agent's signed-in browser. As with widget sessions, only the hash of the cookie's
// token is stored.
type AgentSession struct {
	TokenHash []byte
	AgentID   string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while live
}

// Owner selects whose conversations to read: a verified customer's (CustomerID set), or the ones an
// unverified session started that no customer has adopted.
type Owner struct {
	CustomerID string
	SessionID  string
}

// Reader is every query Parley runs. Missing rows are ErrNotFound.
type Reader interface {
	Workspace(ctx context.Context, id string) (Workspace, error)
	Workspaces(ctx context.Context) ([]Workspace, error)
	SigningKeys(ctx context.Context, workspaceID string) ([]SigningKey, error)

	// SessionByTokenHash returns the live (unrevoked) session with that token hash.
	SessionByTokenHash(ctx context.Context, hash []byte) (Session, error)
	// SessionAndWorkspace is SessionByTokenHash plus the session's workspace, in one read: it runs on
	// every widget request.
	SessionAndWorkspace(ctx context.Context, hash []byte) (Session, Workspace, error)
	Session(ctx context.Context, id string) (Session, error)
	// LiveSessionsOfCustomer lists the unrevoked sessions verified as the customer.
	LiveSessionsOfCustomer(ctx context.Context, customerID string) ([]Session, error)

	Customer(ctx context.Context, id string) (Customer, error)
	CustomerByExternalID(ctx context.Context, workspaceID, externalID string) (Customer, error)
	// CustomerByEmail returns the customer keyed by that email (one without an external id).
	CustomerByEmail(ctx context.Context, workspaceID, email string) (Customer, error)
	// CountCustomersWithEmail counts customers with that email, however they are keyed.
	CountCustomersWithEmail(ctx context.Context, workspaceID, email string) (int, error)

	Conversation(ctx context.Context, id string) (Conversation, error)
	// OpenConversation returns the owner's newest open conversation.
	OpenConversation(ctx context.Context, owner Owner) (Conversation, error)
	// Conversations lists the owner's conversations, newest first.
	Conversations(ctx context.Context, owner Owner) ([]Conversation, error)

	// Messages returns up to limit messages of a conversation with Seq > afterSeq, oldest first.
	Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]Message, error)
	// MessageByClientID returns the message a session sent with that client id.
	MessageByClientID(ctx context.Context, sessionID, clientID string) (Message, error)
	// Events returns a conversation's events, oldest first.
	Events(ctx context.Context, conversationID string) ([]Event, error)

	Agent(ctx context.Context, id string) (Agent, error)
	// AgentByEmail finds an agent of any workspace by canonical email, disabled or not.
	AgentByEmail(ctx context.Context, email string) (Agent, error)
	// Agents lists a workspace's agents, oldest first (then by id).
	Agents(ctx context.Context, workspaceID string) ([]Agent, error)
	// AgentSessionByTokenHash returns the unrevoked agent session with that token hash, expired or not:
	// expiry is the caller's to check.
	AgentSessionByTokenHash(ctx context.Context, hash []byte) (AgentSession, error)
}

// Tx is a write transaction. Its reads see its own writes. After a Tx method fails, fn must return
// (that error, or another): on some databases the transaction is already aborted.
type Tx interface {
	Reader

	CreateWorkspace(ctx context.Context, w *Workspace) error
	UpdateWorkspace(ctx context.Context, w *Workspace) error

	CreateSigningKey(ctx context.Context, k *SigningKey) error
	RevokeSigningKey(ctx context.Context, workspaceID, id string, at time.Time) error
	// TouchSigningKey records a use; implementations may skip the write when the recorded time is recent.
	TouchSigningKey(ctx context.Context, workspaceID, id string, at time.Time) error

	CreateSession(ctx context.Context, s *Session) error
	// UpdateSession stores every field of s but ID, WorkspaceID and CreatedAt.
	UpdateSession(ctx context.Context, s *Session) error

	CreateCustomer(ctx context.Context, c *Customer) error // ErrConflict when its key is taken
	UpdateCustomer(ctx context.Context, c *Customer) error

	CreateConversation(ctx context.Context, c *Conversation) error
	// UpdateConversation stores Status, CustomerID, ClaimedName, ClaimedEmail, AssigneeID, UpdatedAt, ClosedAt.
	UpdateConversation(ctx context.Context, c *Conversation) error
	// AdoptConversations gives every conversation the session started and no customer owns to the
	// customer, and returns their ids.
	AdoptConversations(ctx context.Context, sessionID, customerID string, at time.Time) ([]string, error)

	// AppendMessage stores m and assigns m.Seq, greater than that of every message committed before it
	// in the conversation. A conversation's LastMessage is the CreatedAt of its newest message. A client
	// id the session already used is ErrConflict; a missing conversation is ErrNotFound.
	AppendMessage(ctx context.Context, m *Message) error
	// AppendToOpenConversation appends m (ConversationID is filled in) to the owner's newest open
	// conversation, as AppendMessage does, and returns that conversation; ErrNotFound when the owner has
	// no open conversation. It spares the hot path a separate lookup.
	AppendToOpenConversation(ctx context.Context, owner Owner, m *Message) (Conversation, error)
	AppendEvent(ctx context.Context, e *Event) error

	// UseJTI records a token id as used until the given time; ErrConflict if it is already recorded and
	// that time has not passed.
	UseJTI(ctx context.Context, workspaceID, jti string, until, now time.Time) error
	PurgeJTIs(ctx context.Context, before time.Time) (int, error)

	// CreateAgent stores a; ErrConflict when its id or email is taken, ErrNotFound when its workspace
	// is missing.
	CreateAgent(ctx context.Context, a *Agent) error
	// UpdateAgent stores Name, Role, PasswordHash, Available, UpdatedAt and DisabledAt.
	UpdateAgent(ctx context.Context, a *Agent) error
	// CreateAgentSession stores s; ErrConflict when its token hash is taken, ErrNotFound when its agent
	// is missing.
	CreateAgentSession(ctx context.Context, s *AgentSession) error
	// RevokeAgentSession ends the live session with that token hash; ErrNotFound when there is none.
	RevokeAgentSession(ctx context.Context, hash []byte, at time.Time) error
	// RevokeAgentSessions ends every live session of an agent and returns how many there were.
	RevokeAgentSessions(ctx context.Context, agentID string, at time.Time) (int, error)
}

// Store is a database: reads run concurrently; writes run through Update.
type Store interface {
	Reader
	// Update runs fn in a write transaction and commits it; it returns only after the commit is durable
	// (or failed). Implementations may commit several callers' functions together; each fn runs isolated
	// from the others' failures, and may run more than once, so it must have no effects outside tx. When
	// fn fails, Update returns fn's error unchanged, and only once the writes committed alongside it are
	// durable, so the caller can read what a concurrent writer stored.
	Update(ctx context.Context, fn func(tx Tx) error) error
	Close() error
}
