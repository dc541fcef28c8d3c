package chat

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/webhooks"
)

// Metrics is what the domain records for monitoring (package metrics implements it). Labels come from
// fixed sets only: never an id.
type Metrics interface {
	// MessageStored counts a committed message: sender "customer", "agent", "system", or "note" for an
	// agent's internal note.
	MessageStored(sender string, trusted bool)
	// EmailDelivery counts an attempt to send an email: store.EmailSent, EmailRetrying or EmailFailed.
	EmailDelivery(result string)
	// WebhookDelivery counts an attempt to deliver a webhook: "ok", "http_error", "timeout", "network"
	// (see webhookResult).
	WebhookDelivery(result string)
	// RelayReconnected counts the relay listening again after losing its connection.
	RelayReconnected()
	// RelayLag records the time from an event's announcement to its arrival through the relay.
	RelayLag(d time.Duration)
}

// UseMetrics makes the service record into m. Call it before the service is used (serve does, right
// after opening it); without it nothing is recorded.
func (s *Service) UseMetrics(m Metrics) {
	if m != nil {
		s.metrics = m
	}
}

type noMetrics struct{}

func (noMetrics) MessageStored(string, bool) {}
func (noMetrics) WebhookDelivery(string)     {}
func (noMetrics) EmailDelivery(string)       {}
func (noMetrics) RelayReconnected()          {}
func (noMetrics) RelayLag(time.Duration)     {}

// countMessages counts the messages a committed transaction stored. Every message is appended in
// Service.update with its message event in the outbox, so counting here, after the commit, counts each
// once, however many times the store ran the transaction, and on the instance that wrote it only.
func countMessages(m Metrics, out outbox) {
	for _, p := range out {
		msg, ok := p.ev.Data.(store.Message)
		if !ok || p.ev.Type != EventMessage {
			continue
		}
		sender := msg.Sender
		if msg.Internal {
			sender = "note"
		}
		m.MessageStored(sender, msg.Trusted)
	}
}

// webhookResult is the metrics label of a delivery attempt. A target the address guard refused counts
// as "network": package identity does not export that error.
func webhookResult(r webhooks.Result) string {
	var ne net.Error
	switch {
	case r.Err == nil:
		return "ok"
	case r.Status != 0:
		return "http_error"
	case errors.Is(r.Err, context.DeadlineExceeded), errors.As(r.Err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "network"
}
