package postgres

// HotStatements exposes the statements on every widget request, socket, message and console page load
// to the plan test (postgres_test).
var HotStatements = map[string]string{
	"workspace":                   sqlWorkspace,
	"signing keys":                sqlKeys,
	"session by token":            sqlSessionByHash,
	"session and workspace":       sqlSessionWorkspace,
	"session by id":               sqlSession,
	"touch session":               sqlTouchSession,
	"sessions of customer":        sqlSessionsOfCustomer,
	"customer":                    sqlCustomer,
	"customer by external id":     sqlCustomerByExternal,
	"conversation":                sqlConversation,
	"open conversation, customer": sqlOpenConversationCustomer,
	"open conversation, session":  sqlOpenConversationSession,
	"conversations of customer":   sqlConversationsOfCustomer,
	"conversations of session":    sqlConversationsOfSession,
	"messages after seq":          sqlMessages,
	"messages after number":       sqlMessagesAfterNumber,
	"message by client id":        sqlMessageByClientID,
	"append message":              sqlInsertMessage,
	"append to open, customer":    sqlAppendToOpenCustomer,
	"append to open, session":     sqlAppendToOpenSession,
	"use jti":                     sqlUseJTI,
	"agent session and agent":     sqlAgentSessionAgent,
	"agent session by token":      sqlAgentSessionByHash,
	"agents of workspace":         sqlAgents,
	"webhook endpoints":           sqlWebhookEndpoints,
}
