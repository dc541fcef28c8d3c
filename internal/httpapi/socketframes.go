package httpapi

import (
	"context"
	"net/http"

	"golang.org/x/time/rate"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/jsonstrict"
	"github.com/parleyhq/parley/internal/problem"
)

// Frames a widget sends on its socket after authentication, besides ping:
//
//	{"type":"typing","conversation_id":"cv_…","state":"start"|"stop"}
//	{"type":"seen","conversation_id":"cv_…","message_id":"msg_…"}
//
// Neither is answered when it succeeds. A refused frame is answered with {"type":"error","error":{…}},
// the error body of the HTTP API; a typing frame past the socket's rate (chat's), or a seen frame past
// seenRate, is dropped without a word.

// clientFrames handles one socket's client frames; its reader goroutine owns it.
type clientFrames struct {
	a      *API
	v      *socketVisitor
	typing *chat.TypingGate
	seen   *rate.Limiter
}

// seenRate bounds a socket's seen frames: the widget sends one when an agent message is shown, so a
// handful a second is already generous.
const (
	seenRate  = rate.Limit(2)
	seenBurst = 10
)

func (a *API) newClientFrames(v *socketVisitor) *clientFrames {
	return &clientFrames{a: a, v: v, typing: a.chat.CustomerTyping(&v.Visitor), seen: rate.NewLimiter(seenRate, seenBurst)}
}

type typingClientFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	State          string `json:"state"`
}

type seenClientFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
}

// handle acts on one frame and returns the reply to send, if any. Unknown types are ignored, so older
// servers and newer clients get along.
func (f *clientFrames) handle(ctx context.Context, typ string, data []byte) any {
	var err error
	switch typ {
	case "typing":
		var t typingClientFrame
		if jsonstrict.Unmarshal(data, &t) != nil {
			return frameError(problem.New(http.StatusBadRequest, "invalid_json", `send {"type":"typing","conversation_id":"cv_…","state":"start"|"stop"}`))
		}
		_, err = f.typing.Typing(ctx, t.ConversationID, t.State)
	case "seen":
		var s seenClientFrame
		if jsonstrict.Unmarshal(data, &s) != nil {
			return frameError(problem.New(http.StatusBadRequest, "invalid_json", `send {"type":"seen","conversation_id":"cv_…","message_id":"msg_…"}`))
		}
		if !f.seen.Allow() {
			return nil
		}
		err = f.a.chat.MarkSeen(ctx, &f.v.Visitor, s.ConversationID, s.MessageID)
	default:
		return nil
	}
	if err == nil {
		return nil
	}
	if _, ok := problem.As(err); !ok {
		f.a.log.Error("socket frame", "type", typ, "err", err)
		err = problem.New(http.StatusInternalServerError, "internal_error", "something went wrong on our side; try again")
	}
	return frameError(err)
}

func frameError(err error) any {
	p, _ := problem.As(err)
	return map[string]any{"type": "error", "error": errorDetail{Code: p.Code, Message: p.Message, Field: p.Field}}
}

// typingFrame renders an agent's typing for a widget: who is typing stays unsaid (the widget shows no
// agent names), and a customer's own typing never comes back to them.
func typingFrame(t chat.Typing) (any, bool) {
	if t.From != "agent" {
		return nil, false
	}
	return map[string]string{"type": "typing", "conversation_id": t.ConversationID, "state": t.State}, true
}
