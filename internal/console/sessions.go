package console

import (
	"net/http"
	"strconv"

	"github.com/parleyhq/parley/internal/problem"
)

// EndSessions serves POST /console/settings/end-sessions (field confirm=yes, which the settings page's
// confirmation step adds): every live widget session of the workspace ends at once — the answer to a
// leaked secret or a compromised site. chat audits it as sessions.ended_all, by this administrator.
func (c *Console) EndSessions(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		c.failed(w, r, settingsPath, problem.InvalidField("confirm", "confirm that every widget session should end"))
		return
	}
	n, err := c.chat.EndWorkspaceSessions(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		c.failed(w, r, settingsPath, err)
		return
	}
	msg := "No widget session was live, so none ended."
	if n > 0 {
		msg = "Every widget session ended: " + sessionsCount(n) + ". Visitors continue anonymously; signed-in customers are verified again at their next login."
	}
	c.seeOther(w, r, settingsPath, "ok", msg)
}

// sessionsCount says how many widget sessions, in words: "1 widget session", "3 widget sessions".
func sessionsCount(n int) string {
	if n == 1 {
		return "1 widget session"
	}
	return strconv.Itoa(n) + " widget sessions"
}
