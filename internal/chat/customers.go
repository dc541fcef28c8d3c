package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The customers API: a business's back end, holding an API key, manages its customers by its own user
// id (external_id, the same value its tokens carry as sub), issues them login tokens, reads their
// conversations and ends their widget sessions.

// AllScopes are every API key scope.
func AllScopes() []string {
	return []string{store.ScopeCustomersWrite, store.ScopeCustomersRead, store.ScopeSessionsRevoke, store.ScopeCustomersErase}
}

// DefaultScopes are the scopes of a new key when none are asked for: every scope but erasure, which
// destroys data and is given only on purpose.
func DefaultScopes() []string {
	return []string{store.ScopeCustomersWrite, store.ScopeCustomersRead, store.ScopeSessionsRevoke}
}

// apiKeyPrefix marks Parley API keys, so secret scanners and people recognise one.
const apiKeyPrefix = "pak_"

// NewAPIKey is a freshly created API key; Key is shown once and never again.
type NewAPIKey struct {
	ID     string
	Key    string
	Name   string
	Scopes []string
}

func hashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CreateAPIKey creates an API key for the workspace with the given scopes (DefaultScopes when none are
// given).
func (s *Service) CreateAPIKey(ctx context.Context, workspaceID, name string, scopes []string) (NewAPIKey, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, 100, false); err != nil {
		return NewAPIKey{}, err
	}
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	var clean []string
	for _, sc := range scopes {
		sc = strings.TrimSpace(sc)
		if !slices.Contains(AllScopes(), sc) {
			return NewAPIKey{}, problem.InvalidField("scopes", "%q is not a scope; use %s", sc, strings.Join(AllScopes(), ", "))
		}
		if !slices.Contains(clean, sc) {
			clean = append(clean, sc)
		}
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	key := apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	k := store.APIKey{ID: newID("ak_"), WorkspaceID: workspaceID, Name: name, Scopes: clean, KeyHash: hashAPIKey(key), CreatedAt: s.clock()}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireWorkspace(ctx, tx, workspaceID); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, &k); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, "apikey.created", k.ID, strings.TrimSpace(strings.Join(clean, " ")+" "+quoteIf(name)))
	})
	if err != nil {
		return NewAPIKey{}, err
	}
	return NewAPIKey{ID: k.ID, Key: key, Name: name, Scopes: clean}, nil
}

func quoteIf(s string) string {
	if s == "" {
		return ""
	}
	return "“" + s + "”"
}

// APIKeys lists a workspace's API keys (hashes removed).
func (s *Service) APIKeys(ctx context.Context, workspaceID string) ([]store.APIKey, error) {
	if err := requireWorkspace(ctx, s.store, workspaceID); err != nil {
		return nil, err
	}
	keys, err := s.store.APIKeys(ctx, workspaceID)
	for i := range keys {
		keys[i].KeyHash = nil
	}
	return keys, err
}

// RevokeAPIKey ends an API key at once.
func (s *Service) RevokeAPIKey(ctx context.Context, workspaceID, id string) error {
	return s.store.Update(ctx, func(tx store.Tx) error {
		err := tx.RevokeAPIKey(ctx, workspaceID, id, s.clock())
		if isNotFound(err) {
			return problem.NotFound("api_key_not_found", "no live API key %q in workspace %q", id, workspaceID)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, "apikey.revoked", id, "")
	})
}

// APIClient is a caller of the customers API: the API key it presented and the key's workspace.
type APIClient struct {
	Key       store.APIKey
	Workspace store.Workspace
}

func apiKeyInvalid() *problem.Error {
	return problem.New(http.StatusUnauthorized, "api_key_invalid",
		"the API key is missing, unknown or revoked: send `Authorization: Bearer pak_…` with a live key (parley apikey create)")
}

// AuthenticateAPIKey finds the live API key a request presented.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (APIClient, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 200 {
		return APIClient{}, apiKeyInvalid()
	}
	k, err := s.store.APIKeyByHash(ctx, hashAPIKey(key))
	if isNotFound(err) || (err == nil && !k.RevokedAt.IsZero()) {
		return APIClient{}, apiKeyInvalid()
	}
	if err != nil {
		return APIClient{}, err
	}
	w, err := s.store.Workspace(ctx, k.WorkspaceID)
	if err != nil {
		return APIClient{}, err
	}
	now := s.clock()
	// Last use at minute precision: most calls skip the write.
	if now.Sub(k.LastUsedAt) > time.Minute {
		err := s.store.Update(ctx, func(tx store.Tx) error { return tx.TouchAPIKey(ctx, k.ID, now) })
		if err != nil {
			s.log.Warn("record API key use", "api_key", k.ID, "err", err)
		}
	}
	return APIClient{Key: k, Workspace: w}, nil
}

func (c APIClient) require(scope string) error {
	if slices.Contains(c.Key.Scopes, scope) {
		return nil
	}
	return problem.New(http.StatusForbidden, "insufficient_scope",
		"this API key (%s) lacks the %q scope; create a key that has it: parley apikey create --workspace %s --scopes %s",
		c.Key.ID, scope, c.Workspace.ID, scope)
}

// checkExternalID applies the rules a token's sub follows, so that every external id can be named by a
// token: 1 to 255 characters, no control characters, no surrounding spaces.
func checkExternalID(id string) error {
	switch {
	case id == "":
		return problem.InvalidField("external_id", "must not be empty")
	case !utf8.ValidString(id):
		return problem.InvalidField("external_id", "must be UTF-8")
	case utf8.RuneCountInString(id) > 255:
		return problem.InvalidField("external_id", "is longer than 255 characters")
	case strings.TrimSpace(id) != id:
		return problem.InvalidField("external_id", "must not start or end with spaces")
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return problem.InvalidField("external_id", "contains a control character")
		}
	}
	return nil
}

func customerNotFound(externalID string) *problem.Error {
	return problem.NotFound("customer_not_found", "no customer with external_id %q in this workspace; create it with PUT /v1/customers/{external_id}", externalID)
}

// CustomerInput is a create-or-update of a customer: nil fields are left as they are, "" clears them.
type CustomerInput struct {
	Email *string
	Name  *string
	Phone *string
	// Locale is the language the customer uses (a BCP 47 tag; "" clears it): what a login token's
	// locale claim sets, and what emails to them are written in (mailtext.go).
	Locale *string
	// Attributes replace the customer's verified attributes (an empty set clears them).
	Attributes *attributes.Set
}

// PutCustomer creates the customer with that external id, or updates it. created reports which.
func (s *Service) PutCustomer(ctx context.Context, c APIClient, externalID string, in CustomerInput) (store.Customer, bool, error) {
	if err := c.require(store.ScopeCustomersWrite); err != nil {
		return store.Customer{}, false, err
	}
	if err := checkExternalID(externalID); err != nil {
		return store.Customer{}, false, err
	}
	var email, name, phone, locale string
	if in.Email != nil && strings.TrimSpace(*in.Email) != "" {
		var err error
		if email, err = identity.CanonicalEmail(*in.Email); err != nil {
			return store.Customer{}, false, problem.InvalidField("email", "%s", err)
		}
	}
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
		if err := checkText("name", name, maxNameLength, false); err != nil {
			return store.Customer{}, false, err
		}
	}
	if in.Phone != nil {
		phone = strings.TrimSpace(*in.Phone)
		if err := checkText("phone", phone, 40, false); err != nil {
			return store.Customer{}, false, err
		}
	}
	if in.Locale != nil {
		var err error
		if locale, err = parseLocale(*in.Locale); err != nil {
			return store.Customer{}, false, err
		}
	}
	w := c.Workspace.ID
	var cu store.Customer
	var created bool
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		now := s.clock()
		var err error
		cu, err = tx.CustomerByExternalID(ctx, w, externalID)
		created = isNotFound(err)
		if created {
			cu = store.Customer{ID: newID("cu_"), WorkspaceID: w, ExternalID: externalID, CreatedAt: now}
		} else if err != nil {
			return err
		}
		before := cu
		if in.Email != nil {
			cu.Email = email
		}
		if in.Name != nil {
			cu.Name = name
			cu.FirstName = firstName(name)
		}
		if in.Phone != nil {
			cu.Phone = phone
		}
		if in.Locale != nil {
			cu.Locale = locale
		}
		if in.Attributes != nil {
			cu.Attributes = *in.Attributes
		}
		if created {
			cu.UpdatedAt = now
			return tx.CreateCustomer(ctx, &cu)
		}
		if cu == before {
			return nil
		}
		cu.UpdatedAt = now
		if err := tx.UpdateCustomer(ctx, &cu); err != nil {
			return err
		}
		if cu.Email == before.Email {
			return nil
		}
		// A new email may fall outside the workspace's allowed domains: the sessions verified under the
		// old one end now.
		_, err = s.endExcludedSessions(ctx, tx, out, c.Workspace, cu.ID)
		return err
	})
	return cu, created, err
}

// apiCustomer finds the workspace's customer with that external id.
func (s *Service) apiCustomer(ctx context.Context, c APIClient, externalID string) (store.Customer, error) {
	if err := checkExternalID(externalID); err != nil {
		return store.Customer{}, err
	}
	cu, err := s.store.CustomerByExternalID(ctx, c.Workspace.ID, externalID)
	if isNotFound(err) {
		return cu, customerNotFound(externalID)
	}
	return cu, err
}

// LookupCustomer returns the workspace's customer with that external id.
func (s *Service) LookupCustomer(ctx context.Context, c APIClient, externalID string) (store.Customer, error) {
	if err := c.require(store.ScopeCustomersRead); err != nil {
		return store.Customer{}, err
	}
	return s.apiCustomer(ctx, c, externalID)
}

// IssueLoginToken returns a short-lived, single-use token that logs the widget in as the customer
// (POST /v1/widget/login, or Parley.login in the page).
func (s *Service) IssueLoginToken(ctx context.Context, c APIClient, externalID string) (string, time.Time, error) {
	if err := c.require(store.ScopeCustomersWrite); err != nil {
		return "", time.Time{}, err
	}
	cu, err := s.apiCustomer(ctx, c, externalID)
	if err != nil {
		return "", time.Time{}, err
	}
	ctx = WithActor(ctx, "customers API ("+c.Key.ID+")")
	return s.signLoginToken(ctx, c.Workspace, cu)
}

// CustomerConversations lists every conversation of the customer, newest first.
func (s *Service) CustomerConversations(ctx context.Context, c APIClient, externalID string) ([]store.Conversation, error) {
	if err := c.require(store.ScopeCustomersRead); err != nil {
		return nil, err
	}
	cu, err := s.apiCustomer(ctx, c, externalID)
	if err != nil {
		return nil, err
	}
	return s.store.ConversationsOfCustomer(ctx, cu.ID)
}

// LogoutCustomerSessions ends every live widget session of the customer (rule 9: they logged out of the
// business's site); their sockets receive session_ended and close.
func (s *Service) LogoutCustomerSessions(ctx context.Context, c APIClient, externalID string) (int, error) {
	if err := c.require(store.ScopeSessionsRevoke); err != nil {
		return 0, err
	}
	cu, err := s.apiCustomer(ctx, c, externalID)
	if err != nil {
		return 0, err
	}
	return s.LogoutCustomer(ctx, c.Workspace.ID, cu.ID)
}
