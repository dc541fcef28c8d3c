package console

import (
	"net/http"
	"time"
)

// auditLimit is how many events the audit trail page shows.
const auditLimit = 200

// auditActions names each action of the audit trail for people.
var auditActions = map[string]string{
	"key.created":        "Secret created",
	"key.rotated":        "Secret rotated",
	"key.revoked":        "Key revoked",
	"key.registered":     "Public key registered",
	"jwks.added":         "JWKS URL added",
	"server_key.created": "Customers API signing key created",
	"apikey.created":     "API key created",
	"apikey.revoked":     "API key revoked",
	"sessions.ended_all": "Every widget session ended",
	"block.created":      "Visitor blocked",
	"block.lifted":       "Block lifted",
}

func actionLabel(action string) string {
	if label, ok := auditActions[action]; ok {
		return label
	}
	return action
}

// utc formats an audit time to the second, in UTC: a trail is compared with logs, which are in UTC.
func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// AuditPage serves GET /console/settings/audit: the newest changes to the workspace's signing keys and
// API keys, with who made them.
func (c *Console) AuditPage(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	events, err := c.chat.AuditEvents(r.Context(), s.agent.WorkspaceID, auditLimit)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := c.page(w, r, "Audit trail", "audit", events)
	v.Path = auditPath
	c.render(w, r, http.StatusOK, "audit", v)
}
