package chat

import (
	"context"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Erasure and export of a customer: the right to be forgotten and the right of access. The business
// asks, through the customers API (or an admin in the console); Parley answers for everything it holds.

// AuditCustomerErased records that a customer was erased. Its target is the customer's internal id,
// its detail only counts: nothing that names the person stays behind.
const AuditCustomerErased = "customer.erased"

// EraseCustomerByExternalID erases the workspace's customer with that external id (scope
// customers:erase). See EraseCustomer.
func (s *Service) EraseCustomerByExternalID(ctx context.Context, c APIClient, externalID string) (store.ErasedCustomer, error) {
	if err := c.require(store.ScopeCustomersErase); err != nil {
		return store.ErasedCustomer{}, err
	}
	if err := checkExternalID(externalID); err != nil {
		return store.ErasedCustomer{}, err
	}
	ctx = WithActor(ctx, "customers API ("+c.Key.ID+")")
	var erased store.ErasedCustomer
	err := s.eraseCustomer(ctx, c.Workspace.ID, func(tx store.Tx) (store.Customer, error) {
		cu, err := tx.CustomerByExternalID(ctx, c.Workspace.ID, externalID)
		if isNotFound(err) {
			return cu, customerNotFound(externalID)
		}
		return cu, err
	}, &erased)
	return erased, err
}

// EraseCustomer deletes a customer of the workspace and everything Parley holds about them, in one
// transaction (store.Tx.EraseCustomer says what that is): their widget sessions end, and their open
// sockets are told so with the reason "erased" and closed. The audit row keeps the internal id only.
func (s *Service) EraseCustomer(ctx context.Context, workspaceID, customerID string) (store.ErasedCustomer, error) {
	var erased store.ErasedCustomer
	err := s.eraseCustomer(ctx, workspaceID, func(tx store.Tx) (store.Customer, error) {
		cu, err := tx.Customer(ctx, customerID)
		if isNotFound(err) || (err == nil && cu.WorkspaceID != workspaceID) {
			return cu, problem.NotFound("customer_not_found", "no customer %q in this workspace", customerID)
		}
		return cu, err
	}, &erased)
	return erased, err
}

func (s *Service) eraseCustomer(ctx context.Context, workspaceID string, find func(store.Tx) (store.Customer, error), erased *store.ErasedCustomer) error {
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		cu, err := find(tx)
		if err != nil {
			return err
		}
		*erased, err = tx.EraseCustomer(ctx, workspaceID, cu.ID)
		if isNotFound(err) {
			return problem.NotFound("customer_not_found", "no customer %q in this workspace", cu.ID)
		}
		if err != nil {
			return err
		}
		endSessions(out, erased.Sessions, ReasonErased)
		// Agents watching one of the conversations see it gone on their next load; the customer's own
		// sockets were just told to close.
		detail := fmt.Sprintf("conversations=%d messages=%d attachments=%d sessions=%d",
			erased.Conversations, erased.Messages, erased.Attachments, len(erased.Sessions))
		if err := s.audit(ctx, tx, workspaceID, AuditCustomerErased, cu.ID, detail); err != nil {
			return err
		}
		return s.onCustomerErased(ctx, tx, workspaceID, cu.ID)
	})
	if err != nil {
		return err
	}
	// The store deleted the bytes it holds itself in the transaction; another storage is cleaned now.
	// A failure leaves unreachable bytes behind (nothing names their key any more), not personal data
	// reachable through Parley; it is logged for the operator.
	for _, key := range erased.StorageKeys {
		if err := s.files.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.log.Error("erase customer: delete attachment bytes", "workspace", workspaceID, "err", err)
		}
	}
	return nil
}

// onCustomerErased runs inside the erasure's transaction, after everything of the customer is gone
// and the audit row is written: the place for what else must happen when a customer is forgotten
// (the customer.erased webhook enqueues its deliveries here). Whatever it stores must carry the
// internal customer id only, never the person's email, name or external id.
func (s *Service) onCustomerErased(ctx context.Context, tx store.Tx, workspaceID, customerID string) error {
	return s.enqueueWebhook(ctx, tx, workspaceID, WebhookCustomerErased, customerID, WebhookCustomer{ID: customerID, At: s.clock()})
}

// CustomerExport is everything Parley holds about one customer, for the business's back end (the
// right of access). Agents' internal notes are not in it: they are the business's notes about the
// conversation, not the customer's data, and the rule that notes never reach the customer
// (CustomerVisible) is kept even here, as the business may hand the document on.
type CustomerExport struct {
	ExportedAt    time.Time              `json:"exported_at"`
	Customer      ExportedCustomer       `json:"customer"`
	Sessions      []ExportedSession      `json:"sessions"`
	Conversations []ExportedConversation `json:"conversations"`
	Email         ExportedEmail          `json:"email"`
}

// ExportedCustomer is the customer's profile.
type ExportedCustomer struct {
	ID          string         `json:"id"`
	ExternalID  string         `json:"external_id"`
	Email       string         `json:"email"`
	Name        string         `json:"name"`
	Phone       string         `json:"phone"`
	Locale      string         `json:"locale"` // the language emails to them are written in, "" if none is known
	Attributes  attributes.Set `json:"attributes"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	LoggedOutAt *time.Time     `json:"logged_out_at,omitempty"`
	// FirstVerifiedAt is the customer's first verified login; absent if they never logged in.
	FirstVerifiedAt *time.Time `json:"first_verified_at,omitempty"`
}

// ExportedSession is a live widget session verified as the customer (its token hash never leaves).
type ExportedSession struct {
	ID         string    `json:"id"`
	Level      string    `json:"level"`
	KeyID      string    `json:"key_id"`
	CreatedAt  time.Time `json:"created_at"`
	VerifiedAt time.Time `json:"verified_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// ExportedConversation is one conversation with every message the customer could see.
type ExportedConversation struct {
	ID        string            `json:"id"`
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	ClosedAt  *time.Time        `json:"closed_at,omitempty"`
	Messages  []ExportedMessage `json:"messages"`
}

// ExportedMessage is a customer-visible message; attachments are described, not included.
type ExportedMessage struct {
	N           int64                `json:"n"`
	Sender      string               `json:"sender"`
	Body        string               `json:"body"`
	Trusted     bool                 `json:"trusted"`
	CreatedAt   time.Time            `json:"created_at"`
	Attachments []ExportedAttachment `json:"attachments"`
}

// ExportedAttachment describes a file of a message.
type ExportedAttachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// ExportedEmail is the customer's email state.
type ExportedEmail struct {
	OptedOutAt    *time.Time `json:"opted_out_at,omitempty"`
	LastEmailedAt *time.Time `json:"last_emailed_at,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// exportPage is how many messages one read of a conversation takes.
const exportPage = 500

// ExportCustomerByExternalID exports the workspace's customer with that external id (scope
// customers:read).
func (s *Service) ExportCustomerByExternalID(ctx context.Context, c APIClient, externalID string) (CustomerExport, error) {
	if err := c.require(store.ScopeCustomersRead); err != nil {
		return CustomerExport{}, err
	}
	cu, err := s.apiCustomer(ctx, c, externalID)
	if err != nil {
		return CustomerExport{}, err
	}
	return s.exportCustomer(ctx, cu)
}

// ExportCustomer exports a customer of the workspace.
func (s *Service) ExportCustomer(ctx context.Context, workspaceID, customerID string) (CustomerExport, error) {
	cu, err := s.store.Customer(ctx, customerID)
	if isNotFound(err) || (err == nil && cu.WorkspaceID != workspaceID) {
		return CustomerExport{}, problem.NotFound("customer_not_found", "no customer %q in this workspace", customerID)
	}
	if err != nil {
		return CustomerExport{}, err
	}
	return s.exportCustomer(ctx, cu)
}

func (s *Service) exportCustomer(ctx context.Context, cu store.Customer) (CustomerExport, error) {
	x := CustomerExport{
		ExportedAt: s.clock().UTC(),
		Customer: ExportedCustomer{
			ID: cu.ID, ExternalID: cu.ExternalID, Email: cu.Email, Name: cu.Name, Phone: cu.Phone, Locale: cu.Locale,
			Attributes: cu.Attributes, CreatedAt: cu.CreatedAt.UTC(), UpdatedAt: cu.UpdatedAt.UTC(), LoggedOutAt: optTime(cu.LoggedOutAt),
			FirstVerifiedAt: optTime(cu.FirstVerifiedAt),
		},
		Sessions:      []ExportedSession{},
		Conversations: []ExportedConversation{},
	}
	sessions, err := s.store.LiveSessionsOfCustomer(ctx, cu.ID)
	if err != nil {
		return x, err
	}
	for _, ss := range sessions {
		x.Sessions = append(x.Sessions, ExportedSession{ID: ss.ID, Level: ss.Level, KeyID: ss.KeyID,
			CreatedAt: ss.CreatedAt.UTC(), VerifiedAt: ss.VerifiedAt.UTC(), LastSeenAt: ss.LastSeenAt.UTC()})
	}
	em, err := s.store.CustomerEmail(ctx, cu.ID)
	if err != nil && !isNotFound(err) {
		return x, err
	}
	x.Email = ExportedEmail{OptedOutAt: optTime(em.OptedOutAt), LastEmailedAt: optTime(em.LastEmailedAt)}
	convs, err := s.store.ConversationsOfCustomer(ctx, cu.ID)
	if err != nil {
		return x, err
	}
	for _, c := range convs {
		ec := ExportedConversation{ID: c.ID, Status: c.Status, CreatedAt: c.CreatedAt.UTC(), ClosedAt: optTime(c.ClosedAt), Messages: []ExportedMessage{}}
		var after int64
		for {
			msgs, err := s.store.MessagesAfterNumber(ctx, c.ID, after, exportPage)
			if err != nil {
				return x, err
			}
			for _, m := range msgs {
				after = max(after, m.N)
				if !CustomerVisible(m) {
					continue
				}
				em := ExportedMessage{N: m.N, Sender: m.Sender, Body: m.Body, Trusted: m.Trusted, CreatedAt: m.CreatedAt.UTC(), Attachments: []ExportedAttachment{}}
				for _, a := range m.Attachments {
					em.Attachments = append(em.Attachments, ExportedAttachment{ID: a.ID, Name: a.Name, Kind: a.Kind, ContentType: a.ContentType, Size: a.Size})
				}
				ec.Messages = append(ec.Messages, em)
			}
			if len(msgs) < exportPage {
				break
			}
		}
		x.Conversations = append(x.Conversations, ec)
	}
	return x, nil
}

// EraseCustomerAs erases a customer of the agent's workspace from the console: administrators only, and
// only when confirm repeats what names the customer (their user id, or their email when they have
// none), so that a slip of the mouse erases nobody.
func (s *Service) EraseCustomerAs(ctx context.Context, agent store.Agent, customerID, confirm string) (store.ErasedCustomer, error) {
	if err := RequireAdmin(agent); err != nil {
		return store.ErasedCustomer{}, err
	}
	cu, err := s.store.Customer(ctx, customerID)
	if isNotFound(err) || (err == nil && cu.WorkspaceID != agent.WorkspaceID) {
		return store.ErasedCustomer{}, problem.NotFound("customer_not_found", "no customer %q in this workspace", customerID)
	}
	if err != nil {
		return store.ErasedCustomer{}, err
	}
	if want := EraseConfirmation(cu); confirm != want {
		return store.ErasedCustomer{}, problem.InvalidField("confirm", "does not match, so nothing was erased: type %q exactly", want)
	}
	return s.EraseCustomer(ctx, agent.WorkspaceID, cu.ID)
}

// EraseConfirmation is what an administrator types to confirm erasing the customer.
func EraseConfirmation(cu store.Customer) string {
	if cu.ExternalID != "" {
		return cu.ExternalID
	}
	return cu.Email
}

// ExportCustomerAs exports a customer of the agent's workspace for an administrator.
func (s *Service) ExportCustomerAs(ctx context.Context, agent store.Agent, customerID string) (CustomerExport, error) {
	if err := RequireAdmin(agent); err != nil {
		return CustomerExport{}, err
	}
	return s.ExportCustomer(ctx, agent.WorkspaceID, customerID)
}
