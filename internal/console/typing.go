package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Typing and seen on the console's socket. The page (static/typing.js) sends
// {"type":"typing","conversation_id":"cv_…","state":"start"|"stop"} while the agent types a reply, and
// gets the customer's typing and seen marks:
//
//	{"type":"typing","conversation_id":"cv_…","state":"start"|"stop"}
//	{"type":"seen","conversation_id":"cv_…","n":"12","at":"2026-12-05T12:03:00.000000Z"}
//
// n is the number within the conversation of the newest agent message the customer has seen (the
// timeline's data-n). As everywhere on this socket, no customer text travels.

// clientFrame acts on one frame the page sent; anything else, or a refused frame, is ignored: typing
// is best effort, and the page has no use for an answer.
func (c *Console) clientFrame(ctx context.Context, typing *chat.TypingGate, data []byte) {
	var f struct {
		Type           string `json:"type"`
		ConversationID string `json:"conversation_id"`
		State          string `json:"state"`
	}
	if json.Unmarshal(data, &f) != nil || f.Type != "typing" {
		return
	}
	if _, err := typing.Typing(ctx, f.ConversationID, f.State); err != nil {
		c.log.Debug("console typing frame refused", "err", err)
	}
}

// typingSeenFrame renders the customer's typing or seen mark for the console; an agent's own typing
// (which goes to the customer's devices only) renders as nothing.
func typingSeenFrame(d any) map[string]string {
	switch d := d.(type) {
	case chat.Typing:
		if d.From != store.SenderCustomer {
			return nil
		}
		return map[string]string{"type": "typing", "conversation_id": d.ConversationID, "state": d.State}
	case chat.SeenMark:
		return map[string]string{"type": "seen", "conversation_id": d.ConversationID, "n": strconv.FormatInt(d.N, 10), "at": d.At.UTC().Format("2006-01-02T15:04:05.000000Z")}
	}
	return nil
}

// markSeen stamps "Seen" on the agent message the customer has seen last, when the page shows it.
func (c *Console) markSeen(r *http.Request, p *conversationPage) error {
	seen, err := c.chat.CustomerSeen(r.Context(), signedIn(r).agent, p.Conversation.ID)
	if err != nil || seen.N == 0 {
		return err
	}
	for i := range p.Items {
		if m := p.Items[i].Message; m != nil && m.N == seen.N && m.Sender == store.SenderAgent {
			p.Items[i].SeenAt = seen.At
		}
	}
	return nil
}
