package realtime

// Offer delivers ev, best effort, to every subscriber of any of topics that has room for it, and skips
// the others: it never ends a subscription. It is for ephemeral events (someone is typing) that are
// worthless once late and must never cost a client its connection.
//
// An offered event only takes a slot while at least half of the subscriber's buffer is free, so
// ephemeral events can never fill a buffer that a message, published afterwards, then overflows: under
// pressure they are dropped, and whatever Publish sends still finds the room it found before.
func (h *Hub) Offer(ev Event, topics ...string) (delivered, dropped int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
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
			if s.offerHalf(ev) {
				delivered++
			} else {
				dropped++
			}
		}
	}
	return delivered, dropped
}

// offerHalf hands ev to the subscription only while at least half of its room is free.
func (s *Subscription) offerHalf(ev Event) bool {
	if s.ch != nil {
		if 2*len(s.ch) >= cap(s.ch) {
			return false
		}
		select {
		case s.ch <- ev:
			return true
		default:
			return false
		}
	}
	s.mu.Lock()
	full := 2*len(s.queue) >= s.limit
	s.mu.Unlock()
	return !full && s.offer(ev)
}
