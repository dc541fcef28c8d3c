package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Several Parley instances can share one PostgreSQL database. Each instance's live connections must
// then see the events of every instance, and a conversation's messages in the order they committed: a
// client resumes with ?after=<the last message id it saw>, so seeing message 6 before message 5 could
// cost it message 5.
//
// A write's events are announced after its transaction commits, by one goroutine per instance that packs
// whatever is waiting into one NOTIFY (Notifier.Broadcast) outside any transaction. (Announcing inside
// each transaction gave commit order for free, but PostgreSQL serialises the commits of transactions
// that notify — a database-wide lock held through the WAL flush — so relayed writes were capped at about
// one per fsync for the whole cluster.) The payload carries ids only; a listener reads the rows, except
// for its own events, which it still holds. A message small enough and without attachments travels
// whole (notice.Msg), as it is immutable once committed: the listener publishes it without a read, which
// was a round trip to the database per message and per listening instance. (Messages are deleted only
// with their conversation, never changed: the writing instance publishes its own copy on the same terms.)
//
// Announcements can therefore arrive out of commit order, or not at all when an instance dies between a
// commit and its announcement. Messages do not depend on them for their order: appends to one
// conversation commit in order under the conversation's row lock, and each conversation's messages are
// numbered densely (N = 1, 2, …; internal notes -1, -2, …). A listener remembers, per conversation and
// per numbering, the last message it published; an announcement that is not the next one makes it read
// the conversation's messages above that one from the database and publish them in order, so a message
// whose announcement was lost is published with the next one of its conversation, never after it. Other
// events carry state that is read back when published (a conversation as it is now, the seen mark as it
// is now), or are checked against the database by whoever receives them (a session's end).
// When the listening connection drops, notifications sent meanwhile are lost, so every local
// subscription is ended once it is back (Resyncer) and clients resume from the database.

// Notifier carries notifications between the instances sharing a database (PostgreSQL's
// LISTEN/NOTIFY).
type Notifier interface {
	// Listen delivers the payloads notified on channel, in the order they were sent, until ctx ends. It
	// calls listening each time it starts listening: first, and again after reconnecting from a lost
	// connection (notifications sent in between are lost).
	Listen(ctx context.Context, channel string, deliver func(payload []byte), listening func()) error
	Broadcaster
}

// Resyncer ends every local subscription so that clients reconnect and resume (realtime.Hub.Resync).
type Resyncer interface {
	Resync()
}

// relayChannel is the notification channel Parley's instances share.
const relayChannel = "parley_events"

const (
	// pendingTTL bounds how long an instance keeps an event of its own whose notification has not
	// arrived (the NOTIFY failed, or the listener was down).
	pendingTTL = time.Minute
	// cursorTTL is how long a listener remembers the last message it published of a conversation that
	// has gone quiet. A conversation it has forgotten (or never seen) starts again from the message
	// announced.
	cursorTTL = 10 * time.Minute
	// announceBatch bounds one NOTIFY's payload: the announcer packs what is waiting into JSON arrays up
	// to this size (PostgreSQL refuses payloads of 8000 bytes or more).
	announceBatch = 7000
	// announceTimeout bounds one NOTIFY.
	announceTimeout = 5 * time.Second
	// announceAttempts is how often the announcer tries a NOTIFY before giving the batch up: its
	// messages then reach other instances with the next message of their conversation, or when
	// clients resume.
	announceAttempts = 3
)

type relay struct {
	notifier Notifier
	instance string
	next     atomic.Uint64
	// delay holds every batch back before it is announced: a test knob that widens the window between
	// a commit and its announcement (Config.AnnounceDelay).
	delay time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	pending map[uint64]pendingEvent
	cursors map[string]*cursor // by conversation id; only the listening goroutine and sweep use them
	queue   [][]byte           // marshalled notices waiting for the announcer
	wake    chan struct{}      // signalled when queue becomes non-empty
	running bool               // the announcer runs (RunRelay); otherwise announce sends at once
}

type pendingEvent struct {
	p  pending
	at time.Time
}

// cursor is the last message a listener published of a conversation, per numbering.
type cursor struct {
	visible, notes position
	used           time.Time
}

// position is a message number and its installation-wide Seq; zero values mean "none yet".
type position struct {
	n, seq int64
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
	Number   int64    `json:"m,omitempty"` // message: its number within the conversation (N)
	Session  string   `json:"x,omitempty"` // session_ended
	Reason   string   `json:"r,omitempty"` // session_ended
	Token    string   `json:"k,omitempty"` // session_ended: the fingerprint of a rotated token
	Agent    string   `json:"a,omitempty"` // agent
	// Msg is the message itself (message), when it has no attachments and its notice stays under
	// inlineLimit; otherwise listeners read it back.
	Msg *noticeMessage `json:"d,omitempty"`
	// At is when the event was announced (Unix microseconds, the writer's wall clock), for the relay's
	// lag metric only: listeners compare it with their own clock.
	At int64 `json:"at,omitempty"`
}

// noticeMessage is a message's stored fields beyond the notice's ids, as the store returns them.
type noticeMessage struct {
	Sender    string `json:"s"`
	SessionID string `json:"x,omitempty"`
	AgentID   string `json:"a,omitempty"`
	Body      string `json:"b"`
	Trusted   bool   `json:"t,omitempty"`
	ClientID  string `json:"k,omitempty"`
	Internal  bool   `json:"i,omitempty"`
	CreatedAt int64  `json:"at"` // Unix microseconds: what the store keeps (Service.clock truncates to them)
}

// inlineLimit bounds a notice that carries its message: a few fit in one NOTIFY (announceBatch), and a
// longer message is read back instead.
const inlineLimit = 2000

// message rebuilds the message a notice carries.
func (n notice) message() store.Message {
	d := n.Msg
	return store.Message{Seq: n.Seq, N: n.Number, ConversationID: n.Conv, Sender: d.Sender, SessionID: d.SessionID,
		AgentID: d.AgentID, Body: d.Body, Trusted: d.Trusted, ClientID: d.ClientID, Internal: d.Internal,
		CreatedAt: time.UnixMicro(d.CreatedAt).UTC()}
}

func newRelay(n Notifier, delay time.Duration, log *slog.Logger) *relay {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &relay{notifier: n, instance: hex.EncodeToString(b), delay: delay, log: log,
		pending: make(map[uint64]pendingEvent), cursors: make(map[string]*cursor), wake: make(chan struct{}, 1)}
}

// announce tells the other instances about a committed transaction's events, and keeps them until
// they come back. It never blocks on the database while the announcer runs.
func (r *relay) announce(ctx context.Context, out outbox, now time.Time) {
	payloads := make([][]byte, 0, len(out))
	r.mu.Lock()
	for _, p := range out {
		n := notice{Instance: r.instance, N: r.next.Add(1), Type: p.ev.Type, Topics: p.topics, Final: p.ev.Final, At: now.UnixMicro()}
		switch d := p.ev.Data.(type) {
		case store.Message:
			n.Conv, n.Seq, n.Number = d.ConversationID, d.Seq, d.N
			if len(d.Attachments) == 0 && len(d.Body) < inlineLimit {
				n.Msg = &noticeMessage{Sender: d.Sender, SessionID: d.SessionID, AgentID: d.AgentID, Body: d.Body,
					Trusted: d.Trusted, ClientID: d.ClientID, Internal: d.Internal, CreatedAt: d.CreatedAt.UnixMicro()}
			}
		case store.Conversation:
			n.Conv = d.ID
		case store.Event:
			n.Conv, n.Seq = d.ConversationID, d.Seq
		case SessionEnded:
			n.Session, n.Reason, n.Token = d.SessionID, d.Reason, d.Token
		case SeenMark:
			n.Conv, n.Seq = d.ConversationID, d.N
		case ReadReceipt:
			n.Conv, n.Seq = d.ConversationID, d.N
		case Mention:
			n.Conv, n.Seq, n.Agent = d.ConversationID, d.MessageSeq, d.AgentID
		case string:
			n.Agent = d
		default:
			r.log.Error("relay: no notice for an event; other instances will not hear of it", "type", p.ev.Type, "data", fmt.Sprintf("%T", p.ev.Data))
			continue
		}
		payload, err := json.Marshal(n)
		if err == nil && n.Msg != nil && len(payload) > inlineLimit {
			n.Msg = nil // escaped, or with long ids: read back instead
			payload, err = json.Marshal(n)
		}
		if err != nil {
			r.log.Error("relay: notice", "err", err)
			continue
		}
		r.pending[n.N] = pendingEvent{p: p, at: now}
		payloads = append(payloads, payload)
	}
	if !r.running {
		// A command that writes without serving (parley agent disable, …): tell the servers now.
		clear(r.pending) // nobody here listens for them
		r.mu.Unlock()
		ctx = context.WithoutCancel(ctx) // committed: announce it even if the caller has gone
		for _, batch := range pack(payloads) {
			r.send(ctx, batch)
		}
		return
	}
	r.queue = append(r.queue, payloads...)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // the announcer has been woken already and has not taken the queue yet
	}
}

// pack joins notices into JSON arrays of at most announceBatch bytes, in order.
func pack(notices [][]byte) [][]byte {
	var out [][]byte
	var batch []byte
	for _, n := range notices {
		if batch != nil && len(batch)+1+len(n)+1 > announceBatch {
			out = append(out, append(batch, ']'))
			batch = nil
		}
		if batch == nil {
			batch = append(make([]byte, 0, announceBatch), '[')
		} else {
			batch = append(batch, ',')
		}
		batch = append(batch, n...)
	}
	if batch != nil {
		out = append(out, append(batch, ']'))
	}
	return out
}

// send notifies one batch, retrying a failed NOTIFY a few times.
func (r *relay) send(ctx context.Context, batch []byte) {
	for attempt := 1; ; attempt++ {
		nctx, cancel := context.WithTimeout(ctx, announceTimeout)
		err := r.notifier.Broadcast(nctx, relayChannel, batch)
		cancel()
		if err == nil {
			return
		}
		if attempt == announceAttempts || ctx.Err() != nil {
			r.log.Warn("relay: announcement lost; its messages reach other instances with the next of their conversation", "err", err)
			return
		}
		select {
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// announcer sends what announce queued, in order, until ctx ends; what is queued then is still sent.
func (r *relay) announcer(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-r.wake:
		case <-ctx.Done():
			r.mu.Lock()
			queued := r.queue
			r.queue, r.running = nil, false
			r.mu.Unlock()
			// Shutting down: the last writes still deserve their announcement.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
			for _, batch := range pack(queued) {
				r.send(sctx, batch)
			}
			cancel()
			return
		}
		if r.delay > 0 {
			select {
			case <-time.After(r.delay):
			case <-ctx.Done():
			}
		}
		r.mu.Lock()
		queued := r.queue
		r.queue = nil
		r.mu.Unlock()
		for _, batch := range pack(queued) {
			r.send(ctx, batch)
		}
	}
}

// RunRelay listens for the events of every instance sharing the database and publishes them to this
// instance's subscribers, and announces this instance's events to the others, until ctx ends. It is
// needed only when the Service was configured with a Notifier. ready, if not nil, is closed once it
// listens: events committed before then reach no one here, so a server should not take traffic earlier.
func (s *Service) RunRelay(ctx context.Context, resync Resyncer, ready chan<- struct{}) error {
	r := s.relay
	if r == nil {
		if ready != nil {
			close(ready)
		}
		return nil
	}
	r.mu.Lock()
	r.running = true
	r.mu.Unlock()
	announced := make(chan struct{})
	go r.announcer(ctx, announced)
	defer func() { <-announced }()
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
		// Anything of ours still pending was either delivered already or lost with the connection, and
		// what this instance published of each conversation no longer says what its clients have seen;
		// clients are about to resume from the database either way.
		r.mu.Lock()
		clear(r.pending)
		clear(r.cursors)
		r.mu.Unlock()
		s.metrics.RelayReconnected()
		s.log.Warn("event relay reconnected: live connections will resume from the database")
		resync.Resync()
	})
}

// relayed publishes the events of one notification to local subscribers: a JSON array of notices (an
// instance of an earlier version sends one notice alone).
func (s *Service) relayed(ctx context.Context, payload []byte) {
	var batch []notice
	var err error
	if len(payload) > 0 && payload[0] == '[' {
		err = json.Unmarshal(payload, &batch)
	} else {
		batch = make([]notice, 1)
		err = json.Unmarshal(payload, &batch[0])
	}
	if err != nil {
		s.log.Error("relay: unreadable notice", "err", err)
		return
	}
	for _, n := range batch {
		if n.At != 0 {
			s.metrics.RelayLag(time.Since(time.UnixMicro(n.At)))
		}
		own, isOwn := s.relay.takeOwn(n)
		switch {
		case n.Type == EventMessage:
			s.relayMessage(ctx, n, own, isOwn)
		case n.Type == EventConversation:
			// Read back even when it is ours: announcements may arrive out of commit order, and the
			// conversation as it is now is the right last word whatever the order.
			s.publishNotice(ctx, n)
		case isOwn:
			s.events.Publish(own.ev, own.topics...)
		default:
			s.publishNotice(ctx, n)
		}
	}
}

// takeOwn returns the event of one of this instance's own notices, which it still holds.
func (r *relay) takeOwn(n notice) (pending, bool) {
	if n.Instance != r.instance {
		return pending{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[n.N]
	delete(r.pending, n.N)
	return p.p, ok
}

// publishNotice reads back the event a notice names and publishes it.
func (s *Service) publishNotice(ctx context.Context, n notice) {
	ev, err := s.readNotice(ctx, n)
	if err != nil {
		s.log.Warn("relay: cannot read a notified event", "type", n.Type, "err", err)
		return
	}
	s.events.Publish(ev, n.Topics...)
}

// relayMessage publishes an announced message and, first, any message of the same conversation and
// numbering between the last one published here and it (their announcements came late or were lost),
// so each conversation's messages are published once each and in commit order.
func (s *Service) relayMessage(ctx context.Context, n notice, own pending, isOwn bool) {
	r := s.relay
	r.mu.Lock()
	c := r.cursors[n.Conv]
	if c == nil {
		c = &cursor{}
		r.cursors[n.Conv] = c
	}
	c.used = time.Now()
	r.mu.Unlock()
	at, step := &c.visible, int64(1)
	if n.Number < 0 {
		at, step = &c.notes, -1
	}
	switch {
	case at.seq != 0 && n.Seq <= at.seq:
		return // published already, with a later one whose announcement came first
	case at.seq == 0 || n.Number == 0 || n.Number == at.n+step:
		// The next one (or the first this instance sees of the conversation).
		switch {
		case isOwn:
			s.events.Publish(own.ev, own.topics...)
		case n.Msg != nil:
			s.events.Publish(realtime.Event{Type: EventMessage, Data: n.message(), Final: n.Final}, n.Topics...)
		default:
			ev, err := s.readNotice(ctx, n)
			if err != nil {
				s.log.Warn("relay: cannot read a notified message", "err", err)
				return
			}
			s.events.Publish(ev, n.Topics...)
		}
		*at = position{n: n.Number, seq: n.Seq}
		return
	}
	// A gap: read what committed above the last one published, up to this one.
	after := at.seq
	for after < n.Seq {
		msgs, err := s.store.Messages(ctx, n.Conv, after, 100)
		if err != nil {
			s.log.Warn("relay: cannot read a conversation's messages", "err", err)
			return
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			after = m.Seq
			if m.Seq > n.Seq {
				break
			}
			if (m.N < 0) != (n.Number < 0) {
				continue // the other numbering keeps its own place
			}
			s.events.Publish(realtime.Event{Type: EventMessage, Data: m}, n.Topics...)
			*at = position{n: m.N, seq: m.Seq}
		}
	}
	if at.seq < n.Seq {
		s.log.Warn("relay: a notified message was not found", "conversation", n.Conv)
	}
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
		ev.Data = SessionEnded{SessionID: n.Session, Reason: n.Reason, Token: n.Token}
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

// sweep forgets own events whose notification never came (the NOTIFY failed, or the listener was down
// when it came) and conversations gone quiet.
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
			for id, c := range r.cursors {
				if now.Sub(c.used) > cursorTTL {
					delete(r.cursors, id)
				}
			}
			r.mu.Unlock()
		}
	}
}
