package chat

import (
	"context"

	"github.com/parleyhq/parley/internal/store"
)

// What the widget's launcher needs of a returning visitor's conversations, read with the session it
// resumes (GET /v1/widget/session, the socket's ready frame): whether one is open (so the widget keeps
// a live connection for the answer) and what may be unread, without loading any message list. The
// device counts unread itself against its own marks of what it has shown: the agent's and system
// messages after the customer's last one, past the device's mark.
const (
	// LauncherConversations is how many of the newest conversations the summary names, as many as the
	// widget loads when its panel opens.
	LauncherConversations = 20
	// LauncherTail bounds the unanswered message ids per conversation: the badge shows "20" for more.
	LauncherTail = 20
	// launcherClosedTails: closed conversations rarely gain messages, so only the newest few are read
	// for unanswered messages (an agent's goodbye after the visitor left); open ones always are.
	launcherClosedTails = 3
)

// ConversationSummary is one conversation as the launcher sees it.
type ConversationSummary struct {
	Conversation store.Conversation
	// Unanswered holds the customer-visible agent and system messages after the customer's last
	// message (at most LauncherTail, the newest), oldest first.
	Unanswered []store.Message
}

// LauncherSummary lists the visitor's newest conversations with their unanswered messages: one query
// for the list, one per open conversation (and per one of the few newest closed ones).
func (s *Service) LauncherSummary(ctx context.Context, v *Visitor) ([]ConversationSummary, error) {
	convs, err := s.store.Conversations(ctx, v.Owner())
	if err != nil {
		return nil, err
	}
	if len(convs) > LauncherConversations {
		convs = convs[:LauncherConversations]
	}
	out := make([]ConversationSummary, len(convs))
	closed := 0
	for i, c := range convs {
		out[i].Conversation = c
		if c.LastMessage.IsZero() {
			continue
		}
		if c.Status != store.StatusOpen {
			if closed++; closed > launcherClosedTails {
				continue
			}
		}
		// Notes share the seq order: read enough that a few of them cannot hide the tail.
		msgs, err := s.store.MessagesBefore(ctx, c.ID, 0, 2*LauncherTail)
		if err != nil {
			return nil, err
		}
		msgs = customerVisible(msgs)
		start := len(msgs)
		for start > 0 && msgs[start-1].Sender != store.SenderCustomer {
			start--
		}
		if len(msgs)-start > LauncherTail {
			start = len(msgs) - LauncherTail
		}
		out[i].Unanswered = msgs[start:]
	}
	return out, nil
}
