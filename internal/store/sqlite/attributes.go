package sqlite

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/attributes"
)

// Attributes: a customer's verified ones are a column of customers (queries.go); the ones a session's
// visitor claimed are read and written here, apart from the session's other fields, which every widget
// request reads.

const (
	sqlClaimedAttributes    = `SELECT claimed_attributes FROM sessions WHERE id = ?`
	sqlSetClaimedAttributes = `UPDATE sessions SET claimed_attributes = ? WHERE id = ?`
)

// attributeStatements are the statements of this file that the writer runs.
func attributeStatements() []string {
	return []string{sqlClaimedAttributes, sqlSetClaimedAttributes}
}

// storedAttributes reads an attributes column.
func storedAttributes(text, of string) (attributes.Set, error) {
	a, err := attributes.Stored(text)
	if err != nil {
		return a, fmt.Errorf("store: decode attributes of %s: %w", of, err)
	}
	return a, nil
}

func (q queries) ClaimedAttributes(ctx context.Context, sessionID string) (attributes.Set, error) {
	var text string
	if err := q.run.queryRow(ctx, sqlClaimedAttributes, sessionID).Scan(&text); err != nil {
		return attributes.Set{}, notFound(err, "claimed attributes of session")
	}
	return storedAttributes(text, "session "+sessionID)
}

func (t *txn) SetClaimedAttributes(ctx context.Context, sessionID string, a attributes.Set) error {
	res, err := t.run.exec(ctx, sqlSetClaimedAttributes, a.String(), sessionID)
	return mustChange(res, err, "set claimed attributes")
}
