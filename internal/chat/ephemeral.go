package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Ephemeral events (typing) cross instances apart from the message relay: that one must not lose a
// committed message (relay.go), and typing writes nothing. Each instance sends them with a NOTIFY of
// their own on a separate channel, outside any transaction, from a bounded queue that drops when full, and publishes those of the other instances best effort (realtime.Hub.Offer). Their
// order does not matter and a lost one expires by itself (TypingExpiry), so a listener that reconnects
// needs no resync. docs/performance.md says why this path is the ceiling.

// Broadcaster sends a notification at once, outside any transaction (PostgreSQL: pg_notify on a pooled
// connection). Every Notifier is one.
type Broadcaster interface {
	Broadcast(ctx context.Context, channel string, payload []byte) error
}

// ephemeralChannel is the notification channel of ephemeral events.
const ephemeralChannel = "parley_ephemeral"

const (
	// ephemeralQueue bounds the events waiting for a NOTIFY; past it they are dropped.
	ephemeralQueue = 1024
	// ephemeralSenders is how many pooled connections send them at once.
	ephemeralSenders = 2
	// ephemeralTimeout bounds one NOTIFY: a late indicator is worthless.
	ephemeralTimeout = 2 * time.Second
	// ephemeralBatch bounds one NOTIFY's payload: a sender packs what is waiting into one JSON array up
	// to this size (PostgreSQL refuses payloads of 8000 bytes or more), so under load the notifications
	// grow fewer rather than more numerous.
	ephemeralBatch = 7000
)

type ephemeralRelay struct {
	b        Broadcaster
	instance string
	log      *slog.Logger
	queue    chan []byte
	// Dropped counts events not sent to the other instances because the queue was full or the NOTIFY
	// failed.
	dropped atomic.Uint64
}

// flashNotice is an ephemeral event as it travels: all of it, since there are no rows to read.
type flashNotice struct {
	Instance string   `json:"i"`
	Type     string   `json:"t"`
	Topics   []string `json:"p"`
	Conv     string   `json:"c"`
	From     string   `json:"f"`
	Agent    string   `json:"a,omitempty"`
	State    string   `json:"s"`
}

func newEphemeralRelay(b Broadcaster, instance string, log *slog.Logger) *ephemeralRelay {
	return &ephemeralRelay{b: b, instance: instance, log: log, queue: make(chan []byte, ephemeralQueue)}
}

// send queues an event for the other instances, or drops it when the queue is full. It never blocks.
func (r *ephemeralRelay) send(ev realtime.Event, topics []string) {
	t, ok := ev.Data.(Typing)
	if !ok {
		return
	}
	payload, err := json.Marshal(flashNotice{Instance: r.instance, Type: ev.Type, Topics: topics, Conv: t.ConversationID, From: t.From, Agent: t.AgentID, State: t.State})
	if err != nil {
		return
	}
	select {
	case r.queue <- payload:
	default:
		r.dropped.Add(1)
	}
}

// run sends queued events until ctx ends.
func (r *ephemeralRelay) run(ctx context.Context) {
	for range ephemeralSenders {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case first := <-r.queue:
					payload, n := r.pack(first)
					nctx, cancel := context.WithTimeout(ctx, ephemeralTimeout)
					if err := r.b.Broadcast(nctx, ephemeralChannel, payload); err != nil {
						r.dropped.Add(uint64(n))
						if ctx.Err() == nil {
							r.log.Debug("ephemeral relay: notify failed; event dropped", "err", err)
						}
					}
					cancel()
				}
			}
		}()
	}
}

// pack joins first and whatever else is queued, up to ephemeralBatch bytes, into one JSON array, and
// says how many notices it holds.
func (r *ephemeralRelay) pack(first []byte) ([]byte, int) {
	batch := append(append(make([]byte, 0, ephemeralBatch), '['), first...)
	n := 1
	for {
		select {
		case more := <-r.queue:
			if len(batch)+1+len(more)+1 > ephemeralBatch {
				// Too big to join: it goes alone, after this batch (order does not matter here).
				select {
				case r.queue <- more:
				default:
					r.dropped.Add(1)
				}
				return append(batch, ']'), n
			}
			batch = append(append(batch, ','), more...)
			n++
		default:
			return append(batch, ']'), n
		}
	}
}

// runEphemeral carries ephemeral events between instances until ctx ends.
func (s *Service) runEphemeral(ctx context.Context) error {
	r := s.flash
	r.run(ctx)
	return s.relay.notifier.Listen(ctx, ephemeralChannel, func(payload []byte) {
		var batch []flashNotice
		if json.Unmarshal(payload, &batch) != nil {
			return
		}
		for _, n := range batch {
			if n.Instance == r.instance || n.Type != EventTyping {
				continue // ours, published here already
			}
			if n.From != store.SenderCustomer && n.From != store.SenderAgent {
				continue
			}
			s.ephemeralLocal(realtime.Event{Type: EventTyping, Data: Typing{ConversationID: n.Conv, From: n.From, AgentID: n.Agent, State: n.State}}, n.Topics)
		}
	}, func() {})
}

// ephemeralLocal publishes an ephemeral event to this instance's subscribers, best effort.
func (s *Service) ephemeralLocal(ev realtime.Event, topics []string) {
	if o, ok := s.events.(offerer); ok {
		o.Offer(ev, topics...)
	}
}

// EphemeralDropped counts the ephemeral events this instance did not pass on to the others (queue full
// or NOTIFY failed).
func (s *Service) EphemeralDropped() uint64 {
	if s.flash == nil {
		return 0
	}
	return s.flash.dropped.Load()
}
