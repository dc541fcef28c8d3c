package realtime_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/realtime"
)

// Under pressure an offered event is dropped, and it never makes room scarce for what Publish sends
// after it: a subscriber flooded with offers still takes as many published events as half its buffer.
func TestOfferDropsUnderPressureAndNeverEndsASubscription(t *testing.T) {
	h := realtime.NewHub()
	const buffer = 8
	s := h.Subscribe(buffer, "t")
	defer s.Close()
	delivered, dropped := 0, 0
	for range 10_000 {
		d, x := h.Offer(realtime.Event{Type: "typing"}, "t")
		delivered += d
		dropped += x
	}
	if delivered != buffer/2 || dropped != 10_000-buffer/2 {
		t.Fatalf("offers delivered %d and dropped %d, want %d and %d", delivered, dropped, buffer/2, 10_000-buffer/2)
	}
	for range buffer - buffer/2 {
		h.Publish(realtime.Event{Type: "message"}, "t")
	}
	select {
	case <-s.Done():
		t.Fatalf("the subscription ended (%v): offers took the room of published events", s.Err())
	default:
	}
	if got := len(s.Events()); got != buffer {
		t.Fatalf("buffer holds %d events, want %d", got, buffer)
	}
	// Once the buffer is full, offers are still dropped quietly.
	if d, x := h.Offer(realtime.Event{Type: "typing"}, "t"); d != 0 || x != 1 {
		t.Fatalf("offer to a full buffer: delivered %d dropped %d", d, x)
	}
	select {
	case <-s.Done():
		t.Fatalf("an offer ended the subscription: %v", s.Err())
	default:
	}
}

func TestOfferReachesEachSubscriberOnce(t *testing.T) {
	h := realtime.NewHub()
	both := h.Subscribe(8, "a", "b")
	defer both.Close()
	if d, _ := h.Offer(realtime.Event{Type: "typing"}, "a", "b"); d != 1 || len(both.Events()) != 1 {
		t.Fatalf("delivered %d, buffered %d; want 1 and 1", d, len(both.Events()))
	}
}
