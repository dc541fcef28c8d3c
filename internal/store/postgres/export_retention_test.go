package postgres

// RetentionStatements exposes the retention job's statements to the plan test (postgres_test).
var RetentionStatements = map[string]string{
	"closed conversations": sqlClosedConversations,
	"purgeable session":    sqlPurgeableSession,
}
