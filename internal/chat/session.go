package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Visitor is an authenticated widget session and its workspace. Its Session and Workspace are
// read-only: authentication may share their slices and maps with other requests (authcache.go).
type Visitor struct {
	Session   store.Session
	Workspace store.Workspace
	// ClientAddr is the address the request came from, as the HTTP layer derived it (behind trusted
	// proxies, the forwarded one); "" when unknown. Messages record it on the session, and blocks by
	// address are checked against it.
	ClientAddr string
}

// Owner returns whose conversations the visitor sees: the verified customer's (from any device), or
// only the ones this session started while unverified (rule 6: unverified claims grant nothing).
func (v *Visitor) Owner() store.Owner {
	if v.Session.Level == store.LevelVerified {
		return store.Owner{CustomerID: v.Session.CustomerID}
	}
	return store.Owner{SessionID: v.Session.ID}
}

// Topics are what the visitor's live connection subscribes to.
func (v *Visitor) Topics() []string {
	if v.Session.Level == store.LevelVerified {
		return []string{SessionTopic(v.Session.ID), CustomerTopic(v.Session.CustomerID)}
	}
	return []string{SessionTopic(v.Session.ID)}
}

// canSee reports whether a conversation is visible to the visitor.
func (v *Visitor) canSee(c store.Conversation) bool {
	if c.WorkspaceID != v.Workspace.ID {
		return false
	}
	if v.Session.Level == store.LevelVerified {
		return c.CustomerID == v.Session.CustomerID
	}
	return c.CustomerID == "" && c.SessionID == v.Session.ID
}

// Identity describes who a visitor is, as the widget shows it.
type Identity struct {
	Level      string
	CustomerID string
	ExternalID string // the verified customer's id in the business's systems (the token's sub), if any
	Email      string
	Name       string
	FirstName  string
	// Locale is the locale claim of the token a login verified ("" without one): only the login's
	// answer carries it; the widget keeps it with the session.
	Locale string
}

// Session tokens are opaque bearer strings: a prefix (so they are recognisable in logs and secret
// scanners) and 256 random bits. Only their SHA-256 is stored; with that much entropy a slow hash adds
// nothing.
const sessionTokenPrefix = "pst_"

var sessionTokenLen = len(sessionTokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

func newSessionToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	token = sessionTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func sessionInvalid() *problem.Error {
	return problem.New(http.StatusUnauthorized, "session_invalid",
		"the session token is missing, expired or revoked; create a new session with POST /v1/widget/sessions")
}

// CreateSession starts an anonymous widget session in a workspace.
func (s *Service) CreateSession(ctx context.Context, workspaceID string) (string, *Visitor, error) {
	w, err := s.Workspace(ctx, workspaceID)
	if err != nil {
		return "", nil, err
	}
	token, hash := newSessionToken()
	now := s.clock()
	sess := store.Session{ID: newID("se_"), WorkspaceID: w.ID, TokenHash: hash, Level: store.LevelAnonymous, CreatedAt: now, UpdatedAt: now, LastSeenAt: now}
	if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, &sess) }); err != nil {
		return "", nil, err
	}
	return token, &Visitor{Session: sess, Workspace: w}, nil
}

// Authenticate resolves a session token to its live session, for an HTTP call or a socket connecting:
// a use that counts as activity and slides the session's idle timer (see lifetimes.go). An expired
// session is refused and ends.
func (s *Service) Authenticate(ctx context.Context, token string) (*Visitor, error) {
	return s.authenticate(ctx, token, true)
}

// Recheck is Authenticate for a socket that is already open: it refuses a session that ended or
// expired meanwhile, but does not count as activity, so an idle tab left open still expires.
func (s *Service) Recheck(ctx context.Context, token string) (*Visitor, error) {
	return s.authenticate(ctx, token, false)
}

func (s *Service) authenticate(ctx context.Context, token string, activity bool) (*Visitor, error) {
	if len(token) != sessionTokenLen || !strings.HasPrefix(token, sessionTokenPrefix) {
		return nil, sessionInvalid()
	}
	hash := hashToken(token)
	// The epoch first, then the session: see authcache.go for why that order makes the cache exact.
	epoch, cached, err := s.auth.readEpoch(ctx, s.store)
	if err != nil {
		return nil, err
	}
	if cached {
		now := s.clock()
		if sess, w, ok := s.auth.get(epoch, hash); ok && expiry(sess, w.Settings, now) == "" {
			// Cached entries passed the email-domain check under this epoch, and a change of the
			// customer's email or of the workspace's domains would have moved it.
			if activity {
				s.touch(ctx, &sess, now)
			}
			return &Visitor{Session: sess, Workspace: w}, nil
		}
		// Not cached, or expired by the cached LastSeenAt, which may lag the stored one (another
		// instance or process may have recorded a use): the store decides.
	}
	sess, w, err := s.store.SessionAndWorkspace(ctx, hash)
	if isNotFound(err) {
		return nil, sessionInvalid()
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if why := expiry(sess, w.Settings, now); why != "" {
		if err := s.endSession(ctx, sess, ReasonExpired); err != nil {
			return nil, err
		}
		return nil, sessionExpired(why, w.Settings, sess.Level)
	}
	if sess.Level == store.LevelVerified && len(w.Settings.AllowedEmailDomains) > 0 {
		// Checked on use as well as when the setting or the customer's email changes, so no session
		// verified before a change outlives it, whatever the order of events.
		c, err := s.store.Customer(ctx, sess.CustomerID)
		if err != nil {
			return nil, err
		}
		if emailAllowed(w.Settings, c.Email) != nil {
			if err := s.endSession(ctx, sess, ReasonNotAllowed); err != nil {
				return nil, err
			}
			return nil, problem.New(http.StatusUnauthorized, "session_invalid",
				"this session ended: the workspace no longer admits this customer's email domain; create a new session with POST /v1/widget/sessions")
		}
	}
	if cached {
		s.auth.put(epoch, sess, w)
	}
	if activity {
		s.touch(ctx, &sess, now)
	}
	return &Visitor{Session: sess, Workspace: w}, nil
}

// endSession revokes one live session and tells its sockets why.
func (s *Service) endSession(ctx context.Context, sess store.Session, reason string) error {
	return s.update(ctx, func(tx store.Tx, out *outbox) error {
		now := s.clock()
		sess.RevokedAt, sess.UpdatedAt = now, now
		if err := tx.UpdateSession(ctx, &sess); err != nil {
			return err
		}
		endSessions(out, []string{sess.ID}, reason)
		return nil
	})
}

// emailAllowed applies the workspace's allowed email domains to a verified email.
func emailAllowed(st store.Settings, email string) error {
	domains := st.AllowedEmailDomains
	if len(domains) == 0 {
		return nil
	}
	if email == "" {
		return forbidden("email_domain_not_allowed", "this workspace only admits verified emails of %s; the token carries no email", strings.Join(domains, ", "))
	}
	if domain := identity.EmailDomain(email); !containsString(domains, domain) {
		return forbidden("email_domain_not_allowed", "this workspace only admits verified emails of %s, not %s", strings.Join(domains, ", "), domain)
	}
	return nil
}

// endExcludedSessions ends the live verified sessions of customers whose email the workspace's allowed
// domains no longer admit (the setting changed, or a customer's email did), and returns how many ended.
func (s *Service) endExcludedSessions(ctx context.Context, tx store.Tx, out *outbox, w store.Workspace, onlyCustomer string) (int, error) {
	if len(w.Settings.AllowedEmailDomains) == 0 {
		return 0, nil
	}
	live, err := tx.LiveVerifiedSessions(ctx, w.ID)
	if err != nil {
		return 0, err
	}
	excluded := map[string]bool{}
	for _, v := range live {
		if (onlyCustomer == "" || v.CustomerID == onlyCustomer) && emailAllowed(w.Settings, v.Email) != nil {
			excluded[v.CustomerID] = true
		}
	}
	n := 0
	for customerID := range excluded {
		ids, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: w.ID, CustomerID: customerID}, s.clock())
		if err != nil {
			return n, err
		}
		endSessions(out, ids, ReasonNotAllowed)
		n += len(ids)
	}
	return n, nil
}

// Identity returns the visitor's identity; for a verified visitor it reads the customer profile.
func (s *Service) Identity(ctx context.Context, v *Visitor) (Identity, error) {
	sess := v.Session
	switch sess.Level {
	case store.LevelVerified:
		c, err := s.store.Customer(ctx, sess.CustomerID)
		if err != nil {
			return Identity{}, err
		}
		return customerIdentity(c), nil
	case store.LevelIdentified:
		return Identity{Level: sess.Level, Email: sess.ClaimedEmail, Name: sess.ClaimedName, FirstName: firstName(sess.ClaimedName)}, nil
	default:
		return Identity{Level: store.LevelAnonymous}, nil
	}
}

func customerIdentity(c store.Customer) Identity {
	first := c.FirstName
	if first == "" {
		first = firstName(c.Name)
	}
	return Identity{Level: store.LevelVerified, CustomerID: c.ID, ExternalID: c.ExternalID, Email: c.Email, Name: c.Name, FirstName: first}
}

// firstName guesses a greeting name from a full name when no given name was stated: its first word,
// after any honorifics ("Dr. Ada Lovelace" → "Ada"). A lone word after an honorific is most likely a
// surname ("Mr Smith"), and a greeting by surname is worse than none, so that gives "".
func firstName(name string) string {
	words := strings.Fields(name)
	titled := false
	for len(words) > 0 && isHonorific(words[0]) {
		words, titled = words[1:], true
	}
	if len(words) == 0 || (titled && len(words) == 1) {
		return ""
	}
	return words[0]
}

// isHonorific reports whether a word is a title that may open a name ("Dr.", "Mrs", "Prof").
func isHonorific(word string) bool {
	switch strings.ToLower(strings.TrimSuffix(word, ".")) {
	case "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lord", "lady", "rev", "fr",
		"herr", "frau", "mme", "mlle", "sr", "sra", "srta", "dott", "ing", "mag":
		return true
	}
	return false
}

// Claims are what a visitor says about themself (onboarding form or setUser). They are never trusted.
type Claims struct {
	Name  string
	Email string
	Phone string
	// Attributes, when not nil, replace the attributes the session claims: shown to agents as claimed,
	// never matched by routing rules.
	Attributes *attributes.Set
}

func (c *Claims) normalize() error {
	c.Name = strings.TrimSpace(c.Name)
	c.Phone = strings.TrimSpace(c.Phone)
	if err := checkText("name", c.Name, maxNameLength, false); err != nil {
		return err
	}
	if err := checkText("phone", c.Phone, 40, false); err != nil {
		return err
	}
	if strings.TrimSpace(c.Email) != "" {
		email, err := identity.CanonicalEmail(c.Email)
		if err != nil {
			return problem.InvalidField("email", "%s", err)
		}
		c.Email = email
	} else {
		c.Email = ""
	}
	if c.Name == "" && c.Email == "" && c.Phone == "" && c.Attributes == nil {
		return problem.InvalidField("name", "give at least a name, an email, a phone number or attributes")
	}
	return nil
}

// Identify records the identity a visitor claims. It returns the visitor's (possibly new) token: the
// token rotates when the level changes, and a claim of a different email than before is a different
// person, who gets a fresh session that cannot see the previous one's conversations.
func (s *Service) Identify(ctx context.Context, v *Visitor, c Claims) (string, *Visitor, error) {
	if err := c.normalize(); err != nil {
		return "", nil, err
	}
	old := v.Session
	if old.Level == store.LevelVerified {
		return "", nil, conflict("already_verified", "this session is verified by a signed login; claims cannot change it — call logout first to switch users")
	}
	// Claims reach agents' screens: a blocked visitor may not write to them this way either.
	if err := s.refuseBlocked(ctx, v); err != nil {
		return "", nil, err
	}
	differentPerson := old.Level == store.LevelIdentified && old.ClaimedEmail != "" && c.Email != "" && c.Email != old.ClaimedEmail
	now := s.clock()
	var token string
	next := old
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		token = ""
		next = old
		if differentPerson {
			var err error
			if token, next, err = s.replaceSession(ctx, tx, out, old, "replaced"); err != nil {
				return err
			}
		} else if old.Level != store.LevelIdentified {
			var hash []byte
			token, hash = newSessionToken()
			next.TokenHash = hash
			out.add(realtime.Event{Type: EventSessionEnded, Data: SessionEnded{SessionID: old.ID, Reason: ReasonRotated, Token: fingerprint(old.TokenHash)}, Final: true}, SessionTopic(old.ID))
		}
		next.Level = store.LevelIdentified
		next.ClaimedName = firstNonEmpty(c.Name, next.ClaimedName)
		next.ClaimedEmail = firstNonEmpty(c.Email, next.ClaimedEmail)
		next.ClaimedPhone = firstNonEmpty(c.Phone, next.ClaimedPhone)
		next.UpdatedAt = now
		if err := tx.UpdateSession(ctx, &next); err != nil {
			return err
		}
		if c.Attributes != nil {
			if err := tx.SetClaimedAttributes(ctx, next.ID, *c.Attributes); err != nil {
				return err
			}
		}
		// The open conversation shows agents who the visitor claims to be.
		conv, err := tx.OpenConversation(ctx, store.Owner{SessionID: next.ID})
		if isNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		conv.ClaimedName, conv.ClaimedEmail, conv.UpdatedAt = next.ClaimedName, next.ClaimedEmail, now
		if err := tx.UpdateConversation(ctx, &conv); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, out, conv, "identified", map[string]string{"name": next.ClaimedName, "email": next.ClaimedEmail, "phone": next.ClaimedPhone})
	})
	if err != nil {
		return "", nil, err
	}
	return token, &Visitor{Session: next, Workspace: v.Workspace}, nil
}

// replaceSession revokes old and creates a fresh session in its place, for when another person takes
// over the browser. The caller fills in the new session's identity and stores it with UpdateSession.
func (s *Service) replaceSession(ctx context.Context, tx store.Tx, out *outbox, old store.Session, reason string) (string, store.Session, error) {
	now := s.clock()
	revoked := old
	revoked.RevokedAt, revoked.UpdatedAt = now, now
	if err := tx.UpdateSession(ctx, &revoked); err != nil {
		return "", store.Session{}, err
	}
	out.add(realtime.Event{Type: EventSessionEnded, Data: SessionEnded{SessionID: old.ID, Reason: reason}, Final: true}, SessionTopic(old.ID))
	token, hash := newSessionToken()
	fresh := store.Session{ID: newID("se_"), WorkspaceID: old.WorkspaceID, TokenHash: hash, Level: store.LevelAnonymous, CreatedAt: now, UpdatedAt: now, LastSeenAt: now}
	if err := tx.CreateSession(ctx, &fresh); err != nil {
		return "", store.Session{}, err
	}
	return token, fresh, nil
}

// Login verifies a signed token and upgrades the visitor's session to verified (rules 1, 6, 7). The
// session token always rotates.
func (s *Service) Login(ctx context.Context, v *Visitor, rawToken string) (string, *Visitor, Identity, error) {
	return s.login(ctx, v, rawToken, false)
}

// login is Login; singleUse also refuses a token without a jti (LoginSingleUse).
func (s *Service) login(ctx context.Context, v *Visitor, rawToken string, singleUse bool) (string, *Visitor, Identity, error) {
	w := v.Workspace
	keys, stored, err := s.verificationKeys(ctx, w.ID, rawToken)
	if err != nil {
		return "", nil, Identity{}, err
	}
	now := s.clock()
	verified, err := identity.Verify(rawToken, keys, identity.Policy{
		Workspace: w.ID, MaxLifetime: MaxLifetime(w.Settings), Leeway: s.leeway, Now: now,
	})
	if err == nil && singleUse && verified.Claims.JTI == "" {
		err = errNotSingleUse()
	}
	if err != nil {
		s.logLoginFailure(w.ID, err)
		s.recordLoginFailure(ctx, w.ID, rawToken, err)
		return "", nil, Identity{}, err
	}
	token, next, id, err := s.completeLogin(ctx, v, verified.Claims, verified.Key.ID, keySource(verified.Key, stored))
	if p, ok := problem.As(err); ok && p.Status < 500 {
		// A valid signature refused for what it says (a replayed jti, a domain not allowed).
		s.logLoginFailure(w.ID, err)
		s.recordLoginFailure(ctx, w.ID, rawToken, err)
	}
	return token, next, id, err
}

func (s *Service) logLoginFailure(workspaceID string, err error) {
	code := "internal"
	if p, ok := problem.As(err); ok {
		code = p.Code
	}
	s.log.Info("login refused", "workspace", workspaceID, "code", code)
}

// completeLogin applies verified claims to the visitor's session.
// keyID is the token's key; source the stored key that vouches for it (see keySource).
func (s *Service) completeLogin(ctx context.Context, v *Visitor, claims *identity.Claims, keyID, source string) (string, *Visitor, Identity, error) {
	w := v.Workspace
	if err := emailAllowed(w.Settings, claims.Email); err != nil {
		return "", nil, Identity{}, err
	}
	old := v.Session
	now := s.clock()
	var token string
	var next store.Session
	var customer store.Customer
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		if claims.JTI != "" {
			if err := tx.UseJTI(ctx, w.ID, claims.JTI, claims.ExpiresAt.Add(s.leeway), now); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return problem.New(http.StatusUnauthorized, "token_replayed", "token id (jti) %q was already used; sign a new token for every login", claims.JTI)
				}
				return err
			}
		}
		var err error
		if customer, err = s.upsertCustomer(ctx, tx, w.ID, claims, now); err != nil {
			return err
		}
		if !customer.LoggedOutAt.IsZero() && !claims.IssuedAt.After(customer.LoggedOutAt) {
			return tokenIssuedBeforeLogout(claims.IssuedAt, customer.LoggedOutAt)
		}
		if source != "" {
			if err := tx.TouchSigningKey(ctx, w.ID, source, now); err != nil {
				return err
			}
		}
		// Rule 7: a verified identity different from the one claimed (or verified) before is another
		// person; they get a fresh session, and what the previous person started stays theirs.
		differentPerson := (old.Level == store.LevelVerified && old.CustomerID != customer.ID) ||
			(old.Level == store.LevelIdentified && old.ClaimedEmail != "" && old.ClaimedEmail != claims.Email)
		next = old
		if differentPerson {
			if token, next, err = s.replaceSession(ctx, tx, out, old, "replaced"); err != nil {
				return err
			}
		} else {
			var hash []byte
			token, hash = newSessionToken()
			next.TokenHash = hash
			out.add(realtime.Event{Type: EventSessionEnded, Data: SessionEnded{SessionID: old.ID, Reason: ReasonRotated, Token: fingerprint(old.TokenHash)}, Final: true}, SessionTopic(old.ID))
		}
		next.Level, next.CustomerID, next.KeyID, next.KeySource, next.VerifiedAt, next.UpdatedAt = store.LevelVerified, customer.ID, keyID, source, now, now
		next.LastSeenAt = now // a login is activity, and starts the verified lifetime afresh
		if err := tx.UpdateSession(ctx, &next); err != nil {
			return err
		}
		if differentPerson {
			return nil
		}
		// The conversations this browser started anonymously (or as the same person it now proves to
		// be) move to the verified customer; the session stays on them as the participant who began them.
		adopted, err := tx.AdoptConversations(ctx, old.ID, customer.ID, now)
		if err != nil {
			return err
		}
		for _, id := range adopted {
			conv, err := tx.Conversation(ctx, id)
			if err != nil {
				return err
			}
			data := map[string]string{"customer_id": customer.ID, "email": customer.Email, "external_id": customer.ExternalID, "name": customer.Name, "key_id": keyID}
			if err := s.addEvent(ctx, tx, out, conv, "authenticated", data); err != nil {
				return err
			}
			out.add(realtime.Event{Type: EventConversation, Data: conv}, conversationTopics(conv)...)
		}
		return nil
	})
	if err != nil {
		return "", nil, Identity{}, err
	}
	id := customerIdentity(customer)
	id.Locale = claims.Locale
	return token, &Visitor{Session: next, Workspace: w}, id, nil
}

// upsertCustomer finds the customer a verified token names — by sub when present, else by email — and
// refreshes the profile from the token, which is the business's current word on it.
func (s *Service) upsertCustomer(ctx context.Context, tx store.Tx, workspaceID string, claims *identity.Claims, now time.Time) (store.Customer, error) {
	var c store.Customer
	var err error
	if claims.Subject != "" {
		c, err = tx.CustomerByExternalID(ctx, workspaceID, claims.Subject)
	} else {
		c, err = tx.CustomerByEmail(ctx, workspaceID, claims.Email)
	}
	if isNotFound(err) {
		c = store.Customer{
			ID: newID("cu_"), WorkspaceID: workspaceID, ExternalID: claims.Subject, Email: claims.Email,
			Name: claims.Name, FirstName: claims.FirstName, Phone: claims.Phone, Locale: claims.Locale, CreatedAt: now, UpdatedAt: now,
			FirstVerifiedAt: now,
		}
		if claims.Attributes != nil {
			c.Attributes = *claims.Attributes
		}
		if err := tx.CreateCustomer(ctx, &c); err != nil {
			return c, err
		}
		// The customer's first verified login (webhooks.go).
		return c, s.webhookCustomerVerified(ctx, tx, c)
	}
	if err != nil {
		return c, err
	}
	changed := false
	set := func(field *string, v string) {
		if v != "" && *field != v {
			*field, changed = v, true
		}
	}
	set(&c.Email, claims.Email)
	set(&c.Name, claims.Name)
	set(&c.FirstName, claims.FirstName)
	set(&c.Phone, claims.Phone)
	set(&c.Locale, claims.Locale) // the language emails to them are written in (mailtext.go)
	// A token that carries attributes states the whole set (an empty object clears it); one without the
	// claim leaves the set as it was, so a token from the customers API need not repeat them.
	if claims.Attributes != nil && *claims.Attributes != c.Attributes {
		c.Attributes, changed = *claims.Attributes, true
	}
	// A customer the customers API created has not logged in yet: this is their first verified login.
	// The row is read and written in this transaction, so two first logins at once announce it once
	// (SQLite has one writer; PostgreSQL's serializable transactions retry the loser, which then sees
	// the time set).
	first := c.FirstVerifiedAt.IsZero()
	if first {
		c.FirstVerifiedAt, changed = now, true
	}
	if !changed {
		return c, nil
	}
	c.UpdatedAt = now
	if err := tx.UpdateCustomer(ctx, &c); err != nil {
		return c, err
	}
	if first {
		return c, s.webhookCustomerVerified(ctx, tx, c)
	}
	return c, nil
}

// Logout revokes the visitor's session and returns a fresh anonymous one that sees nothing of the
// previous user (rule 9).
func (s *Service) Logout(ctx context.Context, v *Visitor) (string, *Visitor, error) {
	old := v.Session
	var token string
	var fresh store.Session
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		if err := s.noteLogout(ctx, tx, out, v); err != nil {
			return err
		}
		var err error
		token, fresh, err = s.replaceSession(ctx, tx, out, old, "logged_out")
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return token, &Visitor{Session: fresh, Workspace: v.Workspace}, nil
}

// noteLogout records "logged out" on the visitor's open conversation.
func (s *Service) noteLogout(ctx context.Context, tx store.Tx, out *outbox, v *Visitor) error {
	conv, err := tx.OpenConversation(ctx, v.Owner())
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	return s.addEvent(ctx, tx, out, conv, "logged_out", map[string]string{"session_id": v.Session.ID})
}

// LogoutCustomer revokes every live session of a verified customer — the business's back end saw them
// log out — and returns how many ended. Their open sockets receive session_ended. Login tokens issued
// until now are refused from now on, so a token signed before the logout cannot sign the customer
// back in.
func (s *Service) LogoutCustomer(ctx context.Context, workspaceID, customerID string) (int, error) {
	var n int
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		n = 0
		c, err := tx.Customer(ctx, customerID)
		if err != nil || c.WorkspaceID != workspaceID {
			return problem.NotFound("customer_not_found", "no customer %q", customerID)
		}
		now := s.clock()
		c.LoggedOutAt = now
		if err := tx.UpdateCustomer(ctx, &c); err != nil {
			return err
		}
		ids, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: workspaceID, CustomerID: customerID}, now)
		if err != nil {
			return err
		}
		endSessions(out, ids, ReasonRevoked)
		n = len(ids)
		return nil
	})
	return n, err
}

// tokenIssuedBeforeLogout refuses a login token issued at or before the customer's logout from every
// device: it may have been handed out before the business ended the customer's sessions.
func tokenIssuedBeforeLogout(iat, logout time.Time) *problem.Error {
	return problem.New(http.StatusUnauthorized, "token_revoked",
		"the token was issued at %s, not after this customer was logged out of every device (%s); sign a new token for this login",
		iat.UTC().Format(time.RFC3339Nano), logout.UTC().Format(time.RFC3339Nano))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
