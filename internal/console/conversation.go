package console

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// conversationPage is the data of the conversation page and its live regions.
type conversationPage struct {
	chat.ConversationView
	Items        []timelineItem
	DisplayName  string
	DisplayEmail string
	Assignable   []store.Agent // active agents, and the current assignee in any case
	ClientID     string        // the reply form's nonce: a resubmitted form does not post twice
	Closed       bool
	// LoginBlocked says why "Ask to sign in" is not possible ("" when it is).
	LoginBlocked string
	// NoReply says why a reply cannot be sent ("" when it can).
	NoReply string
	Me      string
}

// timelineItem is a timeline entry ready to show.
type timelineItem struct {
	chat.TimelineEntry
	From       string // who sent the message
	Text       string // what the event means
	TrustLabel string // the screen-reader text of the trust mark
}

// TrustAttr is the message's data-trust hook: green, gray or none.
func (t timelineItem) TrustAttr() string {
	if t.Trust == chat.TrustNone {
		return "none"
	}
	return t.Trust
}

func (c *Console) conversation(r *http.Request) (*conversationPage, error) {
	s := signedIn(r)
	cv, err := c.chat.Conversation(r.Context(), s.agent, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	p := &conversationPage{ConversationView: cv, ClientID: "console-" + randomString()[:32], Me: s.agent.ID}
	conv := cv.Conversation
	p.Closed = conv.Status == store.StatusClosed
	p.DisplayName = firstOf(customerField(cv.Profile.Customer, "name"), conv.ClaimedName, "Visitor")
	p.DisplayEmail = firstOf(customerField(cv.Profile.Customer, "email"), conv.ClaimedEmail)
	names := make(map[string]string, len(cv.Agents))
	for _, a := range cv.Agents {
		names[a.ID] = a.Name
		if a.DisabledAt.IsZero() || a.ID == conv.AssigneeID {
			p.Assignable = append(p.Assignable, a)
		}
	}
	name := func(id string) string { return names[id] }
	for _, e := range cv.Timeline {
		it := timelineItem{TimelineEntry: e}
		switch {
		case e.Message != nil:
			switch e.Message.Sender {
			case store.SenderCustomer:
				it.From = p.DisplayName
			case store.SenderAgent:
				it.From = firstOf(e.AgentName, "Agent")
			default:
				it.From = "Notice"
			}
			switch e.Trust {
			case chat.TrustGreen:
				it.TrustLabel = "Verified customer"
			case chat.TrustGray:
				it.TrustLabel = "Verified customer (conversation closed)"
			}
		case e.Event != nil:
			it.Text = upperFirst(describeEvent(*e.Event, name))
		}
		p.Items = append(p.Items, it)
	}
	p.Items = startFirst(p.Items)
	switch {
	case cv.LoginURL == "":
		p.LoginBlocked = "Set the workspace's login URL in Settings first, so the visitor has somewhere to sign in."
	case conv.CustomerID != "":
		p.LoginBlocked = "This customer is already verified."
	case p.Closed:
		p.LoginBlocked = "Reopen the conversation first."
	}
	if !cv.CanReply {
		p.NoReply = "This conversation is closed and its visitor never proved who they are (" +
			strings.ToLower(levelLabel(cv.Profile.Level)) + "), so a reply could not reach them: nobody could prove to be this visitor again."
	}
	return p, nil
}

// startFirst puts the conversation's start — the started event and what routing did in the same
// moment — before the first message. The first message is stamped a moment before the conversation it
// starts, so by time alone the timeline would open with it.
func startFirst(items []timelineItem) []timelineItem {
	start := -1
	for i, it := range items {
		if it.Event != nil && it.Event.Type == "started" {
			start = i
			break
		}
		if it.Event != nil {
			return items // another event came first: nothing to move
		}
	}
	if start <= 0 {
		return items
	}
	end := start + 1
	for end < len(items) && items[end].Event != nil &&
		(items[end].Event.Type == "routed" || items[end].Event.Type == "assigned" && items[end].Event.Data["by"] == "routing") {
		end++
	}
	out := make([]timelineItem, 0, len(items))
	out = append(out, items[start:end]...)
	out = append(out, items[:start]...)
	return append(out, items[end:]...)
}

func customerField(c *store.Customer, field string) string {
	if c == nil {
		return ""
	}
	if field == "email" {
		return c.Email
	}
	return c.Name
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// ConversationPage serves GET /console/conversations/{id}. Opening it shows the newest message, so it
// marks the conversation read up to there.
func (c *Console) ConversationPage(w http.ResponseWriter, r *http.Request) {
	p, err := c.conversation(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s := signedIn(r)
	if p.LastSeq > 0 {
		if err := c.chat.MarkRead(r.Context(), s.agent, p.Conversation.ID, p.LastSeq); err != nil {
			c.log.Warn("console mark read", "conversation", p.Conversation.ID, "err", err)
		}
	}
	v := c.page(w, r, "Conversation with "+p.DisplayName, "inbox", p)
	v.Live = "conversation"
	v.LiveURL = "/console/conversations/" + p.Conversation.ID + "/live"
	c.render(w, r, http.StatusOK, "conversation", v)
}

// ConversationLive serves GET /console/conversations/{id}/live: the page's live regions (status,
// timeline, actions, reply form) for the script to swap in.
func (c *Console) ConversationLive(w http.ResponseWriter, r *http.Request) {
	p, err := c.conversation(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s := signedIn(r)
	c.fragment(w, r, "conversation", "live", &view{Agent: s.agent, Workspace: s.workspace, CSRF: s.sess.CSRFToken, Path: "/console/conversations/" + p.Conversation.ID, Data: p})
}

func conversationPath(id string) string { return "/console/conversations/" + id }

// Reply serves POST /console/conversations/{id}/reply (fields body, client_id).
func (c *Console) Reply(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	id := r.PathValue("id")
	// The same form posted twice (a double click, a resubmit after reload) answers with the first reply:
	// chat.PostAgentMessage treats a repeated client id as a retry.
	_, err := c.chat.Reply(r.Context(), s.agent, id, r.PostForm.Get("body"), r.PostForm.Get("client_id"))
	if err != nil {
		c.failed(w, r, conversationPath(id), err)
		return
	}
	c.seeOther(w, r, conversationPath(id)+"#reply", "", "")
}

// CloseConversation serves POST /console/conversations/{id}/close.
func (c *Console) CloseConversation(w http.ResponseWriter, r *http.Request) {
	c.setStatus(w, r, store.StatusClosed, "Conversation closed.")
}

// ReopenConversation serves POST /console/conversations/{id}/reopen.
func (c *Console) ReopenConversation(w http.ResponseWriter, r *http.Request) {
	c.setStatus(w, r, store.StatusOpen, "Conversation reopened.")
}

func (c *Console) setStatus(w http.ResponseWriter, r *http.Request, status, done string) {
	s := signedIn(r)
	id := r.PathValue("id")
	if _, err := c.chat.SetConversationStatus(r.Context(), s.agent, id, status); err != nil {
		c.failed(w, r, conversationPath(id), err)
		return
	}
	c.seeOther(w, r, conversationPath(id), "ok", done)
}

// Assign serves POST /console/conversations/{id}/assign (field assignee: an agent id, or "" for no one).
func (c *Console) Assign(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	id := r.PathValue("id")
	conv, err := c.chat.Assign(r.Context(), s.agent, id, r.PostForm.Get("assignee"))
	if err != nil {
		c.failed(w, r, conversationPath(id), err)
		return
	}
	msg := "Conversation unassigned."
	if conv.AssigneeID == s.agent.ID {
		msg = "Conversation assigned to you."
	} else if conv.AssigneeID != "" {
		msg = "Conversation assigned."
	}
	c.seeOther(w, r, conversationPath(id), "ok", msg)
}

// RequestLogin serves POST /console/conversations/{id}/request-login.
func (c *Console) RequestLogin(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	id := r.PathValue("id")
	if _, err := c.chat.RequestLogin(r.Context(), s.agent, id); err != nil {
		if problem.HasCode(err, "no_login_url") {
			// chat checks the workspace's setting before the conversation: make sure the id is one of
			// ours, so that another workspace's id is "not found" here as everywhere else.
			if _, cerr := c.chat.Conversation(r.Context(), s.agent, id); cerr != nil {
				err = cerr
			}
		}
		c.failed(w, r, conversationPath(id), err)
		return
	}
	c.seeOther(w, r, conversationPath(id), "ok", "The visitor was asked to sign in.")
}

// MarkRead serves POST /console/conversations/{id}/read (field seq): the script calls it when the page
// shows a message that arrived live. It answers 204.
func (c *Console) MarkRead(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	seq, err := strconv.ParseInt(r.PostForm.Get("seq"), 10, 64)
	if err != nil || seq < 0 {
		c.fail(w, r, problem.InvalidField("seq", "must be a message sequence number"))
		return
	}
	if err := c.chat.MarkRead(r.Context(), s.agent, r.PathValue("id"), seq); err != nil {
		c.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// CustomerPage serves GET /console/customers/{id}.
func (c *Console) CustomerPage(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	cv, err := c.chat.Customer(r.Context(), s.agent, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "customer", c.page(w, r, firstOf(cv.Customer.Name, cv.Customer.Email, "Customer"), "inbox", cv))
}
