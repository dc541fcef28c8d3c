package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Several Parley instances can share one PostgreSQL database. Each instance's live connections must
// then see the events of every instance, in the order their writes committed: a client resumes with
// ?after=<the last message id it saw>, so seeing message 6 before message 5 could cost it message 5.
//
// The relay gets that order from the database. A write's events are announced inside its transaction
// (store.Tx.Notify, PostgreSQL's NOTIFY), so every instance — the writer included — hears them in commit
// order on one listening connection and publishes them to its own subscribers from there. The payload
// carries ids only; a listener reads the rows, except for its own events, which it still holds.
// When the listening connection drops, notifications sent meanwhile are lost, so every local
// subscription is ended once it is back (Resyncer) and clients resume from the database.

// Notifier listens to a database's notifications.
type Notifier interface {
	// Listen delivers the payloads notified on channel, in commit order, until ctx ends. It calls
	// listening each time it starts listening: first, and again after reconnecting from a lost
	// connection (notifications sent in between are lost).
	Listen(ctx context.Context, channel string, deliver func(payload []byte), listening func()) error
}

// Resyncer ends every local subscription so that clients reconnect and resume (realtime.Hub.Resync).
type Resyncer interface {
	Resync()
}

// relayChannel is the notification channel Parley's instances share.
const relayChannel = "parley_events"

// pendingTTL bounds how long an instance keeps an event of its own whose notification has not arrived
// (the transaction rolled back after fn ran, or the listener was down).
const pendingTTL = time.Minute

type relay struct {
	notifier Notifier
	instance string
	next     atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]pendingEvent
}

type pendingEvent struct {
	p  pending
	at time.Time
}

// notice is what travels between instances: the event's type, topics and the ids of its rows.
type notice struct {
	Instance string   `json:"i"`
	N        uint64   `json:"n"`
	Type     string   `json:"t"`
	Topics   []string `json:"p"`
	Final    bool     `json:"f,omitempty"`
	Conv     string   `json:"c,omitempty"` // message, conversation, timeline
	Seq      int64    `json:"s,omitempty"` // message, timeline; the message number of seen and read
	Session  string   `json:"x,omitempty"` // session_ended
	Reason   string   `json:"r,omitempty"` // session_ended
	Agent    string   `json:"a,omitempty"` // agent
}

func newRelay(n Notifier) *relay {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &relay{notifier: n, instance: hex.EncodeToString(b), pending: make(map[uint64]pendingEvent)}
}

// announce notifies a transaction's events inside it and keeps them until they come back.
func (r *relay) announce(ctx context.Context, tx store.Tx, out outbox, now time.Time) error {
	for _, p := range out {
		n := notice{Instance: r.instance, N: r.next.Add(1), Type: p.ev.Type, Topics: p.topics, Final: p.ev.Final}
		switch d := p.ev.Data.(type) {
		case store.Message:
			n.Conv, n.Seq = d.ConversationID, d.Seq
		case store.Conversation:
			n.Conv = d.ID
		case store.Event:
			n.Conv, n.Seq = d.ConversationID, d.Seq
		case SessionEnded:
			n.Session, n.Reason = d.SessionID, d.Reason
		case SeenMark:
			n.Conv, n.Seq = d.ConversationID, d.N
		case ReadReceipt:
			n.Conv, n.Seq = d.ConversationID, d.N
		case Mention:
			n.Conv, n.Seq, n.Agent = d.ConversationID, d.MessageSeq, d.AgentID
		case string:
			n.Agent = d
		default:
			return fmt.Errorf("chat: relay: no notice for %s events (%T)", p.ev.Type, p.ev.Data)
		}
		payload, err := json.Marshal(n)
		if err != nil {
			return err
		}
		if err := tx.Notify(ctx, relayChannel, payload); err != nil {
			return err
		}
		r.mu.Lock()
		r.pending[n.N] = pendingEvent{p: p, at: now}
		r.mu.Unlock()
	}
	return nil
}

// RunRelay listens for the events of every instance sharing the database and publishes them to this
// instance's subscribers, until ctx ends. It is needed only when the Service was configured with a
// Notifier. ready, if not nil, is closed once it listens: events committed before then reach no one
// here, so a server should not take traffic earlier.
func (s *Service) RunRelay(ctx context.Context, resync Resyncer, ready chan<- struct{}) error {
	r := s.relay
	if r == nil {
		if ready != nil {
			close(ready)
		}
		return nil
	}
	go r.sweep(ctx)
	if s.flash != nil {
		go func() {
			if err := s.runEphemeral(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("ephemeral relay stopped: typing stays on this instance", "err", err)
			}
		}()
	}
	first := true
	return r.notifier.Listen(ctx, relayChannel, func(payload []byte) { s.relayed(ctx, payload) }, func() {
		if first {
			first = false
			if ready != nil {
				close(ready)
			}
			return
		}
		// Anything of ours still pending was either delivered already or lost with the connection;
		// clients are about to resume from the database either way.
		r.mu.Lock()
		clear(r.pending)
		r.mu.Unlock()
		s.log.Warn("event relay reconnected: live connections will resume from the database")
		resync.Resync()
	})
}

// relayed publishes one notified event to local subscribers.
func (s *Service) relayed(ctx context.Context, payload []byte) {
	var n notice
	if err := json.Unmarshal(payload, &n); err != nil {
		s.log.Error("relay: unreadable notice", "err", err)
		return
	}
	if n.Instance == s.relay.instance {
		s.relay.mu.Lock()
		p, ok := s.relay.pending[n.N]
		delete(s.relay.pending, n.N)
		s.relay.mu.Unlock()
		if ok {
			s.events.Publish(p.p.ev, p.p.topics...)
			return
		}
		// Swept already: read it back like anyone else's.
	}
	ev, err := s.readNotice(ctx, n)
	if err != nil {
		s.log.Warn("relay: cannot read a notified event", "type", n.Type, "err", err)
		return
	}
	s.events.Publish(ev, n.Topics...)
}

// readNotice rebuilds an event from the rows its notice names.
func (s *Service) readNotice(ctx context.Context, n notice) (realtime.Event, error) {
	ev := realtime.Event{Type: n.Type, Final: n.Final}
	switch n.Type {
	case EventMessage:
		msgs, err := s.store.Messages(ctx, n.Conv, n.Seq-1, 1)
		if err != nil {
			return ev, err
		}
		if len(msgs) == 0 || msgs[0].Seq != n.Seq {
			return ev, fmt.Errorf("message %d of %s not found", n.Seq, n.Conv)
		}
		ev.Data = msgs[0]
	case EventConversation:
		c, err := s.store.Conversation(ctx, n.Conv)
		if err != nil {
			return ev, err
		}
		ev.Data = c
	case EventSessionEnded:
		ev.Data = SessionEnded{SessionID: n.Session, Reason: n.Reason}
	case EventSeen:
		// The mark as it is now: at or past the one announced, since it only moves forward.
		seen, err := s.store.CustomerSeen(ctx, n.Conv)
		if err != nil {
			return ev, err
		}
		ev.Data = SeenMark{ConversationID: n.Conv, N: seen.N, At: seen.At}
	case EventRead:
		ev.Data = ReadReceipt{ConversationID: n.Conv, N: n.Seq}
	case EventAgent, EventAgentSessionEnded:
		ev.Data = n.Agent
	case EventMention:
		return s.readMention(ctx, n)
	case EventTimeline, EventTransfer:
		events, err := s.store.Events(ctx, n.Conv)
		if err != nil {
			return ev, err
		}
		for _, e := range events {
			if e.Seq == n.Seq {
				ev.Data = e
				return ev, nil
			}
		}
		return ev, fmt.Errorf("event %d of %s not found", n.Seq, n.Conv)
	default:
		return ev, fmt.Errorf("unknown event type %q", n.Type)
	}
	return ev, nil
}

// sweep forgets own events whose notification never came (their transaction was retried, and this run
// of it rolled back).
func (r *relay) sweep(ctx context.Context) {
	t := time.NewTicker(pendingTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			for n, p := range r.pending {
				if now.Sub(p.at) > pendingTTL {
					delete(r.pending, n)
				}
			}
			r.mu.Unlock()
		}
	}
}
