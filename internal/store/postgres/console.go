package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// The agent console's queries: the inbox list, read marks, inboxes and routing rules, the identity log
// and the report.

const (
	// sqlListConversations is completed by listConversationsSQL with the filter's conditions. $1 is the
	// preview length, $2 the reader, $3 the workspace.
	sqlListConversations = `SELECT c.id, c.workspace_id, COALESCE(c.customer_id, ''), c.session_id, c.status, c.claimed_name,
		c.claimed_email, c.assignee_id, c.inbox_id, c.created_at, c.updated_at, m.created_at, c.closed_at,
		COALESCE(cu.name, ''), COALESCE(cu.email, ''), COALESCE(m.seq, 0), COALESCE(m.sender, ''),
		COALESCE(left(m.body, $1), ''), COALESCE(r.seq, 0)
		FROM conversations c
		LEFT JOIN customers cu ON cu.id = c.customer_id
		LEFT JOIN LATERAL (SELECT seq, sender, body, created_at FROM messages
			WHERE conversation_id = c.id AND NOT internal ORDER BY seq DESC LIMIT 1) m ON true
		LEFT JOIN agent_reads r ON r.agent_id = $2 AND r.conversation_id = c.id
		WHERE c.workspace_id = $3`
	sqlOpenAssignedCounts = `SELECT assignee_id, COUNT(*) FROM conversations
		WHERE workspace_id = $1 AND status = 'open' AND assignee_id <> '' GROUP BY assignee_id`
	sqlReadMark = `SELECT seq FROM agent_reads WHERE agent_id = $1 AND conversation_id = $2`
	sqlMarkRead = `INSERT INTO agent_reads (agent_id, conversation_id, seq) VALUES ($1, $2, $3)
		ON CONFLICT (agent_id, conversation_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > agent_reads.seq`

	inboxColumns = `id, workspace_id, name, created_at,
		ARRAY(SELECT agent_id FROM inbox_members WHERE inbox_id = inboxes.id)`
	sqlInbox            = `SELECT ` + inboxColumns + ` FROM inboxes WHERE id = $1`
	sqlInboxes          = `SELECT ` + inboxColumns + ` FROM inboxes WHERE workspace_id = $1 ORDER BY created_at, id COLLATE "C"`
	sqlInboxInWorkspace = `SELECT 1 FROM inboxes WHERE id = $1 AND workspace_id = $2`
	sqlInsertInbox      = `INSERT INTO inboxes (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)`
	sqlUpdateInbox      = `UPDATE inboxes SET name = $1 WHERE id = $2 AND workspace_id = $3`
	sqlDeleteInbox      = `DELETE FROM inboxes WHERE id = $1 AND workspace_id = $2` // members and rules cascade
	sqlClearInbox       = `UPDATE conversations SET inbox_id = '' WHERE workspace_id = $1 AND inbox_id = $2`
	sqlDeleteMembers    = `DELETE FROM inbox_members WHERE inbox_id = $1`
	sqlInsertMembers    = `INSERT INTO inbox_members (inbox_id, agent_id) SELECT DISTINCT $1::text, unnest($2::text[])`

	routingRuleColumns    = `id, workspace_id, position, level, email_domain, inbox_id, created_at, attribute_key, attribute_value`
	sqlRoutingRules       = `SELECT ` + routingRuleColumns + ` FROM routing_rules WHERE workspace_id = $1 ORDER BY position`
	sqlDeleteRoutingRules = `DELETE FROM routing_rules WHERE workspace_id = $1`
	sqlInsertRoutingRule  = `INSERT INTO routing_rules (` + routingRuleColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

	sqlLoginFailures      = `SELECT seq, workspace_id, code, message, key_id, alg, at FROM login_failures WHERE workspace_id = $1 ORDER BY seq DESC LIMIT $2`
	sqlInsertLoginFailure = `INSERT INTO login_failures (workspace_id, code, message, key_id, alg, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq`
	// sqlTrimLoginFailures deletes a workspace's failures from the one past the newest keep downwards.
	sqlTrimLoginFailures = `DELETE FROM login_failures WHERE workspace_id = $1 AND seq <=
		(SELECT seq FROM login_failures WHERE workspace_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)`

	// The report's queries number each row's UTC day from the first ($1): extract counts a day of an
	// interval as 86400 seconds, as Unix time does. A conversation's level is read from what it holds now.
	sqlDailyConversations = `SELECT floor(extract(epoch FROM created_at - $1::timestamptz) / 86400)::integer,
		COUNT(*) FILTER (WHERE customer_id IS NULL AND claimed_name = '' AND claimed_email = ''),
		COUNT(*) FILTER (WHERE customer_id IS NULL AND (claimed_name <> '' OR claimed_email <> '')),
		COUNT(*) FILTER (WHERE customer_id IS NOT NULL)
		FROM conversations WHERE workspace_id = $2 AND created_at >= $1 AND created_at < $3 GROUP BY 1`
	sqlDailyMessages = `SELECT floor(extract(epoch FROM m.created_at - $1::timestamptz) / 86400)::integer, COUNT(*), COUNT(*) FILTER (WHERE m.trusted)
		FROM conversations c JOIN messages m ON m.conversation_id = c.id
		WHERE c.workspace_id = $2 AND m.sender = 'customer' AND m.created_at >= $1 AND m.created_at < $3 GROUP BY 1`
)

const (
	// previewRunes is how much of the newest message an inbox list shows.
	previewRunes = 140
	// defaultListLimit and maxListLimit bound one inbox list.
	defaultListLimit, maxListLimit = 50, 200
	// maxLoginFailuresPerRead caps one page of the identity log.
	maxLoginFailuresPerRead = 1000
)

// Inbox list

// listConversationsSQL completes sqlListConversations for a filter, returning the query and its
// arguments after the preview length, reader and workspace. Only which conditions appear varies, never
// their values, so each connection prepares a few dozen texts at most.
func listConversationsSQL(f store.ConversationFilter) (string, []any) {
	var b strings.Builder
	args := []any{previewRunes, "", f.WorkspaceID}
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	b.WriteString(sqlListConversations)
	if f.Status != "" {
		b.WriteString(` AND c.status = ` + param(f.Status))
	}
	if f.AssigneeID != "" {
		b.WriteString(` AND c.assignee_id = ` + param(f.AssigneeID))
	}
	if f.Unassigned {
		b.WriteString(` AND c.assignee_id = ''`)
	}
	if f.InboxID != "" {
		b.WriteString(` AND c.inbox_id = ` + param(f.InboxID))
	}
	if f.Search != "" {
		// ILIKE folds case by the database's locale (at least ASCII); the search's own wildcards are
		// escaped so they match themselves.
		p := param("%" + likeEscaper.Replace(f.Search) + "%")
		fmt.Fprintf(&b, ` AND (cu.name ILIKE %[1]s ESCAPE '\' OR cu.email ILIKE %[1]s ESCAPE '\'
			OR c.claimed_name ILIKE %[1]s ESCAPE '\' OR c.claimed_email ILIKE %[1]s ESCAPE '\')`, p)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	b.WriteString(` ORDER BY COALESCE(m.created_at, c.created_at) DESC, c.id COLLATE "C" LIMIT ` + param(min(limit, maxListLimit)))
	return b.String(), args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func scanSummary(row pgx.Row) (store.ConversationSummary, error) {
	var s store.ConversationSummary
	err := row.Scan(append(conversationDest(&s.Conversation),
		&s.CustomerName, &s.CustomerEmail, &s.LastSeq, &s.LastSender, &s.LastBody, &s.ReadSeq)...)
	return s, err
}

func (q queries) ListConversations(ctx context.Context, f store.ConversationFilter, readerID string) ([]store.ConversationSummary, error) {
	query, args := listConversationsSQL(f)
	args[1] = readerID
	return list(ctx, q.db, "conversation summaries", scanSummary, query, args...)
}

func (q queries) OpenAssignedCounts(ctx context.Context, workspaceID string) (map[string]int, error) {
	counts := make(map[string]int)
	var agentID string
	var n int
	err := eachRow(ctx, q.db, sqlOpenAssignedCounts, []any{workspaceID}, []any{&agentID, &n}, func() { counts[agentID] = n })
	if err != nil {
		return nil, fmt.Errorf("store: count assigned conversations: %w", err)
	}
	return counts, nil
}

// Read marks

func (q queries) ReadMark(ctx context.Context, agentID, conversationID string) (int64, error) {
	var seq int64
	err := q.db.QueryRow(ctx, sqlReadMark, agentID, conversationID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read mark: %w", err)
	}
	return seq, nil
}

func (t *txn) MarkRead(ctx context.Context, agentID, conversationID string, seq int64) error {
	if _, err := t.db.Exec(ctx, sqlMarkRead, agentID, conversationID, seq); err != nil {
		return writeErr(err, "mark read")
	}
	return nil
}

// Inboxes

func scanInbox(row pgx.Row) (store.Inbox, error) {
	var in store.Inbox
	err := row.Scan(&in.ID, &in.WorkspaceID, &in.Name, tz(&in.CreatedAt), &in.Members)
	return in, err
}

func (q queries) Inbox(ctx context.Context, id string) (store.Inbox, error) {
	in, err := scanInbox(q.db.QueryRow(ctx, sqlInbox, id))
	if err != nil {
		return in, notFound(err, "inbox")
	}
	return in, nil
}

func (q queries) Inboxes(ctx context.Context, workspaceID string) ([]store.Inbox, error) {
	return list(ctx, q.db, "inboxes", scanInbox, sqlInboxes, workspaceID)
}

func (t *txn) CreateInbox(ctx context.Context, in *store.Inbox) error {
	if _, err := t.db.Exec(ctx, sqlInsertInbox, in.ID, in.WorkspaceID, in.Name, ts(in.CreatedAt)); err != nil {
		return writeErr(err, "insert inbox")
	}
	return t.insertMembers(ctx, in)
}

func (t *txn) UpdateInbox(ctx context.Context, in *store.Inbox) error {
	tag, err := t.db.Exec(ctx, sqlUpdateInbox, in.Name, in.ID, in.WorkspaceID)
	if err := mustChange(tag, err, "update inbox"); err != nil {
		return err
	}
	if _, err := t.db.Exec(ctx, sqlDeleteMembers, in.ID); err != nil {
		return writeErr(err, "update inbox members")
	}
	return t.insertMembers(ctx, in)
}

// insertMembers stores an inbox's members in one statement, whatever their number.
func (t *txn) insertMembers(ctx context.Context, in *store.Inbox) error {
	if len(in.Members) == 0 {
		return nil
	}
	if _, err := t.db.Exec(ctx, sqlInsertMembers, in.ID, in.Members); err != nil {
		return writeErr(err, "insert inbox members")
	}
	return nil
}

func (t *txn) DeleteInbox(ctx context.Context, workspaceID, id string) error {
	tag, err := t.db.Exec(ctx, sqlDeleteInbox, id, workspaceID)
	if err := mustChange(tag, err, "delete inbox"); err != nil {
		return err
	}
	if _, err := t.db.Exec(ctx, sqlClearInbox, workspaceID, id); err != nil {
		return writeErr(err, "delete inbox: clear conversations")
	}
	return nil
}

// Routing rules

func scanRoutingRule(row pgx.Row) (store.RoutingRule, error) {
	var r store.RoutingRule
	err := row.Scan(&r.ID, &r.WorkspaceID, &r.Position, &r.Level, &r.EmailDomain, &r.InboxID, tz(&r.CreatedAt), &r.AttributeKey, &r.AttributeValue)
	return r, err
}

func (q queries) RoutingRules(ctx context.Context, workspaceID string) ([]store.RoutingRule, error) {
	return list(ctx, q.db, "routing rules", scanRoutingRule, sqlRoutingRules, workspaceID)
}

func (t *txn) ReplaceRoutingRules(ctx context.Context, workspaceID string, rules []store.RoutingRule) error {
	// The foreign key only proves the inbox exists; a rule must lead to an inbox of its own workspace.
	for _, r := range rules {
		var one int
		if err := t.db.QueryRow(ctx, sqlInboxInWorkspace, r.InboxID, workspaceID).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("routing rule %s: inbox %q", r.ID, r.InboxID))
		}
	}
	if _, err := t.db.Exec(ctx, sqlDeleteRoutingRules, workspaceID); err != nil {
		return writeErr(err, "delete routing rules")
	}
	for i, r := range rules {
		_, err := t.db.Exec(ctx, sqlInsertRoutingRule, r.ID, workspaceID, i, r.Level, r.EmailDomain, r.InboxID, ts(r.CreatedAt), r.AttributeKey, r.AttributeValue)
		if err != nil {
			return writeErr(err, "insert routing rule")
		}
	}
	return nil
}

// Identity log

func scanLoginFailure(row pgx.Row) (store.LoginFailure, error) {
	var f store.LoginFailure
	err := row.Scan(&f.Seq, &f.WorkspaceID, &f.Code, &f.Message, &f.KeyID, &f.Alg, tz(&f.At))
	return f, err
}

func (q queries) LoginFailures(ctx context.Context, workspaceID string, limit int) ([]store.LoginFailure, error) {
	if limit <= 0 || limit > maxLoginFailuresPerRead {
		limit = maxLoginFailuresPerRead
	}
	return list(ctx, q.db, "login failures", scanLoginFailure, sqlLoginFailures, workspaceID, limit)
}

func (t *txn) AddLoginFailure(ctx context.Context, f *store.LoginFailure, keep int) error {
	err := t.db.QueryRow(ctx, sqlInsertLoginFailure, f.WorkspaceID, f.Code, f.Message, f.KeyID, f.Alg, ts(f.At)).Scan(&f.Seq)
	if err != nil {
		return writeErr(err, "insert login failure")
	}
	if keep <= 0 {
		return nil // no bound
	}
	if _, err := t.db.Exec(ctx, sqlTrimLoginFailures, f.WorkspaceID, keep); err != nil {
		return writeErr(err, "trim login failures")
	}
	return nil
}

// Report

func (q queries) DailyStats(ctx context.Context, workspaceID string, from, to time.Time) ([]store.DayStats, error) {
	const day = 24 * time.Hour
	if !to.After(from) {
		return nil, nil
	}
	from = from.UTC()
	days := make([]store.DayStats, (to.Sub(from)+day-1)/day)
	for i := range days {
		days[i].Day = from.Add(time.Duration(i) * day)
	}
	var i, a, b, c int
	err := eachRow(ctx, q.db, sqlDailyConversations, []any{from, workspaceID, to}, []any{&i, &a, &b, &c}, func() {
		days[i].Anonymous, days[i].Identified, days[i].Verified = a, b, c
	})
	if err != nil {
		return nil, fmt.Errorf("store: daily conversations: %w", err)
	}
	err = eachRow(ctx, q.db, sqlDailyMessages, []any{from, workspaceID, to}, []any{&i, &a, &b}, func() {
		days[i].CustomerMessages, days[i].TrustedCustomerMessages = a, b
	})
	if err != nil {
		return nil, fmt.Errorf("store: daily messages: %w", err)
	}
	return days, nil
}

// eachRow runs a query, scans every row into dest and calls fn after each.
func eachRow(ctx context.Context, db querier, query string, args, dest []any, fn func()) error {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, func() error { fn(); return nil })
	return err
}
