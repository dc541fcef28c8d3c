package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Internal notes are messages agents write for each other in a conversation's timeline. They never
// reach the customer.

// CustomerVisible is THE rule for internal notes: it reports whether the customer may ever see a
// message. Every path that shows a conversation's messages to its customer goes through it or through
// a store read that applies it in its query (store.Reader.MessagesAfterNumber, the conversations'
// LastMessage): the widget's message list and WebSocket, the chat page (which is the widget), the
// customers API's conversation listings. Any later path that carries messages outside the console —
// email notifications, transcripts, webhooks, exports — must filter with it too.
//
// Notes are numbered apart (-1, -2, … within their conversation, store.Message.N), so the customer's
// message ids stay dense and no gap tells them that notes were written.
func CustomerVisible(m store.Message) bool {
	return !m.Internal
}

// customerVisible keeps the messages CustomerVisible allows, in order.
func customerVisible(msgs []store.Message) []store.Message {
	out := msgs[:0:0]
	for _, m := range msgs {
		if CustomerVisible(m) {
			out = append(out, m)
		}
	}
	return out
}

// EventMention tells one agent's console sockets (AgentTopic) that a note mentions them. Data: Mention.
const EventMention = "mention"

// Mention is the alert a mentioned agent gets.
type Mention struct {
	ConversationID string
	MessageSeq     int64  // the note's store Seq
	N              int64  // the note's number (negative: notes are numbered apart)
	AgentID        string // the mentioned agent
	By             string // the note's author's name
}

// MaxMentionsPerNote bounds how many agents one note alerts.
const MaxMentionsPerNote = 20

// PostNote appends an internal note by the agent to a conversation of their workspace. A note changes
// nothing else: it does not reopen a closed conversation, does not count as the conversation's last
// message (so waiting-for-customer/agent and unread marks stay as they were), and is published to the
// workspace's agents only, never to the customer's topics. @mentions of the workspace's agents (see
// MentionedAgents) are stored and alert those agents. A client id the agent already used returns the
// first message (created false).
func (s *Service) PostNote(ctx context.Context, agent store.Agent, conversationID, body, clientID string) (msg store.Message, created bool, err error) {
	return s.PostNoteInput(ctx, agent, conversationID, MessageInput{Body: body, ClientID: clientID})
}

// PostNoteInput is PostNote with attachments: they are internal too, never reachable by the customer.
func (s *Service) PostNoteInput(ctx context.Context, agent store.Agent, conversationID string, in MessageInput) (msg store.Message, created bool, err error) {
	body, clientID := in.Body, in.ClientID
	if err := in.validate(); err != nil {
		return msg, false, err
	}
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		created = false
		conv, err := conversationInWorkspace(ctx, tx, agent.WorkspaceID, conversationID)
		if err != nil {
			return err
		}
		msg = store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: agent.ID, Body: body,
			ClientID: clientID, CreatedAt: s.clock(), Internal: true}
		if len(in.Attachments) > 0 {
			if msg.Attachments, err = takeAttachments(ctx, tx, agent.WorkspaceID, "", agent.ID, in.Attachments); err != nil {
				return err
			}
		}
		if err := tx.AppendMessage(ctx, &msg); err != nil {
			return err
		}
		created = true
		// Agents only: never conversationTopics, which the customer's sockets subscribe to.
		out.add(realtime.Event{Type: EventMessage, Data: msg}, WorkspaceTopic(conv.WorkspaceID))
		// Webhooks carry it only to endpoints that opted in to notes (WebhookCarries).
		if err := s.webhookMessage(ctx, tx, conv.WorkspaceID, msg, ""); err != nil {
			return err
		}
		agents, err := tx.Agents(ctx, agent.WorkspaceID)
		if err != nil {
			return err
		}
		for _, a := range MentionedAgents(body, agents, agent.ID) {
			m := store.Mention{MessageSeq: msg.Seq, AgentID: a.ID, ConversationID: conv.ID, AuthorID: agent.ID, CreatedAt: msg.CreatedAt}
			if err := tx.AddMention(ctx, &m); err != nil {
				return err
			}
			out.add(realtime.Event{Type: EventMention, Data: Mention{ConversationID: conv.ID, MessageSeq: msg.Seq, N: msg.N,
				AgentID: a.ID, By: agent.Name}}, AgentTopic(a.ID))
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) && clientID != "" {
		m, rerr := s.store.MessageByAgentClientID(ctx, agent.ID, clientID)
		if rerr == nil && m.ConversationID == conversationID {
			return m, false, nil
		}
	}
	return msg, created, attachmentTaken(err)
}

// MentionedAgents returns the agents an @mention in body names, among agents (one workspace's), in the
// order first mentioned, without the author and without disabled agents. A mention is "@" (at the start
// or after a character that is not a letter, digit or one of . _ -) followed by letters, digits and
// . _ - (a trailing "." ends a sentence, not the name); it names, ignoring case, the agent whose email
// address starts with it before the "@", whose full name without spaces is it, or whose first name is
// it. A mention that fits several agents names none of them: the author should write a longer one.
func MentionedAgents(body string, agents []store.Agent, authorID string) []store.Agent {
	var out []store.Agent
	seen := map[string]bool{}
	for _, word := range mentionWords(body) {
		var match []int
		for i, a := range agents {
			if mentionNames(a, word) {
				match = append(match, i)
			}
		}
		if len(match) != 1 {
			continue
		}
		a := agents[match[0]]
		if a.ID == authorID || !a.DisabledAt.IsZero() || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		out = append(out, a)
		if len(out) == MaxMentionsPerNote {
			break
		}
	}
	return out
}

func isMentionRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-'
}

// mentionWords returns the lowercased words after each @ that starts a mention.
func mentionWords(body string) []string {
	var words []string
	runes := []rune(body)
	for i := 0; i < len(runes); i++ {
		if runes[i] != '@' || (i > 0 && isMentionRune(runes[i-1])) {
			continue
		}
		j := i + 1
		for j < len(runes) && isMentionRune(runes[j]) {
			j++
		}
		word := strings.TrimRight(string(runes[i+1:j]), ".")
		if word != "" {
			words = append(words, strings.ToLower(word))
		}
		i = j - 1
	}
	return words
}

// mentionNames reports whether a lowercased mention word names the agent.
func mentionNames(a store.Agent, word string) bool {
	local, _, _ := strings.Cut(a.Email, "@")
	if strings.ToLower(local) == word {
		return true
	}
	fields := strings.Fields(strings.ToLower(a.Name))
	if len(fields) == 0 {
		return false
	}
	return strings.Join(fields, "") == word || fields[0] == word
}

// MentionItem is one row of the console's Mentions view: a conversation that mentions the agent, with
// its newest mention.
type MentionItem struct {
	Conversation store.Conversation
	DisplayName  string // who the conversation is with, as the inbox names them
	By           string // the newest mentioning note's author
	Excerpt      string // the start of that note
	MessageID    string // that note's id
	At           time.Time
}

// Mentions lists the conversations whose notes mention the agent, the most recently mentioned first.
func (s *Service) Mentions(ctx context.Context, agent store.Agent) ([]MentionItem, error) {
	ms, err := s.store.Mentions(ctx, agent.ID, 500)
	if err != nil {
		return nil, err
	}
	_, names, err := s.agentNames(ctx, agent.WorkspaceID)
	if err != nil {
		return nil, err
	}
	var out []MentionItem
	done := map[string]bool{}
	for _, m := range ms {
		if done[m.ConversationID] {
			continue
		}
		done[m.ConversationID] = true
		conv, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, m.ConversationID)
		if err != nil {
			continue // another workspace's (the agent moved?) or gone
		}
		item := MentionItem{Conversation: conv, By: names[m.AuthorID], Excerpt: clip(m.Body, 140), At: m.CreatedAt,
			MessageID: MessageID(store.Message{ConversationID: m.ConversationID, N: m.N, Internal: true})}
		item.DisplayName = firstNonEmpty(conv.ClaimedName, "Visitor")
		if conv.CustomerID != "" {
			if c, err := s.store.Customer(ctx, conv.CustomerID); err == nil {
				item.DisplayName = firstNonEmpty(c.Name, c.Email, item.DisplayName)
			}
		}
		out = append(out, item)
		if len(out) == 100 {
			break
		}
	}
	return out, nil
}

// noteID renders an internal note's id: msg_<conversation>_note_<-N as 16 hex digits>. It is no
// customer message id (ParseMessageID refuses it), so no customer path can name a note.
func noteID(m store.Message) string {
	return messageIDPrefix(m.ConversationID) + fmt.Sprintf("note_%016x", -m.N)
}

// readMention rebuilds a mention alert from its relay notice: the note's row and its author's name.
func (s *Service) readMention(ctx context.Context, n notice) (realtime.Event, error) {
	ev := realtime.Event{Type: n.Type, Final: n.Final}
	msgs, err := s.store.Messages(ctx, n.Conv, n.Seq-1, 1)
	if err != nil {
		return ev, err
	}
	if len(msgs) == 0 || msgs[0].Seq != n.Seq {
		return ev, fmt.Errorf("note %d of %s not found", n.Seq, n.Conv)
	}
	m := Mention{ConversationID: n.Conv, MessageSeq: n.Seq, N: msgs[0].N, AgentID: n.Agent}
	if a, err := s.store.Agent(ctx, msgs[0].AgentID); err == nil {
		m.By = a.Name
	}
	ev.Data = m
	return ev, nil
}
