package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// A conversation page shows one page of the timeline (chat.TimelinePageSize entries): the newest when
// it opens. "Show earlier messages" is a link to the page before (?before=…&before_event=…), which the
// script loads into place instead; live events make the script fetch only what is new
// (GET …/timeline?after=…&after_event=…) and the small regions around the timeline (GET …/live), so a
// long conversation is never read again as a whole.

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
	// Latest is true on the newest page, the one live updates extend; an earlier page (no script)
	// links back to it instead.
	Latest bool
	// EarlierURL loads the page before this one ("" when this page reaches the start).
	EarlierURL string
	// Unreachable is the timeline's closing note when no one can receive a reply ("" otherwise).
	Unreachable *unreachableNote
	// Blocking is the block panel: whether the visitor is blocked, or the form that blocks them.
	Blocking blockPanel
	// ComposeNote selects the composer's "Internal note" switch: the page answers a refused note, whose
	// draft must not go out as a reply by mistake.
	ComposeNote bool
	// Transfer is the Transfer form's choices of inbox (alerts.go).
	Transfer transferPanel
	// Composer is the reply box's canned responses and draft (canned.go).
	Composer composer
	// Attach is the reply box's paperclip: the workspace's limits, and a refused reply's files
	// (attachments.go).
	Attach attachBox
	// Transcript is the "Email transcript to customer" button (email.go): shown for a verified
	// customer's conversation only, the one kind that has an address to send to.
	Transcript transcriptButton
}

// unreachableNote ends the timeline of a conversation nobody can receive a reply in.
type unreachableNote struct {
	At   time.Time
	Text string
}

// timelineItem is a timeline entry ready to show.
type timelineItem struct {
	chat.TimelineEntry
	From       string // who sent the message
	Text       string // what the event means
	TrustLabel string // the trust mark's accessible name: what the mark says, for every customer message
	// SeenAt is when the customer saw this agent message, the newest they have seen (zero otherwise).
	SeenAt time.Time
}

// TrustAttr is the message's data-trust hook: green, gray or none.
func (t timelineItem) TrustAttr() string {
	if t.Trust == chat.TrustNone {
		return "none"
	}
	return t.Trust
}

// Customer reports a customer's message: every one carries a mark (or its absence) that explains
// itself.
func (t timelineItem) Customer() bool {
	return t.Message != nil && t.Message.Sender == store.SenderCustomer
}

// Trusted is the message's data-trusted hook, which the script reads to restamp marks when the
// conversation closes or reopens.
func (t timelineItem) Trusted() bool { return t.Message != nil && t.Message.Trusted }

// trustLabel is the accessible name of a message's mark.
func trustLabel(trust string) string {
	switch trust {
	case chat.TrustGreen:
		return "Verified customer"
	case chat.TrustGray:
		return "Verified customer (conversation closed)"
	}
	return "Not verified"
}

// markProto is a trust mark as the template draws it. Without an ID it belongs to no message: the
// script clones those in when the conversation closes or reopens, rather than reading the timeline
// again, and gives them the message's ID.
type markProto struct {
	Trust, Label, Note string
	ID                 string // of the mark's note, which describes it
}

// Mark is the message's trust mark.
func (t timelineItem) Mark() markProto {
	return markProto{Trust: t.TrustAttr(), Label: t.TrustLabel, Note: t.TrustNote, ID: "trust-note-" + strconv.FormatInt(t.Message.Seq, 10)}
}

// MarkProtos are the marks of a trusted and an untrusted customer message at the conversation's status.
func (p *conversationPage) MarkProtos() []markProto {
	var out []markProto
	for _, trusted := range []bool{true, false} {
		m := store.Message{Sender: store.SenderCustomer, Trusted: trusted}
		mark, note := chat.TrustMark(p.Conversation, m)
		it := timelineItem{TimelineEntry: chat.TimelineEntry{Trust: mark}}
		out = append(out, markProto{Trust: it.TrustAttr(), Label: trustLabel(mark), Note: note})
	}
	return out
}

// displayName is who the agent is talking to: the verified customer's name, else what the visitor
// claimed, else "Visitor".
func displayName(c *store.Customer, conv store.Conversation) string {
	return firstOf(customerField(c, "name"), conv.ClaimedName, "Visitor")
}

// items turns timeline entries into what the page shows; zone is the workspace's (describeEvent).
func items(entries []chat.TimelineEntry, customerName string, agentName func(id string) string, zone *time.Location) []timelineItem {
	out := make([]timelineItem, 0, len(entries))
	for _, e := range entries {
		it := timelineItem{TimelineEntry: e}
		switch {
		case e.Message != nil:
			switch e.Message.Sender {
			case store.SenderCustomer:
				it.From = customerName
				it.TrustLabel = trustLabel(e.Trust)
			case store.SenderAgent:
				it.From = firstOf(e.AgentName, "Agent")
			default:
				it.From = "Notice"
			}
		case e.Event != nil:
			it.Text = upperFirst(describeEvent(*e.Event, agentName, zone))
		}
		out = append(out, it)
	}
	return out
}

// unreachable is the note that ends the timeline, and the composer's notice, when a reply would reach
// no one; nil when it would reach someone.
func unreachable(r chat.Reach) *unreachableNote {
	if r.Reachable {
		return nil
	}
	why := "their chat session has ended: they signed in as someone else in that browser, or their session was ended"
	if r.Unreachable == chat.UnreachableLoggedOut {
		why = "they logged out"
	}
	return &unreachableNote{At: r.UnreachableAt, Text: "Nobody can receive replies here any more: the visitor never proved who they are, and " + why + "."}
}

// cursorParams reads a timeline cursor from two query parameters; absent ones are 0.
func cursorParams(q url.Values, message, event string) (chat.TimelineCursor, error) {
	var c chat.TimelineCursor
	for _, f := range []struct {
		name string
		to   *int64
	}{{message, &c.Message}, {event, &c.Event}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || len(v) > 19 || v[0] == '+' {
			return c, problem.InvalidField(f.name, "must be a sequence number from the timeline")
		}
		*f.to = n
	}
	return c, nil
}

func earlierURL(id string, c chat.TimelineCursor) string {
	q := url.Values{}
	q.Set("before", strconv.FormatInt(c.Message, 10))
	q.Set("before_event", strconv.FormatInt(c.Event, 10))
	return conversationPath(id) + "?" + q.Encode()
}

// conversation reads the page's data: with the timeline's page before the cursor, or without a
// timeline (withTimeline false) for the live regions around it.
func (c *Console) conversation(r *http.Request, before chat.TimelineCursor, withTimeline bool) (*conversationPage, error) {
	s := signedIn(r)
	var cv chat.ConversationView
	var err error
	if withTimeline {
		cv, err = c.chat.ConversationBefore(r.Context(), s.agent, r.PathValue("id"), before)
	} else {
		cv, err = c.chat.ConversationDetails(r.Context(), s.agent, r.PathValue("id"))
	}
	if err != nil {
		return nil, err
	}
	p := &conversationPage{ConversationView: cv, ClientID: "console-" + randomString()[:32], Me: s.agent.ID}
	conv := cv.Conversation
	p.Closed = conv.Status == store.StatusClosed
	p.Latest = before == (chat.TimelineCursor{})
	p.DisplayName = displayName(cv.Profile.Customer, conv)
	p.DisplayEmail = firstOf(customerField(cv.Profile.Customer, "email"), conv.ClaimedEmail)
	names := make(map[string]string, len(cv.Agents))
	for _, a := range cv.Agents {
		names[a.ID] = a.Name
		if a.DisabledAt.IsZero() || a.ID == conv.AssigneeID {
			p.Assignable = append(p.Assignable, a)
		}
	}
	p.Items = startFirst(items(cv.Timeline, p.DisplayName, func(id string) string { return names[id] }, hoursZone(s.workspace.Settings)))
	if withTimeline {
		if err := c.markSeen(r, p); err != nil { // typing.go
			return nil, err
		}
	}
	if cv.HasEarlier {
		p.EarlierURL = earlierURL(conv.ID, cv.Earlier)
	}
	p.Unreachable = unreachable(cv.Reach)
	p.ComposeNote = r.Method == http.MethodPost && r.PostForm.Get("kind") == "note"
	if err := c.withTransfer(r, p); err != nil { // alerts.go
		return nil, err
	}
	if p.Blocking, err = c.blocking(r, conv); err != nil {
		return nil, err
	}
	switch {
	case !cv.Reachable:
		p.LoginBlocked = "Nobody could receive the sign-in link: the visitor's session has ended."
	case cv.LoginURL == "":
		p.LoginBlocked = "Set the workspace's login URL in Settings first, so the visitor has somewhere to sign in."
	case conv.CustomerID != "":
		p.LoginBlocked = "This customer is already verified."
	case p.Closed:
		p.LoginBlocked = "Reopen the conversation first."
	}
	switch {
	case !cv.Reachable:
		p.NoReply = p.Unreachable.Text + " A reply would be read by no one, so none can be sent; close the conversation when you are done with it."
	case !cv.CanReply:
		p.NoReply = "This conversation is closed and its visitor never proved who they are (" +
			strings.ToLower(levelLabel(cv.Profile.Level)) + "), so a reply could not reach them: nobody could prove to be this visitor again."
	}
	if err := c.withComposer(r, p); err != nil { // canned.go
		return nil, err
	}
	p.Attach = newAttachBox(signedIn(r).workspace.Settings) // attachments.go
	p.Transcript = transcriptButton{Show: chat.ConversationLevel(conv) == store.LevelVerified,
		Email: customerField(cv.Profile.Customer, "email"), Configured: c.chat.EmailConfigured()}
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

// ConversationPage serves GET /console/conversations/{id}: the newest page of the timeline, or with
// ?before=…&before_event=… the page before that place (the "Show earlier messages" link). Opening the
// newest page shows the newest message, so it marks the conversation read up to there.
func (c *Console) ConversationPage(w http.ResponseWriter, r *http.Request) {
	before, err := cursorParams(r.URL.Query(), "before", "before_event")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p, err := c.conversation(r, before, true)
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
	title := "Conversation with " + p.DisplayName
	if !p.Latest {
		title += " (earlier messages)"
	}
	v := c.page(w, r, title, "inbox", p)
	v.Live = "conversation"
	v.LiveURL = conversationPath(p.Conversation.ID) + "/live"
	c.render(w, r, http.StatusOK, "conversation", v)
}

// ConversationLive serves GET /console/conversations/{id}/live: the page's live regions around the
// timeline (heading, reply form, actions, customer panel) and the trust marks at the conversation's
// status, for the script to swap in. The timeline itself is not in it: see ConversationTimeline.
func (c *Console) ConversationLive(w http.ResponseWriter, r *http.Request) {
	p, err := c.conversation(r, chat.TimelineCursor{}, false)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s := signedIn(r)
	c.fragment(w, r, "conversation", "live", &view{Agent: s.agent, Workspace: s.workspace, CSRF: s.sess.CSRFToken, Path: conversationPath(p.Conversation.ID), Data: p})
}

// timelineFragment is the data of GET …/timeline: entries to put in place, and where to go on from.
type timelineFragment struct {
	Items []timelineItem
	// After: the entries are new ones, to append; Newest is the cursor to read on from and More says
	// more are waiting. Otherwise they are an earlier page, to put before the others; EarlierURL loads
	// the one before it ("" at the start).
	After       bool
	Newest      chat.TimelineCursor
	More        bool
	LastSeq     int64
	EarlierURL  string
	Status      string
	Unreachable *unreachableNote
	// Seen is how far the customer has read (After with ?seen=1 only): a seen mark can land between the
	// page's render and its socket's subscription, and this fetch is how the page catches up on it.
	Seen store.Seen
}

// ConversationTimeline serves GET /console/conversations/{id}/timeline: the timeline entries after a
// place (?after=…&after_event=…, what a live event added) or before one (?before=…&before_event=…, the
// page "Show earlier messages" loads), as HTML list items rendered like the page's own.
func (c *Console) ConversationTimeline(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	q := r.URL.Query()
	id := r.PathValue("id")
	f := &timelineFragment{}
	if q.Has("after") || q.Has("after_event") {
		after, err := cursorParams(q, "after", "after_event")
		if err != nil {
			c.fail(w, r, err)
			return
		}
		u, err := c.chat.TimelineAfter(r.Context(), s.agent, id, after)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		names := make(map[string]string, len(u.Agents))
		for _, a := range u.Agents {
			names[a.ID] = a.Name
		}
		agentName := func(id string) string { return names[id] }
		f.After, f.Newest, f.More, f.LastSeq = true, u.Newest, u.More, u.Newest.Message
		f.Items = items(u.Entries, displayName(u.Customer, u.Conversation), agentName, hoursZone(s.workspace.Settings))
		f.Status = u.Conversation.Status
		f.Unreachable = unreachable(u.Reach)
		if q.Get("seen") == "1" { // asked for once the page's socket is ready (console.js)
			if f.Seen, err = c.chat.CustomerSeen(r.Context(), s.agent, id); err != nil {
				c.fail(w, r, err)
				return
			}
		}
	} else {
		before, err := cursorParams(q, "before", "before_event")
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if before == (chat.TimelineCursor{}) {
			c.fail(w, r, problem.InvalidField("before", "name the place to read back from, or after=… for what is new"))
			return
		}
		p, err := c.conversation(r, before, true)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f.Items, f.EarlierURL, f.Status = p.Items, p.EarlierURL, p.Conversation.Status
	}
	c.fragment(w, r, "conversation", "entries", &view{Agent: s.agent, Workspace: s.workspace, CSRF: s.sess.CSRFToken, Path: conversationPath(id), Data: f})
}

func conversationPath(id string) string { return "/console/conversations/" + id }

// Reply serves POST /console/conversations/{id}/reply (fields body, client_id, attachment — repeated,
// the ids of files uploaded for it, attachments.go — and kind: "reply", the default, or "note" for an
// internal note that only agents see, chat.PostNoteInput). With files, the body may be empty.
func (c *Console) Reply(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	id := r.PathValue("id")
	// The same form posted twice (a double click, a resubmit after reload) answers with the first reply:
	// chat.PostAgentMessage treats a repeated client id as a retry.
	in := chat.MessageInput{Body: r.PostForm.Get("body"), ClientID: r.PostForm.Get("client_id"), Attachments: attachedIDs(r)}
	var err error
	switch r.PostForm.Get("kind") {
	case "", "reply":
		_, err = c.chat.ReplyInput(r.Context(), s.agent, id, in)
	case "note":
		_, _, err = c.chat.PostNoteInput(r.Context(), s.agent, id, in)
	default:
		err = problem.InvalidField("kind", "must be reply or note")
	}
	if err != nil {
		if c.refusedReply(w, r, err) { // canned.go: the page again, with the reply in the box
			return
		}
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
