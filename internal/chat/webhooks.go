package chat

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/webhooks"
)

// Webhooks: a workspace's admins register endpoints that hear about conversations, messages and
// customers (docs/webhooks.md). Each event is enqueued inside the transaction that causes it, as one job
// per matching endpoint, so it exists exactly when its cause committed; the job runner delivers it, with
// the same webhook-id on every attempt, retrying with backoff until the endpoint has failed for
// WebhookFailureWindow, when the endpoint is disabled (audited, and shown in the console).
//
// What an endpoint may receive is decided here, once: WebhookCarries. Internal notes go only to
// endpoints that opted in.

// Webhook event types.
const (
	WebhookConversationCreated  = "conversation.created"
	WebhookMessageCreated       = "message.created"
	WebhookConversationClosed   = "conversation.closed"
	WebhookConversationReopened = "conversation.reopened"
	WebhookCustomerVerified     = "customer.verified"
	WebhookCustomerErased       = "customer.erased"
	// WebhookTest is sent by "send test event" only, whatever the endpoint's filter.
	WebhookTest = "webhook.test"

	// JobWebhook is the job kind that delivers one event to one endpoint.
	JobWebhook = "webhook.deliver"
	// WebhookFailureWindow is how long an endpoint may fail before it is disabled; deliveries are retried
	// until then.
	WebhookFailureWindow = 24 * time.Hour
	// WebhookPreviousSecretTTL is how long a rotated-out secret still signs deliveries.
	WebhookPreviousSecretTTL = 24 * time.Hour
	// WebhookDeliveryRetention is how long the delivery log keeps an attempt.
	WebhookDeliveryRetention = 7 * 24 * time.Hour
	// MaxWebhookEndpoints bounds a workspace's endpoints.
	MaxWebhookEndpoints = 20
	// webhookAttempts is far more than the backoff fits in WebhookFailureWindow: the window ends retries.
	webhookAttempts = 1000
)

// Audit actions of webhook changes. Secrets never reach the trail.
const (
	AuditWebhookCreated  = "webhook.created"
	AuditWebhookUpdated  = "webhook.updated"
	AuditWebhookRotated  = "webhook.rotated"
	AuditWebhookDisabled = "webhook.disabled"
	AuditWebhookEnabled  = "webhook.enabled"
	AuditWebhookDeleted  = "webhook.deleted"
)

// WebhookEventTypes are the event types an endpoint may subscribe to.
func WebhookEventTypes() []string {
	return []string{WebhookConversationCreated, WebhookMessageCreated, WebhookConversationClosed, WebhookConversationReopened,
		WebhookCustomerVerified, WebhookCustomerErased}
}

// webhookBackoff spaces retries: 30 s, 1 min, 2 min, … at most 2 h, so that about a dozen attempts
// fall in the failure window.
var webhookBackoff = jobs.Backoff{Base: 30 * time.Second, Max: 2 * time.Hour}

// WebhookCarries is THE rule for what an endpoint receives: an active endpoint, subscribed to the
// event's type (or to all), and an internal note only when it opted in to notes (CustomerVisible decides
// what is a note).
func WebhookCarries(e store.WebhookEndpoint, eventType string, m *store.Message) bool {
	if !e.DisabledAt.IsZero() {
		return false
	}
	if len(e.Events) > 0 && !slices.Contains(e.Events, eventType) {
		return false
	}
	return m == nil || CustomerVisible(*m) || e.IncludeNotes
}

// webhookJob is the payload of a JobWebhook job: the body is fixed when the event happens.
type webhookJob struct {
	WorkspaceID string          `json:"workspace_id"`
	EndpointID  string          `json:"endpoint_id"`
	WebhookID   string          `json:"webhook_id"`
	Type        string          `json:"type"`
	Body        json.RawMessage `json:"body"`
}

// webhookEnvelope is every delivery's body, as the Standard Webhooks specification suggests.
type webhookEnvelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// webhookID names one event for one endpoint, the same on every attempt: derived from the job's key.
func webhookID(jobKey string) string {
	sum := sha256.Sum256([]byte(jobKey))
	return "msg_" + base32Lower.EncodeToString(sum[:16])
}

// enqueueWebhook schedules the delivery of an event to every endpoint of the workspace that carries it,
// inside tx. key names the event (a message, a conversation and what happened to it), so that enqueuing
// it twice delivers it once. Erasure calls it with WebhookCustomerErased and the customer's id as key.
func (s *Service) enqueueWebhook(ctx context.Context, tx store.Tx, workspaceID, eventType, key string, data any) error {
	return s.enqueueWebhookFor(ctx, tx, workspaceID, eventType, key, data, nil)
}

func (s *Service) enqueueWebhookFor(ctx context.Context, tx store.Tx, workspaceID, eventType, key string, data any, m *store.Message) error {
	eps, err := tx.WebhookEndpoints(ctx, workspaceID)
	if err != nil || len(eps) == 0 {
		return err
	}
	now := s.clock()
	var body []byte
	for _, e := range eps {
		if !WebhookCarries(e, eventType, m) {
			continue
		}
		if body == nil {
			if body, err = json.Marshal(webhookEnvelope{Type: eventType, Timestamp: now, Data: data}); err != nil {
				return err
			}
		}
		jobKey := eventType + ":" + key + ":" + e.ID
		if _, _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobWebhook, Key: jobKey, MaxAttempts: webhookAttempts,
			Payload: webhookJob{WorkspaceID: workspaceID, EndpointID: e.ID, WebhookID: webhookID(jobKey), Type: eventType, Body: body}}, now); err != nil {
			return err
		}
	}
	return nil
}

// Payloads' data.

// WebhookConversation is the data of the conversation events.
type WebhookConversation struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	CustomerID string    `json:"customer_id,omitempty"`
	AssigneeID string    `json:"assignee_id,omitempty"`
	InboxID    string    `json:"inbox_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
}

// WebhookMessage is the data of message.created.
type WebhookMessage struct {
	ConversationID string `json:"conversation_id"`
	// ID is the message's public number in its conversation (notes count down from -1).
	ID       int64  `json:"id"`
	Sender   string `json:"sender"`
	AgentID  string `json:"agent_id,omitempty"`
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
	Trusted  bool   `json:"trusted"`
	// IdentityLevel is the sending customer session's level (anonymous, identified, verified); "agent"
	// or "system" for the others.
	IdentityLevel string    `json:"identity_level"`
	Attachments   int       `json:"attachments"`
	CreatedAt     time.Time `json:"created_at"`
}

// WebhookCustomer is the data of the customer events.
type WebhookCustomer struct {
	ID         string    `json:"id"`
	ExternalID string    `json:"external_id,omitempty"`
	Email      string    `json:"email,omitempty"`
	Name       string    `json:"name,omitempty"`
	At         time.Time `json:"at"`
}

func webhookConversation(c store.Conversation) WebhookConversation {
	return WebhookConversation{ID: c.ID, Status: c.Status, CustomerID: c.CustomerID, AssigneeID: c.AssigneeID, InboxID: c.InboxID,
		CreatedAt: c.CreatedAt, ClosedAt: c.ClosedAt}
}

// webhookConversationEvent maps a timeline event to its webhook, if it has one.
func (s *Service) webhookConversationEvent(ctx context.Context, tx store.Tx, conv store.Conversation, e store.Event) error {
	var typ string
	switch e.Type {
	case "started":
		typ = WebhookConversationCreated
	case "closed":
		typ = WebhookConversationClosed
	case "reopened":
		typ = WebhookConversationReopened
	default:
		return nil
	}
	return s.enqueueWebhook(ctx, tx, conv.WorkspaceID, typ, fmt.Sprintf("%s:%d", conv.ID, e.Seq), webhookConversation(conv))
}

// webhookMessage enqueues message.created; level is the sending session's identity level for a
// customer's message.
func (s *Service) webhookMessage(ctx context.Context, tx store.Tx, workspaceID string, m store.Message, level string) error {
	if m.Sender != store.SenderCustomer {
		level = m.Sender
	}
	data := WebhookMessage{ConversationID: m.ConversationID, ID: m.N, Sender: m.Sender, AgentID: m.AgentID, Body: m.Body,
		Internal: m.Internal, Trusted: m.Trusted, IdentityLevel: level, Attachments: len(m.Attachments), CreatedAt: m.CreatedAt}
	return s.enqueueWebhookFor(ctx, tx, workspaceID, WebhookMessageCreated, fmt.Sprintf("%s:%d", m.ConversationID, m.N), data, &m)
}

// webhookCustomerVerified enqueues customer.verified for a customer's first verified login, whether
// that login created the customer or the customers API had (upsertCustomer decides which login is first).
func (s *Service) webhookCustomerVerified(ctx context.Context, tx store.Tx, c store.Customer) error {
	return s.enqueueWebhook(ctx, tx, c.WorkspaceID, WebhookCustomerVerified, c.ID,
		WebhookCustomer{ID: c.ID, ExternalID: c.ExternalID, Email: c.Email, Name: c.Name, At: c.FirstVerifiedAt})
}

// runWebhook delivers one event to one endpoint and records the attempt.
func (s *Service) runWebhook(ctx context.Context, j store.Job) error {
	var p webhookJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	e, err := s.store.WebhookEndpoint(ctx, p.WorkspaceID, p.EndpointID)
	if isNotFound(err) {
		return nil // deleted meanwhile: nobody to tell
	}
	if err != nil {
		return err
	}
	if !e.DisabledAt.IsZero() && p.Type != WebhookTest {
		return nil
	}
	secrets, err := s.webhookSecrets(e)
	if err != nil {
		return jobs.Permanent(err)
	}
	now := s.clock()
	res := webhooks.Send(ctx, s.webhookClient, e.URL, p.WebhookID, now, p.Body, secrets...)
	if ctx.Err() != nil {
		// The runner is stopping (or the lease ran out): not the receiver's failure; the job runs again.
		return ctx.Err()
	}
	s.metrics.WebhookDelivery(webhookResult(res))
	d := store.WebhookDelivery{EndpointID: e.ID, WebhookID: p.WebhookID, EventType: p.Type, Attempt: j.Attempts, Status: res.Status,
		Duration: res.Duration, At: now}
	if res.Err != nil {
		d.Error = truncate(res.Err.Error(), 500)
	}
	disabled := false
	// Recorded even if ctx ends now: the attempt happened.
	ctx = context.WithoutCancel(ctx)
	err = s.update(ctx, func(tx store.Tx, _ *outbox) error {
		disabled = false
		if err := tx.AddWebhookDelivery(ctx, &d); err != nil {
			return err
		}
		cur, err := tx.WebhookEndpoint(ctx, e.WorkspaceID, e.ID)
		if err != nil {
			return ignoreMissing(err)
		}
		if p.Type == WebhookTest {
			return nil // a test says nothing about the endpoint's health
		}
		if res.Err == nil {
			if cur.FailingSince.IsZero() {
				return nil
			}
			cur.FailingSince, cur.UpdatedAt = time.Time{}, now
			return tx.UpdateWebhookEndpoint(ctx, &cur)
		}
		if cur.FailingSince.IsZero() {
			cur.FailingSince = now
		}
		if cur.DisabledAt.IsZero() && now.Sub(cur.FailingSince) >= WebhookFailureWindow {
			cur.DisabledAt, disabled = now, true
			if err := s.auditIn(ctx, tx, e.WorkspaceID, "system", AuditWebhookDisabled, e.ID,
				"failing since "+cur.FailingSince.Format(time.RFC3339)+": "+d.Error, ""); err != nil {
				return err
			}
		}
		cur.UpdatedAt = now
		return tx.UpdateWebhookEndpoint(ctx, &cur)
	})
	if err != nil {
		return err
	}
	switch {
	case res.Err == nil:
		return nil
	case disabled:
		s.log.Warn("webhooks: endpoint disabled after failing for 24 h", "workspace", e.WorkspaceID, "endpoint", e.ID, "err", d.Error)
		return jobs.Permanent(res.Err)
	case p.Type == WebhookTest:
		return jobs.Permanent(res.Err) // a test is sent once
	}
	return res.Err
}

// webhookSecrets opens the endpoint's secrets: the current one, and the previous one while it overlaps.
func (s *Service) webhookSecrets(e store.WebhookEndpoint) ([][]byte, error) {
	cur, err := s.box.Open(e.Secret, webhookSecretLabel(e.WorkspaceID, e.ID))
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	out := [][]byte{cur}
	if len(e.PreviousSecret) > 0 && s.clock().Before(e.PreviousUntil) {
		prev, err := s.box.Open(e.PreviousSecret, webhookSecretLabel(e.WorkspaceID, e.ID))
		if err != nil {
			return nil, fmt.Errorf("previous webhook secret: %w", err)
		}
		out = append(out, prev)
	}
	return out, nil
}

func webhookSecretLabel(workspaceID, id string) string { return "webhook/" + workspaceID + "/" + id }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Management.

// WebhookInput is what an admin sets on an endpoint; nil fields stay as they are on update.
type WebhookInput struct {
	URL          *string  `json:"url"`
	Events       []string `json:"events"`
	IncludeNotes *bool    `json:"include_notes"`
}

// NewWebhook is a created or rotated endpoint with its secret, shown this once.
type NewWebhook struct {
	Endpoint store.WebhookEndpoint
	Secret   string
}

func checkWebhookURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(raw) > 2000 {
		return "", problem.InvalidField("url", "must be an http or https URL without credentials")
	}
	return raw, nil
}

func checkWebhookEvents(events []string) ([]string, error) {
	var out []string
	for _, ev := range events {
		ev = strings.TrimSpace(ev)
		if ev == "" {
			continue
		}
		if !slices.Contains(WebhookEventTypes(), ev) {
			return nil, problem.InvalidField("events", "%q is not an event type; use %s", ev, strings.Join(WebhookEventTypes(), ", "))
		}
		if !slices.Contains(out, ev) {
			out = append(out, ev)
		}
	}
	return out, nil
}

func webhookMissing(id string) error {
	return problem.NotFound("webhook_not_found", "no webhook endpoint %q in this workspace", id)
}

// CreateWebhook registers an endpoint; its secret is returned this once.
func (s *Service) CreateWebhook(ctx context.Context, workspaceID string, in WebhookInput) (NewWebhook, error) {
	if in.URL == nil {
		return NewWebhook{}, problem.InvalidField("url", "is required")
	}
	u, err := checkWebhookURL(*in.URL)
	if err != nil {
		return NewWebhook{}, err
	}
	events, err := checkWebhookEvents(in.Events)
	if err != nil {
		return NewWebhook{}, err
	}
	raw, secret := webhooks.NewSecret()
	now := s.clock()
	e := store.WebhookEndpoint{ID: newID("wh_"), WorkspaceID: workspaceID, URL: u, Events: events, IncludeNotes: in.IncludeNotes != nil && *in.IncludeNotes,
		CreatedAt: now, UpdatedAt: now}
	e.Secret = s.box.Seal(raw, webhookSecretLabel(workspaceID, e.ID))
	err = s.update(ctx, func(tx store.Tx, _ *outbox) error {
		if err := requireWorkspace(ctx, tx, workspaceID); err != nil {
			return err
		}
		list, err := tx.WebhookEndpoints(ctx, workspaceID)
		if err != nil {
			return err
		}
		if len(list) >= MaxWebhookEndpoints {
			return conflict("too_many_webhooks", "a workspace has at most %d webhook endpoints; delete one first", MaxWebhookEndpoints)
		}
		if err := tx.CreateWebhookEndpoint(ctx, &e); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, AuditWebhookCreated, e.ID, webhookDetail(e))
	})
	if err != nil {
		return NewWebhook{}, err
	}
	return NewWebhook{Endpoint: redactWebhook(e), Secret: secret}, nil
}

func webhookDetail(e store.WebhookEndpoint) string {
	events := "all events"
	if len(e.Events) > 0 {
		events = strings.Join(e.Events, " ")
	}
	d := e.URL + " (" + events + ")"
	if e.IncludeNotes {
		d += " with internal notes"
	}
	return d
}

// redactWebhook drops the sealed secrets from an endpoint leaving the service.
func redactWebhook(e store.WebhookEndpoint) store.WebhookEndpoint {
	e.Secret, e.PreviousSecret = nil, nil
	return e
}

// Webhooks lists a workspace's endpoints (secrets removed).
func (s *Service) Webhooks(ctx context.Context, workspaceID string) ([]store.WebhookEndpoint, error) {
	if err := requireWorkspace(ctx, s.store, workspaceID); err != nil {
		return nil, err
	}
	list, err := s.store.WebhookEndpoints(ctx, workspaceID)
	for i := range list {
		list[i] = redactWebhook(list[i])
	}
	return list, err
}

// Webhook returns one endpoint (secrets removed).
func (s *Service) Webhook(ctx context.Context, workspaceID, id string) (store.WebhookEndpoint, error) {
	e, err := s.store.WebhookEndpoint(ctx, workspaceID, id)
	if isNotFound(err) {
		return e, webhookMissing(id)
	}
	return redactWebhook(e), err
}

// changeWebhook loads an endpoint in a transaction, lets change alter it, stores and audits it.
func (s *Service) changeWebhook(ctx context.Context, workspaceID, id, action string, change func(e *store.WebhookEndpoint) (string, error)) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	err := s.update(ctx, func(tx store.Tx, _ *outbox) error {
		var err error
		e, err = tx.WebhookEndpoint(ctx, workspaceID, id)
		if isNotFound(err) {
			return webhookMissing(id)
		}
		if err != nil {
			return err
		}
		detail, err := change(&e)
		if err != nil {
			return err
		}
		e.UpdatedAt = s.clock()
		if err := tx.UpdateWebhookEndpoint(ctx, &e); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, action, e.ID, detail)
	})
	return redactWebhook(e), err
}

// UpdateWebhook changes an endpoint's URL, events or notes opt-in.
func (s *Service) UpdateWebhook(ctx context.Context, workspaceID, id string, in WebhookInput) (store.WebhookEndpoint, error) {
	var u string
	if in.URL != nil {
		var err error
		if u, err = checkWebhookURL(*in.URL); err != nil {
			return store.WebhookEndpoint{}, err
		}
	}
	events, err := checkWebhookEvents(in.Events)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	return s.changeWebhook(ctx, workspaceID, id, AuditWebhookUpdated, func(e *store.WebhookEndpoint) (string, error) {
		if in.URL != nil {
			e.URL = u
		}
		if in.Events != nil {
			e.Events = events
		}
		if in.IncludeNotes != nil {
			e.IncludeNotes = *in.IncludeNotes
		}
		return webhookDetail(*e), nil
	})
}

// RotateWebhookSecret gives an endpoint a new secret; the old one still signs deliveries, beside the
// new one, for WebhookPreviousSecretTTL, so that the receiver can switch without losing any.
func (s *Service) RotateWebhookSecret(ctx context.Context, workspaceID, id string) (NewWebhook, error) {
	raw, secret := webhooks.NewSecret()
	e, err := s.changeWebhook(ctx, workspaceID, id, AuditWebhookRotated, func(e *store.WebhookEndpoint) (string, error) {
		e.PreviousSecret, e.PreviousUntil = e.Secret, s.clock().Add(WebhookPreviousSecretTTL)
		e.Secret = s.box.Seal(raw, webhookSecretLabel(workspaceID, e.ID))
		return "the previous secret stays valid until " + e.PreviousUntil.Format(time.RFC3339), nil
	})
	if err != nil {
		return NewWebhook{}, err
	}
	return NewWebhook{Endpoint: e, Secret: secret}, nil
}

// SetWebhookDisabled turns an endpoint off, or on again (which forgets its failures).
func (s *Service) SetWebhookDisabled(ctx context.Context, workspaceID, id string, disabled bool) (store.WebhookEndpoint, error) {
	action := AuditWebhookEnabled
	if disabled {
		action = AuditWebhookDisabled
	}
	return s.changeWebhook(ctx, workspaceID, id, action, func(e *store.WebhookEndpoint) (string, error) {
		if disabled {
			if e.DisabledAt.IsZero() {
				e.DisabledAt = s.clock()
			}
			return "by an administrator", nil
		}
		e.DisabledAt, e.FailingSince = time.Time{}, time.Time{}
		return "", nil
	})
}

// DeleteWebhook deletes an endpoint and its delivery log; its pending deliveries are dropped.
func (s *Service) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	return s.update(ctx, func(tx store.Tx, _ *outbox) error {
		e, err := tx.WebhookEndpoint(ctx, workspaceID, id)
		if isNotFound(err) {
			return webhookMissing(id)
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteWebhookEndpoint(ctx, workspaceID, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, AuditWebhookDeleted, id, e.URL)
	})
}

// SendTestWebhook enqueues a webhook.test event to the endpoint (disabled or not) and returns its
// webhook-id; the delivery log shows how it went.
func (s *Service) SendTestWebhook(ctx context.Context, workspaceID, id string) (string, error) {
	var wid string
	err := s.update(ctx, func(tx store.Tx, _ *outbox) error {
		e, err := tx.WebhookEndpoint(ctx, workspaceID, id)
		if isNotFound(err) {
			return webhookMissing(id)
		}
		if err != nil {
			return err
		}
		now := s.clock()
		body, err := json.Marshal(webhookEnvelope{Type: WebhookTest, Timestamp: now, Data: map[string]string{"endpoint_id": e.ID}})
		if err != nil {
			return err
		}
		jobKey := WebhookTest + ":" + e.ID + ":" + newID("")
		wid = webhookID(jobKey)
		_, _, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobWebhook, Key: jobKey, MaxAttempts: 1,
			Payload: webhookJob{WorkspaceID: workspaceID, EndpointID: e.ID, WebhookID: wid, Type: WebhookTest, Body: body}}, now)
		return err
	})
	return wid, err
}

// WebhookDeliveries returns an endpoint's newest delivery attempts, newest first (limit 1–500, else 50).
func (s *Service) WebhookDeliveries(ctx context.Context, workspaceID, id string, limit int) ([]store.WebhookDelivery, error) {
	if _, err := s.Webhook(ctx, workspaceID, id); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	return s.store.WebhookDeliveries(ctx, id, limit)
}

// defaultWebhookClient is the client deliveries go through when the service is given none: package
// identity's guarded outbound client (no loopback, private or link-local address; no redirect), with
// the delivery timeout.
func defaultWebhookClient(allow []netip.Prefix, log *slog.Logger) *http.Client {
	f := identity.NewJWKSFetcher(identity.JWKSOptions{Timeout: webhooks.Timeout, AllowNetworks: allow, Logger: log})
	return f.OutboundClient(webhooks.MaxResponseBytes)
}
