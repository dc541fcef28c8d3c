package chat

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Seen and Read tell each side how far the other has read. The widget reports the newest agent message
// it showed its customer with the panel open and the page visible (MarkSeen); agents see "Seen 12:03"
// under it. An agent's read mark (MarkRead) that covers the customer's newest message tells the widget
// "Read", unless the workspace turned read receipts off (Settings.HideReadReceipts). Both marks only
// ever move forward.

// Event types of seen and read marks.
const (
	EventSeen = "seen" // Data: SeenMark, for agents
	EventRead = "read" // Data: ReadReceipt, for the customer's devices
)

// SeenMark says the customer has seen a conversation up to its message number N (an agent message).
type SeenMark struct {
	ConversationID string
	N              int64
	At             time.Time
}

// ReadReceipt says agents have read a conversation up to the customer's message number N.
type ReadReceipt struct {
	ConversationID string
	N              int64
}

// MarkSeen records that the visitor has seen one of their conversations up to an agent's message. A
// conversation the visitor may not see is 404 conversation_not_found; a message id that is not one of
// the conversation's agent messages is 422 invalid_field message_id. A mark behind the recorded one
// changes nothing.
func (s *Service) MarkSeen(ctx context.Context, v *Visitor, conversationID, messageID string) error {
	conv, err := s.visibleConversation(ctx, v, conversationID)
	if err != nil {
		return err
	}
	n, err := ParseMessageID(conv.ID, messageID)
	if err != nil || n < 1 {
		return problem.InvalidField("message_id", "must be the id of a message of this conversation")
	}
	// A mark at or behind the recorded one changes nothing: answer it without a write transaction, so
	// repeated reports cost reads only (the mark moves at most once per agent message).
	if seen, err := s.store.CustomerSeen(ctx, conv.ID); err != nil {
		return err
	} else if seen.N >= n {
		return s.checkSeenMessage(ctx, conv.ID, n, messageID)
	}
	if err := s.checkSeenMessage(ctx, conv.ID, n, messageID); err != nil {
		return err
	}
	at := s.clock()
	return s.update(ctx, func(tx store.Tx, out *outbox) error {
		moved, err := tx.MarkCustomerSeen(ctx, conv.ID, n, at)
		if err != nil {
			return err
		}
		if moved {
			out.add(realtime.Event{Type: EventSeen, Data: SeenMark{ConversationID: conv.ID, N: n, At: at}}, WorkspaceTopic(conv.WorkspaceID))
		}
		return nil
	})
}

// checkSeenMessage refuses a seen mark on anything but one of the conversation's agent messages.
func (s *Service) checkSeenMessage(ctx context.Context, conversationID string, n int64, messageID string) error {
	msgs, err := s.store.MessagesAfterNumber(ctx, conversationID, n-1, 1)
	if err != nil {
		return err
	}
	if len(msgs) == 0 || msgs[0].N != n {
		return problem.InvalidField("message_id", "no message %q in this conversation", messageID)
	}
	if msgs[0].Sender != store.SenderAgent {
		return problem.InvalidField("message_id", "must be an agent's message: only those are marked seen")
	}
	return nil
}

// visibleConversation returns one of the visitor's conversations; others do not exist for them.
func (s *Service) visibleConversation(ctx context.Context, v *Visitor, id string) (store.Conversation, error) {
	if !validConversationID(id) {
		return store.Conversation{}, problem.NotFound("conversation_not_found", "no conversation %q for this session", id)
	}
	conv, err := s.store.Conversation(ctx, id)
	if (err == nil && !v.canSee(conv)) || isNotFound(err) {
		return conv, problem.NotFound("conversation_not_found", "no conversation %q for this session", id)
	}
	return conv, err
}

// CustomerSeen returns how far the customer has read a conversation of the agent's workspace.
func (s *Service) CustomerSeen(ctx context.Context, agent store.Agent, conversationID string) (store.Seen, error) {
	if _, err := conversationInWorkspace(ctx, s.store, agent.WorkspaceID, conversationID); err != nil {
		return store.Seen{}, err
	}
	return s.store.CustomerSeen(ctx, conversationID)
}

// ReadUpTo returns the id of the visitor's newest message in a conversation that an agent has read, or
// "" when none has been or the workspace hides read receipts.
func (s *Service) ReadUpTo(ctx context.Context, v *Visitor, conversationID string) (string, error) {
	if v.Workspace.Settings.HideReadReceipts {
		return "", nil
	}
	conv, err := s.visibleConversation(ctx, v, conversationID)
	if err != nil {
		return "", err
	}
	n, err := s.store.AgentsReadUpTo(ctx, conv.ID)
	if err != nil || n == 0 {
		return "", err
	}
	return MessageID(store.Message{ConversationID: conv.ID, N: n}), nil
}

// markRead records an agent's read mark and, when it newly covers a customer message, tells the
// customer's devices (unless the workspace hides read receipts).
func (s *Service) markRead(ctx context.Context, agent store.Agent, conv store.Conversation, seq int64) error {
	return s.update(ctx, func(tx store.Tx, out *outbox) error {
		before, err := tx.AgentsReadUpTo(ctx, conv.ID)
		if err != nil {
			return err
		}
		if err := tx.MarkRead(ctx, agent.ID, conv.ID, seq); err != nil {
			return err
		}
		after, err := tx.AgentsReadUpTo(ctx, conv.ID)
		if err != nil || after <= before {
			return err
		}
		w, err := tx.Workspace(ctx, conv.WorkspaceID)
		if err != nil {
			return err
		}
		if !w.Settings.HideReadReceipts {
			out.add(realtime.Event{Type: EventRead, Data: ReadReceipt{ConversationID: conv.ID, N: after}}, conversationTopics(conv)[0])
		}
		return nil
	})
}
