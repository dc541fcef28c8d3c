package postgres

// LifetimeStatements exposes the cleanup and touch statements to the plan test (postgres_test).
var LifetimeStatements = map[string]string{
	"touch":                         sqlTouchSession,
	"session and workspace":         sqlSessionWorkspace,
	"expire by last activity":       sqlExpireBySeen,
	"expire by login time":          sqlExpireByVerified,
	"walk ended sessions":           sqlEndedSessions,
	"delete ended sessions":         sqlDeleteEndedSessions,
	"delete used jtis":              sqlDeleteUsedJTIs,
	"delete expired agent sessions": sqlDeleteAgentSessionsExpired,
	"delete revoked agent sessions": sqlDeleteAgentSessionsRevoked,
	"delete lifted blocks":          sqlDeleteLiftedBlocks,
	"delete expired blocks":         sqlDeleteExpiredBlocks,
}
