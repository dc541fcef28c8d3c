package console

import (
	"net/http"
	"net/url"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// inboxLimit is how many conversations one inbox view lists.
const inboxLimit = 100

// inboxPage is the data of the inbox page and its live list.
type inboxPage struct {
	View    string
	InboxID string
	Q       string
	Tabs    []tab
	Inboxes []store.Inbox
	Items   []inboxRow
	Empty   string // what to say when there is nothing to list
}

type tab struct {
	Label   string
	URL     string
	Current bool
}

type inboxRow struct {
	chat.InboxItem
	AssigneeName string
	InboxName    string
	Preview      string // the last message with who sent it
}

var views = []struct{ id, label string }{
	{chat.ViewUnassigned, "Unassigned"},
	{chat.ViewMine, "Mine"},
	{chat.ViewOpen, "All open"},
	{chat.ViewClosed, "Closed"},
}

// inbox reads the inbox page's data from the query (?view=, ?inbox=, ?q=).
func (c *Console) inbox(r *http.Request) (*inboxPage, error) {
	s := signedIn(r)
	q := r.URL.Query()
	p := &inboxPage{View: q.Get("view"), InboxID: q.Get("inbox"), Q: q.Get("q")}
	if p.View == "" {
		p.View = chat.ViewOpen
	}
	items, err := c.chat.Inbox(r.Context(), s.agent, chat.InboxQuery{View: p.View, InboxID: p.InboxID, Search: p.Q, Limit: inboxLimit})
	if err != nil {
		return nil, err
	}
	if p.Inboxes, err = c.chat.Inboxes(r.Context(), s.agent.WorkspaceID); err != nil {
		return nil, err
	}
	agents, err := c.chat.Agents(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		return nil, err
	}
	agentNames := make(map[string]string, len(agents))
	for _, a := range agents {
		agentNames[a.ID] = a.Name
	}
	inboxNames := make(map[string]string, len(p.Inboxes))
	for _, in := range p.Inboxes {
		inboxNames[in.ID] = in.Name
	}
	for _, it := range items {
		row := inboxRow{InboxItem: it, AssigneeName: agentNames[it.AssigneeID], InboxName: inboxNames[it.InboxID]}
		if it.AssigneeID == s.agent.ID {
			row.AssigneeName = "you"
		}
		body := it.LastBody
		if body == "" && it.LastSeq > 0 {
			body = "(files)" // a message of attachments alone
		}
		switch it.LastSender {
		case store.SenderAgent:
			row.Preview = "Agent: " + body
		case store.SenderSystem:
			row.Preview = "Notice: " + body
		default:
			row.Preview = body
		}
		p.Items = append(p.Items, row)
	}
	for _, v := range views {
		u := url.Values{"view": {v.id}}
		if p.InboxID != "" {
			u.Set("inbox", p.InboxID)
		}
		if p.Q != "" {
			u.Set("q", p.Q)
		}
		p.Tabs = append(p.Tabs, tab{Label: v.label, URL: homePath + "?" + u.Encode(), Current: v.id == p.View})
	}
	switch {
	case p.Q != "":
		p.Empty = "No conversation matches your search."
	case p.View == chat.ViewUnassigned:
		p.Empty = "Every open conversation has someone on it."
	case p.View == chat.ViewMine:
		p.Empty = "No open conversation is assigned to you."
	case p.View == chat.ViewClosed:
		p.Empty = "No closed conversations yet."
	default:
		p.Empty = "No open conversations. New chats appear here as they arrive."
	}
	return p, nil
}

// InboxPage serves GET /console/.
func (c *Console) InboxPage(w http.ResponseWriter, r *http.Request) {
	p, err := c.inbox(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := c.page(w, r, "Inbox", "inbox", p)
	v.Live = "inbox"
	u := url.Values{"view": {p.View}}
	if p.InboxID != "" {
		u.Set("inbox", p.InboxID)
	}
	if p.Q != "" {
		u.Set("q", p.Q)
	}
	v.LiveURL = "/console/inbox/list?" + u.Encode()
	c.render(w, r, http.StatusOK, "inbox", v)
}

// InboxList serves GET /console/inbox/list: the inbox page's list alone, for the live script.
func (c *Console) InboxList(w http.ResponseWriter, r *http.Request) {
	p, err := c.inbox(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s := signedIn(r)
	c.fragment(w, r, "inbox", "inbox_list", &view{Agent: s.agent, Workspace: s.workspace, CSRF: s.sess.CSRFToken, Data: p})
}

// SetAvailability serves POST /console/availability (form field available: 1 or 0).
func (c *Console) SetAvailability(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	back := localPath(r.PostForm.Get("back"))
	available := r.PostForm.Get("available") == "1"
	if _, err := c.chat.SetAvailability(r.Context(), s.agent, available); err != nil {
		c.failed(w, r, back, err)
		return
	}
	msg := "You are available: new conversations may be assigned to you."
	if !available {
		msg = "You are away: new conversations will not be assigned to you."
	}
	c.seeOther(w, r, back, "ok", msg)
}
