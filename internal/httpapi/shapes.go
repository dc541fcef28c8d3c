package httpapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/files"
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
	// Locale is the login token's locale claim, on a login's answer only (the widget keeps it).
	Locale string `json:"locale,omitempty"`
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
	// Attachments: in the customers API's listing, the files of the conversation's customer-visible
	// messages (at most 100), each with the id of its message.
	Attachments []attachmentJSON `json:"attachments,omitempty"`
}

// attachmentJSON is a file a message carries. Width and height are an image's, else absent.
type attachmentJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Kind        string `json:"kind"`
	Image       bool   `json:"image"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	MessageID   string `json:"message_id,omitempty"`
}

type attachmentsConfigJSON struct {
	Enabled  bool     `json:"enabled"`
	MaxSize  int64    `json:"max_size"`
	MaxFiles int      `json:"max_files"`
	Kinds    []string `json:"kinds"`
	Accept   string   `json:"accept"` // for an <input type=file accept=…>
}

type messageJSON struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Sender         string `json:"sender"`
	Body           string `json:"body"`
	Trusted        bool   `json:"trusted"`
	CreatedAt      string `json:"created_at"`
	ClientID       string `json:"client_id,omitempty"`
	// Attachments are the files the message carries, in order; absent when none.
	Attachments []attachmentJSON `json:"attachments,omitempty"`
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
	AnonymousChat    bool                  `json:"anonymous_chat"`
	MaxMessageLength int                   `json:"max_message_length"`
	Attachments      attachmentsConfigJSON `json:"attachments"`
	Hours            hoursConfigJSON       `json:"hours"`
	// The business's texts in the default language (first_message above is one of them), the other
	// languages' by BCP 47 tag (a field "" falls back to the default language's), and the widget's look.
	Greeting        string                     `json:"greeting"`
	AwayNotice      string                     `json:"away_notice"`
	OnboardingIntro string                     `json:"onboarding_intro"`
	Texts           map[string]widgetTextsJSON `json:"texts"`
	Appearance      appearanceJSON             `json:"appearance"`
	// DefaultLocale is the workspace's default language for the widget ("" = English).
	DefaultLocale string `json:"default_locale"`
}

type widgetTextsJSON struct {
	Greeting        string `json:"greeting"`
	FirstMessage    string `json:"first_message"`
	AwayNotice      string `json:"away_notice"`
	OnboardingIntro string `json:"onboarding_intro"`
}

// appearanceJSON is the widget's look with the defaults filled in; text_color is derived from
// brand_color (chat.TextColor). launcher_label and logo_url are "" when unset.
type appearanceJSON struct {
	BrandColor    string `json:"brand_color"`
	TextColor     string `json:"text_color"`
	Position      string `json:"position"`
	LauncherLabel string `json:"launcher_label"`
	Theme         string `json:"theme"`
	LogoURL       string `json:"logo_url"`
}

// hoursConfigJSON is the workspace's business hours as the widget needs them: whether it is open now,
// and when that changes (RFC 3339, "" when it does not within two weeks or hours are off).
type hoursConfigJSON struct {
	Enabled  bool   `json:"enabled"`
	Open     bool   `json:"open"`
	NextOpen string `json:"next_open"`
	ClosesAt string `json:"closes_at"`
	Mode     string `json:"mode"`
	TimeZone string `json:"time_zone"`
}

// timestamp renders an RFC 3339 UTC time with millisecond precision and a fixed width.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func identityShape(i chat.Identity) identityJSON {
	return identityJSON{Level: i.Level, CustomerID: i.CustomerID, ExternalID: i.ExternalID, Email: i.Email, Name: i.Name, FirstName: i.FirstName, Locale: i.Locale}
}

func sessionShape(v *chat.Visitor) sessionJSON {
	l := v.Lifetime()
	return sessionJSON{ExpiresAt: timestamp(l.ExpiresAt), IdleTimeoutSeconds: int64(l.IdleTimeout / time.Second)}
}

// conversationSummaryJSON is a conversation as the widget's launcher sees it (chat.LauncherSummary).
type conversationSummaryJSON struct {
	conversationJSON
	Unanswered []string `json:"unanswered"`
}

func summaryShapes(convs []chat.ConversationSummary) []conversationSummaryJSON {
	out := make([]conversationSummaryJSON, len(convs))
	for i, c := range convs {
		ids := make([]string, len(c.Unanswered))
		for j, m := range c.Unanswered {
			ids[j] = chat.MessageID(m)
		}
		out[i] = conversationSummaryJSON{conversationJSON: conversationShape(c.Conversation), Unanswered: ids}
	}
	return out
}

func conversationShape(c store.Conversation) conversationJSON {
	return conversationJSON{ID: c.ID, Status: c.Status, CreatedAt: timestamp(c.CreatedAt), LastMessageAt: timestamp(c.LastMessage)}
}

func messageShape(m store.Message) messageJSON {
	out := messageJSON{
		ID: chat.MessageID(m), ConversationID: m.ConversationID, Sender: m.Sender, Body: m.Body,
		Trusted: m.Trusted, CreatedAt: timestamp(m.CreatedAt), ClientID: m.ClientID,
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, attachmentShape(a))
	}
	return out
}

func attachmentShape(a store.Attachment) attachmentJSON {
	k, _ := files.KindByName(a.Kind)
	out := attachmentJSON{ID: a.ID, Name: a.Name, Size: a.Size, ContentType: a.ContentType, Kind: a.Kind, Image: k.Image}
	if k.Image {
		out.Width, out.Height = a.Width, a.Height
	}
	return out
}

func attachmentsConfig(st store.Settings) attachmentsConfigJSON {
	maxBytes, kinds := chat.AttachmentLimits(st)
	accept := make([]string, 0, len(kinds))
	for _, name := range kinds {
		if k, ok := files.KindByName(name); ok {
			ct, _, _ := strings.Cut(k.ContentType, ";")
			accept = append(accept, ct)
		}
	}
	return attachmentsConfigJSON{Enabled: chat.AttachmentsEnabled(st), MaxSize: maxBytes, MaxFiles: chat.MaxAttachmentsPerMessage,
		Kinds: slices.Clone(kinds), Accept: strings.Join(accept, ",")}
}

// configShape is the widget's config; hours is the workspace's business-hours state at the request.
func configShape(w store.Workspace, hours chat.HoursState) configJSON {
	s := w.Settings
	domains := s.AllowedEmailDomains
	if domains == nil {
		domains = []string{}
	}
	texts := make(map[string]widgetTextsJSON, len(s.Texts))
	for tag, t := range s.Texts {
		texts[tag] = widgetTextsJSON(t)
	}
	return configJSON{
		Workspace: w.ID, Name: w.Name, Onboarding: s.Onboarding, FirstMessage: s.FirstMessage, LoginURL: s.LoginURL,
		HideUntilLogin: s.HideUntilLogin, AllowedEmailDomains: domains, RequireVerified: s.RequireVerified,
		AnonymousChat: chat.AnonymousChatAllowed(s), MaxMessageLength: chat.MaxMessageLength,
		Attachments: attachmentsConfig(s),
		Hours: hoursConfigJSON{Enabled: hours.Enabled, Open: hours.Open, NextOpen: timestamp(hours.NextOpen),
			ClosesAt: timestamp(hours.ClosesAt), Mode: hours.Mode, TimeZone: hours.TimeZone},
		Greeting: s.Greeting, AwayNotice: s.AwayNotice, OnboardingIntro: s.OnboardingIntro,
		Texts: texts, Appearance: appearanceShape(s.Appearance),
		DefaultLocale: s.DefaultLocale,
	}
}

func appearanceShape(a store.Appearance) appearanceJSON {
	a = chat.EffectiveAppearance(a)
	text, _ := chat.TextColor(a.BrandColor)
	return appearanceJSON{BrandColor: a.BrandColor, TextColor: text, Position: a.Position,
		LauncherLabel: a.LauncherLabel, Theme: a.Theme, LogoURL: a.LogoURL}
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
