package chat

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// A transfer hands a conversation to another agent, or back to an inbox's queue, with a word of context
// for whoever takes it. It is a timeline event: events reach agents only (WorkspaceTopic), never the
// customer's widget, so the note stays between agents.

// MaxTransferNote is how long a transfer's note may be, in characters.
const MaxTransferNote = 500

// EventTransfer tells the agents a conversation was handed to that it is theirs now (Data: the
// "transferred" store.Event), on their AgentTopic only.
const EventTransfer = "transfer"

// TransferTo names where a conversation goes: an agent of the workspace (it keeps its inbox), an inbox
// (it waits there unassigned), or neither (it waits unassigned where it is).
type TransferTo struct {
	AgentID string
	InboxID string
}

// Transfer hands a conversation of the agent's workspace on, recording a "transferred" event with the
// optional note (at most MaxTransferNote characters, shown to agents only). The receiving agent — or, for
// an inbox, its available members — gets an EventTransfer on their AgentTopic; the acting agent does not.
// A transfer that changes nothing records nothing.
func (s *Service) Transfer(ctx context.Context, agent store.Agent, conversationID string, to TransferTo, note string) (store.Conversation, error) {
	note, err := transferNote(note)
	if err != nil {
		return store.Conversation{}, err
	}
	if to.AgentID != "" && to.InboxID != "" {
		return store.Conversation{}, problem.InvalidField("to", "name an agent or an inbox, not both")
	}
	var conv store.Conversation
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		var err error
		if conv, err = conversationInWorkspace(ctx, tx, agent.WorkspaceID, conversationID); err != nil {
			return err
		}
		agents, err := tx.Agents(ctx, agent.WorkspaceID)
		if err != nil {
			return err
		}
		// agent_name travels with the alert to the receiving agent's console (a frame names who sent it).
		data := map[string]string{"agent_id": agent.ID, "agent_name": agent.Name}
		if conv.AssigneeID != "" {
			data["from_agent_id"] = conv.AssigneeID
		}
		if note != "" {
			data["note"] = note
		}
		assignee, inboxID := "", conv.InboxID
		var receivers []string
		switch {
		case to.AgentID != "":
			a, ok := activeAgent(agents, to.AgentID)
			if !ok {
				return problem.InvalidField("to", "no active agent %q in this workspace", to.AgentID)
			}
			assignee = a.ID
			data["to_agent_id"] = a.ID
			if a.ID != agent.ID {
				receivers = append(receivers, a.ID)
			}
		case to.InboxID != "":
			in, err := s.inboxOf(ctx, tx, agent.WorkspaceID, to.InboxID)
			if err != nil {
				return problem.InvalidField("to", "no inbox %q in this workspace", to.InboxID)
			}
			inboxID = in.ID
			data["to_inbox_id"], data["inbox"] = in.ID, in.Name
			for _, id := range in.Members {
				if a, ok := activeAgent(agents, id); ok && a.Available && a.ID != agent.ID {
					receivers = append(receivers, a.ID)
				}
			}
		}
		if assignee == conv.AssigneeID && inboxID == conv.InboxID {
			return nil
		}
		conv.AssigneeID, conv.InboxID, conv.UpdatedAt = assignee, inboxID, s.clock()
		if err := tx.UpdateConversation(ctx, &conv); err != nil {
			return err
		}
		e := store.Event{ConversationID: conv.ID, Type: "transferred", Data: data, CreatedAt: conv.UpdatedAt}
		if err := tx.AppendEvent(ctx, &e); err != nil {
			return err
		}
		out.add(realtime.Event{Type: EventTimeline, Data: e}, WorkspaceTopic(conv.WorkspaceID))
		out.add(realtime.Event{Type: EventConversation, Data: conv}, WorkspaceTopic(conv.WorkspaceID))
		if len(receivers) > 0 {
			topics := make([]string, len(receivers))
			for i, id := range receivers {
				topics[i] = AgentTopic(id)
			}
			out.add(realtime.Event{Type: EventTransfer, Data: e}, topics...)
		}
		return nil
	})
	return conv, err
}

// transferNote checks a transfer's note: plain text of at most MaxTransferNote characters, line breaks
// and tabs being the only control characters. Surrounding space is dropped.
func transferNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if !utf8.ValidString(note) {
		return "", problem.InvalidField("note", "must be UTF-8 text")
	}
	if utf8.RuneCountInString(note) > MaxTransferNote {
		return "", problem.InvalidField("note", "must be at most %d characters", MaxTransferNote)
	}
	for _, r := range note {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return "", problem.InvalidField("note", "must not contain control characters")
		}
	}
	return note, nil
}

func activeAgent(agents []store.Agent, id string) (store.Agent, bool) {
	for _, a := range agents {
		if a.ID == id && a.DisabledAt.IsZero() {
			return a, true
		}
	}
	return store.Agent{}, false
}
