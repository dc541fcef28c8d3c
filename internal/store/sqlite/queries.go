package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// queries implements store.Reader on a runner; txn adds the writes.
type queries struct{ run runner }

type txn struct {
	queries
	// noEndpoints is a workspace that, as this transaction sees the database, has no webhook endpoint,
	// learnt by an append to the open conversation, which looks as part of its statement:
	// WebhookEndpoints then needs no statement. The transaction holds the only write lock, so the answer
	// cannot change under it except by its own writes, and creating an endpoint clears it.
	noEndpoints string
}

var _ store.Tx = (*txn)(nil)

const (
	workspaceColumns = `id, name, settings, created_at, updated_at`
	keyColumns       = `workspace_id, kid, kind, alg, secret, public_key, jwks_url, allow_private, created_at, revoked_at, last_used_at`
	sessionColumns   = `id, workspace_id, token_hash, level, customer_id, claimed_name, claimed_email, claimed_phone,
		key_id, verified_at, created_at, updated_at, revoked_at, key_source, last_seen_at`
	customerColumns = `id, workspace_id, external_id, email, name, first_name, phone, created_at, updated_at, logged_out_at, attributes, first_verified_at, locale`
	// conversationColumns derives the last message time from the newest message (an index lookup).
	conversationColumns = `id, workspace_id, customer_id, session_id, status, claimed_name, claimed_email,
		assignee_id, inbox_id, created_at, updated_at,
		(SELECT m.created_at FROM messages m WHERE m.conversation_id = conversations.id AND m.n > 0 ORDER BY m.n DESC LIMIT 1),
		closed_at`
	// conversationColumnsNoLast skips that lookup where the caller knows the answer (it is appending).
	conversationColumnsNoLast = `id, workspace_id, customer_id, session_id, status, claimed_name, claimed_email,
		assignee_id, inbox_id, created_at, updated_at, NULL, closed_at`
	conversationInsertColumns = `id, workspace_id, customer_id, session_id, status, claimed_name, claimed_email,
		assignee_id, inbox_id, created_at, updated_at, closed_at`
	messageColumns      = `seq, n, conversation_id, sender, session_id, agent_id, body, trusted, client_id, created_at, internal, attachments`
	agentColumns        = `id, workspace_id, email, name, role, password_hash, available, created_at, updated_at, disabled_at, totp_secret, totp_enabled_at, totp_last_step, password_changed_at`
	agentSessionColumns = `token_hash, agent_id, csrf_token, created_at, expires_at, revoked_at, id, stage, method, user_agent, addr, last_seen_at`
)

const (
	sqlWorkspace  = `SELECT ` + workspaceColumns + ` FROM workspaces WHERE id = ?`
	sqlWorkspaces = `SELECT ` + workspaceColumns + ` FROM workspaces ORDER BY created_at, id`
	sqlKeys       = `SELECT ` + keyColumns + ` FROM signing_keys WHERE workspace_id = ? ORDER BY created_at, kid`

	sqlSessionByHash    = `SELECT ` + sessionColumns + ` FROM sessions WHERE token_hash = ? AND revoked_at IS NULL`
	sqlSession          = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`
	sqlSessionWorkspace = `SELECT s.id, s.workspace_id, s.token_hash, s.level, s.customer_id, s.claimed_name, s.claimed_email,
		s.claimed_phone, s.key_id, s.verified_at, s.created_at, s.updated_at, s.revoked_at, s.key_source, s.last_seen_at,
		w.id, w.name, w.settings, w.created_at, w.updated_at
		FROM sessions s JOIN workspaces w ON w.id = s.workspace_id WHERE s.token_hash = ? AND s.revoked_at IS NULL`
	sqlSessionsOfCustomr = `SELECT ` + sessionColumns + ` FROM sessions WHERE customer_id = ? AND revoked_at IS NULL ORDER BY created_at`

	sqlCustomer           = `SELECT ` + customerColumns + ` FROM customers WHERE id = ?`
	sqlCustomerByExternal = `SELECT ` + customerColumns + ` FROM customers WHERE workspace_id = ? AND external_id = ?`
	sqlCustomerByEmail    = `SELECT ` + customerColumns + ` FROM customers WHERE workspace_id = ? AND email = ? AND external_id IS NULL`
	sqlCountByEmail       = `SELECT COUNT(*) FROM customers WHERE workspace_id = ? AND email = ?`

	sqlConversation             = `SELECT ` + conversationColumns + ` FROM conversations WHERE id = ?`
	sqlOpenConversationCustomer = `SELECT ` + conversationColumns + ` FROM conversations WHERE customer_id = ? AND status = 'open' ORDER BY created_at DESC, rowid DESC LIMIT 1`
	sqlOpenConversationSession  = `SELECT ` + conversationColumns + ` FROM conversations WHERE session_id = ? AND customer_id IS NULL AND status = 'open' ORDER BY created_at DESC, rowid DESC LIMIT 1`
	sqlConversationsOfCustomer  = `SELECT ` + conversationColumns + ` FROM conversations WHERE customer_id = ? ORDER BY created_at DESC, rowid DESC`
	sqlConversationsOfSession   = `SELECT ` + conversationColumns + ` FROM conversations WHERE session_id = ? AND customer_id IS NULL ORDER BY created_at DESC, rowid DESC`
	// sqlMessages reads a conversation's messages and notes after a seq, in seq order, through
	// (conversation_id, n) (migration 0023): messages above the newest message at or before the seq
	// (walking n up), notes below the newest note at or before it (walking n down). Each bound is found
	// from the end the new entries are at, so a live update reads about as many entries as it returns.
	sqlMessages = `SELECT ` + messageColumns + ` FROM (
		SELECT ` + messageColumns + ` FROM (SELECT ` + messageColumns + ` FROM messages WHERE conversation_id = ?1
			AND n > COALESCE((SELECT n FROM messages WHERE conversation_id = ?1 AND n > 0 AND seq <= ?2 ORDER BY n DESC LIMIT 1), 0)
			ORDER BY n LIMIT ?3)
		UNION ALL
		SELECT ` + messageColumns + ` FROM (SELECT ` + messageColumns + ` FROM messages WHERE conversation_id = ?1
			AND n < COALESCE((SELECT n FROM messages WHERE conversation_id = ?1 AND n < 0 AND seq <= ?2 ORDER BY n LIMIT 1), 0)
			ORDER BY n DESC LIMIT ?3)
	) ORDER BY seq LIMIT ?3`
	sqlMessagesAfterNumber    = `SELECT ` + messageColumns + ` FROM messages WHERE conversation_id = ? AND n > ? AND internal = 0 ORDER BY n LIMIT ?`
	sqlMessageByClientID      = `SELECT ` + messageColumns + ` FROM messages WHERE session_id = ? AND client_id = ?`
	sqlMessageByAgentClientID = `SELECT ` + messageColumns + ` FROM messages WHERE agent_id = ? AND client_id = ?`
	sqlEvents                 = `SELECT seq, conversation_id, type, data, created_at FROM events WHERE conversation_id = ? ORDER BY seq`
	sqlInsertWorkspace        = `INSERT INTO workspaces (` + workspaceColumns + `) VALUES (?, ?, ?, ?, ?)`
	sqlUpdateWorkspace        = `UPDATE workspaces SET name = ?, settings = ?, updated_at = ? WHERE id = ?`
	sqlInsertKey              = `INSERT INTO signing_keys (` + keyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlRevokeKey              = `UPDATE signing_keys SET revoked_at = ? WHERE workspace_id = ? AND kid = ? AND revoked_at IS NULL`
	sqlTouchKey               = `UPDATE signing_keys SET last_used_at = ? WHERE workspace_id = ? AND kid = ? AND (last_used_at IS NULL OR last_used_at < ?)`
	sqlInsertSession          = `INSERT INTO sessions (` + sessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateSession          = `UPDATE sessions SET token_hash = ?, level = ?, customer_id = ?, claimed_name = ?, claimed_email = ?, claimed_phone = ?, key_id = ?, verified_at = ?, updated_at = ?, revoked_at = ?, key_source = ?, last_seen_at = MAX(last_seen_at, COALESCE(?, 0)) WHERE id = ?`
	sqlInsertCustomer         = `INSERT INTO customers (` + customerColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateCustomer         = `UPDATE customers SET external_id = ?, email = ?, name = ?, first_name = ?, phone = ?, updated_at = ?, logged_out_at = ?, attributes = ?, first_verified_at = ?, locale = ? WHERE id = ?`
	sqlInsertConversation     = `INSERT INTO conversations (` + conversationInsertColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateConversation     = `UPDATE conversations SET status = ?, customer_id = ?, claimed_name = ?, claimed_email = ?, assignee_id = ?, inbox_id = ?, updated_at = ?, closed_at = ? WHERE id = ?`
	sqlSetConversationInbox   = `UPDATE conversations SET inbox_id = ?, updated_at = ? WHERE id = ?`
	sqlAdoptConversations     = `UPDATE conversations SET customer_id = ?, updated_at = ? WHERE session_id = ? AND customer_id IS NULL RETURNING id`
	// The append targets also say whether the workspace has a webhook endpoint, which a post asks next
	// (txn.noEndpoints): one index probe in this statement instead of another statement.
	sqlAppendTargetCustomer = `SELECT ` + conversationColumnsNoLast + `, ` + hasEndpoints + ` FROM conversations WHERE customer_id = ? AND status = 'open' ORDER BY created_at DESC, rowid DESC LIMIT 1`
	sqlAppendTargetSession  = `SELECT ` + conversationColumnsNoLast + `, ` + hasEndpoints + ` FROM conversations WHERE session_id = ? AND customer_id IS NULL AND status = 'open' ORDER BY created_at DESC, rowid DESC LIMIT 1`
	hasEndpoints            = `EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.workspace_id = conversations.workspace_id)`
	// The number is the conversation's highest, at least 0, plus one (an internal note's: its lowest, at
	// most 0, minus one), read through messages_by_conversation_number; the single writer makes it race-free.
	sqlInsertMessage = `INSERT INTO messages (conversation_id, sender, session_id, agent_id, body, trusted, client_id, created_at, internal, attachments, n)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE WHEN ?9 THEN
			MIN(COALESCE((SELECT MIN(n) FROM messages WHERE conversation_id = ?1), 0), 0) - 1 ELSE
			MAX(COALESCE((SELECT MAX(n) FROM messages WHERE conversation_id = ?1), 0), 0) + 1 END)
		RETURNING seq, n`
	sqlInsertEvent = `INSERT INTO events (conversation_id, type, data, created_at) VALUES (?, ?, ?, ?)`
	sqlUseJTI      = `INSERT INTO used_jtis (workspace_id, jti, until) VALUES (?, ?, ?) ON CONFLICT (workspace_id, jti) DO UPDATE SET until = excluded.until WHERE used_jtis.until <= ?`
	sqlPurgeJTIs   = `DELETE FROM used_jtis WHERE until <= ?`

	sqlAgent              = `SELECT ` + agentColumns + ` FROM agents WHERE id = ?`
	sqlAgentByEmail       = `SELECT ` + agentColumns + ` FROM agents WHERE email = ?`
	sqlAgents             = `SELECT ` + agentColumns + ` FROM agents WHERE workspace_id = ? ORDER BY created_at, id`
	sqlAgentSessionByHash = `SELECT ` + agentSessionColumns + ` FROM agent_sessions WHERE token_hash = ? AND revoked_at IS NULL`
	sqlAgentSessionAgent  = `SELECT s.token_hash, s.agent_id, s.csrf_token, s.created_at, s.expires_at, s.revoked_at,
		s.id, s.stage, s.method, s.user_agent, s.addr, s.last_seen_at,
		a.id, a.workspace_id, a.email, a.name, a.role, a.password_hash, a.available, a.created_at, a.updated_at, a.disabled_at,
		a.totp_secret, a.totp_enabled_at, a.totp_last_step, a.password_changed_at
		FROM agent_sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = ? AND s.revoked_at IS NULL`
	sqlInsertAgent         = `INSERT INTO agents (` + agentColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateAgent         = `UPDATE agents SET name = ?, role = ?, password_hash = ?, available = ?, updated_at = ?, disabled_at = ?, totp_secret = ?, totp_enabled_at = ?, password_changed_at = ? WHERE id = ?`
	sqlInsertAgentSession  = `INSERT INTO agent_sessions (` + agentSessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlRevokeAgentSession  = `UPDATE agent_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`
	sqlRevokeAgentSessions = `UPDATE agent_sessions SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL`
)

const (
	// touchKeyGranularity is how stale a key's last-used time may get before a login rewrites it.
	touchKeyGranularity = time.Minute
	// maxMessagesPerRead caps one page of messages.
	maxMessagesPerRead = 1000
)

// statements lists every statement the writer runs, to prepare them before the first transaction.
func statements() []string {
	return append([]string{
		sqlWorkspace, sqlWorkspaces, sqlKeys, sqlSessionByHash, sqlSession, sqlSessionWorkspace, sqlSessionsOfCustomr,
		sqlCustomer, sqlCustomerByExternal, sqlCustomerByEmail, sqlCountByEmail,
		sqlConversation, sqlOpenConversationCustomer, sqlOpenConversationSession,
		sqlConversationsOfCustomer, sqlConversationsOfSession, sqlMessages, sqlMessagesAfterNumber, sqlMessageByClientID, sqlMessageByAgentClientID, sqlEvents,
		sqlInsertWorkspace, sqlUpdateWorkspace, sqlInsertKey, sqlRevokeKey, sqlTouchKey,
		sqlInsertSession, sqlUpdateSession, sqlInsertCustomer, sqlUpdateCustomer,
		sqlInsertConversation, sqlUpdateConversation, sqlSetConversationInbox, sqlAdoptConversations,
		sqlAppendTargetCustomer, sqlAppendTargetSession,
		sqlInsertMessage, sqlInsertEvent, sqlUseJTI, sqlPurgeJTIs,
		sqlAgent, sqlAgentByEmail, sqlAgents, sqlAgentSessionByHash, sqlAgentSessionAgent,
		sqlInsertAgent, sqlUpdateAgent, sqlInsertAgentSession, sqlRevokeAgentSession, sqlRevokeAgentSessions,
		sqlOpenAssignedCounts, sqlReadMark, sqlMarkRead,
		sqlInbox, sqlInboxes, sqlInboxInWorkspace, sqlInsertInbox, sqlUpdateInbox, sqlDeleteInbox, sqlClearInbox,
		sqlDeleteMembers, sqlInsertMembers,
		sqlRoutingRules, sqlDeleteRoutingRules, sqlInsertRoutingRule,
		sqlLoginFailures, sqlInsertLoginFailure, sqlTrimLoginFailures,
		sqlDailyConversations, sqlDailyMessages,
		sqlSetKeySecret, sqlAPIKeyByHash, sqlAPIKeys, sqlInsertAPIKey, sqlRevokeAPIKey, sqlTouchAPIKey,
		sqlAuditEvents, sqlInsertAuditEvent,
		sqlLiveVerifiedSessions, sqlRevokeSessionsAll, sqlRevokeSessionsByKey, sqlRevokeSessionsOfCustomer, sqlAuthEpoch,
	}, slices.Concat(blockStatements(), lifetimeStatements(), attributeStatements(), seenStatements(), cannedStatements(), prefsStatements(), noteStatements(), attachmentStatements(), jobStatements(), twoFactorStatements(), webhookStatements())...)
}

// Time columns hold microseconds since the epoch; NULL stands for the zero time.

func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type scanner interface{ Scan(dest ...any) error }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func writeErr(err error, what string) error {
	if isUniqueViolation(err) {
		return fmt.Errorf("store: %s: %w", what, store.ErrConflict)
	}
	if isForeignKeyViolation(err) {
		// The row refers to one that does not exist (a message for a missing conversation).
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// mustChange turns an UPDATE that matched nothing into ErrNotFound.
func mustChange(res sql.Result, err error, what string) error {
	if err != nil {
		return writeErr(err, what)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	}
	return nil
}

// Workspaces

func scanWorkspace(s scanner) (store.Workspace, error) {
	var w store.Workspace
	var settings string
	var created, updated sql.NullInt64
	if err := s.Scan(&w.ID, &w.Name, &settings, &created, &updated); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(settings), &w.Settings); err != nil {
		return w, fmt.Errorf("decode settings of workspace %s: %w", w.ID, err)
	}
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return w, nil
}

func (q queries) Workspace(ctx context.Context, id string) (store.Workspace, error) {
	w, err := scanWorkspace(q.run.queryRow(ctx, sqlWorkspace, id))
	if err != nil {
		return w, notFound(err, "workspace")
	}
	return w, nil
}

func (q queries) Workspaces(ctx context.Context) ([]store.Workspace, error) {
	return list(ctx, q.run, "workspaces", scanWorkspace, sqlWorkspaces)
}

func (t *txn) CreateWorkspace(ctx context.Context, w *store.Workspace) error {
	settings, err := json.Marshal(w.Settings)
	if err != nil {
		return fmt.Errorf("store: encode settings: %w", err)
	}
	_, err = t.run.exec(ctx, sqlInsertWorkspace, w.ID, w.Name, string(settings), micros(w.CreatedAt), micros(w.UpdatedAt))
	if err != nil {
		return writeErr(err, "insert workspace")
	}
	return nil
}

func (t *txn) UpdateWorkspace(ctx context.Context, w *store.Workspace) error {
	settings, err := json.Marshal(w.Settings)
	if err != nil {
		return fmt.Errorf("store: encode settings: %w", err)
	}
	res, err := t.run.exec(ctx, sqlUpdateWorkspace, w.Name, string(settings), micros(w.UpdatedAt), w.ID)
	return mustChange(res, err, "update workspace")
}

// Signing keys

func scanKey(s scanner) (store.SigningKey, error) {
	var k store.SigningKey
	var created, revoked, used sql.NullInt64
	err := s.Scan(&k.WorkspaceID, &k.ID, &k.Kind, &k.Alg, &k.Secret, &k.PublicKey, &k.JWKSURL, &k.AllowPrivate, &created, &revoked, &used)
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = fromMicros(created), fromMicros(revoked), fromMicros(used)
	return k, err
}

func (q queries) SigningKeys(ctx context.Context, workspaceID string) ([]store.SigningKey, error) {
	return list(ctx, q.run, "signing keys", scanKey, sqlKeys, workspaceID)
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
	_, err := t.run.exec(ctx, sqlInsertKey, k.WorkspaceID, k.ID, kind, k.Alg, secret, k.PublicKey, k.JWKSURL, k.AllowPrivate,
		micros(k.CreatedAt), micros(k.RevokedAt), micros(k.LastUsedAt))
	if err != nil {
		return writeErr(err, "insert signing key")
	}
	return nil
}

func (t *txn) RevokeSigningKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	res, err := t.run.exec(ctx, sqlRevokeKey, micros(at), workspaceID, id)
	return mustChange(res, err, "revoke signing key")
}

func (t *txn) TouchSigningKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	// Recording every use would add a write to every login; minute precision is what admins read.
	_, err := t.run.exec(ctx, sqlTouchKey, micros(at), workspaceID, id, at.Add(-touchKeyGranularity).UnixMicro())
	if err != nil {
		return writeErr(err, "touch signing key")
	}
	return nil
}

// Sessions

// sessionRow receives a session's columns; more destinations may follow them in the same row.
type sessionRow struct {
	s                                   store.Session
	customer                            sql.NullString
	verified, created, updated, revoked sql.NullInt64
	seen                                sql.NullInt64
}

func (r *sessionRow) dest() []any {
	x := &r.s
	return []any{&x.ID, &x.WorkspaceID, &x.TokenHash, &x.Level, &r.customer, &x.ClaimedName, &x.ClaimedEmail,
		&x.ClaimedPhone, &x.KeyID, &r.verified, &r.created, &r.updated, &r.revoked, &x.KeySource, &r.seen}
}

func (r *sessionRow) session() store.Session {
	x := r.s
	x.CustomerID = r.customer.String
	x.VerifiedAt, x.CreatedAt, x.UpdatedAt, x.RevokedAt = fromMicros(r.verified), fromMicros(r.created), fromMicros(r.updated), fromMicros(r.revoked)
	x.LastSeenAt = fromMicros(r.seen)
	return x
}

func scanSession(s scanner) (store.Session, error) {
	var r sessionRow
	err := s.Scan(r.dest()...)
	return r.session(), err
}

func (q queries) SessionAndWorkspace(ctx context.Context, hash []byte) (store.Session, store.Workspace, error) {
	var r sessionRow
	var w store.Workspace
	var settings string
	var created, updated sql.NullInt64
	dest := append(r.dest(), &w.ID, &w.Name, &settings, &created, &updated)
	if err := q.run.queryRow(ctx, sqlSessionWorkspace, hash).Scan(dest...); err != nil {
		return store.Session{}, w, notFound(err, "session and workspace by token")
	}
	if err := json.Unmarshal([]byte(settings), &w.Settings); err != nil {
		return store.Session{}, w, fmt.Errorf("store: decode settings of workspace %s: %w", w.ID, err)
	}
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r.session(), w, nil
}

func (q queries) SessionByTokenHash(ctx context.Context, hash []byte) (store.Session, error) {
	s, err := scanSession(q.run.queryRow(ctx, sqlSessionByHash, hash))
	if err != nil {
		return s, notFound(err, "session by token")
	}
	return s, nil
}

func (q queries) Session(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(q.run.queryRow(ctx, sqlSession, id))
	if err != nil {
		return s, notFound(err, "session")
	}
	return s, nil
}

func (q queries) LiveSessionsOfCustomer(ctx context.Context, customerID string) ([]store.Session, error) {
	return list(ctx, q.run, "sessions of customer", scanSession, sqlSessionsOfCustomr, customerID)
}

func (t *txn) CreateSession(ctx context.Context, s *store.Session) error {
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	seen := s.LastSeenAt
	_, err := t.run.exec(ctx, sqlInsertSession, s.ID, s.WorkspaceID, s.TokenHash, s.Level, nullString(s.CustomerID),
		s.ClaimedName, s.ClaimedEmail, s.ClaimedPhone, s.KeyID, micros(s.VerifiedAt), micros(s.CreatedAt),
		micros(s.UpdatedAt), micros(s.RevokedAt), s.KeySource, micros(seen))
	if err != nil {
		return writeErr(err, "insert session")
	}
	return nil
}

func (t *txn) UpdateSession(ctx context.Context, s *store.Session) error {
	res, err := t.run.exec(ctx, sqlUpdateSession, s.TokenHash, s.Level, nullString(s.CustomerID), s.ClaimedName,
		s.ClaimedEmail, s.ClaimedPhone, s.KeyID, micros(s.VerifiedAt), micros(s.UpdatedAt), micros(s.RevokedAt), s.KeySource, micros(s.LastSeenAt), s.ID)
	return mustChange(res, err, "update session")
}

// Customers

func scanCustomer(s scanner) (store.Customer, error) {
	var c store.Customer
	var external, email sql.NullString
	var created, updated, loggedOut, firstVerified sql.NullInt64
	var attrs string
	err := s.Scan(&c.ID, &c.WorkspaceID, &external, &email, &c.Name, &c.FirstName, &c.Phone, &created, &updated, &loggedOut, &attrs, &firstVerified, &c.Locale)
	c.ExternalID, c.Email = external.String, email.String
	c.CreatedAt, c.UpdatedAt, c.LoggedOutAt = fromMicros(created), fromMicros(updated), fromMicros(loggedOut)
	c.FirstVerifiedAt = fromMicros(firstVerified)
	if err == nil {
		c.Attributes, err = storedAttributes(attrs, "customer "+c.ID)
	}
	return c, err
}

func (q queries) Customer(ctx context.Context, id string) (store.Customer, error) {
	c, err := scanCustomer(q.run.queryRow(ctx, sqlCustomer, id))
	if err != nil {
		return c, notFound(err, "customer")
	}
	return c, nil
}

func (q queries) CustomerByExternalID(ctx context.Context, workspaceID, externalID string) (store.Customer, error) {
	c, err := scanCustomer(q.run.queryRow(ctx, sqlCustomerByExternal, workspaceID, externalID))
	if err != nil {
		return c, notFound(err, "customer by external id")
	}
	return c, nil
}

func (q queries) CustomerByEmail(ctx context.Context, workspaceID, email string) (store.Customer, error) {
	c, err := scanCustomer(q.run.queryRow(ctx, sqlCustomerByEmail, workspaceID, email))
	if err != nil {
		return c, notFound(err, "customer by email")
	}
	return c, nil
}

func (q queries) CountCustomersWithEmail(ctx context.Context, workspaceID, email string) (int, error) {
	var n int
	if err := q.run.queryRow(ctx, sqlCountByEmail, workspaceID, email).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count customers by email: %w", err)
	}
	return n, nil
}

func (t *txn) CreateCustomer(ctx context.Context, c *store.Customer) error {
	_, err := t.run.exec(ctx, sqlInsertCustomer, c.ID, c.WorkspaceID, nullString(c.ExternalID), nullString(c.Email),
		c.Name, c.FirstName, c.Phone, micros(c.CreatedAt), micros(c.UpdatedAt), micros(c.LoggedOutAt), c.Attributes.String(), micros(c.FirstVerifiedAt), c.Locale)
	if err != nil {
		return writeErr(err, "insert customer")
	}
	return nil
}

func (t *txn) UpdateCustomer(ctx context.Context, c *store.Customer) error {
	res, err := t.run.exec(ctx, sqlUpdateCustomer, nullString(c.ExternalID), nullString(c.Email), c.Name, c.FirstName,
		c.Phone, micros(c.UpdatedAt), micros(c.LoggedOutAt), c.Attributes.String(), micros(c.FirstVerifiedAt), c.Locale, c.ID)
	return mustChange(res, err, "update customer")
}

// Conversations

// conversationRow receives a conversation's columns; more destinations may follow them in the same row.
type conversationRow struct {
	c                              store.Conversation
	customer                       sql.NullString
	created, updated, last, closed sql.NullInt64
}

func (r *conversationRow) dest() []any {
	c := &r.c
	return []any{&c.ID, &c.WorkspaceID, &r.customer, &c.SessionID, &c.Status, &c.ClaimedName, &c.ClaimedEmail,
		&c.AssigneeID, &c.InboxID, &r.created, &r.updated, &r.last, &r.closed}
}

func (r *conversationRow) conversation() store.Conversation {
	c := r.c
	c.CustomerID = r.customer.String
	c.CreatedAt, c.UpdatedAt, c.LastMessage, c.ClosedAt = fromMicros(r.created), fromMicros(r.updated), fromMicros(r.last), fromMicros(r.closed)
	return c
}

func scanConversation(s scanner) (store.Conversation, error) {
	var r conversationRow
	err := s.Scan(r.dest()...)
	return r.conversation(), err
}

func (q queries) Conversation(ctx context.Context, id string) (store.Conversation, error) {
	c, err := scanConversation(q.run.queryRow(ctx, sqlConversation, id))
	if err != nil {
		return c, notFound(err, "conversation")
	}
	return c, nil
}

func (q queries) OpenConversation(ctx context.Context, owner store.Owner) (store.Conversation, error) {
	var row *sql.Row
	if owner.CustomerID != "" {
		row = q.run.queryRow(ctx, sqlOpenConversationCustomer, owner.CustomerID)
	} else {
		row = q.run.queryRow(ctx, sqlOpenConversationSession, owner.SessionID)
	}
	c, err := scanConversation(row)
	if err != nil {
		return c, notFound(err, "open conversation")
	}
	return c, nil
}

func (q queries) Conversations(ctx context.Context, owner store.Owner) ([]store.Conversation, error) {
	if owner.CustomerID != "" {
		return list(ctx, q.run, "conversations of customer", scanConversation, sqlConversationsOfCustomer, owner.CustomerID)
	}
	return list(ctx, q.run, "conversations of session", scanConversation, sqlConversationsOfSession, owner.SessionID)
}

func (q queries) ConversationsOfCustomer(ctx context.Context, customerID string) ([]store.Conversation, error) {
	return list(ctx, q.run, "conversations of customer", scanConversation, sqlConversationsOfCustomer, customerID)
}

func (t *txn) CreateConversation(ctx context.Context, c *store.Conversation) error {
	_, err := t.run.exec(ctx, sqlInsertConversation, c.ID, c.WorkspaceID, nullString(c.CustomerID), c.SessionID, c.Status,
		c.ClaimedName, c.ClaimedEmail, c.AssigneeID, c.InboxID, micros(c.CreatedAt), micros(c.UpdatedAt), micros(c.ClosedAt))
	if err != nil {
		return writeErr(err, "insert conversation")
	}
	return nil
}

func (t *txn) UpdateConversation(ctx context.Context, c *store.Conversation) error {
	res, err := t.run.exec(ctx, sqlUpdateConversation, c.Status, nullString(c.CustomerID), c.ClaimedName, c.ClaimedEmail,
		c.AssigneeID, c.InboxID, micros(c.UpdatedAt), micros(c.ClosedAt), c.ID)
	return mustChange(res, err, "update conversation")
}

func (t *txn) SetConversationInbox(ctx context.Context, conversationID, inboxID string, at time.Time) error {
	res, err := t.run.exec(ctx, sqlSetConversationInbox, inboxID, micros(at), conversationID)
	return mustChange(res, err, "set conversation inbox")
}

func (t *txn) AdoptConversations(ctx context.Context, sessionID, customerID string, at time.Time) ([]string, error) {
	rows, err := t.run.query(ctx, sqlAdoptConversations, customerID, micros(at), sessionID)
	if err != nil {
		return nil, writeErr(err, "adopt conversations")
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: adopt conversations: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: adopt conversations: %w", err)
	}
	return ids, nil
}

// Messages and events

func scanMessage(s scanner) (store.Message, error) {
	var m store.Message
	var session, agent, client sql.NullString
	var created sql.NullInt64
	var attachments int
	err := s.Scan(&m.Seq, &m.N, &m.ConversationID, &m.Sender, &session, &agent, &m.Body, &m.Trusted, &client, &created, &m.Internal, &attachments)
	m.SessionID, m.AgentID, m.ClientID = session.String, agent.String, client.String
	m.CreatedAt = fromMicros(created)
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
	return q.withAttachments(ctx)(list(ctx, q.run, "messages", scanMessage, sqlMessages, conversationID, afterSeq, limit))
}

func (q queries) MessagesAfterNumber(ctx context.Context, conversationID string, afterN int64, limit int) ([]store.Message, error) {
	if limit <= 0 || limit > maxMessagesPerRead {
		limit = maxMessagesPerRead
	}
	return q.withAttachments(ctx)(list(ctx, q.run, "messages after number", scanMessage, sqlMessagesAfterNumber, conversationID, afterN, limit))
}

func (q queries) MessageByClientID(ctx context.Context, sessionID, clientID string) (store.Message, error) {
	m, err := scanMessage(q.run.queryRow(ctx, sqlMessageByClientID, sessionID, clientID))
	if err != nil {
		return m, notFound(err, "message by client id")
	}
	return q.withAttachment(ctx, m)
}

func (q queries) MessageByAgentClientID(ctx context.Context, agentID, clientID string) (store.Message, error) {
	m, err := scanMessage(q.run.queryRow(ctx, sqlMessageByAgentClientID, agentID, clientID))
	if err != nil {
		return m, notFound(err, "message by agent client id")
	}
	return q.withAttachment(ctx, m)
}

func (t *txn) AppendMessage(ctx context.Context, m *store.Message) error {
	return t.insertMessage(ctx, m)
}

func (t *txn) AppendToOpenConversation(ctx context.Context, owner store.Owner, m *store.Message) (store.Conversation, error) {
	var row *sql.Row
	if owner.CustomerID != "" {
		row = t.run.queryRow(ctx, sqlAppendTargetCustomer, owner.CustomerID)
	} else {
		row = t.run.queryRow(ctx, sqlAppendTargetSession, owner.SessionID)
	}
	var r conversationRow
	var endpoints bool
	err := row.Scan(append(r.dest(), &endpoints)...)
	c := r.conversation()
	if err != nil {
		return c, notFound(err, "append to open conversation")
	}
	if !endpoints {
		t.noEndpoints = c.WorkspaceID
	}
	m.ConversationID = c.ID
	if err := t.insertMessage(ctx, m); err != nil {
		return c, err
	}
	c.LastMessage = m.CreatedAt
	return c, nil
}

func (t *txn) insertMessage(ctx context.Context, m *store.Message) error {
	err := t.run.queryRow(ctx, sqlInsertMessage, m.ConversationID, m.Sender, nullString(m.SessionID), nullString(m.AgentID),
		m.Body, m.Trusted, nullString(m.ClientID), micros(m.CreatedAt), m.Internal, len(m.Attachments)).Scan(&m.Seq, &m.N)
	if err != nil {
		return writeErr(err, "insert message")
	}
	return t.bindAttachments(ctx, m)
}

func scanEvent(s scanner) (store.Event, error) {
	var e store.Event
	var data string
	var created sql.NullInt64
	if err := s.Scan(&e.Seq, &e.ConversationID, &e.Type, &data, &created); err != nil {
		return e, err
	}
	e.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
		return e, fmt.Errorf("decode event %d: %w", e.Seq, err)
	}
	return e, nil
}

func (q queries) Events(ctx context.Context, conversationID string) ([]store.Event, error) {
	return list(ctx, q.run, "events", scanEvent, sqlEvents, conversationID)
}

func (t *txn) AppendEvent(ctx context.Context, e *store.Event) error {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("store: encode event data: %w", err)
	}
	if e.Data == nil {
		data = []byte("{}")
	}
	res, err := t.run.exec(ctx, sqlInsertEvent, e.ConversationID, e.Type, string(data), micros(e.CreatedAt))
	if err != nil {
		return writeErr(err, "insert event")
	}
	if e.Seq, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("store: insert event: %w", err)
	}
	return nil
}

// Token ids

func (t *txn) UseJTI(ctx context.Context, workspaceID, jti string, until, now time.Time) error {
	// An expired record may be reused; a live one makes the insert change nothing.
	res, err := t.run.exec(ctx, sqlUseJTI, workspaceID, jti, micros(until), micros(now))
	if err != nil {
		return writeErr(err, "use jti")
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: use jti: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: use jti: %w", store.ErrConflict)
	}
	return nil
}

func (t *txn) PurgeJTIs(ctx context.Context, before time.Time) (int, error) {
	res, err := t.run.exec(ctx, sqlPurgeJTIs, micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge jtis: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Agents

// agentRow receives an agent's columns; it may follow other destinations in the same row.
type agentRow struct {
	a                                             store.Agent
	created, updated, disabled, totpOn, pwChanged sql.NullInt64
}

func (r *agentRow) dest() []any {
	a := &r.a
	return []any{&a.ID, &a.WorkspaceID, &a.Email, &a.Name, &a.Role, &a.PasswordHash, &a.Available, &r.created, &r.updated, &r.disabled,
		&a.TOTPSecret, &r.totpOn, &a.TOTPLastStep, &r.pwChanged}
}

func (r *agentRow) agent() store.Agent {
	a := r.a
	a.CreatedAt, a.UpdatedAt, a.DisabledAt = fromMicros(r.created), fromMicros(r.updated), fromMicros(r.disabled)
	a.TOTPEnabledAt, a.PasswordChangedAt = fromMicros(r.totpOn), fromMicros(r.pwChanged)
	return a
}

func scanAgent(s scanner) (store.Agent, error) {
	var r agentRow
	err := s.Scan(r.dest()...)
	return r.agent(), err
}

func (q queries) Agent(ctx context.Context, id string) (store.Agent, error) {
	a, err := scanAgent(q.run.queryRow(ctx, sqlAgent, id))
	if err != nil {
		return a, notFound(err, "agent")
	}
	return a, nil
}

func (q queries) AgentByEmail(ctx context.Context, email string) (store.Agent, error) {
	a, err := scanAgent(q.run.queryRow(ctx, sqlAgentByEmail, email))
	if err != nil {
		return a, notFound(err, "agent by email")
	}
	return a, nil
}

func (q queries) Agents(ctx context.Context, workspaceID string) ([]store.Agent, error) {
	return list(ctx, q.run, "agents", scanAgent, sqlAgents, workspaceID)
}

func (t *txn) CreateAgent(ctx context.Context, a *store.Agent) error {
	_, err := t.run.exec(ctx, sqlInsertAgent, a.ID, a.WorkspaceID, a.Email, a.Name, a.Role, a.PasswordHash, a.Available,
		micros(a.CreatedAt), micros(a.UpdatedAt), micros(a.DisabledAt), a.TOTPSecret, micros(a.TOTPEnabledAt), a.TOTPLastStep,
		micros(a.PasswordChangedAt))
	if err != nil {
		return writeErr(err, "insert agent")
	}
	return nil
}

func (t *txn) UpdateAgent(ctx context.Context, a *store.Agent) error {
	// totp_last_step is not written here: only UseTOTPStep moves it, conditionally.
	res, err := t.run.exec(ctx, sqlUpdateAgent, a.Name, a.Role, a.PasswordHash, a.Available, micros(a.UpdatedAt),
		micros(a.DisabledAt), a.TOTPSecret, micros(a.TOTPEnabledAt), micros(a.PasswordChangedAt), a.ID)
	return mustChange(res, err, "update agent")
}

// Agent sessions

// agentSessionRow receives an agent session's columns; more destinations may follow them in the same row.
type agentSessionRow struct {
	x                                   store.AgentSession
	created, expires, revoked, lastSeen sql.NullInt64
}

func (r *agentSessionRow) dest() []any {
	x := &r.x
	return []any{&x.TokenHash, &x.AgentID, &x.CSRFToken, &r.created, &r.expires, &r.revoked, &x.ID, &x.Stage, &x.Method,
		&x.UserAgent, &x.Addr, &r.lastSeen}
}

func (r *agentSessionRow) session() store.AgentSession {
	x := r.x
	x.CreatedAt, x.ExpiresAt, x.RevokedAt = fromMicros(r.created), fromMicros(r.expires), fromMicros(r.revoked)
	x.LastSeenAt = fromMicros(r.lastSeen)
	return x
}

func scanAgentSession(s scanner) (store.AgentSession, error) {
	var r agentSessionRow
	err := s.Scan(r.dest()...)
	return r.session(), err
}

func (q queries) AgentSessionByTokenHash(ctx context.Context, hash []byte) (store.AgentSession, error) {
	x, err := scanAgentSession(q.run.queryRow(ctx, sqlAgentSessionByHash, hash))
	if err != nil {
		return x, notFound(err, "agent session by token")
	}
	return x, nil
}

func (q queries) AgentSessionAndAgent(ctx context.Context, hash []byte) (store.AgentSession, store.Agent, error) {
	var sr agentSessionRow
	var ar agentRow
	if err := q.run.queryRow(ctx, sqlAgentSessionAgent, hash).Scan(append(sr.dest(), ar.dest()...)...); err != nil {
		return store.AgentSession{}, store.Agent{}, notFound(err, "agent session and agent by token")
	}
	return sr.session(), ar.agent(), nil
}

func (t *txn) CreateAgentSession(ctx context.Context, x *store.AgentSession) error {
	if x.ID == "" {
		return fmt.Errorf("store: insert agent session: no id")
	}
	_, err := t.run.exec(ctx, sqlInsertAgentSession, x.TokenHash, x.AgentID, x.CSRFToken, micros(x.CreatedAt),
		micros(x.ExpiresAt), micros(x.RevokedAt), x.ID, x.Stage, x.Method, x.UserAgent, x.Addr, micros(x.LastSeenAt))
	if err != nil {
		return writeErr(err, "insert agent session")
	}
	return nil
}

func (t *txn) TouchAgentSession(ctx context.Context, hash []byte, at, ifBefore time.Time) (bool, error) {
	res, err := t.run.exec(ctx, `UPDATE agent_sessions SET last_seen_at = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL
		AND (last_seen_at IS NULL OR last_seen_at < ?3)`, micros(at), hash, micros(ifBefore))
	if err != nil {
		return false, writeErr(err, "touch agent session")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *txn) RevokeAgentSession(ctx context.Context, hash []byte, at time.Time) error {
	res, err := t.run.exec(ctx, sqlRevokeAgentSession, micros(at), hash)
	return mustChange(res, err, "revoke agent session")
}

func (t *txn) RevokeAgentSessions(ctx context.Context, agentID string, at time.Time) (int, error) {
	res, err := t.run.exec(ctx, sqlRevokeAgentSessions, micros(at), agentID)
	if err != nil {
		return 0, writeErr(err, "revoke agent sessions")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: revoke agent sessions: %w", err)
	}
	return int(n), nil
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, run runner, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := run.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	return out, nil
}
