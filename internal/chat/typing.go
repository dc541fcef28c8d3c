package chat

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Typing indicators are ephemeral: nothing is written to the database, nothing waits for anything, and
// under pressure they are dropped. A client sends "start" at most every TypingRefresh while its user
// types and "stop" after TypingIdle without a key or when the message is sent; a receiver forgets an
// indicator TypingExpiry after the last "start" it saw, so a lost "stop" cannot leave it on. The text
// being typed never leaves the browser.

// EventTyping is published for a typing frame. Data: Typing.
const EventTyping = "typing"

// The typing rhythm docs/api.md promises; widget.js and the console's typing.js follow it (as constants
// of their own), and typingRate below leaves room for it.
const (
	TypingRefresh = 2 * time.Second
	TypingIdle    = 5 * time.Second
	TypingExpiry  = 6 * time.Second
)

// Typing states.
const (
	TypingStart = "start"
	TypingStop  = "stop"
)

// Typing says that someone started or stopped typing in a conversation. It never carries text.
type Typing struct {
	ConversationID string
	From           string // store.SenderCustomer or store.SenderAgent
	AgentID        string // the typing agent, when From is store.SenderAgent
	State          string // TypingStart or TypingStop
}

// typingRate bounds the typing frames one socket may have published: a well-behaved client sends at
// most one "start" every TypingRefresh and one "stop", so this leaves room for a burst of conversations
// switched and nothing for a flood.
const (
	typingRate  = rate.Limit(1)
	typingBurst = 4
	// typingCache is how many conversations a socket remembers as its own, and typingCacheTTL for how
	// long: a conversation can change hands (a visitor signs in and it moves to the customer).
	typingCache    = 16
	typingCacheTTL = 30 * time.Second
)

// TypingGate checks and publishes the typing frames of one live connection: it knows which
// conversations the connection may type in (asking the database once per conversation) and drops
// frames past its rate. It is not safe for concurrent use; each socket's reader owns one.
type TypingGate struct {
	s       *Service
	visitor *Visitor     // a widget's gate
	agent   *store.Agent // a console's gate
	limit   *rate.Limiter
	topics  map[string][]string // conversation id → where its typing goes; nil: not the connection's
	filled  time.Time           // when topics was last emptied
}

// CustomerTyping returns the gate of a widget's socket.
func (s *Service) CustomerTyping(v *Visitor) *TypingGate {
	return &TypingGate{s: s, visitor: v, limit: rate.NewLimiter(typingRate, typingBurst), topics: make(map[string][]string)}
}

// AgentTyping returns the gate of an agent's console socket.
func (s *Service) AgentTyping(a store.Agent) *TypingGate {
	return &TypingGate{s: s, agent: &a, limit: rate.NewLimiter(typingRate, typingBurst), topics: make(map[string][]string)}
}

// Typing handles one typing frame. It reports whether the frame was passed on; a frame past the rate is
// dropped without an error, whatever it names. A state other than start or stop is 422 invalid_field; a conversation the
// connection may not see is 404 conversation_not_found.
func (g *TypingGate) Typing(ctx context.Context, conversationID, state string) (bool, error) {
	if state != TypingStart && state != TypingStop {
		return false, problem.InvalidField("state", `must be "start" or "stop"`)
	}
	// The rate comes first, so that frames naming conversations this socket has not seen (each a read)
	// cost the database no more than one a second either.
	if !g.limit.Allow() {
		return false, nil
	}
	if now := time.Now(); now.Sub(g.filled) > typingCacheTTL {
		clear(g.topics)
		g.filled = now
	}
	topics, known := g.topics[conversationID]
	if !known {
		var err error
		if topics, err = g.lookup(ctx, conversationID); err != nil {
			return false, err
		}
		if len(g.topics) >= typingCache {
			clear(g.topics)
		}
		g.topics[conversationID] = topics
	}
	if topics == nil {
		return false, problem.NotFound("conversation_not_found", "no conversation %q", conversationID)
	}
	t := Typing{ConversationID: conversationID, State: state, From: store.SenderCustomer}
	if g.agent != nil {
		t.From, t.AgentID = store.SenderAgent, g.agent.ID
	}
	g.s.ephemeral(realtime.Event{Type: EventTyping, Data: t}, topics)
	return true, nil
}

// lookup says where a conversation's typing goes, or nil when the connection may not type in it: a
// customer's typing goes to the workspace's agents, an agent's to the customer's devices.
func (g *TypingGate) lookup(ctx context.Context, id string) ([]string, error) {
	if !validConversationID(id) {
		return nil, nil
	}
	conv, err := g.s.store.Conversation(ctx, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if g.visitor != nil {
		if !g.visitor.canSee(conv) {
			return nil, nil
		}
		return []string{WorkspaceTopic(conv.WorkspaceID)}, nil
	}
	if conv.WorkspaceID != g.agent.WorkspaceID {
		return nil, nil
	}
	return conversationTopics(conv)[:1], nil
}

// validConversationID accepts what could be a conversation id, so junk costs no query.
func validConversationID(id string) bool {
	if len(id) < 4 || len(id) > 64 || id[:3] != "cv_" {
		return false
	}
	for i := 3; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// offerer publishes best effort, dropping where there is no room (realtime.Hub.Offer).
type offerer interface {
	Offer(ev realtime.Event, topics ...string) (delivered, dropped int)
}

// ephemeral publishes an event that nothing stores: here at once, best effort, and to the other
// instances through the ephemeral relay when there is one.
func (s *Service) ephemeral(ev realtime.Event, topics []string) {
	s.ephemeralLocal(ev, topics)
	if s.flash != nil {
		s.flash.send(ev, topics)
	}
}
