package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
)

// Alerts (static/alerts.js) and transfers. The socket says only where something happened; the script
// asks these JSON endpoints what an alert shows, through the same workspace checks as any page, and
// hands the text to the Notification API, which shows it as text.

const preferencesPath = "/console/preferences"

// alertStateJSON is GET /console/alerts/state.
type alertStateJSON struct {
	Available     bool     `json:"available"`
	Sound         bool     `json:"sound"`
	Notifications bool     `json:"notifications"`
	Attention     []string `json:"attention"` // conversation ids needing the agent, newest activity first
}

// AlertState serves GET /console/alerts/state: the agent's availability, alert preferences and the
// conversations needing them (the tab title's count).
func (c *Console) AlertState(w http.ResponseWriter, r *http.Request) {
	st, err := c.chat.AlertState(r.Context(), signedIn(r).agent)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	out := alertStateJSON{Available: st.Available, Sound: st.Prefs.Sound, Notifications: st.Prefs.Notifications, Attention: st.Attention}
	if out.Attention == nil {
		out.Attention = []string{}
	}
	writeJSON(w, out)
}

// conversationAlertJSON is GET /console/conversations/{id}/alert.
type conversationAlertJSON struct {
	ConversationID string `json:"conversation_id"`
	Name           string `json:"name"`
	Level          string `json:"level"` // verified, claimed or anonymous
	Text           string `json:"text"`  // the first 80 characters of the newest customer message
	Truncated      bool   `json:"truncated"`
	MessageNumber  int64  `json:"message_number"` // of that message (0 when none): one alert per message
	ForMe          bool   `json:"for_me"`
	Assigned       bool   `json:"assigned"`
	Unread         bool   `json:"unread"`
	URL            string `json:"url"`
}

// ConversationAlert serves GET /console/conversations/{id}/alert: what a notification about the
// conversation says. Another workspace's conversation is a 404, as everywhere.
func (c *Console) ConversationAlert(w http.ResponseWriter, r *http.Request) {
	a, err := c.chat.ConversationAlert(r.Context(), signedIn(r).agent, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, conversationAlertJSON{
		ConversationID: a.ConversationID, Name: a.Name, Level: a.Level, Text: a.Text, Truncated: a.Cut,
		MessageNumber: a.N, ForMe: a.ForMe, Assigned: a.Assigned, Unread: a.Unread, URL: conversationPath(a.ConversationID),
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v) // nothing to do for a client that went away
}

// preferencesData is the preferences page.
type preferencesData struct {
	Sound, Notifications bool
	Email                preferencesEmail // email.go
}

// PreferencesPage serves GET /console/preferences: the agent's alert preferences.
func (c *Console) PreferencesPage(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	p, err := c.chat.AgentPrefs(r.Context(), s.agent)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	email := preferencesEmail{EmailAlerts: p.EmailAlerts, Configured: c.chat.EmailConfigured(), Notice: noEmailNotice,
		Delay: shortDuration(chat.UnreadAlertDelay(s.workspace.Settings))}
	c.render(w, r, http.StatusOK, "preferences", c.page(w, r, "Preferences", "preferences", preferencesData{Sound: p.Sound, Notifications: p.Notifications, Email: email}))
}

// SavePreferences serves POST /console/preferences (checkboxes sound, notifications and email_alerts:
// "on" or absent). email_alerts counts only when the form says it carries it (email_settings=1), so a
// form without the box does not turn the agent's email alerts off.
func (c *Console) SavePreferences(w http.ResponseWriter, r *http.Request) {
	sound, err := checkbox(r, "sound")
	if err != nil {
		c.failed(w, r, preferencesPath, err)
		return
	}
	notifications, err := checkbox(r, "notifications")
	if err != nil {
		c.failed(w, r, preferencesPath, err)
		return
	}
	emailAlerts, err := checkbox(r, "email_alerts")
	if err != nil {
		c.failed(w, r, preferencesPath, err)
		return
	}
	if _, err := c.chat.SetAgentPrefs(r.Context(), signedIn(r).agent, sound, notifications); err != nil {
		c.failed(w, r, preferencesPath, err)
		return
	}
	if r.PostForm.Get("email_settings") == "1" {
		if _, err := c.chat.SetAgentEmailAlerts(r.Context(), signedIn(r).agent, emailAlerts); err != nil {
			c.failed(w, r, preferencesPath, err)
			return
		}
	}
	c.seeOther(w, r, preferencesPath, "ok", "Preferences saved.")
}

// checkbox reads a checkbox strictly: absent is off, "on" (or "1") is on, anything else is refused.
func checkbox(r *http.Request, name string) (bool, error) {
	switch v := r.PostForm[name]; {
	case len(v) == 0:
		return false, nil
	case len(v) == 1 && (v[0] == "on" || v[0] == "1"):
		return true, nil
	}
	return false, problem.InvalidField(name, "must be on or absent")
}

// Transfer serves POST /console/conversations/{id}/transfer (fields to: "agent:<id>", "inbox:<id>" or ""
// for unassigned; note: optional context for whoever takes it, at most 500 characters).
func (c *Console) Transfer(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	id := r.PathValue("id")
	var to chat.TransferTo
	switch v := r.PostForm.Get("to"); {
	case v == "":
	case strings.HasPrefix(v, "agent:"):
		to.AgentID = strings.TrimPrefix(v, "agent:")
	case strings.HasPrefix(v, "inbox:"):
		to.InboxID = strings.TrimPrefix(v, "inbox:")
	default:
		c.failed(w, r, conversationPath(id), problem.InvalidField("to", "must name an agent or an inbox"))
		return
	}
	if (to.AgentID == "" && strings.HasPrefix(r.PostForm.Get("to"), "agent:")) || (to.InboxID == "" && strings.HasPrefix(r.PostForm.Get("to"), "inbox:")) {
		c.failed(w, r, conversationPath(id), problem.InvalidField("to", "must name an agent or an inbox"))
		return
	}
	conv, err := c.chat.Transfer(r.Context(), s.agent, id, to, r.PostForm.Get("note"))
	if err != nil {
		c.failed(w, r, conversationPath(id), err)
		return
	}
	msg := "Conversation unassigned."
	switch {
	case to.InboxID != "":
		msg = "Conversation transferred to the inbox."
	case conv.AssigneeID == s.agent.ID:
		msg = "Conversation assigned to you."
	case conv.AssigneeID != "":
		msg = "Conversation transferred."
	}
	c.seeOther(w, r, conversationPath(id), "ok", msg)
}

// transferPanel is what the conversation page's Transfer form offers.
type transferPanel struct {
	Inboxes []inboxChoice
}

type inboxChoice struct {
	ID, Name string
	Current  bool
}

// withTransfer fills the page's transfer form: the workspace's inboxes (agents are p.Assignable).
func (c *Console) withTransfer(r *http.Request, p *conversationPage) error {
	inboxes, err := c.chat.Inboxes(r.Context(), signedIn(r).agent.WorkspaceID)
	if err != nil {
		return err
	}
	for _, in := range inboxes {
		p.Transfer.Inboxes = append(p.Transfer.Inboxes, inboxChoice{ID: in.ID, Name: in.Name, Current: in.ID == p.Conversation.InboxID})
	}
	return nil
}
