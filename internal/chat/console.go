package chat

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// What the agent console needs from the domain. Every method takes the acting agent and scopes what it
// reads or writes to that agent's workspace: a conversation, customer, inbox or key of another workspace
// is "not found", never "forbidden", so ids cannot be probed across tenants.

const agentTokenPrefix = "pcs_"

func agentSessionInvalid() *problem.Error {
	return problem.New(http.StatusUnauthorized, "session_invalid", "your console session has ended; sign in again")
}

func adminOnly() *problem.Error {
	return problem.New(http.StatusForbidden, "admin_required", "only an administrator of this workspace can do that")
}

func randomToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// CheckCSRF compares a form's token with the session's in constant time.
func CheckCSRF(sess store.AgentSession, token string) error {
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRFToken)) != 1 {
		return problem.New(http.StatusForbidden, "csrf_failed", "this form has expired; reload the page and try again")
	}
	return nil
}

// EndAgentSession signs a console session out; an unknown token is not an error. The agent's live
// console sockets, on every instance, check their own sign-in at once (EventAgentSessionEnded), so the
// signed-out one closes instead of receiving events until its next periodic check.
func (s *Service) EndAgentSession(ctx context.Context, token string) error {
	hash := hashToken(token)
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		sess, err := tx.AgentSessionByTokenHash(ctx, hash)
		if err != nil {
			return err
		}
		if err := tx.RevokeAgentSession(ctx, hash, s.clock()); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventAgentSessionEnded, Data: sess.AgentID}, AgentTopic(sess.AgentID))
		return nil
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// AgentTopic carries what concerns one agent's console sockets: the end of their sessions.
func AgentTopic(agentID string) string { return "agent:" + agentID }

// EventAgentSessionEnded tells an agent's console sockets that some of the agent's sessions ended (Data:
// the agent id): each checks its own and closes if it was one of them.
const EventAgentSessionEnded = "agent_session_ended"

// SetAvailability records whether the agent takes new conversations.
func (s *Service) SetAvailability(ctx context.Context, agent store.Agent, available bool) (store.Agent, error) {
	var a store.Agent
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		var err error
		if a, err = tx.Agent(ctx, agent.ID); err != nil {
			return err
		}
		a.Available, a.UpdatedAt = available, s.clock()
		if err := tx.UpdateAgent(ctx, &a); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventAgent, Data: a.ID}, WorkspaceTopic(a.WorkspaceID))
		return nil
	})
	a.PasswordHash = ""
	return a, err
}

// EventAgent tells console pages that an agent's availability or role changed (Data: the agent id).
const EventAgent = "agent"

// ---------------------------------------------------------------- inbox

// Inbox views.
const (
	ViewUnassigned = "unassigned"
	ViewMine       = "mine"
	ViewOpen       = "open"
	ViewClosed     = "closed"
)

// InboxQuery selects the conversations of an inbox page.
type InboxQuery struct {
	View    string // one of the View constants; "" means ViewOpen
	InboxID string // only this inbox ("" for all)
	Search  string // customer or claimed name or email
	Limit   int
}

// InboxItem is one row of the console's inbox.
type InboxItem struct {
	store.ConversationSummary
	Level        string // the identity level behind the conversation (see ConversationLevel)
	DisplayName  string // who the agent is talking to, in the agent's words ("Ada Lovelace", "Visitor")
	DisplayEmail string
	Unread       bool // a customer message the agent has not seen
}

// ConversationLevel is the identity level a conversation's visitor reached: verified when it belongs to
// a customer, identified when they claimed a name or email, anonymous otherwise.
func ConversationLevel(c store.Conversation) string {
	switch {
	case c.CustomerID != "":
		return store.LevelVerified
	case c.ClaimedName != "" || c.ClaimedEmail != "":
		return store.LevelIdentified
	}
	return store.LevelAnonymous
}

// Inbox lists conversations for the agent's inbox page.
func (s *Service) Inbox(ctx context.Context, agent store.Agent, q InboxQuery) ([]InboxItem, error) {
	f := store.ConversationFilter{WorkspaceID: agent.WorkspaceID, InboxID: q.InboxID, Search: strings.TrimSpace(q.Search), Limit: q.Limit}
	if len(f.Search) > 200 {
		return nil, problem.InvalidField("q", "must be at most 200 bytes")
	}
	switch q.View {
	case ViewUnassigned:
		f.Status, f.Unassigned = store.StatusOpen, true
	case ViewMine:
		f.Status, f.AssigneeID = store.StatusOpen, agent.ID
	case ViewOpen, "":
		f.Status = store.StatusOpen
	case ViewClosed:
		f.Status = store.StatusClosed
	default:
		return nil, problem.InvalidField("view", "must be unassigned, mine, open or closed")
	}
	if q.InboxID != "" {
		if _, err := s.inboxOf(ctx, s.store, agent.WorkspaceID, q.InboxID); err != nil {
			return nil, err
		}
	}
	rows, err := s.store.ListConversations(ctx, f, agent.ID)
	if err != nil {
		return nil, err
	}
	items := make([]InboxItem, len(rows))
	for i, r := range rows {
		items[i] = InboxItem{
			ConversationSummary: r,
			Level:               ConversationLevel(r.Conversation),
			DisplayName:         firstNonEmpty(r.CustomerName, r.ClaimedName, "Visitor"),
			DisplayEmail:        firstNonEmpty(r.CustomerEmail, r.ClaimedEmail),
			Unread:              r.LastSeq > r.ReadSeq && r.LastSender == store.SenderCustomer,
		}
	}
	return items, nil
}

// ---------------------------------------------------------------- conversation

// Trust marks of DESIGN.md rule 10.
const (
	TrustNone   = ""      // untrusted: no mark
	TrustGreen  = "green" // trusted, conversation open
	TrustGray   = "gray"  // trusted, conversation closed
	trustedNote = "Sent while signed in as a verified customer"
)

// TimelineEntry is a message or an event, in the order they happened.
type TimelineEntry struct {
	At      time.Time
	Message *store.Message // set for a message
	Event   *store.Event   // set for an event
	// Trust is the message's mark (TrustGreen, TrustGray or TrustNone) and TrustNote the tooltip that
	// says why.
	Trust     string
	TrustNote string
	// AgentName names the agent who sent the message or caused the event, when one did.
	AgentName string
}

// Profile is the customer panel: who the visitor is and how the console knows it.
type Profile struct {
	Level        string
	Customer     *store.Customer // the verified customer, if any
	KeyID        string          // the key that verified them (on the starting session, or the authenticated event)
	VerifiedAt   time.Time
	ClaimedName  string // what the visitor said (untrusted)
	ClaimedEmail string
	ClaimedPhone string
	// ClaimedAttributes are what the visitor's session claimed with setUser: for agents' eyes, never
	// verified, never routed on, shown apart from the customer's verified attributes.
	ClaimedAttributes attributes.Set
	// ClaimWarning is DESIGN.md rule 6: the visitor claims an email that a verified customer has, which
	// proves nothing.
	ClaimWarning string
	Past         []store.Conversation // the customer's other conversations (verified only), newest first
}

// TimelinePageSize is how many timeline entries the console shows at once: the newest ones when a
// conversation opens, and as many more each time the agent asks for earlier ones.
const TimelinePageSize = 50

// TimelineCursor is a place between two timeline entries. Messages and events are numbered apart, so a
// place is a pair: reading back from it gives the messages with Seq below Message and the events with
// Seq below Event (0 meaning no bound); reading forwards, those above.
type TimelineCursor struct {
	Message int64
	Event   int64
}

// Why a conversation's visitor can no longer receive a reply (Reach.Unreachable).
const (
	UnreachableLoggedOut    = "logged_out"    // the visitor logged out
	UnreachableSessionEnded = "session_ended" // another identity took over their browser, or their session was ended
)

// Reach says whether anyone can still read a reply in a conversation. A verified customer's
// conversation always reaches them, on whichever device they sign in next. An anonymous or identified
// visitor's reaches only the browser session that started it: once that session has ended — they
// logged out, signed in as someone else (rule 7), or an administrator or the business ended it — no one
// can ever prove to be that visitor again, so a reply would be read by no one.
type Reach struct {
	Reachable bool
	// Unreachable is why not (an Unreachable constant) and UnreachableAt since when; empty while
	// Reachable.
	Unreachable   string
	UnreachableAt time.Time
}

// ConversationView is everything the console's conversation page shows.
type ConversationView struct {
	Conversation store.Conversation
	// Timeline is one page of the timeline: the newest TimelinePageSize entries, or those just before
	// the cursor the page was asked for.
	Timeline []TimelineEntry
	// HasEarlier says that older entries exist; Earlier is the cursor to read them back from.
	HasEarlier bool
	Earlier    TimelineCursor
	// Newest is the cursor live updates read forwards from: every entry up to it is on this page or
	// an earlier one. Set on the newest page only.
	Newest   TimelineCursor
	Profile  Profile
	Assignee *store.Agent
	Inbox    *store.Inbox
	Agents   []store.Agent // the workspace's agents, for the assign menu
	LastSeq  int64         // the newest message's Seq (0 before the first); set on the newest page only
	LoginURL string        // the workspace's login link ("" when none is configured)
	Reach
	// FollowUp is true when the conversation is closed but replying would reach the customer (verified).
	// CanReply is false when a reply could reach no one: a closed conversation nobody could prove to be
	// the visitor of, or one whose visitor's session has ended (see Reach).
	FollowUp bool
	CanReply bool
}

// Conversation returns the console's view of a conversation of the agent's workspace, with the newest
// page of its timeline.
func (s *Service) Conversation(ctx context.Context, agent store.Agent, id string) (ConversationView, error) {
	return s.ConversationBefore(ctx, agent, id, TimelineCursor{})
}

// ConversationBefore is Conversation with the page of the timeline just before the cursor (the newest
// page for the zero cursor).
func (s *Service) ConversationBefore(ctx context.Context, agent store.Agent, id string, before TimelineCursor) (ConversationView, error) {
	return s.conversationView(ctx, agent, id, before, true)
}

// ConversationDetails is Conversation without the timeline: what surrounds it on the page, which a live
// page reads again when the conversation changes.
func (s *Service) ConversationDetails(ctx context.Context, agent store.Agent, id string) (ConversationView, error) {
	return s.conversationView(ctx, agent, id, TimelineCursor{}, false)
}

func (s *Service) conversationView(ctx context.Context, agent store.Agent, id string, before TimelineCursor, withTimeline bool) (ConversationView, error) {
	if before.Message < 0 || before.Event < 0 {
		return ConversationView{}, problem.InvalidField("before", "must be a place in the timeline")
	}
	conv, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, id)
	if err != nil {
		return ConversationView{}, err
	}
	w, err := s.Workspace(ctx, agent.WorkspaceID)
	if err != nil {
		return ConversationView{}, err
	}
	agents, names, err := s.agentNames(ctx, agent.WorkspaceID)
	if err != nil {
		return ConversationView{}, err
	}
	v := ConversationView{Conversation: conv, LoginURL: w.Settings.LoginURL, Agents: agents}
	for i := range agents {
		if agents[i].ID == conv.AssigneeID {
			v.Assignee = &agents[i]
		}
	}
	if conv.InboxID != "" {
		if in, err := s.store.Inbox(ctx, conv.InboxID); err == nil && in.WorkspaceID == conv.WorkspaceID {
			v.Inbox = &in
		}
	}
	if withTimeline {
		if err := s.timelinePage(ctx, conv, before, names, &v); err != nil {
			return ConversationView{}, err
		}
	}
	if v.Profile, err = s.profile(ctx, conv); err != nil {
		return ConversationView{}, err
	}
	if v.Reach, err = s.reach(ctx, conv); err != nil {
		return ConversationView{}, err
	}
	v.CanReply = v.Reachable && (conv.Status == store.StatusOpen || conv.CustomerID != "")
	v.FollowUp = conv.Status == store.StatusClosed && conv.CustomerID != ""
	return v, nil
}

// timelinePage reads the page of the timeline before the cursor into v.
func (s *Service) timelinePage(ctx context.Context, conv store.Conversation, before TimelineCursor, names map[string]string, v *ConversationView) error {
	// One more of each than a page holds tells whether anything is left beyond it.
	msgs, err := s.store.MessagesBefore(ctx, conv.ID, before.Message, TimelinePageSize+1)
	if err != nil {
		return err
	}
	events, err := s.store.EventsBefore(ctx, conv.ID, before.Event, TimelinePageSize+1)
	if err != nil {
		return err
	}
	all := timeline(conv, msgs, events, names)
	if v.HasEarlier = len(all) > TimelinePageSize; v.HasEarlier {
		all = all[len(all)-TimelinePageSize:]
	}
	v.Timeline = all
	// The page holds the newest entries of both lists, so what it leaves out of each is older than all
	// it holds of it: the cursor back is its oldest message and event, or the bound it was read from
	// when it holds none.
	v.Earlier = before
	firstMessage, firstEvent := true, true
	for _, e := range all {
		if e.Message != nil && firstMessage {
			v.Earlier.Message, firstMessage = e.Message.Seq, false
		}
		if e.Event != nil && firstEvent {
			v.Earlier.Event, firstEvent = e.Event.Seq, false
		}
	}
	if before == (TimelineCursor{}) {
		if len(msgs) > 0 {
			v.LastSeq = msgs[len(msgs)-1].Seq
		}
		v.Newest.Message = v.LastSeq
		if len(events) > 0 {
			v.Newest.Event = events[len(events)-1].Seq
		}
	}
	return nil
}

// TimelineUpdate is what a conversation's timeline gained after a cursor, for the console's live page.
type TimelineUpdate struct {
	Conversation store.Conversation
	Customer     *store.Customer // the verified customer, if any
	Agents       []store.Agent   // the workspace's agents, whom events name
	Entries      []TimelineEntry
	// Newest is the cursor to read on from; More says that entries beyond it are left to read.
	Newest TimelineCursor
	More   bool
	Reach
}

// TimelineAfter returns up to a page of the entries of a conversation's timeline after the cursor,
// oldest first, so that a live page appends what is new instead of reading everything again.
func (s *Service) TimelineAfter(ctx context.Context, agent store.Agent, id string, after TimelineCursor) (TimelineUpdate, error) {
	if after.Message < 0 || after.Event < 0 {
		return TimelineUpdate{}, problem.InvalidField("after", "must be a place in the timeline")
	}
	conv, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, id)
	if err != nil {
		return TimelineUpdate{}, err
	}
	agents, names, err := s.agentNames(ctx, agent.WorkspaceID)
	if err != nil {
		return TimelineUpdate{}, err
	}
	u := TimelineUpdate{Conversation: conv, Agents: agents, Newest: after}
	if conv.CustomerID != "" {
		c, err := s.store.Customer(ctx, conv.CustomerID)
		if err != nil {
			return TimelineUpdate{}, err
		}
		u.Customer = &c
	}
	msgs, err := s.store.Messages(ctx, conv.ID, after.Message, TimelinePageSize+1)
	if err != nil {
		return TimelineUpdate{}, err
	}
	events, err := s.store.EventsAfter(ctx, conv.ID, after.Event, TimelinePageSize+1)
	if err != nil {
		return TimelineUpdate{}, err
	}
	all := timeline(conv, msgs, events, names)
	if u.More = len(all) > TimelinePageSize; u.More {
		all = all[:TimelinePageSize]
	}
	u.Entries = all
	for _, e := range all {
		if e.Message != nil {
			u.Newest.Message = e.Message.Seq
		} else {
			u.Newest.Event = e.Event.Seq
		}
	}
	if u.Reach, err = s.reach(ctx, conv); err != nil {
		return TimelineUpdate{}, err
	}
	return u, nil
}

// agentNames lists the workspace's agents (without password hashes) and their names by id.
func (s *Service) agentNames(ctx context.Context, workspaceID string) ([]store.Agent, map[string]string, error) {
	agents, err := s.store.Agents(ctx, workspaceID)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(agents))
	for i := range agents {
		agents[i].PasswordHash = ""
		names[agents[i].ID] = agents[i].Name
	}
	return agents, names, nil
}

// reach works out whether a reply in conv can reach anyone (see Reach).
func (s *Service) reach(ctx context.Context, conv store.Conversation) (Reach, error) {
	if conv.CustomerID != "" {
		return Reach{Reachable: true}, nil
	}
	sess, err := s.store.Session(ctx, conv.SessionID)
	if isNotFound(err) {
		return Reach{Unreachable: UnreachableSessionEnded}, nil
	}
	if err != nil {
		return Reach{}, err
	}
	if sess.RevokedAt.IsZero() {
		return Reach{Reachable: true}, nil
	}
	r := Reach{Unreachable: UnreachableSessionEnded, UnreachableAt: sess.RevokedAt}
	// A logout is recorded on the conversation it ended, among its newest events: only agents' actions
	// can follow it.
	recent, err := s.store.EventsBefore(ctx, conv.ID, 0, 20)
	if err != nil {
		return Reach{}, err
	}
	for _, e := range recent {
		if e.Type == "logged_out" && e.Data["session_id"] == sess.ID {
			r.Unreachable = UnreachableLoggedOut
		}
	}
	return r, nil
}

// timeline merges messages and events by time (messages first on a tie: an event such as "closed"
// follows what was said before it). Each list keeps its own order in the result, so the newest or
// oldest entries of the result are the newest or oldest of each list.
func timeline(conv store.Conversation, msgs []store.Message, events []store.Event, names map[string]string) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(msgs)+len(events))
	i, j := 0, 0
	for i < len(msgs) || j < len(events) {
		if j >= len(events) || (i < len(msgs) && !msgs[i].CreatedAt.After(events[j].CreatedAt)) {
			m := &msgs[i]
			e := TimelineEntry{At: m.CreatedAt, Message: m, AgentName: names[m.AgentID]}
			e.Trust, e.TrustNote = TrustMark(conv, *m)
			out = append(out, e)
			i++
			continue
		}
		ev := &events[j]
		out = append(out, TimelineEntry{At: ev.CreatedAt, Event: ev, AgentName: names[ev.Data["agent_id"]]})
		j++
	}
	return out
}

// TrustMark is DESIGN.md rule 10: a trusted message is green while its conversation is open and gray
// once it is closed; an untrusted one has no mark. The note is the mark's tooltip.
func TrustMark(conv store.Conversation, m store.Message) (mark, note string) {
	if m.Sender != store.SenderCustomer {
		return TrustNone, ""
	}
	if !m.Trusted {
		return TrustNone, "Sent without signing in, so whoever wrote it has not proved who they are"
	}
	if conv.Status == store.StatusClosed {
		return TrustGray, trustedNote + " (conversation closed)"
	}
	return TrustGreen, trustedNote
}

func (s *Service) profile(ctx context.Context, conv store.Conversation) (Profile, error) {
	p := Profile{Level: ConversationLevel(conv), ClaimedName: conv.ClaimedName, ClaimedEmail: conv.ClaimedEmail}
	if sess, err := s.store.Session(ctx, conv.SessionID); err == nil {
		p.ClaimedPhone = sess.ClaimedPhone
		if p.ClaimedAttributes, err = s.store.ClaimedAttributes(ctx, sess.ID); err != nil && !isNotFound(err) {
			return p, err
		}
		if p.ClaimedName == "" && p.ClaimedEmail == "" && sess.CustomerID == conv.CustomerID {
			p.KeyID, p.VerifiedAt = sess.KeyID, sess.VerifiedAt
		}
	} else if !isNotFound(err) {
		return p, err
	}
	if conv.CustomerID != "" {
		if err := s.verifiedBy(ctx, conv, &p); err != nil {
			return p, err
		}
	}
	if conv.CustomerID != "" {
		c, err := s.store.Customer(ctx, conv.CustomerID)
		if err != nil {
			return p, err
		}
		p.Customer = &c
		all, err := s.store.ConversationsOfCustomer(ctx, c.ID)
		if err != nil {
			return p, err
		}
		for _, o := range all {
			if o.ID != conv.ID {
				p.Past = append(p.Past, o)
			}
		}
		return p, nil
	}
	if p.ClaimedEmail != "" {
		n, err := s.store.CountCustomersWithEmail(ctx, conv.WorkspaceID, p.ClaimedEmail)
		if err != nil {
			return p, err
		}
		p.ClaimWarning = "Claims to be " + p.ClaimedEmail + " — not verified."
		if n > 0 {
			p.ClaimWarning = "Claims to be " + p.ClaimedEmail + " — a verified profile with that email exists, but this visitor has not proved to be that customer. Do not share that customer's information."
		}
	}
	return p, nil
}

// verifiedBy reads which key proved a verified conversation's customer, and when, from its timeline:
// the started event when it began verified, else the one authenticated event, recorded when the
// visitor signed in mid-way. Both come early, so events are read from the start, a page at a time,
// only until one is found.
func (s *Service) verifiedBy(ctx context.Context, conv store.Conversation, p *Profile) error {
	const page, maxPages = 100, 20
	after := int64(0)
	for range maxPages {
		events, err := s.store.EventsAfter(ctx, conv.ID, after, page)
		if err != nil {
			return err
		}
		for _, e := range events {
			if (e.Type == "authenticated" || e.Type == "started") && e.Data["key_id"] != "" {
				p.KeyID, p.VerifiedAt = e.Data["key_id"], e.CreatedAt
				return nil
			}
		}
		if len(events) < page {
			return nil
		}
		after = events[len(events)-1].Seq
	}
	return nil
}

// MarkRead records that the agent has seen a conversation up to the message seq.
func (s *Service) MarkRead(ctx context.Context, agent store.Agent, conversationID string, seq int64) error {
	conv, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, conversationID)
	if err != nil {
		return err
	}
	return s.markRead(ctx, agent, conv, seq) // seen.go: it may tell the customer "Read"
}

// Reply posts an agent's message (see PostAgentMessage). A conversation whose visitor can no longer be
// reached (see Reach) is a 409 visitor_unreachable: a reply there would be read by no one, while the
// agent would believe it answered. A body that still holds a canned response's variable is 422
// unfilled_variable (see canned.go).
func (s *Service) Reply(ctx context.Context, agent store.Agent, conversationID, body, clientID string) (store.Message, error) {
	return s.ReplyInput(ctx, agent, conversationID, MessageInput{Body: body, ClientID: clientID})
}

// ReplyInput is Reply with attachments.
func (s *Service) ReplyInput(ctx context.Context, agent store.Agent, conversationID string, in MessageInput) (store.Message, error) {
	body := in.Body
	conv, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, conversationID)
	if err != nil {
		return store.Message{}, err
	}
	if err := refuseUnfilled(body); err != nil { // canned.go
		return store.Message{}, err
	}
	reach, err := s.reach(ctx, conv)
	if err != nil {
		return store.Message{}, err
	}
	if !reach.Reachable {
		return store.Message{}, conflict("visitor_unreachable",
			"nobody can receive a reply in this conversation: its visitor never proved who they are, and their session has ended (they logged out or signed in as someone else)")
	}
	m, _, err := s.postAgentMessage(ctx, agent.WorkspaceID, agent.ID, conversationID, in)
	return m, err
}

// Assign gives a conversation to an agent of the workspace, or to no one (assigneeID "").
func (s *Service) Assign(ctx context.Context, agent store.Agent, conversationID, assigneeID string) (store.Conversation, error) {
	var conv store.Conversation
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		var err error
		if conv, err = conversationInWorkspace(ctx, tx, agent.WorkspaceID, conversationID); err != nil {
			return err
		}
		if assigneeID != "" {
			a, err := tx.Agent(ctx, assigneeID)
			if isNotFound(err) || (err == nil && (a.WorkspaceID != agent.WorkspaceID || !a.DisabledAt.IsZero())) {
				return problem.InvalidField("assignee", "no active agent %q in this workspace", assigneeID)
			}
			if err != nil {
				return err
			}
		}
		if conv.AssigneeID == assigneeID {
			return nil
		}
		return s.assign(ctx, tx, out, &conv, assigneeID, agent.ID)
	})
	return conv, err
}

// assign records an assignment and its timeline event; by is the acting agent's id or "routing".
func (s *Service) assign(ctx context.Context, tx store.Tx, out *outbox, conv *store.Conversation, assigneeID, by string) error {
	conv.AssigneeID, conv.UpdatedAt = assigneeID, s.clock()
	if err := tx.UpdateConversation(ctx, conv); err != nil {
		return err
	}
	typ, data := "assigned", map[string]string{"assignee_id": assigneeID, "by": by}
	if assigneeID == "" {
		typ = "unassigned"
	}
	if by != "routing" {
		data["agent_id"] = by
	}
	if err := s.addEvent(ctx, tx, out, *conv, typ, data); err != nil {
		return err
	}
	out.add(realtime.Event{Type: EventConversation, Data: *conv}, WorkspaceTopic(conv.WorkspaceID))
	return nil
}

// SetConversationStatus closes or reopens a conversation (see SetStatus).
func (s *Service) SetConversationStatus(ctx context.Context, agent store.Agent, conversationID, status string) (store.Conversation, error) {
	return s.SetStatus(ctx, agent.WorkspaceID, agent.ID, conversationID, status)
}

// RequestLogin asks the visitor to sign in: it posts the workspace's login link as a system message and
// records a login_requested event. A workspace without a login URL is a 409 no_login_url.
func (s *Service) RequestLogin(ctx context.Context, agent store.Agent, conversationID string) (store.Message, error) {
	// Another workspace's conversation is "not found" before anything is said about this one's settings.
	if _, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, conversationID); err != nil {
		return store.Message{}, err
	}
	w, err := s.Workspace(ctx, agent.WorkspaceID)
	if err != nil {
		return store.Message{}, err
	}
	if w.Settings.LoginURL == "" {
		return store.Message{}, conflict("no_login_url", "set the workspace's login URL in Settings first, so the visitor has somewhere to sign in")
	}
	var msg store.Message
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		conv, err := conversationInWorkspace(ctx, tx, agent.WorkspaceID, conversationID)
		if err != nil {
			return err
		}
		if conv.Status != store.StatusOpen {
			return conflict("conversation_closed", "reopen the conversation before asking the visitor to sign in")
		}
		if conv.CustomerID != "" {
			return conflict("already_verified", "this customer is already signed in")
		}
		msg = store.Message{ConversationID: conv.ID, Sender: store.SenderSystem, AgentID: agent.ID,
			Body: "Please sign in so we can verify it is you: " + w.Settings.LoginURL, CreatedAt: s.clock()}
		if err := tx.AppendMessage(ctx, &msg); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventMessage, Data: msg}, conversationTopics(conv)...)
		if err := s.webhookMessage(ctx, tx, conv.WorkspaceID, msg, ""); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, out, conv, "login_requested", map[string]string{"agent_id": agent.ID})
	})
	return msg, err
}

// ---------------------------------------------------------------- administration

// RequireAdmin refuses an agent who is not an administrator.
func RequireAdmin(a store.Agent) error {
	if a.Role != store.RoleAdmin {
		return adminOnly()
	}
	return nil
}

// SetAgentRole changes an agent's role. The last administrator cannot step down, or nobody could manage
// the workspace.
func (s *Service) SetAgentRole(ctx context.Context, admin store.Agent, agentID, role string) (store.Agent, error) {
	if role != store.RoleAgent && role != store.RoleAdmin {
		return store.Agent{}, problem.InvalidField("role", "must be %q or %q", store.RoleAgent, store.RoleAdmin)
	}
	return s.changeAgent(ctx, admin, agentID, func(a *store.Agent, agents []store.Agent) error {
		if a.Role == store.RoleAdmin && role != store.RoleAdmin && activeAdmins(agents) <= 1 {
			return conflict("last_admin", "%s is the only administrator; make someone else an administrator first", a.Email)
		}
		a.Role = role
		return nil
	})
}

// SetAgentDisabled disables (signs out everywhere, no more sign-ins or assignments) or re-enables an agent.
func (s *Service) SetAgentDisabled(ctx context.Context, admin store.Agent, agentID string, disabled bool) (store.Agent, error) {
	return s.changeAgent(ctx, admin, agentID, func(a *store.Agent, agents []store.Agent) error {
		if !disabled {
			a.DisabledAt = time.Time{}
			return nil
		}
		if a.ID == admin.ID {
			return conflict("cannot_disable_self", "you cannot disable your own account")
		}
		if a.Role == store.RoleAdmin && a.DisabledAt.IsZero() && activeAdmins(agents) <= 1 {
			return conflict("last_admin", "%s is the only administrator", a.Email)
		}
		if a.DisabledAt.IsZero() {
			a.DisabledAt = s.clock()
		}
		return nil
	})
}

func activeAdmins(agents []store.Agent) int {
	n := 0
	for _, a := range agents {
		if a.Role == store.RoleAdmin && a.DisabledAt.IsZero() {
			n++
		}
	}
	return n
}

func (s *Service) changeAgent(ctx context.Context, admin store.Agent, agentID string, change func(a *store.Agent, agents []store.Agent) error) (store.Agent, error) {
	if err := RequireAdmin(admin); err != nil {
		return store.Agent{}, err
	}
	var a store.Agent
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		var err error
		a, err = tx.Agent(ctx, agentID)
		if isNotFound(err) || (err == nil && a.WorkspaceID != admin.WorkspaceID) {
			return problem.NotFound("agent_not_found", "no agent %q", agentID)
		}
		if err != nil {
			return err
		}
		agents, err := tx.Agents(ctx, admin.WorkspaceID)
		if err != nil {
			return err
		}
		before := a
		if err := change(&a, agents); err != nil {
			return err
		}
		a.UpdatedAt = s.clock()
		if err := tx.UpdateAgent(ctx, &a); err != nil {
			return err
		}
		if err := s.auditAgentChange(ctx, tx, before, a); err != nil {
			return err
		}
		if !a.DisabledAt.IsZero() {
			if _, err := tx.RevokeAgentSessions(ctx, a.ID, a.UpdatedAt); err != nil {
				return err
			}
			out.add(realtime.Event{Type: EventAgentSessionEnded, Data: a.ID}, AgentTopic(a.ID))
		}
		out.add(realtime.Event{Type: EventAgent, Data: a.ID}, WorkspaceTopic(a.WorkspaceID))
		return nil
	})
	a.PasswordHash = ""
	return a, err
}

// ---------------------------------------------------------------- identity log and token checker

// maxLoginFailures is how many refused logins a workspace's identity log keeps.
const maxLoginFailures = 500

// LoginFailures returns the workspace's most recent refused logins, newest first.
func (s *Service) LoginFailures(ctx context.Context, workspaceID string, limit int) ([]store.LoginFailure, error) {
	if limit <= 0 || limit > maxLoginFailures {
		limit = 100
	}
	return s.store.LoginFailures(ctx, workspaceID, limit)
}

// recordLoginFailure keeps a refused login for the identity log: the code, the message and the header's
// kid and alg when they could be read. Never the token.
func (s *Service) recordLoginFailure(ctx context.Context, workspaceID, rawToken string, err error) {
	p, ok := problem.As(err)
	if !ok {
		return // not the integrator's mistake: logged as an error elsewhere
	}
	f := store.LoginFailure{WorkspaceID: workspaceID, Code: p.Code, Message: p.Message, At: s.clock()}
	if tok, perr := identity.ParseCompact(rawToken); perr == nil {
		f.KeyID, f.Alg = clip(tok.Header.Kid, 100), clip(tok.Header.Alg, 20)
	}
	// A failure to record must not change the answer; the write is cheap and batched with others.
	ctx = context.WithoutCancel(ctx)
	if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.AddLoginFailure(ctx, &f, maxLoginFailures) }); err != nil {
		s.log.Error("record login failure", "workspace", workspaceID, "err", err)
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// CheckToken runs every check a widget login would, step by step, for the console's token checker. It
// changes nothing: a jti is looked at, not used, and no key's last use is recorded.
func (s *Service) CheckToken(ctx context.Context, workspaceID, raw string) ([]identity.Check, error) {
	w, err := s.Workspace(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	keys, _, err := s.verificationKeys(ctx, workspaceID, raw)
	if err != nil {
		return nil, err
	}
	checks, claims := identity.CheckSteps(raw, keys, identity.Policy{
		Workspace: w.ID, MaxLifetime: MaxLifetime(w.Settings), Leeway: s.leeway, Now: s.clock(),
	})
	if claims == nil {
		return checks, nil
	}
	domains := identity.Check{Name: "Allowed email domains", OK: true, Message: "this workspace accepts every email domain"}
	if list := w.Settings.AllowedEmailDomains; len(list) > 0 {
		domain := identity.EmailDomain(claims.Email)
		if claims.Email != "" && containsString(list, domain) {
			domains.Message = "email domain " + domain + " is allowed"
		} else {
			domains.OK = false
			domains.Message = "this workspace only accepts emails of " + strings.Join(list, ", ") + "; the token's email is " + firstNonEmpty(claims.Email, "missing")
		}
	}
	checks = append(checks, domains)
	return checks, nil
}

// ---------------------------------------------------------------- report

// Report is the console's identity report.
type Report struct {
	Days []store.DayStats
	// Totals over the period.
	Anonymous, Identified, Verified, CustomerMessages, TrustedCustomerMessages int
}

// TrustedShare is the fraction of customer messages that were trusted (0 when there were none).
func (r Report) TrustedShare() float64 {
	if r.CustomerMessages == 0 {
		return 0
	}
	return float64(r.TrustedCustomerMessages) / float64(r.CustomerMessages)
}

// Report returns the last days (including today, UTC) of the agent's workspace.
func (s *Service) Report(ctx context.Context, agent store.Agent, days int) (Report, error) {
	if days < 1 || days > 366 {
		return Report{}, problem.InvalidField("days", "must be between 1 and 366")
	}
	now := s.clock()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -days)
	stats, err := s.store.DailyStats(ctx, agent.WorkspaceID, from, to)
	if err != nil {
		return Report{}, err
	}
	r := Report{Days: stats}
	for _, d := range stats {
		r.Anonymous += d.Anonymous
		r.Identified += d.Identified
		r.Verified += d.Verified
		r.CustomerMessages += d.CustomerMessages
		r.TrustedCustomerMessages += d.TrustedCustomerMessages
	}
	return r, nil
}

// CustomerView is the console's customer page.
type CustomerView struct {
	Customer      store.Customer
	Conversations []store.Conversation // newest first
	LiveSessions  int                  // widget sessions signed in as this customer right now
}

// Customer returns a verified customer of the agent's workspace.
func (s *Service) Customer(ctx context.Context, agent store.Agent, id string) (CustomerView, error) {
	c, err := s.store.Customer(ctx, id)
	if isNotFound(err) || (err == nil && c.WorkspaceID != agent.WorkspaceID) {
		return CustomerView{}, problem.NotFound("customer_not_found", "no customer %q", id)
	}
	if err != nil {
		return CustomerView{}, err
	}
	v := CustomerView{Customer: c}
	if v.Conversations, err = s.store.ConversationsOfCustomer(ctx, c.ID); err != nil {
		return CustomerView{}, err
	}
	sessions, err := s.store.LiveSessionsOfCustomer(ctx, c.ID)
	v.LiveSessions = len(sessions)
	return v, err
}
