package chat

import (
	"context"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// conversationInWorkspace reads a conversation, treating one of another workspace as missing.
func conversationInWorkspace(ctx context.Context, r store.Reader, workspaceID, id string) (store.Conversation, error) {
	c, err := r.Conversation(ctx, id)
	if (err == nil && c.WorkspaceID != workspaceID) || isNotFound(err) {
		return c, problem.NotFound("conversation_not_found", "no conversation %q", id)
	}
	return c, err
}

// PostAgentMessage appends an agent's reply. Writing to a closed conversation of a verified customer is a
// follow-up: it reopens the conversation and reaches the customer on whichever device they use next.
// A closed anonymous conversation cannot be followed up — nobody could prove to be its visitor again.
func (s *Service) PostAgentMessage(ctx context.Context, workspaceID, agentID, conversationID, body, clientID string) (msg store.Message, created bool, err error) {
	return s.postAgentMessage(ctx, workspaceID, agentID, conversationID, MessageInput{Body: body, ClientID: clientID})
}

func (s *Service) postAgentMessage(ctx context.Context, workspaceID, agentID, conversationID string, in MessageInput) (msg store.Message, created bool, err error) {
	body, clientID := in.Body, in.ClientID
	if err := in.validate(); err != nil {
		return msg, false, err
	}
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		created = false
		conv, err := conversationInWorkspace(ctx, tx, workspaceID, conversationID)
		if err != nil {
			return err
		}
		now := s.clock()
		if conv.Status == store.StatusClosed {
			if conv.CustomerID == "" {
				return conflict("conversation_closed", "this conversation is closed and its visitor was never verified, so a follow-up could not reach them")
			}
			conv.Status, conv.ClosedAt, conv.UpdatedAt = store.StatusOpen, time.Time{}, now
			if err := tx.UpdateConversation(ctx, &conv); err != nil {
				return err
			}
			if err := s.addEvent(ctx, tx, out, conv, "reopened", map[string]string{"agent_id": agentID, "reason": "follow-up"}); err != nil {
				return err
			}
			out.add(realtime.Event{Type: EventConversation, Data: conv}, conversationTopics(conv)...)
		}
		msg = store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: agentID, Body: body, ClientID: clientID, CreatedAt: now}
		if len(in.Attachments) > 0 {
			if msg.Attachments, err = takeAttachments(ctx, tx, workspaceID, "", agentID, in.Attachments); err != nil {
				return err
			}
		}
		if err := tx.AppendMessage(ctx, &msg); err != nil {
			return err
		}
		created = true
		out.add(realtime.Event{Type: EventMessage, Data: msg}, conversationTopics(conv)...)
		if err := s.webhookMessage(ctx, tx, conv.WorkspaceID, msg, ""); err != nil {
			return err
		}
		if s.mailer != nil && conv.CustomerID != "" {
			// In the same transaction: the reply and the job that may mail it commit together.
			ws, err := tx.Workspace(ctx, workspaceID)
			if err != nil {
				return err
			}
			if err := s.enqueueReplyEmail(ctx, tx, ws, conv, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) && clientID != "" {
		// The agent already sent this client id (a double click, a resubmitted form): the first message
		// is the answer, as for customers' retries.
		m, rerr := s.store.MessageByAgentClientID(ctx, agentID, clientID)
		if rerr == nil && m.ConversationID == conversationID {
			return m, false, nil
		}
	}
	return msg, created, attachmentTaken(err)
}

// SetStatus closes or reopens a conversation on behalf of an agent.
func (s *Service) SetStatus(ctx context.Context, workspaceID, agentID, conversationID, status string) (store.Conversation, error) {
	if status != store.StatusOpen && status != store.StatusClosed {
		return store.Conversation{}, problem.InvalidField("status", "must be open or closed")
	}
	var conv store.Conversation
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		var err error
		if conv, err = conversationInWorkspace(ctx, tx, workspaceID, conversationID); err != nil {
			return err
		}
		if conv.Status == status {
			return nil
		}
		now := s.clock()
		conv.Status, conv.UpdatedAt = status, now
		event := "reopened"
		if status == store.StatusClosed {
			conv.ClosedAt, event = now, "closed"
		} else {
			conv.ClosedAt = time.Time{}
		}
		if err := tx.UpdateConversation(ctx, &conv); err != nil {
			return err
		}
		if err := s.addEvent(ctx, tx, out, conv, event, map[string]string{"agent_id": agentID}); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventConversation, Data: conv}, conversationTopics(conv)...)
		return nil
	})
	return conv, err
}
