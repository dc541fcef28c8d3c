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
