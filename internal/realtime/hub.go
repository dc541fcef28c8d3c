// Package realtime fans events out to live connections by topic.
//
// A subscriber that cannot keep up is cut off rather than slowing everyone else down: its subscription
// ends with ErrOverflow and the client reconnects and resumes from the last message id it saw, which the
// HTTP API answers without gaps. Delivery here is therefore best-effort by design; completeness comes
// from the database.
package realtime

import (
	"errors"
	"sync"
)

// Why a subscription ended.
var (
	ErrOverflow = errors.New("realtime: subscriber too slow")
	ErrShutdown = errors.New("realtime: shutting down")
)

// Event is one thing that happened. Data is a record the receiver renders for its audience; it must
// not be modified once published.
type Event struct {
	Type string
	Data any
	// Final tells the receiver to end its subscription once it has delivered the event (a revoked
	// session's sockets get "session_ended" and then close).
	Final bool
}

// Hub is an in-process topic router.
type Hub struct {
	mu     sync.RWMutex
	topics map[string]map[*Subscription]struct{}
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{topics: make(map[string]map[*Subscription]struct{})}
}

// Subscription receives the events of its topics until it ends.
type Subscription struct {
	hub    *Hub
	topics []string
	ch     chan Event // Subscribe's; nil for SubscribeQueue's
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	err    error

	// SubscribeQueue's: events wait in queue (at most limit) and ready holds a token while any do. A
	// channel buffer is allocated in full up front (limit × 40 bytes for every idle socket); the queue
	// costs nothing until events arrive and is let go once taken.
	limit int
	queue []Event
	ready chan struct{}

	// SubscribeNotify's: notify is called when events start waiting (awake becomes true) and when the
	// subscription ends; awake turns false when Take finds the queue empty.
	notify func()
	awake  bool
}

// Subscribe registers for events on topics, buffering up to buffer undelivered events.
func (h *Hub) Subscribe(buffer int, topics ...string) *Subscription {
	return h.subscribe(&Subscription{hub: h, topics: topics, ch: make(chan Event, buffer), done: make(chan struct{})})
}

// SubscribeQueue registers for events on topics like Subscribe, holding up to limit undelivered events
// (more end it with ErrOverflow) in a queue that takes memory only while events wait: for the many
// subscriptions that are idle nearly always (one per connected visitor). Events arrive by Ready and
// Take, not Events.
func (h *Hub) SubscribeQueue(limit int, topics ...string) *Subscription {
	return h.subscribe(&Subscription{hub: h, topics: topics, limit: limit, ready: make(chan struct{}, 1), done: make(chan struct{})})
}

// SubscribeNotify registers for events on topics like SubscribeQueue, but instead of a channel it calls
// notify: once when events start waiting, and again only after Take has returned nothing (so one
// receiver at a time drains the queue, in order, without a goroutine parked on a channel in between),
// and once more when the subscription ends (check Done, then Err). notify runs on the publisher's
// goroutine, possibly under the hub's lock: it must not block or call the hub.
func (h *Hub) SubscribeNotify(limit int, notify func(), topics ...string) *Subscription {
	return h.subscribe(&Subscription{hub: h, topics: topics, limit: limit, notify: notify, done: make(chan struct{})})
}

func (h *Hub) subscribe(s *Subscription) *Subscription {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		s.end(ErrShutdown)
		return s
	}
	for _, t := range s.topics {
		subs := h.topics[t]
		if subs == nil {
			subs = make(map[*Subscription]struct{})
			h.topics[t] = subs
		}
		subs[s] = struct{}{}
	}
	h.mu.Unlock()
	return s
}

// Publish delivers ev to every subscriber of any of topics, once per subscriber. It never blocks.
func (h *Hub) Publish(ev Event, topics ...string) {
	h.mu.RLock()
	var overflowed []*Subscription
	var seen map[*Subscription]struct{}
	if len(topics) > 1 {
		seen = make(map[*Subscription]struct{})
	}
	for _, t := range topics {
		for s := range h.topics[t] {
			if seen != nil {
				if _, dup := seen[s]; dup {
					continue
				}
				seen[s] = struct{}{}
			}
			if !s.offer(ev) {
				overflowed = append(overflowed, s)
			}
		}
	}
	h.mu.RUnlock()
	for _, s := range overflowed {
		s.end(ErrOverflow)
	}
}

// Shutdown ends every subscription; later subscriptions end at once.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.closed = true
	var all []*Subscription
	for _, subs := range h.topics {
		for s := range subs {
			all = append(all, s)
		}
	}
	h.mu.Unlock()
	for _, s := range all {
		s.end(ErrShutdown)
	}
}

// Resync ends every live subscription with ErrOverflow, as if each had fallen behind, while the hub
// stays open: their clients reconnect and resume from the last message id they saw. It is for when
// events may have been lost upstream (the connection that carries them between instances dropped).
func (h *Hub) Resync() {
	h.mu.RLock()
	var all []*Subscription
	for _, subs := range h.topics {
		for s := range subs {
			all = append(all, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range all {
		s.end(ErrOverflow)
	}
}

// Subscribers counts live subscriptions to a topic.
func (h *Hub) Subscribers(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics[topic])
}

// offer hands ev to the subscription without blocking; false means it is full.
func (s *Subscription) offer(ev Event) bool {
	if s.ch != nil {
		select {
		case s.ch <- ev:
			return true
		default:
			return false
		}
	}
	s.mu.Lock()
	if len(s.queue) >= s.limit {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, ev)
	wake := false
	if s.notify != nil {
		wake = !s.awake
		s.awake = true
	} else {
		select {
		case s.ready <- struct{}{}:
		default: // a token is already waiting
		}
	}
	s.mu.Unlock()
	if wake {
		s.notify()
	}
	return true
}

// Ready has a value while a SubscribeQueue subscription has events to Take (nil for SubscribeNotify's).
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Take returns the queued events of a SubscribeQueue or SubscribeNotify subscription, oldest first, and
// empties the queue. For SubscribeNotify, an empty result means the next event calls notify again.
func (s *Subscription) Take() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	if len(q) == 0 {
		s.awake = false
	}
	return q
}

// Events delivers the events of a Subscribe subscription.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Done is closed when the subscription ends; Err says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended, or nil while it is live or after Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() { s.end(nil) }

func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		s.hub.mu.Lock()
		for _, t := range s.topics {
			if subs := s.hub.topics[t]; subs != nil {
				delete(subs, s)
				if len(subs) == 0 {
					delete(s.hub.topics, t)
				}
			}
		}
		s.hub.mu.Unlock()
		close(s.done)
		if s.notify != nil {
			s.notify()
		}
	})
}
