package realtime_test

import (
	"errors"
	"testing"

	"github.com/parleyhq/parley/internal/realtime"
)

func TestPublishReachesSubscribersOfAnyTopicOnce(t *testing.T) {
	h := realtime.NewHub()
	both := h.Subscribe(8, "a", "b")
	onlyA := h.Subscribe(8, "a")
	other := h.Subscribe(8, "c")
	defer both.Close()
	defer onlyA.Close()
	defer other.Close()

	h.Publish(realtime.Event{Type: "x"}, "a", "b")
	if got := len(both.Events()); got != 1 {
		t.Fatalf("subscriber of both topics got %d events, want 1", got)
	}
	if got := len(onlyA.Events()); got != 1 {
		t.Fatalf("subscriber of a got %d events, want 1", got)
	}
	if got := len(other.Events()); got != 0 {
		t.Fatalf("subscriber of c got %d events, want 0", got)
	}
}

func TestSlowSubscriberIsCutOffWithoutBlocking(t *testing.T) {
	h := realtime.NewHub()
	slow := h.Subscribe(2, "t")
	fast := h.Subscribe(100, "t")
	for i := 0; i < 10; i++ {
		h.Publish(realtime.Event{Type: "x"}, "t") // must not block on the full subscriber
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("an overflowing subscriber was not ended")
	}
	if !errors.Is(slow.Err(), realtime.ErrOverflow) {
		t.Fatalf("Err = %v, want ErrOverflow", slow.Err())
	}
	if len(fast.Events()) != 10 {
		t.Fatalf("the other subscriber got %d events, want 10", len(fast.Events()))
	}
	if n := h.Subscribers("t"); n != 1 {
		t.Fatalf("%d subscribers left on the topic, want 1", n)
	}
}

func TestCloseUnsubscribes(t *testing.T) {
	h := realtime.NewHub()
	s := h.Subscribe(1, "t", "u")
	s.Close()
	s.Close() // twice is fine
	if h.Subscribers("t")+h.Subscribers("u") != 0 {
		t.Fatal("closed subscription still registered")
	}
	if s.Err() != nil {
		t.Fatalf("Err after Close = %v, want nil", s.Err())
	}
	h.Publish(realtime.Event{Type: "x"}, "t")
	if len(s.Events()) != 0 {
		t.Fatal("a closed subscription received an event")
	}
}

func TestShutdownEndsEverySubscription(t *testing.T) {
	h := realtime.NewHub()
	a, b := h.Subscribe(1, "t"), h.Subscribe(1, "u")
	h.Shutdown()
	for _, s := range []*realtime.Subscription{a, b} {
		select {
		case <-s.Done():
		default:
			t.Fatal("subscription survived Shutdown")
		}
		if !errors.Is(s.Err(), realtime.ErrShutdown) {
			t.Fatalf("Err = %v, want ErrShutdown", s.Err())
		}
	}
	late := h.Subscribe(1, "t")
	select {
	case <-late.Done():
	default:
		t.Fatal("a subscription after Shutdown is live")
	}
}

func TestQueueSubscriptionDeliversInOrderAndIsCutOffWhenFull(t *testing.T) {
	h := realtime.NewHub()
	s := h.SubscribeQueue(3, "a", "b")
	defer s.Close()
	select {
	case <-s.Ready():
		t.Fatal("ready before any event")
	default:
	}
	h.Publish(realtime.Event{Type: "1"}, "a", "b") // once, though both topics match
	h.Publish(realtime.Event{Type: "2"}, "b")
	<-s.Ready()
	got := s.Take()
	if len(got) != 2 || got[0].Type != "1" || got[1].Type != "2" {
		t.Fatalf("took %+v, want events 1 and 2 in order", got)
	}
	if len(s.Take()) != 0 {
		t.Fatal("a second Take returned the events again")
	}
	for i := range 4 { // one more than the limit, nothing taken
		h.Publish(realtime.Event{Type: string(rune('a' + i))}, "a")
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("a full queue did not end the subscription")
	}
	if !errors.Is(s.Err(), realtime.ErrOverflow) {
		t.Fatalf("err %v, want ErrOverflow", s.Err())
	}
	if n := h.Subscribers("a"); n != 0 {
		t.Fatalf("%d subscribers left on a", n)
	}
}

func TestNotifySubscriptionWakesOncePerDrain(t *testing.T) {
	h := realtime.NewHub()
	var wakes int
	s := h.SubscribeNotify(3, func() { wakes++ }, "a")
	defer s.Close()
	h.Publish(realtime.Event{Type: "1"}, "a")
	h.Publish(realtime.Event{Type: "2"}, "a")
	if wakes != 1 {
		t.Fatalf("%d wakes for two events before any Take, want 1", wakes)
	}
	if got := s.Take(); len(got) != 2 || got[0].Type != "1" || got[1].Type != "2" {
		t.Fatalf("took %+v, want events 1 and 2 in order", got)
	}
	// The receiver still drains (it has not seen an empty queue): an event now must not start another.
	h.Publish(realtime.Event{Type: "3"}, "a")
	if wakes != 1 {
		t.Fatalf("%d wakes while the receiver was draining, want 1", wakes)
	}
	if got := s.Take(); len(got) != 1 || got[0].Type != "3" {
		t.Fatalf("took %+v, want event 3", got)
	}
	if got := s.Take(); len(got) != 0 {
		t.Fatalf("took %+v from an empty queue", got)
	}
	// The receiver has stopped: the next event wakes it again.
	h.Offer(realtime.Event{Type: "4"}, "a")
	if wakes != 2 {
		t.Fatalf("%d wakes after the queue was drained and an event arrived, want 2", wakes)
	}
	for i := range 3 { // past the limit: the subscription ends, and says so
		h.Publish(realtime.Event{Type: string(rune('a' + i))}, "a")
	}
	if wakes != 3 {
		t.Fatalf("%d wakes after the subscription overflowed, want 3", wakes)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("a full queue did not end the subscription")
	}
	if !errors.Is(s.Err(), realtime.ErrOverflow) {
		t.Fatalf("err %v, want ErrOverflow", s.Err())
	}
}
