package postgres

// AuditEventsSQL exposes the audit filter's query to the plan test (postgres_test).
var AuditEventsSQL = auditEventsSQL
