// Package store defines Parley's persistent records and the contract every database implementation
// fulfils. The implementations live in sub-packages (sqlite, postgres) and all pass the shared suite in
// storetest; the domain rules live in package chat, never here.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
)

// Errors every implementation returns (possibly wrapped) so callers can branch on them.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict") // a uniqueness rule was violated
	ErrClosed   = errors.New("store: closed")
	// ErrNoAuthEpoch is AuthEpoch's answer on a store that keeps no authentication epoch.
	ErrNoAuthEpoch = errors.New("store: no authentication epoch")
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
	// Session lifetimes (zero means the default): how long a verified session may stay unused, how long
	// after its login it ends whatever its use, and how long an anonymous or identified one may stay unused.
	VerifiedIdleTimeout time.Duration `json:"verified_idle_timeout,omitempty"`
	VerifiedLifetime    time.Duration `json:"verified_lifetime,omitempty"`
	VisitorIdleTimeout  time.Duration `json:"visitor_idle_timeout,omitempty"`
	// BlocksUntil is no setting but a hint package chat keeps for the message path: no block of the
	// workspace is live at or after it (zero: none is), so most messages need not look for one.
	BlocksUntil time.Time `json:"blocks_until,omitzero"`
	// HideReadReceipts turns off the "Read" the widget shows under the customer's messages once an agent
	// read them. Stored as its negation so that the default, a missing field, means on.
	HideReadReceipts bool `json:"hide_read_receipts,omitempty"`
	// Attachments: the largest file accepted in bytes (0: the default, 10 MB), the kinds accepted
	// (nil: the default, every kind package files knows; empty: none), and a switch that turns them off.
	AttachmentMaxBytes int64    `json:"attachment_max_bytes,omitempty"`
	AttachmentKinds    []string `json:"attachment_kinds"`
	AttachmentsOff     bool     `json:"attachments_off,omitempty"`
	// Hours are the workspace's business hours; the zero value (off) means always open.
	Hours BusinessHours `json:"hours,omitzero"`
	// Email to customers who left (package chat, email.go): off switch, how long a reply may stay unseen
	// before it is mailed, and the least time between two emails to one customer (zero: the defaults).
	EmailRepliesOff bool          `json:"email_replies_off,omitempty"`
	EmailReplyDelay time.Duration `json:"email_reply_delay,omitempty"`
	EmailInterval   time.Duration `json:"email_interval,omitempty"`
	// UnreadAlertDelay is how long a customer message may stay unread before agents who opted in are
	// mailed (zero: the default, 5 minutes).
	UnreadAlertDelay time.Duration `json:"unread_alert_delay,omitempty"`
	// Console sign-in (package chat): every agent must use two-factor; how long a console session may
	// stay unused before it ends (zero: the default, 12 h); single sign-on with OpenID Connect.
	Require2FA         bool          `json:"require_2fa,omitempty"`
	ConsoleIdleTimeout time.Duration `json:"console_idle_timeout,omitempty"`
	SSO                SSOSettings   `json:"sso,omitzero"`
	// RetentionDays: closed conversations are deleted this many days after they closed, with the data
	// of anonymous visitors they carry (0: kept for good).
	RetentionDays int `json:"retention_days,omitempty"`

	// The widget's look and the business's own words (package chat, appearance.go). The default
	// language's texts are FirstMessage above and the three below; Texts holds other languages' by
	// BCP 47 tag, each field empty where it falls back to the default language's.
	Appearance      Appearance             `json:"appearance,omitzero"`
	Greeting        string                 `json:"greeting,omitempty"`
	AwayNotice      string                 `json:"away_notice,omitempty"`
	OnboardingIntro string                 `json:"onboarding_intro,omitempty"`
	Texts           map[string]WidgetTexts `json:"texts,omitempty"`

	// DefaultLocale is the language the widget speaks to a visitor whose page, login token and browser
	// name none it has: a BCP 47 tag of chat.WidgetLocales ("" means English).
	DefaultLocale string `json:"default_locale,omitempty"`
}

// Appearance is how the widget looks; the zero value is Parley's own look. The text colour on the brand
// colour is no setting: package chat derives it (and refuses a brand colour no text can be read on).
type Appearance struct {
	BrandColor    string `json:"brand_color,omitempty"` // #rrggbb, lower case
	Position      string `json:"position,omitempty"`    // "left" or "right" ("": right)
	LauncherLabel string `json:"launcher_label,omitempty"`
	Theme         string `json:"theme,omitempty"`    // "light", "dark" or "auto" ("": light)
	LogoURL       string `json:"logo_url,omitempty"` // https only
}

// WidgetTexts are the business's own widget texts in one language.
type WidgetTexts struct {
	Greeting        string `json:"greeting,omitempty"`
	FirstMessage    string `json:"first_message,omitempty"`
	AwayNotice      string `json:"away_notice,omitempty"`
	OnboardingIntro string `json:"onboarding_intro,omitempty"`
}

// SSOSettings configure a workspace's console sign-in through an OpenID Connect provider.
type SSOSettings struct {
	Enabled  bool   `json:"enabled,omitempty"`
	Issuer   string `json:"issuer,omitempty"` // the provider's issuer URL (discovery at /.well-known/openid-configuration)
	ClientID string `json:"client_id,omitempty"`
	// ClientSecret is sealed with the master key (package seal); the store never sees it in the clear.
	ClientSecret []byte `json:"client_secret,omitempty"`
	// AllowedDomains: only agents whose verified email is in one of these domains may sign in this way.
	AllowedDomains []string `json:"allowed_domains,omitempty"`
	// SelfProvision creates a plain agent for a verified email of an allowed domain that has no account.
	SelfProvision bool `json:"self_provision,omitempty"`
	// PasswordsOff: agents of the workspace sign in through the provider only (the CLI still can reset).
	PasswordsOff bool `json:"passwords_off,omitempty"`
	// TrustMFA: the provider's own second factor counts, so Require2FA asks for no code after it.
	TrustMFA bool `json:"trust_mfa,omitempty"`
}

// OIDCFlow is a single sign-on in progress: the browser went to the provider and will come back with
// the state whose hash is StateHash. Nonce binds the ID token to this flow and Verifier is the PKCE
// secret the code is exchanged with; Next is where the console goes afterwards.
type OIDCFlow struct {
	StateHash   []byte
	WorkspaceID string
	Nonce       string
	Verifier    string
	Next        string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// BusinessHours say when a workspace's team answers. Package chat validates them on the way in
// (hours.go), so what is stored here is canonical.
type BusinessHours struct {
	Enabled  bool   `json:"enabled,omitempty"`
	TimeZone string `json:"time_zone,omitempty"` // an IANA name such as Europe/Berlin
	// Week holds each weekday's open intervals, Sunday first as time.Weekday counts them: "HH:MM-HH:MM"
	// in the time zone, sorted, not overlapping, the end possibly 24:00.
	Week [7][]string `json:"week,omitzero"`
	// Holidays are dates (YYYY-MM-DD in the time zone) closed all day, sorted.
	Holidays []string `json:"holidays,omitempty"`
	// OutOfHours is what the widget does while closed: "away" (also when empty) or "hide".
	OutOfHours string `json:"out_of_hours,omitempty"`
}

// Kinds of signing key.
const (
	KeyHMAC   = "hmac"   // a secret Parley generated and the business signs with (HS*)
	KeyPublic = "public" // a public key the admin registered (RS*, PS*, ES*, EdDSA)
	KeyJWKS   = "jwks"   // a JWKS URL the admin configured; its keys are fetched, not stored
	KeyServer = "server" // Parley's own key for the login tokens the customers API issues
)

// SigningKey verifies a workspace's login tokens.
type SigningKey struct {
	WorkspaceID string
	ID          string // the kid
	Kind        string // KeyHMAC (the default when empty), KeyPublic, KeyJWKS or KeyServer
	Alg         string // empty for KeyJWKS: each fetched key names its own
	// Secret is sealed with the master key (package seal): the HMAC secret, or the server key's private
	// key. Empty for public keys and JWKS. The store never sees it in the clear.
	Secret       []byte
	PublicKey    string // PEM, for KeyPublic and KeyServer
	JWKSURL      string // for KeyJWKS
	AllowPrivate bool   // KeyJWKS: the admin allowed a private, loopback or link-local address
	CreatedAt    time.Time
	RevokedAt    time.Time // zero while active
	LastUsedAt   time.Time // zero if never used
}

// API key scopes.
const (
	ScopeCustomersWrite = "customers:write" // create and update customers, issue login tokens
	ScopeCustomersRead  = "customers:read"  // read customers and their conversations
	ScopeSessionsRevoke = "sessions:revoke" // end a customer's widget sessions
	// ScopeCustomersErase deletes a customer and everything held about them. No key has it unless it
	// was created with it: keys made before it existed, and new keys by default, do not.
	ScopeCustomersErase = "customers:erase"
)

// APIKey lets a business's back end call the customers API. Only the key's hash is stored.
type APIKey struct {
	ID          string
	WorkspaceID string
	Name        string
	Scopes      []string
	KeyHash     []byte
	CreatedAt   time.Time
	RevokedAt   time.Time // zero while live
	LastUsedAt  time.Time // zero if never used
}

// AuditEvent records a change to a workspace's keys or API keys: who, what, when.
type AuditEvent struct {
	Seq         int64
	WorkspaceID string
	At          time.Time
	Actor       string // "cli", "agent ag_… (email)", …
	Action      string // key.created, key.rotated, key.revoked, apikey.created, apikey.revoked, …
	Target      string // the key id or API key id
	Detail      string
	Addr        string // the client address of the request that made the change, when known
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	Actor     string    // a substring of the actor, case folded (at least ASCII)
	Action    string    // the action, or every action it begins when it ends with "." ("signin.")
	From, To  time.Time // events at or after From and before To; zero is open
	BeforeSeq int64     // events with a lower Seq only (the next page); 0 starts at the newest
	Limit     int       // at most this many; 0 or less is 100
}

// Block stops a visitor from sending messages in a workspace: a verified customer (CustomerID), or an
// unverified visitor by their session (SessionID) and, when known, their client address (Addr: an IPv4
// address or an IPv6 /64). It is live until LiftedAt, or until ExpiresAt when that is set. The rules
// live in package chat.
type Block struct {
	ID             string
	WorkspaceID    string
	CustomerID     string
	SessionID      string
	Addr           string
	ConversationID string // the conversation the agent blocked from
	Reason         string // for agents' eyes only
	CreatedBy      string // the agent's id
	CreatedAt      time.Time
	ExpiresAt      time.Time // zero: until lifted
	LiftedAt       time.Time // zero while not lifted
	LiftedBy       string    // the agent's id
}

// BlockMatch names a visitor for LiveBlock; empty fields match nothing.
type BlockMatch struct {
	CustomerID string
	SessionID  string
	Addr       string
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
	KeyID        string // the key that verified the session (its kid)
	// KeySource is the stored key whose revocation ends the session: the kid of an HMAC, public or server
	// key, or the id of the JWKS source a fetched key came from.
	KeySource  string
	VerifiedAt time.Time // when the session became verified
	CreatedAt  time.Time
	UpdatedAt  time.Time
	RevokedAt  time.Time // zero while live
	// LastSeenAt is the session's last recorded activity, for its idle timeout. It is written at most
	// about once a minute (TouchSession), so it may lag the real last use by that much. CreateSession
	// takes CreatedAt when it is zero; UpdateSession only ever moves it forward.
	LastSeenAt time.Time
}

// SessionExpiry selects the live sessions of one workspace that have expired under its settings. A zero
// time selects nothing by that rule.
type SessionExpiry struct {
	WorkspaceID string
	// VerifiedSeenBefore: verified sessions last seen at or before it (idle too long).
	VerifiedSeenBefore time.Time
	// VerifiedBefore: verified sessions verified at or before it (past their absolute lifetime).
	VerifiedBefore time.Time
	// VisitorSeenBefore: anonymous and identified sessions last seen at or before it.
	VisitorSeenBefore time.Time
}

// SessionCursor is a position in the order DeleteEndedSessions walks ended sessions: by RevokedAt, then
// ID. The zero cursor is before every session.
type SessionCursor struct {
	RevokedAt time.Time
	ID        string
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
	// LoggedOutAt is when the business last ended every session of the customer; login tokens issued at
	// or before it are refused. Zero if never.
	LoggedOutAt time.Time
	// FirstVerifiedAt is when the customer first logged in verified (customer.verified announces it);
	// zero for a customer the customers API created who has not logged in yet.
	FirstVerifiedAt time.Time
	// Attributes are the customer's verified attributes: from the last login token that carried the
	// claim, or the customers API. Routing rules may match them.
	Attributes attributes.Set
	// Locale is the language the customer uses on the business's site, from the last login token that
	// carried a "locale" claim (a canonical BCP 47 tag; "" if none ever did): emails to them speak it.
	Locale string
}

// ErasedCustomer says what Tx.EraseCustomer deleted.
type ErasedCustomer struct {
	Conversations int
	Messages      int // internal notes included
	Attachments   int
	// Sessions are the ids of the widget sessions erased with the customer, live or not: their sockets
	// are to be told. A session a remaining conversation still names is emptied and ended, not deleted.
	Sessions []string
	// StorageKeys are the deleted attachments' object keys. Their chunks in the database are deleted in
	// the transaction; a storage outside the database is the caller's to clean.
	StorageKeys []string
}

// PurgedConversations says what Tx.DeleteClosedConversations deleted.
type PurgedConversations struct {
	Conversations int
	Attachments   int
	Sessions      []string // the visitor sessions deleted with them
	// StorageKeys are the deleted attachments' object keys (see ErasedCustomer.StorageKeys).
	StorageKeys []string
}

// SessionFilter selects the live sessions of one workspace that RevokeSessions ends. With neither
// KeySource nor CustomerID set it selects every live session of the workspace.
type SessionFilter struct {
	WorkspaceID string
	KeySource   string // only sessions verified by this stored key (Session.KeySource)
	CustomerID  string // only sessions verified as this customer
}

// VerifiedSession is a live verified session with its customer's email, for rules that depend on it.
type VerifiedSession struct {
	SessionID  string
	CustomerID string
	Email      string // the customer's canonical email, "" when none
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
	InboxID      string // the inbox routing put it in; empty before routing ran (or with no inboxes)
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastMessage  time.Time // the newest message's CreatedAt (derived, not stored; internal notes do not count); zero before the first
	ClosedAt     time.Time
}

// Message is one chat message. Seq orders a conversation's messages in commit order.
type Message struct {
	// Seq is installation-wide: it orders messages in commit order for internal bookkeeping (read marks,
	// the console's pages, the relay) and never leaves the server, as it would tell one tenant how much
	// the others write.
	Seq int64
	// N is the message's number within its conversation, from 1, dense and in commit order: its public id.
	// Internal notes are numbered apart, -1, -2, … in commit order, so the customer's numbers stay dense.
	N              int64
	ConversationID string
	Sender         string
	SessionID      string // the sending session, for customer messages
	AgentID        string // the sending agent, for agent messages
	Body           string
	Trusted        bool // the sending session was verified when the message was sent
	ClientID       string
	CreatedAt      time.Time
	// Internal marks an agents' note: never shown to the customer (the rule is package chat's
	// CustomerVisible). Set when appending; it never changes.
	Internal bool
	// Attachments are the files the message carries, in the order they were given. AppendMessage
	// binds them to the message (each must be ready and unbound, else ErrAttachmentTaken); every read
	// of messages fills them in.
	Attachments []Attachment
}

// Job states.
const (
	JobPending = "pending" // waiting for its run_at, or running under a lease
	JobDone    = "done"    // ran to success
	JobDead    = "dead"    // failed for good: out of attempts, or a permanent failure
)

// Job is a unit of background work (package jobs runs them). Kind and Key together are unique: enqueuing
// the same work twice stores it once. A claimed job's RunAt is the end of its lease, after which another
// runner may claim it again; Lease names the claim, and only its holder may finish or reschedule it.
type Job struct {
	ID          int64
	Kind        string
	Key         string // the idempotency key, unique within Kind
	Payload     []byte
	State       string
	RunAt       time.Time
	Attempts    int // claims so far, this one included
	MaxAttempts int
	Lease       string
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ErrLeaseLost is FinishJob's and RetryJob's answer when the job's lease is no longer the caller's: it
// expired and another runner claimed the job, or the job was finished already.
var ErrLeaseLost = errors.New("store: job lease lost")

// CustomerEmail is a verified customer's email state: whether they unsubscribed (one click, from any
// email) and when Parley last emailed them. The zero value: subscribed, never emailed.
type CustomerEmail struct {
	OptedOutAt    time.Time
	LastEmailedAt time.Time
}

// Email log states.
const (
	EmailSent     = "sent"
	EmailRetrying = "retrying" // the last attempt failed for a passing reason; another follows
	EmailFailed   = "failed"   // refused for good, or out of attempts
	EmailSkipped  = "skipped"  // nothing left to send when its time came (seen meanwhile, unsubscribed…)
)

// EmailLogEntry is one email in a workspace's delivery log, keyed by the job that sends it.
type EmailLogEntry struct {
	ID          int64
	WorkspaceID string
	JobKey      string
	Kind        string
	Recipient   string
	Subject     string
	State       string
	Attempts    int
	Reply       string // the SMTP server's last answer, or why it was skipped
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// WebhookEndpoint is a URL a workspace's admins registered to receive events (package chat decides
// which; package webhooks signs and sends them). Secret and PreviousSecret are sealed with the master
// key; after a rotation PreviousSecret stays valid until PreviousUntil and deliveries carry both
// signatures. Events lists the event types sent (empty: all). FailingSince is the start of the current
// run of failed deliveries (zero while the last one succeeded); DisabledAt is set when an admin, or 24 h
// of failures, turned it off.
type WebhookEndpoint struct {
	ID             string
	WorkspaceID    string
	URL            string
	Events         []string
	IncludeNotes   bool
	Secret         []byte
	PreviousSecret []byte
	PreviousUntil  time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DisabledAt     time.Time
	FailingSince   time.Time
}

// WebhookDelivery is one attempt to deliver one event to one endpoint. Status is the HTTP status (0 when
// no response came); Error says what went wrong, if anything.
type WebhookDelivery struct {
	ID         int64
	EndpointID string
	WebhookID  string
	EventType  string
	Attempt    int
	Status     int
	Duration   time.Duration
	Error      string
	At         time.Time
}

// PendingAttachments is for implementations reading messages: a message read with its attachment
// count carries that many placeholder records, which this empties, returning the Seqs to look up.
func PendingAttachments(msgs []Message) []int64 {
	var seqs []int64
	for i := range msgs {
		if len(msgs[i].Attachments) > 0 {
			seqs = append(seqs, msgs[i].Seq)
			msgs[i].Attachments = msgs[i].Attachments[:0]
		}
	}
	return seqs
}

// PlaceAttachments puts attachment records on their messages (by MessageSeq), in the order given.
func PlaceAttachments(msgs []Message, found []Attachment) {
	at := make(map[int64]int, len(msgs))
	for i, m := range msgs {
		at[m.Seq] = i
	}
	for _, a := range found {
		if i, ok := at[a.MessageSeq]; ok {
			msgs[i].Attachments = append(msgs[i].Attachments, a)
		}
	}
}

// Attachment states.
const (
	AttachmentUploading = "uploading" // its bytes are being written; never shown, never attachable
	AttachmentReady     = "ready"     // stored and checked whole
)

// ErrAttachmentTaken is AppendMessage's answer when an attachment it was given is not ready or already
// belongs to a message (a concurrent send took it).
var ErrAttachmentTaken = errors.New("store: attachment not available")

// Attachment is a file uploaded by a widget session or an agent. It is bound to a message (and its
// conversation) when a message refers to it; until then only its uploader can see it, and cleanup
// deletes it after a day. Its bytes live in a files.Storage under StorageKey; the record becomes ready
// only once they are written whole and checked, so nothing refers to bytes that do not exist.
type Attachment struct {
	ID             string
	WorkspaceID    string
	SessionID      string // the uploading widget session, or
	AgentID        string // the uploading agent
	State          string // AttachmentUploading or AttachmentReady
	StorageKey     string
	ConversationID string // "" until a message refers to it
	MessageSeq     int64  // 0 until then
	Internal       bool   // the message is an internal note
	Name           string // for display only (files.CleanName)
	Kind           string // files.Kind.Name
	ContentType    string
	Size           int64
	Width, Height  int // raster images only
	SHA256         []byte
	CreatedAt      time.Time
	// MessageN is the number (Message.N) of its message; filled by ConversationAttachments only.
	MessageN int64
}

// Mention is an agent named in an internal note (package chat decides who can be).
type Mention struct {
	MessageSeq     int64 // the note's Seq
	AgentID        string
	ConversationID string
	AuthorID       string // the agent who wrote the note
	CreatedAt      time.Time
	// Read only: the note's number and body (Mentions fills them in).
	N    int64
	Body string
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
	// Two-factor sign-in (package chat, twofactor.go). TOTPSecret is sealed with the master key and set
	// from the start of an enrolment; TOTPEnabledAt is zero until a first code confirmed it. TOTPLastStep
	// is the RFC 6238 time step of the last code accepted: no code of that step or before is accepted
	// again (UseTOTPStep moves it, conditionally, so two instances cannot both accept one code).
	TOTPSecret    []byte
	TOTPEnabledAt time.Time
	TOTPLastStep  int64
	// PasswordChangedAt is when the agent last set their password (zero: never since created). An agent
	// with an empty PasswordHash has none (invited, not yet accepted; or SSO only) and cannot sign in
	// with one.
	PasswordChangedAt time.Time
}

// AgentPrefs are an agent's alert preferences: a sound, and desktop notifications, for what needs their
// attention. An agent who never saved any has both on (DefaultAgentPrefs).
type AgentPrefs struct {
	AgentID       string
	Sound         bool
	Notifications bool
	// EmailAlerts: an email when a conversation of the agent's inboxes stays unread (off unless chosen).
	EmailAlerts bool
	UpdatedAt   time.Time // zero until saved
}

// DefaultAgentPrefs are the preferences of an agent who saved none.
func DefaultAgentPrefs(agentID string) AgentPrefs {
	return AgentPrefs{AgentID: agentID, Sound: true, Notifications: true}
}

// AgentSession is an agent's signed-in browser. As with widget sessions, only the hash of the cookie's
// token is stored.
type AgentSession struct {
	ID        string // public: names the session in the agent's list of sessions ("as_…")
	TokenHash []byte
	AgentID   string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while live
	// Stage is empty for a signed-in session. A session whose password (or SSO) was accepted but which
	// still owes a second factor is AgentStageTOTP, and one that must enrol first is AgentStageEnrol:
	// neither opens anything but the pages of that step.
	Stage string
	// Method is how the session began: AgentMethodPassword, AgentMethodOIDC or AgentMethodLink.
	Method    string
	UserAgent string // the browser's User-Agent at sign-in, cut to 300 bytes
	Addr      string // the client address at sign-in
	// LastSeenAt is the session's last recorded use, for the workspace's console idle timeout; it is
	// written at most about once a minute (TouchAgentSession).
	LastSeenAt time.Time
}

// Stages and methods of an agent session.
const (
	AgentStageTOTP  = "totp"  // password accepted; a two-factor code is owed
	AgentStageEnrol = "enrol" // the workspace requires two-factor and the agent has none yet

	AgentMethodPassword = "password"
	AgentMethodOIDC     = "oidc"
	AgentMethodLink     = "link" // an invitation or password-reset link, once the new password was set
)

// AgentLink is a single-use link an administrator hands an agent: an invitation to set a first password
// (AgentLinkInvite) or a password reset (AgentLinkReset). Only the hash of its token is stored.
type AgentLink struct {
	TokenHash   []byte
	WorkspaceID string
	AgentID     string
	Purpose     string // AgentLinkInvite or AgentLinkReset
	CreatedBy   string // the audit actor who made it
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // zero until used; also set when a newer link voids it
}

// Purposes of an agent link.
const (
	AgentLinkInvite = "invite"
	AgentLinkReset  = "reset"
)

// Inbox is a queue of conversations that a set of agents (its members) answer.
type Inbox struct {
	ID          string
	WorkspaceID string
	Name        string
	Members     []string // agent ids, in no particular order
	CreatedAt   time.Time
}

// RoutingRule sends a new conversation to an inbox. A workspace's rules are tried in Position order;
// the first whose conditions all hold wins. An empty condition matches anything.
type RoutingRule struct {
	ID          string
	WorkspaceID string
	Position    int
	Level       string // LevelAnonymous, LevelIdentified, LevelVerified or "" (any)
	EmailDomain string // canonical domain of the customer's (verified) or claimed email, or "" (any)
	// AttributeKey and AttributeValue: the verified customer's attribute of that key has that canonical
	// value (attributes.Value.Text); "" (any) when AttributeKey is "". Claimed attributes never match.
	AttributeKey   string
	AttributeValue string
	InboxID        string
	CreatedAt      time.Time
}

// LoginFailure is a refused widget login, kept for the workspace's identity log. The token itself is
// never stored.
type LoginFailure struct {
	Seq         int64
	WorkspaceID string
	Code        string // the docs/api.md error code
	Message     string // the message the API answered
	KeyID       string // the token header's kid, when it named one (as sent, so possibly unknown)
	Alg         string // the token header's alg, when it could be read
	At          time.Time
}

// ConversationFilter selects conversations of one workspace for the agent console's inbox.
type ConversationFilter struct {
	WorkspaceID string
	Status      string // StatusOpen, StatusClosed or "" (any)
	AssigneeID  string // only those assigned to this agent
	Unassigned  bool   // only those assigned to no one
	InboxID     string // only those in this inbox
	// Search matches, ignoring the case of ASCII letters at least, a substring of the customer's name or email or of the
	// claimed name or email.
	Search string
	Limit  int // at most this many (implementations cap it); newest activity first
}

// ConversationSummary is one row of an inbox list.
type ConversationSummary struct {
	Conversation
	CustomerName  string // of the verified customer, if any
	CustomerEmail string
	LastSeq       int64 // the newest message's Seq (internal notes do not count); 0 before the first
	LastSender    string
	LastBody      string // the newest message's body, cut to at most 140 characters
	ReadSeq       int64  // the newest Seq the reading agent has seen (see ListConversations)
}

// Seen is how far a customer has read a conversation: the number (Message.N) of the newest agent
// message their widget showed them, and when it did.
type Seen struct {
	N  int64
	At time.Time
}

// CannedResponse is a saved reply. A shared one (OwnerID "") belongs to the workspace; a personal one
// to the agent OwnerID. Shortcuts are unique among a workspace's shared responses and among one agent's
// personal ones. The rules (who sees and manages which) live in package chat.
type CannedResponse struct {
	ID          string
	WorkspaceID string
	OwnerID     string
	Title       string
	Shortcut    string
	Body        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DayStats are one day's figures for the report, counted in UTC days.
type DayStats struct {
	Day                     time.Time // midnight UTC
	Anonymous               int       // conversations started that day whose visitor is still anonymous
	Identified              int       // … identified (claimed a name or email) but never verified
	Verified                int       // … belonging to a verified customer
	CustomerMessages        int       // messages customers sent that day
	TrustedCustomerMessages int       // … of which trusted
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
	// AuthEpoch returns the authentication epoch: a counter that grows, in the same transaction, with
	// every commit that can change what authenticating a widget session finds — any column of a session
	// that SessionAndWorkspace returns except LastSeenAt, its workspace, its customer's email, or any of
	// these rows deleted. Database triggers bump it, so no writer, in this process or another, can skip
	// it. A session read after reading epoch e reflects every commit made before any later read that
	// returns e again. ErrNoAuthEpoch when the store keeps none.
	AuthEpoch(ctx context.Context) (int64, error)
	// LiveSessionsOfCustomer lists the unrevoked sessions verified as the customer.
	LiveSessionsOfCustomer(ctx context.Context, customerID string) ([]Session, error)
	// LiveVerifiedSessions lists a workspace's unrevoked verified sessions with their customers' emails.
	LiveVerifiedSessions(ctx context.Context, workspaceID string) ([]VerifiedSession, error)

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
	// MessagesAfterNumber returns up to limit messages of a conversation with N > afterN, oldest first,
	// leaving out internal notes: it serves the customer's reads (see chat.CustomerVisible), and leaving
	// them out in the query keeps pages and limits right.
	MessagesAfterNumber(ctx context.Context, conversationID string, afterN int64, limit int) ([]Message, error)
	// MessageByClientID returns the message a session sent with that client id.
	MessageByClientID(ctx context.Context, sessionID, clientID string) (Message, error)
	// MessageByAgentClientID returns the message an agent sent with that client id.
	MessageByAgentClientID(ctx context.Context, agentID, clientID string) (Message, error)
	// Events returns a conversation's events, oldest first.
	Events(ctx context.Context, conversationID string) ([]Event, error)
	// MessagesBefore returns the newest limit messages of a conversation with Seq < beforeSeq (any Seq
	// when beforeSeq is 0), oldest first: the console pages a long timeline backwards with it.
	MessagesBefore(ctx context.Context, conversationID string, beforeSeq int64, limit int) ([]Message, error)
	// EventsAfter returns up to limit events of a conversation with Seq > afterSeq, oldest first.
	EventsAfter(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]Event, error)
	// EventsBefore returns the newest limit events of a conversation with Seq < beforeSeq (any Seq when
	// beforeSeq is 0), oldest first.
	EventsBefore(ctx context.Context, conversationID string, beforeSeq int64, limit int) ([]Event, error)

	Agent(ctx context.Context, id string) (Agent, error)
	// AgentByEmail finds an agent of any workspace by canonical email, disabled or not.
	AgentByEmail(ctx context.Context, email string) (Agent, error)
	// Agents lists a workspace's agents, oldest first (then by id).
	Agents(ctx context.Context, workspaceID string) ([]Agent, error)
	// AgentSessionByTokenHash returns the unrevoked agent session with that token hash, expired or not:
	// expiry is the caller's to check.
	AgentSessionByTokenHash(ctx context.Context, hash []byte) (AgentSession, error)
	// AgentSessionAndAgent is AgentSessionByTokenHash plus the session's agent, in one read: it runs on
	// every console request.
	AgentSessionAndAgent(ctx context.Context, hash []byte) (AgentSession, Agent, error)
	// AgentSessions lists an agent's live sessions at now (not revoked, not expired), newest first.
	AgentSessions(ctx context.Context, agentID string, now time.Time) ([]AgentSession, error)
	// AgentLink returns the agent link with that token hash, used or not; ErrNotFound when there is none.
	AgentLink(ctx context.Context, hash []byte) (AgentLink, error)
	// AgentPrefs returns the agent's saved alert preferences, or DefaultAgentPrefs when they saved none
	// (or there is no such agent).
	AgentPrefs(ctx context.Context, agentID string) (AgentPrefs, error)
	// RecoveryCodesLeft counts an agent's unused two-factor recovery codes.
	RecoveryCodesLeft(ctx context.Context, agentID string) (int, error)

	// ListConversations returns the summaries the filter selects, newest activity (last message, else
	// creation) first, ties by ascending id. ReadSeq is the given reader agent's read mark (0 when none or readerID is "").
	ListConversations(ctx context.Context, f ConversationFilter, readerID string) ([]ConversationSummary, error)
	// ConversationsOfCustomer lists every conversation of a customer, newest first.
	ConversationsOfCustomer(ctx context.Context, customerID string) ([]Conversation, error)
	// Mentions returns up to limit mentions of the agent, newest note first, with the note's N and Body.
	Mentions(ctx context.Context, agentID string, limit int) ([]Mention, error)
	// UnreadMentions returns the conversations, up to limit, where one of the agent's newest
	// recentMentions mentions is past the agent's read mark, the newest mention first: one read, whatever
	// the number of conversations.
	UnreadMentions(ctx context.Context, agentID string, recentMentions, limit int) ([]string, error)
	// OpenAssignedCounts counts each agent's open assigned conversations in a workspace (agents with
	// none are absent).
	OpenAssignedCounts(ctx context.Context, workspaceID string) (map[string]int, error)
	// ReadMark returns the newest Seq the agent has seen of a conversation (0 when none).
	ReadMark(ctx context.Context, agentID, conversationID string) (int64, error)
	// CustomerSeen returns how far the customer has read a conversation (zero when they have not).
	CustomerSeen(ctx context.Context, conversationID string) (Seen, error)
	// AgentsReadUpTo returns the number (N) of the conversation's newest customer message that some
	// agent's read mark covers (0 when none does).
	AgentsReadUpTo(ctx context.Context, conversationID string) (int64, error)

	Inbox(ctx context.Context, id string) (Inbox, error)
	// Inboxes lists a workspace's inboxes, oldest first, with their members.
	Inboxes(ctx context.Context, workspaceID string) ([]Inbox, error)
	// RoutingRules lists a workspace's rules in Position order.
	RoutingRules(ctx context.Context, workspaceID string) ([]RoutingRule, error)

	// LoginFailures returns a workspace's most recent refused logins, newest first.
	LoginFailures(ctx context.Context, workspaceID string, limit int) ([]LoginFailure, error)
	// DailyStats returns the report's figures for each UTC day in [from, to), oldest first, including
	// days with nothing (all zero).
	DailyStats(ctx context.Context, workspaceID string, from, to time.Time) ([]DayStats, error)

	// APIKeyByHash returns the API key with that hash, revoked or not: the caller decides.
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// APIKeys lists a workspace's API keys, oldest first.
	APIKeys(ctx context.Context, workspaceID string) ([]APIKey, error)
	// AuditEvents returns a workspace's most recent audit events, newest first.
	AuditEvents(ctx context.Context, workspaceID string, limit int) ([]AuditEvent, error)
	// AuditEventsFiltered returns the workspace's audit events the filter selects, newest first.
	AuditEventsFiltered(ctx context.Context, workspaceID string, f AuditFilter) ([]AuditEvent, error)

	// LiveBlock returns the newest block of the workspace that names the customer, the session or the
	// address of m and is live at the given time (not lifted, and not expired: at < ExpiresAt);
	// ErrNotFound when there is none.
	LiveBlock(ctx context.Context, workspaceID string, m BlockMatch, at time.Time) (Block, error)
	// Block returns one block of the workspace, live or not.
	Block(ctx context.Context, workspaceID, id string) (Block, error)
	// Blocks returns a workspace's most recent blocks, live or not, newest first.
	Blocks(ctx context.Context, workspaceID string, limit int) ([]Block, error)
	// LiveBlocksEnd tells when the last of the workspace's blocks live at the given time ends: untilLifted
	// when one of them has no expiry, else end is their latest ExpiresAt (zero when none is live).
	LiveBlocksEnd(ctx context.Context, workspaceID string, at time.Time) (end time.Time, untilLifted bool, err error)
	// SessionClientAddr returns the client address a session's messages last came from ("" when none
	// was recorded); ErrNotFound when there is no such session.
	SessionClientAddr(ctx context.Context, sessionID string) (string, error)

	// ClaimedAttributes returns the attributes a session's visitor claimed (setUser); ErrNotFound when
	// there is no such session.
	ClaimedAttributes(ctx context.Context, sessionID string) (attributes.Set, error)

	// Attachment returns one attachment, ready or not.
	Attachment(ctx context.Context, id string) (Attachment, error)
	// ConversationAttachments returns the attachments of customer-visible messages (not internal
	// notes) of the given conversations, up to limit per conversation, oldest first.
	ConversationAttachments(ctx context.Context, conversationIDs []string, limit int) (map[string][]Attachment, error)
	// StoredAttachmentBytes sums the sizes of a workspace's ready attachments.
	StoredAttachmentBytes(ctx context.Context, workspaceID string) (int64, error)
	// StaleAttachments lists up to limit attachments no message refers to that were created at or before
	// the given time (uploading or ready), oldest first.
	StaleAttachments(ctx context.Context, before time.Time, limit int) ([]Attachment, error)
	// BlobChunk returns chunk n (from 0) of the stored object key; ErrNotFound when there is none.
	BlobChunk(ctx context.Context, key string, n int) ([]byte, error)

	// CustomerEmail returns a customer's email state (the zero value when none was recorded).
	CustomerEmail(ctx context.Context, customerID string) (CustomerEmail, error)
	// ConversationEmailed returns the newest message number of the conversation already emailed (0: none).
	ConversationEmailed(ctx context.Context, conversationID string) (int64, error)
	// EmailLog returns a workspace's newest email log entries, newest first.
	EmailLog(ctx context.Context, workspaceID string, limit int) ([]EmailLogEntry, error)

	// WebhookEndpoint returns one endpoint of the workspace; ErrNotFound when there is none.
	WebhookEndpoint(ctx context.Context, workspaceID, id string) (WebhookEndpoint, error)
	// WebhookEndpoints lists the workspace's endpoints, oldest first.
	WebhookEndpoints(ctx context.Context, workspaceID string) ([]WebhookEndpoint, error)
	// WebhookDeliveries returns an endpoint's newest delivery attempts, newest first.
	WebhookDeliveries(ctx context.Context, endpointID string, limit int) ([]WebhookDelivery, error)

	// Job returns one job.
	Job(ctx context.Context, id int64) (Job, error)
	// JobByKey returns the job of that kind and idempotency key.
	JobByKey(ctx context.Context, kind, key string) (Job, error)

	// CannedResponse returns one canned response of the workspace, shared or personal.
	CannedResponse(ctx context.Context, workspaceID, id string) (CannedResponse, error)
	// CannedResponses lists the workspace's shared responses and the given agent's personal ones ("":
	// shared only), by shortcut, shared before personal at the same shortcut.
	CannedResponses(ctx context.Context, workspaceID, agentID string) ([]CannedResponse, error)
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
	// RevokeSessions ends the live sessions the filter selects and returns their ids.
	RevokeSessions(ctx context.Context, f SessionFilter, at time.Time) ([]string, error)
	// TouchSession records activity on a live session: it sets LastSeenAt to at, but only when the stored
	// value is at or before staleBefore, so that frequent calls cost one write per interval. It reports
	// whether it wrote.
	TouchSession(ctx context.Context, id string, at, staleBefore time.Time) (bool, error)
	// RevokeExpiredSessions ends up to limit live sessions that e selects (revoked_at and updated_at
	// become at) and returns their ids. Rows another transaction holds are skipped, not waited for.
	RevokeExpiredSessions(ctx context.Context, e SessionExpiry, at time.Time, limit int) ([]string, error)
	// DeleteEndedSessions walks up to limit revoked sessions after the cursor and revoked at or before
	// revokedBefore, in cursor order, and deletes those that no conversation references (the session
	// that started a conversation stays as its participant). It returns how many it deleted and the
	// position of the last session it walked (after, when it walked none).
	DeleteEndedSessions(ctx context.Context, after SessionCursor, revokedBefore time.Time, limit int) (int, SessionCursor, error)

	CreateCustomer(ctx context.Context, c *Customer) error // ErrConflict when its key is taken
	UpdateCustomer(ctx context.Context, c *Customer) error

	CreateConversation(ctx context.Context, c *Conversation) error
	// UpdateConversation stores Status, CustomerID, ClaimedName, ClaimedEmail, AssigneeID, InboxID, UpdatedAt,
	// ClosedAt.
	UpdateConversation(ctx context.Context, c *Conversation) error
	// AdoptConversations gives every conversation the session started and no customer owns to the
	// customer, and returns their ids.
	AdoptConversations(ctx context.Context, sessionID, customerID string, at time.Time) ([]string, error)

	// AppendMessage stores m and assigns m.Seq, greater than that of every message committed before it
	// in the conversation, and m.N, one more than the conversation's previous message (for an internal note:
	// one less than its previous note, from -1). A conversation's LastMessage is the CreatedAt of its newest message. A client
	// id the session already used is ErrConflict; a missing conversation is ErrNotFound.
	AppendMessage(ctx context.Context, m *Message) error
	// AppendToOpenConversation appends m (ConversationID is filled in) to the owner's newest open
	// conversation, as AppendMessage does, and returns that conversation; ErrNotFound when the owner has
	// no open conversation. It spares the hot path a separate lookup.
	AppendToOpenConversation(ctx context.Context, owner Owner, m *Message) (Conversation, error)
	AppendEvent(ctx context.Context, e *Event) error
	// AddMention stores m; a mention of the same agent in the same note changes nothing.
	AddMention(ctx context.Context, m *Mention) error

	// UseJTI records a token id as used until the given time; ErrConflict if it is already recorded and
	// that time has not passed.
	UseJTI(ctx context.Context, workspaceID, jti string, until, now time.Time) error
	PurgeJTIs(ctx context.Context, before time.Time) (int, error)
	// DeleteUsedJTIs deletes up to limit token ids recorded until at or before the given time and returns
	// how many it deleted: PurgeJTIs in batches.
	DeleteUsedJTIs(ctx context.Context, before time.Time, limit int) (int, error)

	// CreateAgent stores a; ErrConflict when its id or email is taken, ErrNotFound when its workspace
	// is missing.
	CreateAgent(ctx context.Context, a *Agent) error
	// UpdateAgent stores Name, Role, PasswordHash, Available, UpdatedAt and DisabledAt.
	UpdateAgent(ctx context.Context, a *Agent) error
	// CreateAgentSession stores s; ErrConflict when its token hash is taken, ErrNotFound when its agent
	// is missing.
	CreateAgentSession(ctx context.Context, s *AgentSession) error
	// TouchAgentSession sets a live agent session's LastSeenAt to at if it is before ifBefore, and
	// reports whether it did (the console's idle timer is written at most about once a minute).
	TouchAgentSession(ctx context.Context, hash []byte, at, ifBefore time.Time) (bool, error)
	// RevokeAgentSession ends the live session with that token hash; ErrNotFound when there is none.
	RevokeAgentSession(ctx context.Context, hash []byte, at time.Time) error
	// RevokeAgentSessions ends every live session of an agent and returns how many there were.
	RevokeAgentSessions(ctx context.Context, agentID string, at time.Time) (int, error)
	// RevokeOtherAgentSessions ends every live session of an agent but the one with token hash keep, and
	// returns how many it ended.
	RevokeOtherAgentSessions(ctx context.Context, agentID string, keep []byte, at time.Time) (int, error)
	// RevokeAgentSessionByID ends the agent's live session with that public id; ErrNotFound when the
	// agent has none (another agent's session is none of theirs).
	RevokeAgentSessionByID(ctx context.Context, agentID, id string, at time.Time) error
	// CreateAgentLink stores l; ErrConflict when its token hash is taken, ErrNotFound when its agent is
	// missing.
	CreateAgentLink(ctx context.Context, l *AgentLink) error
	// UseAgentLink marks the link with that token hash used at at and returns it, only if it is unused and
	// unexpired at at; otherwise ErrNotFound. Two concurrent uses cannot both succeed.
	UseAgentLink(ctx context.Context, hash []byte, at time.Time) (AgentLink, error)
	// RevokeAgentLinks marks the agent's unused links of that purpose used at at (a newer link voids
	// older ones) and returns how many.
	RevokeAgentLinks(ctx context.Context, agentID, purpose string, at time.Time) (int, error)
	// DeleteAgentLinks deletes up to limit agent links that expired at or before the given time and
	// returns how many it deleted.
	DeleteAgentLinks(ctx context.Context, before time.Time, limit int) (int, error)
	// DeleteAgentSessions deletes up to limit agent sessions that expired or were revoked at or before
	// the given time and returns how many it deleted.
	DeleteAgentSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// CreateOIDCFlow stores a single sign-on flow in progress; ErrConflict when its state hash is taken,
	// ErrNotFound when its workspace is missing.
	CreateOIDCFlow(ctx context.Context, f *OIDCFlow) error
	// TakeOIDCFlow deletes the flow with that state hash and returns it, so that each flow completes at
	// most once; ErrNotFound when there is none or it expired at or before at.
	TakeOIDCFlow(ctx context.Context, stateHash []byte, at time.Time) (OIDCFlow, error)
	// DeleteOIDCFlows deletes up to limit flows that expired at or before the given time and returns how
	// many it deleted.
	DeleteOIDCFlows(ctx context.Context, before time.Time, limit int) (int, error)
	// SetAgentPrefs stores an agent's alert preferences, replacing those saved before; ErrNotFound when
	// the agent is missing.
	SetAgentPrefs(ctx context.Context, p *AgentPrefs) error
	// UseTOTPStep moves an agent's TOTPLastStep to step if it is below it, and reports whether it did:
	// a code of a step already used (or an earlier one) is refused, by whichever instance comes second.
	UseTOTPStep(ctx context.Context, agentID string, step int64) (bool, error)
	// ReplaceRecoveryCodes deletes the agent's recovery codes and stores these hashes as new, unused ones
	// (none: the agent has no codes).
	ReplaceRecoveryCodes(ctx context.Context, agentID string, hashes [][]byte, at time.Time) error
	// UseRecoveryCode marks the agent's unused recovery code with that hash used at at, and reports
	// whether there was one: each code works once.
	UseRecoveryCode(ctx context.Context, agentID string, hash []byte, at time.Time) (bool, error)
	// DeleteEndedBlocks deletes up to limit blocks that were lifted or expired at or before the given
	// time and returns how many it deleted. Live blocks are never touched.
	DeleteEndedBlocks(ctx context.Context, before time.Time, limit int) (int, error)
	// EraseCustomer deletes a customer of the workspace and everything held about them, in this
	// transaction: their conversations with messages (notes included), events, read and seen marks,
	// attachments with their chunks in blob_chunks, the widget sessions verified as them or that started
	// their conversations, their blocks, email state and email log rows, jobs naming them or their
	// conversations, and login failures quoting them. ErrNotFound when there is no such customer.
	// The append-only audit trail is left as it is.
	EraseCustomer(ctx context.Context, workspaceID, customerID string) (ErasedCustomer, error)
	// DeleteClosedConversations deletes up to limit of the workspace's conversations closed at or before
	// closedBefore, oldest first, with their messages, events, marks and attachments (chunks in
	// blob_chunks included), and the anonymous or identified sessions that started them when no other
	// conversation names them and they were last seen at or before closedBefore, with those sessions'
	// unsent uploads. Verified customers stay.
	DeleteClosedConversations(ctx context.Context, workspaceID string, closedBefore time.Time, limit int) (PurgedConversations, error)

	// SetConversationInbox stores a conversation's InboxID (and UpdatedAt).
	SetConversationInbox(ctx context.Context, conversationID, inboxID string, at time.Time) error
	// MarkRead records that the agent has seen the conversation up to seq; a lower seq than the one
	// recorded changes nothing.
	MarkRead(ctx context.Context, agentID, conversationID string, seq int64) error
	// MarkCustomerSeen records that the customer has seen the conversation up to its message number n,
	// at the given time; a mark at or past n changes nothing. It reports whether it moved the mark.
	MarkCustomerSeen(ctx context.Context, conversationID string, n int64, at time.Time) (bool, error)

	// CreateInbox stores in (with its Members); ErrConflict when the workspace has an inbox of that name.
	CreateInbox(ctx context.Context, in *Inbox) error
	// UpdateInbox stores Name and Members; ErrConflict on a duplicate name.
	UpdateInbox(ctx context.Context, in *Inbox) error
	// DeleteInbox removes an inbox, its rules, and its conversations' InboxID.
	DeleteInbox(ctx context.Context, workspaceID, id string) error
	// ReplaceRoutingRules replaces a workspace's whole ordered rule list; Position is taken from the
	// slice order and IDs must be set.
	ReplaceRoutingRules(ctx context.Context, workspaceID string, rules []RoutingRule) error

	// AddLoginFailure stores f and assigns f.Seq, keeping at most keep failures per workspace (the
	// oldest go).
	AddLoginFailure(ctx context.Context, f *LoginFailure, keep int) error

	// SetSigningKeySecret replaces a key's stored secret (sealing a secret stored before sealing existed).
	SetSigningKeySecret(ctx context.Context, workspaceID, id string, secret []byte) error

	// CreateAPIKey stores k; ErrConflict when its id or hash is taken, ErrNotFound when its workspace is
	// missing.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// RevokeAPIKey ends a live API key of the workspace; ErrNotFound when there is none.
	RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) error
	// TouchAPIKey records a use; implementations may skip the write when the recorded time is recent.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// AddAuditEvent stores e and assigns e.Seq.
	AddAuditEvent(ctx context.Context, e *AuditEvent) error

	// CreateBlock stores b; ErrNotFound when its workspace is missing.
	CreateBlock(ctx context.Context, b *Block) error
	// LiftBlock records that an agent lifted a block of the workspace that was not lifted yet;
	// ErrNotFound when there is none.
	LiftBlock(ctx context.Context, workspaceID, id, agentID string, at time.Time) error
	// SetSessionClientAddr records the client address a session's message came from. It writes only
	// when the address changed, so calling it with every message costs no extra row write. A store may
	// send it with the transaction's next statement (PostgreSQL does, to save a round trip): a failure
	// may then be reported by that statement or by the commit; the transaction fails either way.
	SetSessionClientAddr(ctx context.Context, sessionID, addr string) error

	// SetClaimedAttributes replaces the attributes a session's visitor claims; ErrNotFound when there is
	// no such session. A new session claims none.
	SetClaimedAttributes(ctx context.Context, sessionID string, a attributes.Set) error

	// CreateCannedResponse stores c; ErrConflict when its shortcut is taken in its scope, ErrNotFound
	// when its workspace or owner is missing.
	CreateCannedResponse(ctx context.Context, c *CannedResponse) error
	// UpdateCannedResponse stores Title, Shortcut, Body and UpdatedAt of the workspace's response c.ID;
	// ErrNotFound when there is none, ErrConflict when the shortcut is taken in its scope.
	UpdateCannedResponse(ctx context.Context, c *CannedResponse) error
	// DeleteCannedResponse deletes one canned response of the workspace; ErrNotFound when there is none.
	DeleteCannedResponse(ctx context.Context, workspaceID, id string) error

	// CreateAttachment stores a (normally in state AttachmentUploading); ErrNotFound when its workspace
	// is missing.
	CreateAttachment(ctx context.Context, a *Attachment) error
	// CompleteAttachment stores Name, Kind, ContentType, Size, Width, Height and SHA256 of an uploading
	// attachment and makes it ready; ErrNotFound when there is no such uploading attachment.
	CompleteAttachment(ctx context.Context, a *Attachment) error
	// DeleteAttachment deletes an attachment record that no message refers to; ErrNotFound when there
	// is none. Its stored bytes are the caller's to delete.
	DeleteAttachment(ctx context.Context, id string) error
	// PutBlobChunk stores chunk n of object key, replacing one stored before.
	PutBlobChunk(ctx context.Context, key string, n int, data []byte) error
	// DeleteBlob deletes up to limit chunks of object key and returns how many it deleted.
	DeleteBlob(ctx context.Context, key string, limit int) (int, error)

	// SetCustomerOptOut records that a customer unsubscribed from email (at), or subscribed again (zero).
	SetCustomerOptOut(ctx context.Context, customerID string, at time.Time) error
	// MarkCustomerEmailed records when a customer was last emailed.
	MarkCustomerEmailed(ctx context.Context, customerID string, at time.Time) error
	// MarkConversationEmailed records that the conversation was emailed up to message number n; a lower
	// n than the one recorded changes nothing.
	MarkConversationEmailed(ctx context.Context, conversationID string, n int64, at time.Time) error
	// LogEmail stores an email log entry, or updates the one with the same JobKey (State, Attempts,
	// Reply, Recipient, Subject, UpdatedAt), and assigns e.ID.
	LogEmail(ctx context.Context, e *EmailLogEntry) error
	// DeleteEmailLog deletes up to limit entries last updated at or before the given time and returns
	// how many it deleted.
	DeleteEmailLog(ctx context.Context, before time.Time, limit int) (int, error)

	// CreateWebhookEndpoint stores a new endpoint.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// UpdateWebhookEndpoint stores URL, Events, IncludeNotes, Secret, PreviousSecret, PreviousUntil,
	// UpdatedAt, DisabledAt and FailingSince; ErrNotFound when the workspace has no such endpoint.
	UpdateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// DeleteWebhookEndpoint deletes an endpoint and its delivery log; ErrNotFound when there is none.
	DeleteWebhookEndpoint(ctx context.Context, workspaceID, id string) error
	// AddWebhookDelivery stores a delivery attempt and assigns d.ID.
	AddWebhookDelivery(ctx context.Context, d *WebhookDelivery) error
	// DeleteWebhookDeliveries deletes up to limit delivery attempts made at or before the given time and
	// returns how many it deleted.
	DeleteWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error)

	// EnqueueJob stores j (State pending, Attempts 0) and assigns j.ID. When a job of the same Kind and Key
	// exists already, it changes nothing and reports false with that job's ID.
	EnqueueJob(ctx context.Context, j *Job) (bool, error)
	// ClaimJobs takes up to limit pending jobs due at now (RunAt at or before it), oldest RunAt first:
	// each gets the lease, RunAt leaseUntil and one more attempt. Jobs another transaction holds are
	// skipped, not waited for, so runners on several instances never take the same job.
	ClaimJobs(ctx context.Context, now, leaseUntil time.Time, lease string, limit int) ([]Job, error)
	// FinishJob marks a claimed job done; ErrLeaseLost unless it is pending under that lease.
	FinishJob(ctx context.Context, id int64, lease string, at time.Time) error
	// RetryJob gives a claimed job back: pending again at runAt, or dead when dead is set, with lastError
	// recorded; ErrLeaseLost unless it is pending under that lease.
	RetryJob(ctx context.Context, id int64, lease string, runAt time.Time, lastError string, dead bool, at time.Time) error
	// DeleteFinishedJobs deletes up to limit done or dead jobs last updated at or before the given time
	// and returns how many it deleted.
	DeleteFinishedJobs(ctx context.Context, before time.Time, limit int) (int, error)

	// Notify sends payload to the listeners of channel when the transaction commits, and not at all if
	// it rolls back; listeners receive notifications in commit order. Stores that serve one process
	// (SQLite) have no listeners and do nothing.
	Notify(ctx context.Context, channel string, payload []byte) error
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
