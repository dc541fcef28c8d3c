package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parleyhq/parley/internal/store"
)

// queries implements store.Reader on the pool or in a transaction; txn adds the writes.
type queries struct{ db querier }

type txn struct {
	queries
	s    *Store
	lazy *lazyTx
	// noEndpoints is a workspace that, as this transaction sees the database, has no webhook endpoint
	// (learnt by an append, which looks as part of its statement): WebhookEndpoints then needs no
	// statement. Serializable transactions see one snapshot throughout, so the answer cannot change
	// under it, except by the transaction's own writes, which clear it.
	noEndpoints string
}

var _ store.Tx = (*txn)(nil)

// Nullable text columns are read through COALESCE, so an absent value scans as "".
const (
	workspaceColumns = `id, name, settings, created_at, updated_at`
	keyColumns       = `workspace_id, kid, kind, alg, secret, public_key, jwks_url, allow_private, created_at, revoked_at, last_used_at`
	sessionColumns   = `id, workspace_id, token_hash, level, COALESCE(customer_id, ''), claimed_name, claimed_email,
		claimed_phone, key_id, verified_at, created_at, updated_at, revoked_at, key_source, last_seen_at`
	sessionInsertColumns = `id, workspace_id, token_hash, level, customer_id, claimed_name, claimed_email, claimed_phone,
		key_id, verified_at, created_at, updated_at, revoked_at, key_source, last_seen_at`
	customerColumns       = `id, workspace_id, COALESCE(external_id, ''), COALESCE(email, ''), name, first_name, phone, created_at, updated_at, logged_out_at, attributes, first_verified_at, locale`
	customerInsertColumns = `id, workspace_id, external_id, email, name, first_name, phone, created_at, updated_at, logged_out_at, attributes, first_verified_at, locale`
	// conversationColumns derives the last message time from the newest message (an index lookup).
	conversationColumns = `id, workspace_id, COALESCE(customer_id, ''), session_id, status, claimed_name, claimed_email,
		assignee_id, inbox_id, created_at, updated_at,
		(SELECT m.created_at FROM messages m WHERE m.conversation_id = conversations.id AND NOT m.internal ORDER BY m.seq DESC LIMIT 1),
		closed_at`
	conversationInsertColumns = `id, workspace_id, customer_id, session_id, status, claimed_name, claimed_email,
		assignee_id, inbox_id, created_at, updated_at, closed_at`
	messageColumns       = `seq, n, conversation_id, sender, COALESCE(session_id, ''), COALESCE(agent_id, ''), body, trusted, COALESCE(client_id, ''), created_at, internal, attachments`
	messageInsertColumns = `conversation_id, sender, session_id, agent_id, body, trusted, client_id, created_at, n, attachments`
	agentColumns         = `id, workspace_id, email, name, role, password_hash, available, created_at, updated_at, disabled_at, totp_secret, totp_enabled_at, totp_last_step, password_changed_at`
	agentSessionColumns  = `token_hash, agent_id, csrf_token, created_at, expires_at, revoked_at, id, stage, method, user_agent, addr, last_seen_at`
)

const (
	sqlWorkspace  = `SELECT ` + workspaceColumns + ` FROM workspaces WHERE id = $1`
	sqlWorkspaces = `SELECT ` + workspaceColumns + ` FROM workspaces ORDER BY created_at, id COLLATE "C"`
	sqlKeys       = `SELECT ` + keyColumns + ` FROM signing_keys WHERE workspace_id = $1 ORDER BY created_at, kid COLLATE "C"`

	// The token lookups read the row through the unique index on token_hash alone: the sub-select asks
	// only for the hash (OFFSET 0 keeps the planner from merging it with the outer condition), and the
	// outer query drops an ended session. Asked for "token_hash = $1 AND revoked_at IS NULL" at once, the
	// planner may also use any partial index WHERE revoked_at IS NULL, and on tables it has no statistics
	// for (a fresh deployment: autovacuum analyses late, or never if it is off) those cost the same as the
	// unique one, and it chose one of them — reading every live session on every request. Statistics
	// cannot rescue it either: a table that grows after ANALYZE has stale ones. (Issue 17.)
	sqlSessionByHash = `SELECT ` + sessionColumns + ` FROM (SELECT * FROM sessions WHERE token_hash = $1 OFFSET 0) sessions
		WHERE revoked_at IS NULL`
	sqlSession          = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = $1`
	sqlSessionWorkspace = `SELECT s.id, s.workspace_id, s.token_hash, s.level, COALESCE(s.customer_id, ''), s.claimed_name,
		s.claimed_email, s.claimed_phone, s.key_id, s.verified_at, s.created_at, s.updated_at, s.revoked_at, s.key_source, s.last_seen_at,
		w.id, w.name, w.settings, w.created_at, w.updated_at
		FROM (SELECT * FROM sessions WHERE token_hash = $1 OFFSET 0) s JOIN workspaces w ON w.id = s.workspace_id
		WHERE s.revoked_at IS NULL`
	sqlSessionsOfCustomer = `SELECT ` + sessionColumns + ` FROM sessions WHERE customer_id = $1 AND revoked_at IS NULL ORDER BY created_at`

	sqlCustomer           = `SELECT ` + customerColumns + ` FROM customers WHERE id = $1`
	sqlCustomerByExternal = `SELECT ` + customerColumns + ` FROM customers WHERE workspace_id = $1 AND external_id = $2`
	sqlCustomerByEmail    = `SELECT ` + customerColumns + ` FROM customers WHERE workspace_id = $1 AND email = $2 AND external_id IS NULL`
	sqlCountByEmail       = `SELECT COUNT(*) FROM customers WHERE workspace_id = $1 AND email = $2`

	// Newest first: by creation time, then the later inserted (SQLite's rowid order).
	newestFirst                 = ` ORDER BY conversations.created_at DESC, conversations.insert_order DESC`
	sqlConversation             = `SELECT ` + conversationColumns + ` FROM conversations WHERE id = $1`
	sqlOpenConversationCustomer = `SELECT ` + conversationColumns + ` FROM conversations WHERE customer_id = $1 AND status = 'open'` + newestFirst + ` LIMIT 1`
	sqlOpenConversationSession  = `SELECT ` + conversationColumns + ` FROM conversations WHERE session_id = $1 AND customer_id IS NULL AND status = 'open'` + newestFirst + ` LIMIT 1`
	sqlConversationsOfCustomer  = `SELECT ` + conversationColumns + ` FROM conversations WHERE customer_id = $1` + newestFirst
	sqlConversationsOfSession   = `SELECT ` + conversationColumns + ` FROM conversations WHERE session_id = $1 AND customer_id IS NULL` + newestFirst
	sqlInsertConversation       = `INSERT INTO conversations (` + conversationInsertColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlUpdateConversation       = `UPDATE conversations SET status = $1, customer_id = $2, claimed_name = $3, claimed_email = $4,
		assignee_id = $5, inbox_id = $6, updated_at = $7, closed_at = $8 WHERE id = $9`
	sqlSetConversationInbox = `UPDATE conversations SET inbox_id = $1, updated_at = $2 WHERE id = $3`
	sqlAdoptConversations   = `UPDATE conversations SET customer_id = $1, updated_at = $2 WHERE session_id = $3 AND customer_id IS NULL RETURNING id`

	sqlMessages               = `SELECT ` + messageColumns + ` FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	sqlMessagesAfterNumber    = `SELECT ` + messageColumns + ` FROM messages WHERE conversation_id = $1 AND n > $2 AND NOT internal ORDER BY n LIMIT $3`
	sqlMessageByClientID      = `SELECT ` + messageColumns + ` FROM messages WHERE session_id = $1 AND client_id = $2`
	sqlMessageByAgentClientID = `SELECT ` + messageColumns + ` FROM messages WHERE agent_id = $1 AND client_id = $2`
	// sqlInsertMessage locks the conversation's row before the insert takes the next seq (the plan locks
	// the row, then evaluates the column default), so appends to one conversation take their numbers one
	// at a time, each after the previous append has committed or rolled back. FOR NO KEY UPDATE leaves
	// foreign-key checks (FOR KEY SHARE) from other tables unblocked. No row: the conversation is missing.
	// The number is the conversation's highest (at least 0: notes are below) plus one; an internal note
	// takes the conversation's lowest number (at most 0) minus one instead. Like sqlAppendToOpen… it also
	// says whether the conversation's workspace has a webhook endpoint (txn.noEndpoints).
	sqlInsertMessage = `WITH c AS (
			SELECT id, workspace_id FROM conversations WHERE id = $1 FOR NO KEY UPDATE
		), m AS (
			INSERT INTO messages (` + messageInsertColumns + `, internal)
			SELECT id, $2::text, $3::text, $4::text, $5::text, $6::boolean, $7::text, $8::timestamptz,
				CASE WHEN $9::boolean THEN LEAST((SELECT COALESCE(MIN(n), 0) FROM messages WHERE conversation_id = $1), 0) - 1
				ELSE GREATEST((SELECT COALESCE(MAX(n), 0) FROM messages WHERE conversation_id = $1), 0) + 1 END, $10::integer, $9::boolean
			FROM c
			RETURNING seq, n
		)
		SELECT m.seq, m.n, c.workspace_id, EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.workspace_id = c.workspace_id)
		FROM c, m`
	// sqlAppendToOpen… find the owner's newest open conversation, lock it and append to it, in one
	// statement. LockRows sits below LIMIT, so a conversation closed while the statement waited for its
	// lock is passed over for the next one. It also says whether the workspace has a webhook endpoint,
	// which the post asks next (txn.noEndpoints): one index probe here instead of a round trip.
	sqlAppendToOpenCustomer = `WITH c AS (
			SELECT ` + conversationInsertColumns + ` FROM conversations
			WHERE customer_id = $1 AND status = 'open'` + newestFirst + ` LIMIT 1 FOR NO KEY UPDATE
		)` + appendToOpen
	sqlAppendToOpenSession = `WITH c AS (
			SELECT ` + conversationInsertColumns + ` FROM conversations
			WHERE session_id = $1 AND customer_id IS NULL AND status = 'open'` + newestFirst + ` LIMIT 1 FOR NO KEY UPDATE
		)` + appendToOpen
	appendToOpen = `, m AS (
			INSERT INTO messages (` + messageInsertColumns + `)
			SELECT id, $2::text, $3::text, $4::text, $5::text, $6::boolean, $7::text, $8::timestamptz,
				GREATEST((SELECT COALESCE(MAX(n), 0) FROM messages WHERE conversation_id = c.id), 0) + 1, $9::integer FROM c
			RETURNING seq, n
		)
		SELECT c.id, c.workspace_id, COALESCE(c.customer_id, ''), c.session_id, c.status, c.claimed_name, c.claimed_email,
			c.assignee_id, c.inbox_id, c.created_at, c.updated_at, NULL::timestamptz, c.closed_at, m.seq, m.n,
			EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.workspace_id = c.workspace_id)
		FROM c, m`
	sqlEvents = `SELECT seq, conversation_id, type, data, created_at FROM events WHERE conversation_id = $1 ORDER BY seq`
	// Events are numbered like messages, under the same lock.
	sqlInsertEvent = `INSERT INTO events (conversation_id, type, data, created_at)
		SELECT id, $2::text, $3::jsonb, $4::timestamptz FROM conversations WHERE id = $1 FOR NO KEY UPDATE
		RETURNING seq`

	sqlInsertWorkspace = `INSERT INTO workspaces (` + workspaceColumns + `) VALUES ($1, $2, $3, $4, $5)`
	sqlUpdateWorkspace = `UPDATE workspaces SET name = $1, settings = $2, updated_at = $3 WHERE id = $4`
	sqlInsertKey       = `INSERT INTO signing_keys (` + keyColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	sqlRevokeKey       = `UPDATE signing_keys SET revoked_at = $1 WHERE workspace_id = $2 AND kid = $3 AND revoked_at IS NULL`
	sqlTouchKey        = `UPDATE signing_keys SET last_used_at = $1 WHERE workspace_id = $2 AND kid = $3 AND (last_used_at IS NULL OR last_used_at < $4)`
	sqlInsertSession   = `INSERT INTO sessions (` + sessionInsertColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	sqlUpdateSession   = `UPDATE sessions SET token_hash = $1, level = $2, customer_id = $3, claimed_name = $4, claimed_email = $5,
		claimed_phone = $6, key_id = $7, verified_at = $8, updated_at = $9, revoked_at = $10, key_source = $11,
		last_seen_at = GREATEST(last_seen_at, $12) WHERE id = $13`
	sqlInsertCustomer = `INSERT INTO customers (` + customerInsertColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	sqlUpdateCustomer = `UPDATE customers SET external_id = $1, email = $2, name = $3, first_name = $4, phone = $5, updated_at = $6, logged_out_at = $7, attributes = $8, first_verified_at = $9, locale = $10 WHERE id = $11`
	// An expired record may be reused; a live one makes the statement change nothing.
	sqlUseJTI = `INSERT INTO used_jtis (workspace_id, jti, until) VALUES ($1, $2, $3)
		ON CONFLICT (workspace_id, jti) DO UPDATE SET until = excluded.until WHERE used_jtis.until <= $4`
	sqlPurgeJTIs = `DELETE FROM used_jtis WHERE until <= $1`

	sqlAgent              = `SELECT ` + agentColumns + ` FROM agents WHERE id = $1`
	sqlAgentByEmail       = `SELECT ` + agentColumns + ` FROM agents WHERE email = $1`
	sqlAgents             = `SELECT ` + agentColumns + ` FROM agents WHERE workspace_id = $1 ORDER BY created_at, id COLLATE "C"`
	sqlAgentSessionByHash = `SELECT ` + agentSessionColumns + ` FROM agent_sessions WHERE token_hash = $1 AND revoked_at IS NULL`
	sqlAgentSessionAgent  = `SELECT s.token_hash, s.agent_id, s.csrf_token, s.created_at, s.expires_at, s.revoked_at,
		s.id, s.stage, s.method, s.user_agent, s.addr, s.last_seen_at,
		a.id, a.workspace_id, a.email, a.name, a.role, a.password_hash, a.available, a.created_at, a.updated_at, a.disabled_at,
		a.totp_secret, a.totp_enabled_at, a.totp_last_step, a.password_changed_at
		FROM agent_sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = $1 AND s.revoked_at IS NULL`
	sqlInsertAgent         = `INSERT INTO agents (` + agentColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	sqlUpdateAgent         = `UPDATE agents SET name = $1, role = $2, password_hash = $3, available = $4, updated_at = $5, disabled_at = $6, totp_secret = $7, totp_enabled_at = $8, password_changed_at = $9 WHERE id = $10`
	sqlInsertAgentSession  = `INSERT INTO agent_sessions (` + agentSessionColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlRevokeAgentSession  = `UPDATE agent_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL`
	sqlRevokeAgentSessions = `UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL`
)

const (
	// touchKeyGranularity is how stale a key's last-used time may get before a login rewrites it.
	touchKeyGranularity = time.Minute
	// maxMessagesPerRead caps one page of messages.
	maxMessagesPerRead = 1000
)

// Times: timestamptz keeps microseconds, and NULL stands for the zero time.

// ts is a time as a query argument.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// tz is a destination that scans a timestamptz into *t, in UTC, and NULL as the zero time.
func tz(t *time.Time) timeDest { return timeDest{t} }

type timeDest struct{ t *time.Time }

func (d timeDest) ScanTimestamptz(v pgtype.Timestamptz) error {
	*d.t = time.Time{}
	if v.Valid {
		*d.t = v.Time.UTC()
	}
	return nil
}

// nullString stores "" as NULL, for the columns whose uniqueness or meaning depends on absence.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Workspaces

func workspaceDest(w *store.Workspace) []any {
	return []any{&w.ID, &w.Name, &w.Settings, tz(&w.CreatedAt), tz(&w.UpdatedAt)}
}

func scanWorkspace(row pgx.Row) (store.Workspace, error) {
	var w store.Workspace
	err := row.Scan(workspaceDest(&w)...)
	return w, err
}

func (q queries) Workspace(ctx context.Context, id string) (store.Workspace, error) {
	w, err := scanWorkspace(q.db.QueryRow(ctx, sqlWorkspace, id))
	if err != nil {
		return w, notFound(err, "workspace")
	}
	return w, nil
}

func (q queries) Workspaces(ctx context.Context) ([]store.Workspace, error) {
	return list(ctx, q.db, "workspaces", scanWorkspace, sqlWorkspaces)
}

func (t *txn) CreateWorkspace(ctx context.Context, w *store.Workspace) error {
	_, err := t.db.Exec(ctx, sqlInsertWorkspace, w.ID, w.Name, w.Settings, ts(w.CreatedAt), ts(w.UpdatedAt))
	if err != nil {
		return writeErr(err, "insert workspace")
	}
	return nil
}

func (t *txn) UpdateWorkspace(ctx context.Context, w *store.Workspace) error {
	tag, err := t.db.Exec(ctx, sqlUpdateWorkspace, w.Name, w.Settings, ts(w.UpdatedAt), w.ID)
	return mustChange(tag, err, "update workspace")
}

// Signing keys

func scanKey(row pgx.Row) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.WorkspaceID, &k.ID, &k.Kind, &k.Alg, &k.Secret, &k.PublicKey, &k.JWKSURL, &k.AllowPrivate,
		tz(&k.CreatedAt), tz(&k.RevokedAt), tz(&k.LastUsedAt))
	return k, err
}

func (q queries) SigningKeys(ctx context.Context, workspaceID string) ([]store.SigningKey, error) {
	return list(ctx, q.db, "signing keys", scanKey, sqlKeys, workspaceID)
}

func (t *txn) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	kind := k.Kind
	if kind == "" {
		kind = store.KeyHMAC
	}
	secret := k.Secret
	if secret == nil {
		secret = []byte{} // the column is NOT NULL; public keys and JWKS have no secret
	}
	_, err := t.db.Exec(ctx, sqlInsertKey, k.WorkspaceID, k.ID, kind, k.Alg, secret, k.PublicKey, k.JWKSURL, k.AllowPrivate,
		ts(k.CreatedAt), ts(k.RevokedAt), ts(k.LastUsedAt))
	if err != nil {
		return writeErr(err, "insert signing key")
	}
	return nil
}

func (t *txn) RevokeSigningKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	tag, err := t.db.Exec(ctx, sqlRevokeKey, ts(at), workspaceID, id)
	return mustChange(tag, err, "revoke signing key")
}

func (t *txn) TouchSigningKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	// Recording every use would add a write to every login; minute precision is what admins read.
	_, err := t.db.Exec(ctx, sqlTouchKey, ts(at), workspaceID, id, at.Add(-touchKeyGranularity))
	if err != nil {
		return writeErr(err, "touch signing key")
	}
	return nil
}

// Sessions

func sessionDest(x *store.Session) []any {
	return []any{&x.ID, &x.WorkspaceID, &x.TokenHash, &x.Level, &x.CustomerID, &x.ClaimedName, &x.ClaimedEmail,
		&x.ClaimedPhone, &x.KeyID, tz(&x.VerifiedAt), tz(&x.CreatedAt), tz(&x.UpdatedAt), tz(&x.RevokedAt), &x.KeySource, tz(&x.LastSeenAt)}
}

func scanSession(row pgx.Row) (store.Session, error) {
	var x store.Session
	err := row.Scan(sessionDest(&x)...)
	return x, err
}

func (q queries) SessionAndWorkspace(ctx context.Context, hash []byte) (store.Session, store.Workspace, error) {
	var x store.Session
	var w store.Workspace
	if err := q.db.QueryRow(ctx, sqlSessionWorkspace, hash).Scan(append(sessionDest(&x), workspaceDest(&w)...)...); err != nil {
		return store.Session{}, store.Workspace{}, notFound(err, "session and workspace by token")
	}
	return x, w, nil
}

func (q queries) SessionByTokenHash(ctx context.Context, hash []byte) (store.Session, error) {
	x, err := scanSession(q.db.QueryRow(ctx, sqlSessionByHash, hash))
	if err != nil {
		return x, notFound(err, "session by token")
	}
	return x, nil
}

func (q queries) Session(ctx context.Context, id string) (store.Session, error) {
	x, err := scanSession(q.db.QueryRow(ctx, sqlSession, id))
	if err != nil {
		return x, notFound(err, "session")
	}
	return x, nil
}

func (q queries) LiveSessionsOfCustomer(ctx context.Context, customerID string) ([]store.Session, error) {
	return list(ctx, q.db, "sessions of customer", scanSession, sqlSessionsOfCustomer, customerID)
}

func (t *txn) CreateSession(ctx context.Context, x *store.Session) error {
	if x.LastSeenAt.IsZero() {
		x.LastSeenAt = x.CreatedAt
	}
	seen := x.LastSeenAt
	_, err := t.db.Exec(ctx, sqlInsertSession, x.ID, x.WorkspaceID, x.TokenHash, x.Level, nullString(x.CustomerID),
		x.ClaimedName, x.ClaimedEmail, x.ClaimedPhone, x.KeyID, ts(x.VerifiedAt), ts(x.CreatedAt), ts(x.UpdatedAt), ts(x.RevokedAt), x.KeySource, ts(seen))
	if err != nil {
		return writeErr(err, "insert session")
	}
	return nil
}

func (t *txn) UpdateSession(ctx context.Context, x *store.Session) error {
	tag, err := t.db.Exec(ctx, sqlUpdateSession, x.TokenHash, x.Level, nullString(x.CustomerID), x.ClaimedName,
		x.ClaimedEmail, x.ClaimedPhone, x.KeyID, ts(x.VerifiedAt), ts(x.UpdatedAt), ts(x.RevokedAt), x.KeySource, ts(x.LastSeenAt), x.ID)
	return mustChange(tag, err, "update session")
}

// Customers

func scanCustomer(row pgx.Row) (store.Customer, error) {
	var c store.Customer
	var attrs string
	err := row.Scan(&c.ID, &c.WorkspaceID, &c.ExternalID, &c.Email, &c.Name, &c.FirstName, &c.Phone,
		tz(&c.CreatedAt), tz(&c.UpdatedAt), tz(&c.LoggedOutAt), &attrs, tz(&c.FirstVerifiedAt), &c.Locale)
	if err == nil {
		c.Attributes, err = storedAttributes(attrs, "customer "+c.ID)
	}
	return c, err
}

func (q queries) Customer(ctx context.Context, id string) (store.Customer, error) {
	c, err := scanCustomer(q.db.QueryRow(ctx, sqlCustomer, id))
	if err != nil {
		return c, notFound(err, "customer")
	}
	return c, nil
}

func (q queries) CustomerByExternalID(ctx context.Context, workspaceID, externalID string) (store.Customer, error) {
	c, err := scanCustomer(q.db.QueryRow(ctx, sqlCustomerByExternal, workspaceID, externalID))
	if err != nil {
		return c, notFound(err, "customer by external id")
	}
	return c, nil
}

func (q queries) CustomerByEmail(ctx context.Context, workspaceID, email string) (store.Customer, error) {
	c, err := scanCustomer(q.db.QueryRow(ctx, sqlCustomerByEmail, workspaceID, email))
	if err != nil {
		return c, notFound(err, "customer by email")
	}
	return c, nil
}

func (q queries) CountCustomersWithEmail(ctx context.Context, workspaceID, email string) (int, error) {
	var n int
	if err := q.db.QueryRow(ctx, sqlCountByEmail, workspaceID, email).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count customers by email: %w", err)
	}
	return n, nil
}

func (t *txn) CreateCustomer(ctx context.Context, c *store.Customer) error {
	_, err := t.db.Exec(ctx, sqlInsertCustomer, c.ID, c.WorkspaceID, nullString(c.ExternalID), nullString(c.Email),
		c.Name, c.FirstName, c.Phone, ts(c.CreatedAt), ts(c.UpdatedAt), ts(c.LoggedOutAt), c.Attributes.String(), ts(c.FirstVerifiedAt), c.Locale)
	if err != nil {
		return writeErr(err, "insert customer")
	}
	return nil
}

func (t *txn) UpdateCustomer(ctx context.Context, c *store.Customer) error {
	tag, err := t.db.Exec(ctx, sqlUpdateCustomer, nullString(c.ExternalID), nullString(c.Email), c.Name, c.FirstName,
		c.Phone, ts(c.UpdatedAt), ts(c.LoggedOutAt), c.Attributes.String(), ts(c.FirstVerifiedAt), c.Locale, c.ID)
	return mustChange(tag, err, "update customer")
}

// Conversations

// conversationDest receives a conversation's columns in conversationColumns' order.
func conversationDest(c *store.Conversation) []any {
	return []any{&c.ID, &c.WorkspaceID, &c.CustomerID, &c.SessionID, &c.Status, &c.ClaimedName, &c.ClaimedEmail,
		&c.AssigneeID, &c.InboxID, tz(&c.CreatedAt), tz(&c.UpdatedAt), tz(&c.LastMessage), tz(&c.ClosedAt)}
}

func scanConversation(row pgx.Row) (store.Conversation, error) {
	var c store.Conversation
	err := row.Scan(conversationDest(&c)...)
	return c, err
}

func (q queries) Conversation(ctx context.Context, id string) (store.Conversation, error) {
	c, err := scanConversation(q.db.QueryRow(ctx, sqlConversation, id))
	if err != nil {
		return c, notFound(err, "conversation")
	}
	return c, nil
}

func (q queries) OpenConversation(ctx context.Context, owner store.Owner) (store.Conversation, error) {
	query, arg := sqlOpenConversationSession, owner.SessionID
	if owner.CustomerID != "" {
		query, arg = sqlOpenConversationCustomer, owner.CustomerID
	}
	c, err := scanConversation(q.db.QueryRow(ctx, query, arg))
	if err != nil {
		return c, notFound(err, "open conversation")
	}
	return c, nil
}

func (q queries) Conversations(ctx context.Context, owner store.Owner) ([]store.Conversation, error) {
	if owner.CustomerID != "" {
		return list(ctx, q.db, "conversations of customer", scanConversation, sqlConversationsOfCustomer, owner.CustomerID)
	}
	return list(ctx, q.db, "conversations of session", scanConversation, sqlConversationsOfSession, owner.SessionID)
}

func (q queries) ConversationsOfCustomer(ctx context.Context, customerID string) ([]store.Conversation, error) {
	return list(ctx, q.db, "conversations of customer", scanConversation, sqlConversationsOfCustomer, customerID)
}

func (t *txn) CreateConversation(ctx context.Context, c *store.Conversation) error {
	_, err := t.db.Exec(ctx, sqlInsertConversation, c.ID, c.WorkspaceID, nullString(c.CustomerID), c.SessionID, c.Status,
		c.ClaimedName, c.ClaimedEmail, c.AssigneeID, c.InboxID, ts(c.CreatedAt), ts(c.UpdatedAt), ts(c.ClosedAt))
	if err != nil {
		return writeErr(err, "insert conversation")
	}
	return nil
}

func (t *txn) UpdateConversation(ctx context.Context, c *store.Conversation) error {
	tag, err := t.db.Exec(ctx, sqlUpdateConversation, c.Status, nullString(c.CustomerID), c.ClaimedName, c.ClaimedEmail,
		c.AssigneeID, c.InboxID, ts(c.UpdatedAt), ts(c.ClosedAt), c.ID)
	return mustChange(tag, err, "update conversation")
}

func (t *txn) SetConversationInbox(ctx context.Context, conversationID, inboxID string, at time.Time) error {
	tag, err := t.db.Exec(ctx, sqlSetConversationInbox, inboxID, ts(at), conversationID)
	return mustChange(tag, err, "set conversation inbox")
}

func (t *txn) AdoptConversations(ctx context.Context, sessionID, customerID string, at time.Time) ([]string, error) {
	rows, err := t.db.Query(ctx, sqlAdoptConversations, customerID, ts(at), sessionID)
	if err != nil {
		return nil, writeErr(err, "adopt conversations")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, writeErr(err, "adopt conversations")
	}
	return ids, nil
}

// Messages and events

func scanMessage(row pgx.Row) (store.Message, error) {
	var m store.Message
	var attachments int
	err := row.Scan(&m.Seq, &m.N, &m.ConversationID, &m.Sender, &m.SessionID, &m.AgentID, &m.Body, &m.Trusted, &m.ClientID,
		tz(&m.CreatedAt), &m.Internal, &attachments)
	if attachments > 0 {
		// A placeholder of the right length: fillAttachments replaces it with the records.
		m.Attachments = make([]store.Attachment, attachments)
	}
	return m, err
}

func (q queries) Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]store.Message, error) {
	if limit <= 0 || limit > maxMessagesPerRead {
		limit = maxMessagesPerRead
	}
	return q.withAttachments(ctx)(list(ctx, q.db, "messages", scanMessage, sqlMessages, conversationID, afterSeq, limit))
}

func (q queries) MessagesAfterNumber(ctx context.Context, conversationID string, afterN int64, limit int) ([]store.Message, error) {
	if limit <= 0 || limit > maxMessagesPerRead {
		limit = maxMessagesPerRead
	}
	return q.withAttachments(ctx)(list(ctx, q.db, "messages after number", scanMessage, sqlMessagesAfterNumber, conversationID, afterN, limit))
}

func (q queries) MessageByClientID(ctx context.Context, sessionID, clientID string) (store.Message, error) {
	m, err := scanMessage(q.db.QueryRow(ctx, sqlMessageByClientID, sessionID, clientID))
	if err != nil {
		return m, notFound(err, "message by client id")
	}
	return q.withAttachment(ctx, m)
}

func (q queries) MessageByAgentClientID(ctx context.Context, agentID, clientID string) (store.Message, error) {
	m, err := scanMessage(q.db.QueryRow(ctx, sqlMessageByAgentClientID, agentID, clientID))
	if err != nil {
		return m, notFound(err, "message by agent client id")
	}
	return q.withAttachment(ctx, m)
}

// messageArgs are a message's values for sqlInsertMessage and appendToOpen, from $2 on.
func messageArgs(first any, m *store.Message) []any {
	return []any{first, m.Sender, nullString(m.SessionID), nullString(m.AgentID), m.Body, m.Trusted,
		nullString(m.ClientID), ts(m.CreatedAt)}
}

func (t *txn) AppendMessage(ctx context.Context, m *store.Message) error {
	var workspaceID string
	var endpoints bool
	err := t.db.QueryRow(ctx, sqlInsertMessage, append(messageArgs(m.ConversationID, m), m.Internal, len(m.Attachments))...).Scan(&m.Seq, &m.N,
		&workspaceID, &endpoints)
	if err != nil {
		return notFound(err, "insert message")
	}
	if !endpoints {
		t.noEndpoints = workspaceID
	}
	return t.bindAttachments(ctx, m)
}

func (t *txn) AppendToOpenConversation(ctx context.Context, owner store.Owner, m *store.Message) (store.Conversation, error) {
	query, arg := sqlAppendToOpenSession, owner.SessionID
	if owner.CustomerID != "" {
		query, arg = sqlAppendToOpenCustomer, owner.CustomerID
	}
	var c store.Conversation
	var seq, n int64
	var endpoints bool
	if err := t.db.QueryRow(ctx, query, append(messageArgs(arg, m), len(m.Attachments))...).Scan(append(conversationDest(&c), &seq, &n, &endpoints)...); err != nil {
		return store.Conversation{}, notFound(err, "append to open conversation")
	}
	if !endpoints {
		t.noEndpoints = c.WorkspaceID
	}
	m.ConversationID, m.Seq, m.N = c.ID, seq, n
	c.LastMessage = m.CreatedAt
	return c, t.bindAttachments(ctx, m)
}

func scanEvent(row pgx.Row) (store.Event, error) {
	var e store.Event
	err := row.Scan(&e.Seq, &e.ConversationID, &e.Type, &e.Data, tz(&e.CreatedAt))
	return e, err
}

func (q queries) Events(ctx context.Context, conversationID string) ([]store.Event, error) {
	return list(ctx, q.db, "events", scanEvent, sqlEvents, conversationID)
}

func (t *txn) AppendEvent(ctx context.Context, e *store.Event) error {
	data := e.Data
	if data == nil {
		data = map[string]string{}
	}
	if err := t.db.QueryRow(ctx, sqlInsertEvent, e.ConversationID, e.Type, data, ts(e.CreatedAt)).Scan(&e.Seq); err != nil {
		return notFound(err, "insert event")
	}
	return nil
}

// Token ids

func (t *txn) UseJTI(ctx context.Context, workspaceID, jti string, until, now time.Time) error {
	tag, err := t.db.Exec(ctx, sqlUseJTI, workspaceID, jti, ts(until), ts(now))
	if err != nil {
		return writeErr(err, "use jti")
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: use jti: %w", store.ErrConflict)
	}
	return nil
}

func (t *txn) PurgeJTIs(ctx context.Context, before time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, sqlPurgeJTIs, ts(before))
	if err != nil {
		return 0, writeErr(err, "purge jtis")
	}
	return int(tag.RowsAffected()), nil
}

// Agents

func agentDest(a *store.Agent) []any {
	return []any{&a.ID, &a.WorkspaceID, &a.Email, &a.Name, &a.Role, &a.PasswordHash, &a.Available,
		tz(&a.CreatedAt), tz(&a.UpdatedAt), tz(&a.DisabledAt), &a.TOTPSecret, tz(&a.TOTPEnabledAt), &a.TOTPLastStep,
		tz(&a.PasswordChangedAt)}
}

func scanAgent(row pgx.Row) (store.Agent, error) {
	var a store.Agent
	err := row.Scan(agentDest(&a)...)
	return a, err
}

func (q queries) Agent(ctx context.Context, id string) (store.Agent, error) {
	a, err := scanAgent(q.db.QueryRow(ctx, sqlAgent, id))
	if err != nil {
		return a, notFound(err, "agent")
	}
	return a, nil
}

func (q queries) AgentByEmail(ctx context.Context, email string) (store.Agent, error) {
	a, err := scanAgent(q.db.QueryRow(ctx, sqlAgentByEmail, email))
	if err != nil {
		return a, notFound(err, "agent by email")
	}
	return a, nil
}

func (q queries) Agents(ctx context.Context, workspaceID string) ([]store.Agent, error) {
	return list(ctx, q.db, "agents", scanAgent, sqlAgents, workspaceID)
}

func (t *txn) CreateAgent(ctx context.Context, a *store.Agent) error {
	_, err := t.db.Exec(ctx, sqlInsertAgent, a.ID, a.WorkspaceID, a.Email, a.Name, a.Role, a.PasswordHash, a.Available,
		ts(a.CreatedAt), ts(a.UpdatedAt), ts(a.DisabledAt), a.TOTPSecret, ts(a.TOTPEnabledAt), a.TOTPLastStep,
		ts(a.PasswordChangedAt))
	if err != nil {
		return writeErr(err, "insert agent")
	}
	return nil
}

func (t *txn) UpdateAgent(ctx context.Context, a *store.Agent) error {
	// totp_last_step is not written here: only UseTOTPStep moves it, conditionally.
	tag, err := t.db.Exec(ctx, sqlUpdateAgent, a.Name, a.Role, a.PasswordHash, a.Available, ts(a.UpdatedAt),
		ts(a.DisabledAt), a.TOTPSecret, ts(a.TOTPEnabledAt), ts(a.PasswordChangedAt), a.ID)
	return mustChange(tag, err, "update agent")
}

// Agent sessions

func agentSessionDest(x *store.AgentSession) []any {
	return []any{&x.TokenHash, &x.AgentID, &x.CSRFToken, tz(&x.CreatedAt), tz(&x.ExpiresAt), tz(&x.RevokedAt), &x.ID,
		&x.Stage, &x.Method, &x.UserAgent, &x.Addr, tz(&x.LastSeenAt)}
}

func scanAgentSession(row pgx.Row) (store.AgentSession, error) {
	var x store.AgentSession
	err := row.Scan(agentSessionDest(&x)...)
	return x, err
}

func (q queries) AgentSessionByTokenHash(ctx context.Context, hash []byte) (store.AgentSession, error) {
	x, err := scanAgentSession(q.db.QueryRow(ctx, sqlAgentSessionByHash, hash))
	if err != nil {
		return x, notFound(err, "agent session by token")
	}
	return x, nil
}

func (q queries) AgentSessionAndAgent(ctx context.Context, hash []byte) (store.AgentSession, store.Agent, error) {
	var x store.AgentSession
	var a store.Agent
	if err := q.db.QueryRow(ctx, sqlAgentSessionAgent, hash).Scan(append(agentSessionDest(&x), agentDest(&a)...)...); err != nil {
		return store.AgentSession{}, store.Agent{}, notFound(err, "agent session and agent by token")
	}
	return x, a, nil
}

func (t *txn) CreateAgentSession(ctx context.Context, x *store.AgentSession) error {
	if x.ID == "" {
		return fmt.Errorf("store: insert agent session: no id")
	}
	_, err := t.db.Exec(ctx, sqlInsertAgentSession, x.TokenHash, x.AgentID, x.CSRFToken, ts(x.CreatedAt),
		ts(x.ExpiresAt), ts(x.RevokedAt), x.ID, x.Stage, x.Method, x.UserAgent, x.Addr, ts(x.LastSeenAt))
	if err != nil {
		return writeErr(err, "insert agent session")
	}
	return nil
}

func (t *txn) TouchAgentSession(ctx context.Context, hash []byte, at, ifBefore time.Time) (bool, error) {
	tag, err := t.db.Exec(ctx, `UPDATE agent_sessions SET last_seen_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL
		AND (last_seen_at IS NULL OR last_seen_at < $3)`, ts(at), hash, ts(ifBefore))
	if err != nil {
		return false, writeErr(err, "touch agent session")
	}
	return tag.RowsAffected() == 1, nil
}

func (t *txn) RevokeAgentSession(ctx context.Context, hash []byte, at time.Time) error {
	tag, err := t.db.Exec(ctx, sqlRevokeAgentSession, ts(at), hash)
	return mustChange(tag, err, "revoke agent session")
}

func (t *txn) RevokeAgentSessions(ctx context.Context, agentID string, at time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, sqlRevokeAgentSessions, ts(at), agentID)
	if err != nil {
		return 0, writeErr(err, "revoke agent sessions")
	}
	return int(tag.RowsAffected()), nil
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, db querier, what string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	return out, nil
}
