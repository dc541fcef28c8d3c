package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// The agent console's queries: the inbox list, read marks, inboxes and routing rules, the identity log
// and the report.

const (
	// summaryColumns are a conversation's columns in conversationRow's order, then the inbox list's own:
	// the customer, the newest message (its body cut to the preview length) and the reader's read mark.
	summaryColumns = `c.id, c.workspace_id, c.customer_id, c.session_id, c.status, c.claimed_name, c.claimed_email,
		c.assignee_id, c.inbox_id, c.created_at, c.updated_at, m.created_at, c.closed_at,
		cu.name, cu.email, m.seq, m.sender, substr(m.body, 1, ?), r.seq`
	// sqlListConversations is completed by listConversationsSQL with the filter's conditions.
	sqlListConversations = `SELECT ` + summaryColumns + ` FROM conversations c
		LEFT JOIN customers cu ON cu.id = c.customer_id
		LEFT JOIN messages m ON m.seq = (SELECT seq FROM messages WHERE conversation_id = c.id AND n > 0 ORDER BY n DESC LIMIT 1)
		LEFT JOIN agent_reads r ON r.agent_id = ? AND r.conversation_id = c.id
		WHERE c.workspace_id = ?`
	sqlOpenAssignedCounts = `SELECT assignee_id, COUNT(*) FROM conversations
		WHERE workspace_id = ? AND status = 'open' AND assignee_id <> '' GROUP BY assignee_id`
	sqlReadMark = `SELECT seq FROM agent_reads WHERE agent_id = ? AND conversation_id = ?`
	sqlMarkRead = `INSERT INTO agent_reads (agent_id, conversation_id, seq) VALUES (?, ?, ?)
		ON CONFLICT (agent_id, conversation_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > agent_reads.seq`

	inboxColumns = `id, workspace_id, name, created_at,
		(SELECT json_group_array(agent_id) FROM inbox_members WHERE inbox_id = inboxes.id)`
	sqlInbox            = `SELECT ` + inboxColumns + ` FROM inboxes WHERE id = ?`
	sqlInboxes          = `SELECT ` + inboxColumns + ` FROM inboxes WHERE workspace_id = ? ORDER BY created_at, id`
	sqlInboxInWorkspace = `SELECT 1 FROM inboxes WHERE id = ? AND workspace_id = ?`
	sqlInsertInbox      = `INSERT INTO inboxes (id, workspace_id, name, created_at) VALUES (?, ?, ?, ?)`
	sqlUpdateInbox      = `UPDATE inboxes SET name = ? WHERE id = ? AND workspace_id = ?`
	sqlDeleteInbox      = `DELETE FROM inboxes WHERE id = ? AND workspace_id = ?` // members and rules cascade
	sqlClearInbox       = `UPDATE conversations SET inbox_id = '' WHERE workspace_id = ? AND inbox_id = ?`
	sqlDeleteMembers    = `DELETE FROM inbox_members WHERE inbox_id = ?`
	sqlInsertMembers    = `INSERT INTO inbox_members (inbox_id, agent_id) SELECT DISTINCT ?, value FROM json_each(?)`

	routingRuleColumns    = `id, workspace_id, position, level, email_domain, inbox_id, created_at, attribute_key, attribute_value`
	sqlRoutingRules       = `SELECT ` + routingRuleColumns + ` FROM routing_rules WHERE workspace_id = ? ORDER BY position`
	sqlDeleteRoutingRules = `DELETE FROM routing_rules WHERE workspace_id = ?`
	sqlInsertRoutingRule  = `INSERT INTO routing_rules (` + routingRuleColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

	sqlLoginFailures      = `SELECT seq, workspace_id, code, message, key_id, alg, at FROM login_failures WHERE workspace_id = ? ORDER BY seq DESC LIMIT ?`
	sqlInsertLoginFailure = `INSERT INTO login_failures (workspace_id, code, message, key_id, alg, at) VALUES (?, ?, ?, ?, ?, ?)`
	// sqlTrimLoginFailures deletes a workspace's failures from the one past the newest keep downwards.
	sqlTrimLoginFailures = `DELETE FROM login_failures WHERE workspace_id = ? AND seq <=
		(SELECT seq FROM login_failures WHERE workspace_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`

	// The report's queries number each row's UTC day from the first (86400000000 µs to a day: Unix time
	// has no leap seconds). A conversation's level is read from what it holds now.
	sqlDailyConversations = `SELECT (created_at - ?) / 86400000000,
		SUM(customer_id IS NULL AND claimed_name = '' AND claimed_email = ''),
		SUM(customer_id IS NULL AND (claimed_name <> '' OR claimed_email <> '')),
		SUM(customer_id IS NOT NULL)
		FROM conversations WHERE workspace_id = ? AND created_at >= ? AND created_at < ? GROUP BY 1`
	sqlDailyMessages = `SELECT (m.created_at - ?) / 86400000000, COUNT(*), SUM(m.trusted)
		FROM conversations c JOIN messages m ON m.conversation_id = c.id
		WHERE c.workspace_id = ? AND m.sender = 'customer' AND m.created_at >= ? AND m.created_at < ? GROUP BY 1`
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
// their values, so the reader pool prepares a few dozen texts at most.
func listConversationsSQL(f store.ConversationFilter) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString(sqlListConversations)
	if f.Status != "" {
		b.WriteString(` AND c.status = ?`)
		args = append(args, f.Status)
	}
	if f.AssigneeID != "" {
		b.WriteString(` AND c.assignee_id = ?`)
		args = append(args, f.AssigneeID)
	}
	if f.Unassigned {
		b.WriteString(` AND c.assignee_id = ''`)
	}
	if f.InboxID != "" {
		b.WriteString(` AND c.inbox_id = ?`)
		args = append(args, f.InboxID)
	}
	if f.Search != "" {
		// LIKE folds ASCII case only; the pattern's own wildcards are escaped so they match themselves.
		b.WriteString(` AND (cu.name LIKE ? ESCAPE '\' OR cu.email LIKE ? ESCAPE '\'
			OR c.claimed_name LIKE ? ESCAPE '\' OR c.claimed_email LIKE ? ESCAPE '\')`)
		pattern := "%" + likeEscaper.Replace(f.Search) + "%"
		args = append(args, pattern, pattern, pattern, pattern)
	}
	b.WriteString(` ORDER BY COALESCE(m.created_at, c.created_at) DESC, c.id LIMIT ?`)
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	args = append(args, min(limit, maxListLimit))
	return b.String(), args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func scanSummary(s scanner) (store.ConversationSummary, error) {
	var r conversationRow
	var name, email, sender, body sql.NullString
	var lastSeq, readSeq sql.NullInt64
	err := s.Scan(append(r.dest(), &name, &email, &lastSeq, &sender, &body, &readSeq)...)
	return store.ConversationSummary{
		Conversation: r.conversation(),
		CustomerName: name.String, CustomerEmail: email.String,
		LastSeq: lastSeq.Int64, LastSender: sender.String, LastBody: body.String,
		ReadSeq: readSeq.Int64,
	}, err
}

func (q queries) ListConversations(ctx context.Context, f store.ConversationFilter, readerID string) ([]store.ConversationSummary, error) {
	query, args := listConversationsSQL(f)
	args = append([]any{previewRunes, readerID, f.WorkspaceID}, args...)
	return list(ctx, q.run, "conversation summaries", scanSummary, query, args...)
}

func (q queries) OpenAssignedCounts(ctx context.Context, workspaceID string) (map[string]int, error) {
	counts := make(map[string]int)
	err := eachRow(ctx, q.run, sqlOpenAssignedCounts, []any{workspaceID}, func(rows *sql.Rows) error {
		var agentID string
		var n int
		if err := rows.Scan(&agentID, &n); err != nil {
			return err
		}
		counts[agentID] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: count assigned conversations: %w", err)
	}
	return counts, nil
}

// Read marks

func (q queries) ReadMark(ctx context.Context, agentID, conversationID string) (int64, error) {
	var seq int64
	err := q.run.queryRow(ctx, sqlReadMark, agentID, conversationID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read mark: %w", err)
	}
	return seq, nil
}

func (t *txn) MarkRead(ctx context.Context, agentID, conversationID string, seq int64) error {
	if _, err := t.run.exec(ctx, sqlMarkRead, agentID, conversationID, seq); err != nil {
		return writeErr(err, "mark read")
	}
	return nil
}

// Inboxes

func scanInbox(s scanner) (store.Inbox, error) {
	var in store.Inbox
	var members string
	var created sql.NullInt64
	if err := s.Scan(&in.ID, &in.WorkspaceID, &in.Name, &created, &members); err != nil {
		return in, err
	}
	in.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(members), &in.Members); err != nil {
		return in, fmt.Errorf("decode members of inbox %s: %w", in.ID, err)
	}
	return in, nil
}

func (q queries) Inbox(ctx context.Context, id string) (store.Inbox, error) {
	in, err := scanInbox(q.run.queryRow(ctx, sqlInbox, id))
	if err != nil {
		return in, notFound(err, "inbox")
	}
	return in, nil
}

func (q queries) Inboxes(ctx context.Context, workspaceID string) ([]store.Inbox, error) {
	return list(ctx, q.run, "inboxes", scanInbox, sqlInboxes, workspaceID)
}

func (t *txn) CreateInbox(ctx context.Context, in *store.Inbox) error {
	if _, err := t.run.exec(ctx, sqlInsertInbox, in.ID, in.WorkspaceID, in.Name, micros(in.CreatedAt)); err != nil {
		return writeErr(err, "insert inbox")
	}
	return t.insertMembers(ctx, in)
}

func (t *txn) UpdateInbox(ctx context.Context, in *store.Inbox) error {
	res, err := t.run.exec(ctx, sqlUpdateInbox, in.Name, in.ID, in.WorkspaceID)
	if err := mustChange(res, err, "update inbox"); err != nil {
		return err
	}
	if _, err := t.run.exec(ctx, sqlDeleteMembers, in.ID); err != nil {
		return writeErr(err, "update inbox members")
	}
	return t.insertMembers(ctx, in)
}

// insertMembers stores an inbox's members in one statement, whatever their number.
func (t *txn) insertMembers(ctx context.Context, in *store.Inbox) error {
	if len(in.Members) == 0 {
		return nil
	}
	ids, err := json.Marshal(in.Members)
	if err != nil {
		return fmt.Errorf("store: encode inbox members: %w", err)
	}
	if _, err := t.run.exec(ctx, sqlInsertMembers, in.ID, string(ids)); err != nil {
		return writeErr(err, "insert inbox members")
	}
	return nil
}

func (t *txn) DeleteInbox(ctx context.Context, workspaceID, id string) error {
	res, err := t.run.exec(ctx, sqlDeleteInbox, id, workspaceID)
	if err := mustChange(res, err, "delete inbox"); err != nil {
		return err
	}
	if _, err := t.run.exec(ctx, sqlClearInbox, workspaceID, id); err != nil {
		return writeErr(err, "delete inbox: clear conversations")
	}
	return nil
}

// Routing rules

func scanRoutingRule(s scanner) (store.RoutingRule, error) {
	var r store.RoutingRule
	var created sql.NullInt64
	err := s.Scan(&r.ID, &r.WorkspaceID, &r.Position, &r.Level, &r.EmailDomain, &r.InboxID, &created, &r.AttributeKey, &r.AttributeValue)
	r.CreatedAt = fromMicros(created)
	return r, err
}

func (q queries) RoutingRules(ctx context.Context, workspaceID string) ([]store.RoutingRule, error) {
	return list(ctx, q.run, "routing rules", scanRoutingRule, sqlRoutingRules, workspaceID)
}

func (t *txn) ReplaceRoutingRules(ctx context.Context, workspaceID string, rules []store.RoutingRule) error {
	// The foreign key only proves the inbox exists; a rule must lead to an inbox of its own workspace.
	for _, r := range rules {
		var one int
		if err := t.run.queryRow(ctx, sqlInboxInWorkspace, r.InboxID, workspaceID).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("routing rule %s: inbox %q", r.ID, r.InboxID))
		}
	}
	if _, err := t.run.exec(ctx, sqlDeleteRoutingRules, workspaceID); err != nil {
		return writeErr(err, "delete routing rules")
	}
	for i, r := range rules {
		_, err := t.run.exec(ctx, sqlInsertRoutingRule, r.ID, workspaceID, i, r.Level, r.EmailDomain, r.InboxID, micros(r.CreatedAt), r.AttributeKey, r.AttributeValue)
		if err != nil {
			return writeErr(err, "insert routing rule")
		}
	}
	return nil
}

// Identity log

func scanLoginFailure(s scanner) (store.LoginFailure, error) {
	var f store.LoginFailure
	var at sql.NullInt64
	err := s.Scan(&f.Seq, &f.WorkspaceID, &f.Code, &f.Message, &f.KeyID, &f.Alg, &at)
	f.At = fromMicros(at)
	return f, err
}

func (q queries) LoginFailures(ctx context.Context, workspaceID string, limit int) ([]store.LoginFailure, error) {
	if limit <= 0 || limit > maxLoginFailuresPerRead {
		limit = maxLoginFailuresPerRead
	}
	return list(ctx, q.run, "login failures", scanLoginFailure, sqlLoginFailures, workspaceID, limit)
}

func (t *txn) AddLoginFailure(ctx context.Context, f *store.LoginFailure, keep int) error {
	res, err := t.run.exec(ctx, sqlInsertLoginFailure, f.WorkspaceID, f.Code, f.Message, f.KeyID, f.Alg, micros(f.At))
	if err != nil {
		return writeErr(err, "insert login failure")
	}
	if f.Seq, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("store: insert login failure: %w", err)
	}
	if keep <= 0 {
		return nil // no bound
	}
	if _, err := t.run.exec(ctx, sqlTrimLoginFailures, f.WorkspaceID, f.WorkspaceID, keep); err != nil {
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
	start, end := from.UnixMicro(), to.UnixMicro()
	err := eachRow(ctx, q.run, sqlDailyConversations, []any{start, workspaceID, start, end}, func(rows *sql.Rows) error {
		var i int
		var d store.DayStats
		if err := rows.Scan(&i, &d.Anonymous, &d.Identified, &d.Verified); err != nil {
			return err
		}
		days[i].Anonymous, days[i].Identified, days[i].Verified = d.Anonymous, d.Identified, d.Verified
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: daily conversations: %w", err)
	}
	err = eachRow(ctx, q.run, sqlDailyMessages, []any{start, workspaceID, start, end}, func(rows *sql.Rows) error {
		var i int
		var d store.DayStats
		if err := rows.Scan(&i, &d.CustomerMessages, &d.TrustedCustomerMessages); err != nil {
			return err
		}
		days[i].CustomerMessages, days[i].TrustedCustomerMessages = d.CustomerMessages, d.TrustedCustomerMessages
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: daily messages: %w", err)
	}
	return days, nil
}

// eachRow runs a query and hands every row to fn.
func eachRow(ctx context.Context, run runner, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := run.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
