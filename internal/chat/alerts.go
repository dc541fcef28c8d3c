package chat

import (
	"context"
	"strings"

	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Alerts tell an agent, while they are Available, what needs them: a conversation waiting for them or
// assigned to them with a customer message they have not read, a transfer to them, a mention. The
// console's socket only says where something happened; what an alert shows is read here, through the
// same workspace checks as every console read.

// AlertTextLength is how many characters of the customer's message an alert shows.
const AlertTextLength = 80

// Identity levels in an alert's words.
const (
	AlertVerified  = "verified"
	AlertClaimed   = "claimed"
	AlertAnonymous = "anonymous"
)

// attentionLimit bounds how many conversations of each kind (assigned, waiting) the attention count
// reads: past it, the count says "many" well enough.
const attentionLimit = 200

// AgentPrefs returns the agent's alert preferences.
func (s *Service) AgentPrefs(ctx context.Context, agent store.Agent) (store.AgentPrefs, error) {
	return s.store.AgentPrefs(ctx, agent.ID)
}

// SetAgentPrefs saves the agent's own alert preferences. Their other consoles hear of it (EventAgent on
// their AgentTopic) and read them again.
func (s *Service) SetAgentPrefs(ctx context.Context, agent store.Agent, sound, notifications bool) (store.AgentPrefs, error) {
	p := store.AgentPrefs{AgentID: agent.ID, Sound: sound, Notifications: notifications, UpdatedAt: s.clock()}
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		old, err := tx.AgentPrefs(ctx, agent.ID)
		if err != nil {
			return err
		}
		p.EmailAlerts = old.EmailAlerts // set apart, with SetAgentEmailAlerts
		if err := tx.SetAgentPrefs(ctx, &p); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventAgent, Data: agent.ID}, AgentTopic(agent.ID))
		return nil
	})
	return p, err
}

// AlertState is what the console's alerts start from, and read again as things change.
type AlertState struct {
	Available bool
	Prefs     store.AgentPrefs
	// Attention lists the conversations that need the agent, newest activity first: open ones assigned
	// to them, or waiting unassigned in one of their inboxes (or in none), whose newest message is a
	// customer's that they have not read.
	Attention []string
}

// AlertState returns the agent's alert state.
func (s *Service) AlertState(ctx context.Context, agent store.Agent) (AlertState, error) {
	st := AlertState{Available: agent.Available}
	var err error
	if st.Prefs, err = s.store.AgentPrefs(ctx, agent.ID); err != nil {
		return AlertState{}, err
	}
	memberOf, err := s.inboxesOf(ctx, agent)
	if err != nil {
		return AlertState{}, err
	}
	mine, err := s.store.ListConversations(ctx, store.ConversationFilter{WorkspaceID: agent.WorkspaceID, Status: store.StatusOpen, AssigneeID: agent.ID, Limit: attentionLimit}, agent.ID)
	if err != nil {
		return AlertState{}, err
	}
	waiting, err := s.store.ListConversations(ctx, store.ConversationFilter{WorkspaceID: agent.WorkspaceID, Status: store.StatusOpen, Unassigned: true, Limit: attentionLimit}, agent.ID)
	if err != nil {
		return AlertState{}, err
	}
	counted := map[string]bool{}
	for _, r := range append(mine, waiting...) {
		if waitsFor(r.Conversation, agent.ID, memberOf) && r.LastSeq > r.ReadSeq && r.LastSender == store.SenderCustomer && !counted[r.ID] {
			st.Attention, counted[r.ID] = append(st.Attention, r.ID), true
		}
	}
	// A mention needs them until they read the conversation past the note: one read for all of them.
	unread, err := s.store.UnreadMentions(ctx, agent.ID, attentionLimit, attentionLimit)
	if err != nil {
		return AlertState{}, err
	}
	for _, id := range unread {
		if !counted[id] {
			st.Attention, counted[id] = append(st.Attention, id), true
		}
	}
	return st, nil
}

// inboxesOf returns the ids of the inboxes the agent is a member of.
func (s *Service) inboxesOf(ctx context.Context, agent store.Agent) (map[string]bool, error) {
	inboxes, err := s.store.Inboxes(ctx, agent.WorkspaceID)
	if err != nil {
		return nil, err
	}
	memberOf := map[string]bool{}
	for _, in := range inboxes {
		for _, m := range in.Members {
			if m == agent.ID {
				memberOf[in.ID] = true
			}
		}
	}
	return memberOf, nil
}

// waitsFor says whether an open conversation is the agent's to answer: assigned to them, or unassigned
// in one of their inboxes or in none.
func waitsFor(c store.Conversation, agentID string, memberOf map[string]bool) bool {
	if c.Status != store.StatusOpen {
		return false
	}
	return c.AssigneeID == agentID || c.AssigneeID == "" && (c.InboxID == "" || memberOf[c.InboxID])
}

// ConversationAlert is what an alert about a conversation shows: who the customer is and the start of
// their newest message. Never an agent's words: no reply, internal note or transfer note.
type ConversationAlert struct {
	ConversationID string
	Name           string // the customer's name, else what the visitor claimed, else "Visitor"
	Level          string // AlertVerified, AlertClaimed or AlertAnonymous
	// Text is the first AlertTextLength characters of the newest customer message ("" when there is
	// none); Cut says there was more.
	Text string
	Cut  bool
	// N is the newest customer message's number (0 when none): an alert fires once per message.
	N int64
	// ForMe says the conversation is the agent's to answer (see AlertState.Attention); Assigned that it
	// is assigned to them.
	ForMe    bool
	Assigned bool
	Unread   bool // the newest customer message is past the agent's read mark
}

// alertScan is how many of a conversation's newest messages are searched for the customer's newest.
const alertScan = 20

// ConversationAlert returns the alert for a conversation of the agent's workspace.
func (s *Service) ConversationAlert(ctx context.Context, agent store.Agent, conversationID string) (ConversationAlert, error) {
	conv, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, conversationID)
	if err != nil {
		return ConversationAlert{}, err
	}
	a := ConversationAlert{ConversationID: conv.ID, Name: firstNonEmpty(conv.ClaimedName, "Visitor"), Level: alertLevel(ConversationLevel(conv))}
	if conv.CustomerID != "" {
		c, err := s.store.Customer(ctx, conv.CustomerID)
		if err != nil {
			return ConversationAlert{}, err
		}
		a.Name = firstNonEmpty(c.Name, conv.ClaimedName, "Visitor")
	}
	memberOf, err := s.inboxesOf(ctx, agent)
	if err != nil {
		return ConversationAlert{}, err
	}
	a.ForMe, a.Assigned = waitsFor(conv, agent.ID, memberOf), conv.AssigneeID == agent.ID
	msgs, err := s.store.MessagesBefore(ctx, conv.ID, 0, alertScan)
	if err != nil {
		return ConversationAlert{}, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Sender == store.SenderCustomer {
			a.N = m.N
			text := m.Body
			if text == "" && len(m.Attachments) > 0 {
				// A message of files alone still says something in the notification.
				names := make([]string, len(m.Attachments))
				for i, f := range m.Attachments {
					names[i] = f.Name
				}
				text = "Sent " + strings.Join(names, ", ")
			}
			a.Text, a.Cut = firstChars(text, AlertTextLength)
			read, err := s.store.ReadMark(ctx, agent.ID, conv.ID)
			if err != nil {
				return ConversationAlert{}, err
			}
			a.Unread = m.Seq > read
			break
		}
	}
	return a, nil
}

func alertLevel(level string) string {
	switch level {
	case store.LevelVerified:
		return AlertVerified
	case store.LevelIdentified:
		return AlertClaimed
	}
	return AlertAnonymous
}

// firstChars cuts s to its first n characters and says whether it cut.
func firstChars(s string, n int) (string, bool) {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos], true
		}
		i++
	}
	return s, false
}
