package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The customers API of docs/api.md: server to server, authenticated by an API key. Browsers never call it,
// so it sends no CORS headers, and a request that carries an Origin is refused: an API key in a web
// page is a leaked key.

type apiClientKey struct{}

// withAPIKey authenticates the API key and applies the per-key rate limit before the handler runs.
func (a *API) withAPIKey(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Header.Get("Origin") != "" {
			a.writeError(w, r, problem.New(http.StatusForbidden, "browser_not_allowed",
				"the customers API is for your back end only: never put an API key in a web page"))
			return
		}
		c, err := a.chat.AuthenticateAPIKey(r.Context(), bearer(r))
		if err == nil {
			err = a.apiKeyLimit.allow(c.Key.ID)
		} else if problem.HasCode(err, "api_key_invalid") {
			// Keys cannot be guessed, but a client sending wrong ones over and over is broken or hostile.
			if lerr := a.badKeyLimit.allow(clientIP(r, a.trusted)); lerr != nil {
				err = lerr
			}
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), apiClientKey{}, c)))
	})
}

func apiClientFrom(r *http.Request) chat.APIClient {
	return r.Context().Value(apiClientKey{}).(chat.APIClient)
}

type customerJSON struct {
	ID         string `json:"id"`
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	// Locale is the customer's language ("" if none is known): emails to them are written in it.
	Locale    string `json:"locale"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	// FirstVerifiedAt is the customer's first verified login, "" until they have logged in.
	FirstVerifiedAt string         `json:"first_verified_at"`
	Attributes      attributes.Set `json:"attributes"` // verified; {} when none
}

func customerShape(c store.Customer) customerJSON {
	out := customerJSON{
		ID: c.ID, ExternalID: c.ExternalID, Email: c.Email, Name: c.Name, Phone: c.Phone, Locale: c.Locale,
		CreatedAt: timestamp(c.CreatedAt), UpdatedAt: timestamp(c.UpdatedAt), Attributes: c.Attributes,
	}
	if !c.FirstVerifiedAt.IsZero() {
		out.FirstVerifiedAt = timestamp(c.FirstVerifiedAt)
	}
	return out
}

func (a *API) getCustomer(w http.ResponseWriter, r *http.Request) {
	c, err := a.chat.LookupCustomer(r.Context(), apiClientFrom(r), r.PathValue("external_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer": customerShape(c)})
}

func (a *API) putCustomer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email      *string         `json:"email"`
		Name       *string         `json:"name"`
		Phone      *string         `json:"phone"`
		Locale     *string         `json:"locale"`
		Attributes json.RawMessage `json:"attributes"`
	}
	// An empty body is a create with no profile: the back end may know only its user id.
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	verified, err := attributesField(req.Attributes)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, created, err := a.chat.PutCustomer(r.Context(), apiClientFrom(r), r.PathValue("external_id"),
		chat.CustomerInput{Email: req.Email, Name: req.Name, Phone: req.Phone, Locale: req.Locale, Attributes: verified})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"customer": customerShape(c)})
}

func (a *API) issueLoginToken(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r); err != nil {
		a.writeError(w, r, err)
		return
	}
	token, exp, err := a.chat.IssueLoginToken(r.Context(), apiClientFrom(r), r.PathValue("external_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "expires_at": timestamp(exp)})
}

func (a *API) customerConversations(w http.ResponseWriter, r *http.Request) {
	convs, err := a.chat.CustomerConversations(r.Context(), apiClientFrom(r), r.PathValue("external_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	atts, err := a.chat.ConversationAttachments(r.Context(), convs)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]conversationJSON, len(convs))
	for i, c := range convs {
		out[i] = conversationShape(c)
		for _, att := range atts[c.ID] {
			j := attachmentShape(att)
			j.MessageID = chat.MessageID(store.Message{ConversationID: att.ConversationID, N: att.MessageN})
			out[i].Attachments = append(out[i].Attachments, j)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

func (a *API) logoutCustomer(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r); err != nil {
		a.writeError(w, r, err)
		return
	}
	n, err := a.chat.LogoutCustomerSessions(r.Context(), apiClientFrom(r), r.PathValue("external_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked_sessions": n})
}

// emptyBody accepts no body, or an empty JSON object, on calls that take none. Anything else is refused
// rather than ignored: a caller sending fields expects them to mean something.
func emptyBody(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	var req struct{}
	return decodeJSON(w, r, &req)
}

// eraseCustomer serves DELETE /v1/customers/{external_id}: the customer and everything held about
// them are deleted (scope customers:erase).
func (a *API) eraseCustomer(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r); err != nil {
		a.writeError(w, r, err)
		return
	}
	if _, err := a.chat.EraseCustomerByExternalID(r.Context(), apiClientFrom(r), r.PathValue("external_id")); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// exportCustomer serves GET /v1/customers/{external_id}/export: everything held about the customer as
// one JSON document, offered as a download (scope customers:read).
func (a *API) exportCustomer(w http.ResponseWriter, r *http.Request) {
	x, err := a.chat.ExportCustomerByExternalID(r.Context(), apiClientFrom(r), r.PathValue("external_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="parley-customer-`+x.Customer.ID+`.json"`)
	writeJSON(w, http.StatusOK, x)
}
