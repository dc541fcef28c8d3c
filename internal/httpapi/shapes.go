package httpapi

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The public shapes of docs/api.md. Fields may be added; none may be renamed or removed.

type identityJSON struct {
	Level      string `json:"level"`
	CustomerID string `json:"customer_id,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Name       string `json:"name,omitempty"`
	FirstName  string `json:"first_name,omitempty"`
}

// sessionJSON tells the widget when its session ends: expires_at is a verified session's absolute end
// ("" for anonymous and identified sessions), idle_timeout_seconds the idle timeout of its level.
type sessionJSON struct {
	ExpiresAt          string `json:"expires_at"`
	IdleTimeoutSeconds int64  `json:"idle_timeout_seconds"`
}

type conversationJSON struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	CreatedAt     string `json:"created_at"`
	LastMessageAt string `json:"last_message_at,omitempty"`
}

type messageJSON struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Sender         string `json:"sender"`
	Body           string `json:"body"`
	Trusted        bool   `json:"trusted"`
	CreatedAt      string `json:"created_at"`
	ClientID       string `json:"client_id,omitempty"`
}

type configJSON struct {
	Workspace           string   `json:"workspace"`
	Name                string   `json:"name"`
	Onboarding          bool     `json:"onboarding"`
	FirstMessage        string   `json:"first_message"`
	LoginURL            string   `json:"login_url"`
	HideUntilLogin      bool     `json:"hide_until_login"`
	AllowedEmailDomains []string `json:"allowed_email_domains"`
	RequireVerified     bool     `json:"require_verified"`
	// AnonymousChat is false when the visitor must log in before sending (derived from the above).
	AnonymousChat    bool `json:"anonymous_chat"`
	MaxMessageLength int  `json:"max_message_length"`
}

// timestamp renders an RFC 3339 UTC time with millisecond precision and a fixed width.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func identityShape(i chat.Identity) identityJSON {
	return identityJSON{Level: i.Level, CustomerID: i.CustomerID, ExternalID: i.ExternalID, Email: i.Email, Name: i.Name, FirstName: i.FirstName}
}

func sessionShape(v *chat.Visitor) sessionJSON {
	l := v.Lifetime()
	return sessionJSON{ExpiresAt: timestamp(l.ExpiresAt), IdleTimeoutSeconds: int64(l.IdleTimeout / time.Second)}
}

func conversationShape(c store.Conversation) conversationJSON {
	return conversationJSON{ID: c.ID, Status: c.Status, CreatedAt: timestamp(c.CreatedAt), LastMessageAt: timestamp(c.LastMessage)}
}

func messageShape(m store.Message) messageJSON {
	return messageJSON{
		ID: chat.MessageID(m), ConversationID: m.ConversationID, Sender: m.Sender, Body: m.Body,
		Trusted: m.Trusted, CreatedAt: timestamp(m.CreatedAt), ClientID: m.ClientID,
	}
}

func configShape(w store.Workspace) configJSON {
	s := w.Settings
	domains := s.AllowedEmailDomains
	if domains == nil {
		domains = []string{}
	}
	return configJSON{
		Workspace: w.ID, Name: w.Name, Onboarding: s.Onboarding, FirstMessage: s.FirstMessage, LoginURL: s.LoginURL,
		HideUntilLogin: s.HideUntilLogin, AllowedEmailDomains: domains, RequireVerified: s.RequireVerified,
		AnonymousChat: chat.AnonymousChatAllowed(s), MaxMessageLength: chat.MaxMessageLength,
	}
}

// attributesField reads an optional "attributes" member of a request body: nil when absent, else the
// set it holds under the limits of package attributes (422 invalid_field otherwise). null is refused
// rather than read as "leave them" or "clear them": a caller sending it means one of the two.
func attributesField(raw json.RawMessage) (*attributes.Set, error) {
	if raw == nil {
		return nil, nil
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, problem.InvalidField("attributes", "must be a JSON object, not null: send {} to clear them, or leave the field out to keep them")
	}
	set, err := attributes.Parse(raw)
	if err != nil {
		return nil, problem.InvalidField("attributes", "%s", err)
	}
	return &set, nil
}
