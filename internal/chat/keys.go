package chat

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store"
)

// Signing keys: HMAC secrets Parley generates, public keys and JWKS URLs the admin registers, and the
// server's own key for the login tokens the customers API issues. Secrets are sealed with the master key
// before they reach the store, and opened only to verify or sign.

// actorKey carries who is acting, for the audit trail.
type actorKey struct{}

// WithActor names who performs the changes made with ctx — "cli", "agent ag_… (email)" — for the audit
// trail. Without it, changes are recorded as made by "system".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// AgentActor names an agent in the audit trail.
func AgentActor(a store.Agent) string { return fmt.Sprintf("agent %s (%s)", a.ID, a.Email) }

// addrKey carries the client address of the request making changes, for the audit trail.
type addrKey struct{}

// WithClientAddr records the address of the client on whose request the changes made with ctx happen.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addrKey{}, addr)
}

func addrOf(ctx context.Context) string {
	a, _ := ctx.Value(addrKey{}).(string)
	return a
}

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// audit records a change to a workspace's keys inside the transaction that makes it, so the trail holds
// exactly what happened.
func (s *Service) audit(ctx context.Context, tx store.Tx, workspaceID, action, target, detail string) error {
	return s.auditIn(ctx, tx, workspaceID, actorOf(ctx), action, target, detail, addrOf(ctx))
}

// AuditEvents returns the workspace's most recent key and API key changes, newest first.
func (s *Service) AuditEvents(ctx context.Context, workspaceID string, limit int) ([]store.AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	return s.store.AuditEvents(ctx, workspaceID, limit)
}

// secretLabel binds a sealed secret to its row: copied into another key's row, it does not open.
func secretLabel(workspaceID, kid string) string { return "signing_key/" + workspaceID + "/" + kid }

// NewKey is a freshly created signing key; Secret is shown once and never again.
type NewKey struct {
	ID     string
	Alg    string
	Secret string
}

func workspaceMissing(id string) *problem.Error {
	return problem.NotFound("workspace_not_found", "no workspace %q", id)
}

// requireWorkspace fails with workspace_not_found when the workspace does not exist.
func requireWorkspace(ctx context.Context, r store.Reader, id string) error {
	if _, err := r.Workspace(ctx, id); err != nil {
		if isNotFound(err) {
			return workspaceMissing(id)
		}
		return err
	}
	return nil
}

// CreateKey generates an HMAC secret for the workspace.
func (s *Service) CreateKey(ctx context.Context, workspaceID, alg string) (NewKey, error) {
	return s.createKey(ctx, workspaceID, alg, "key.created", "")
}

func (s *Service) createKey(ctx context.Context, workspaceID, alg, action, detail string) (NewKey, error) {
	if alg == "" {
		alg = identity.HS256
	}
	if !identity.IsHMAC(alg) {
		return NewKey{}, problem.InvalidField("alg", "must be HS256, HS384 or HS512 for a secret Parley generates; register a public key for %s", alg)
	}
	secret, err := identity.GenerateSecret(alg)
	if err != nil {
		return NewKey{}, err
	}
	k := store.SigningKey{WorkspaceID: workspaceID, ID: identity.NewKeyID(), Kind: store.KeyHMAC, Alg: alg, CreatedAt: s.clock()}
	k.Secret = s.box.Seal([]byte(secret), secretLabel(workspaceID, k.ID))
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireWorkspace(ctx, tx, workspaceID); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, &k); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, action, k.ID, strings.TrimSpace(alg+" "+detail))
	})
	if err != nil {
		return NewKey{}, err
	}
	return NewKey{ID: k.ID, Alg: k.Alg, Secret: secret}, nil
}

// RotateKey creates a new key with the algorithm of an existing HMAC key. The old key keeps verifying
// tokens until it is revoked, so the business can switch its back end over without a gap.
func (s *Service) RotateKey(ctx context.Context, workspaceID, kid string) (NewKey, error) {
	keys, err := s.Keys(ctx, workspaceID)
	if err != nil {
		return NewKey{}, err
	}
	for _, k := range keys {
		if k.ID != kid || !k.RevokedAt.IsZero() {
			continue
		}
		if k.Kind != store.KeyHMAC {
			return NewKey{}, conflict("key_not_rotatable", "key %q is not a secret Parley generated: register the new public key (or publish it in your JWKS), then revoke this one", kid)
		}
		return s.createKey(ctx, workspaceID, k.Alg, "key.rotated", "replaces "+kid)
	}
	return NewKey{}, problem.NotFound("key_not_found", "no active key %q", kid)
}

// Keys lists a workspace's signing keys, secrets removed.
func (s *Service) Keys(ctx context.Context, workspaceID string) ([]store.SigningKey, error) {
	if _, err := s.Workspace(ctx, workspaceID); err != nil {
		return nil, err
	}
	keys, err := s.store.SigningKeys(ctx, workspaceID)
	for i := range keys {
		keys[i].Secret = nil
	}
	return keys, err
}

// RevokeKey stops a key from verifying tokens, at once, and ends every widget session it verified in
// the same transaction: revoking is the answer to a leaked key, so what the key vouched for goes with
// it. It returns how many sessions ended; their sockets receive session_ended with reason key_revoked.
func (s *Service) RevokeKey(ctx context.Context, workspaceID, kid string) (int, error) {
	var ended int
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		now := s.clock()
		err := tx.RevokeSigningKey(ctx, workspaceID, kid, now)
		if isNotFound(err) {
			return problem.NotFound("key_not_found", "no active key %q in workspace %q", kid, workspaceID)
		}
		if err != nil {
			return err
		}
		ids, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: workspaceID, KeySource: kid}, now)
		if err != nil {
			return err
		}
		ended = len(ids)
		endSessions(out, ids, ReasonKeyRevoked)
		return s.audit(ctx, tx, workspaceID, "key.revoked", kid, sessionsEndedDetail(ended))
	})
	return ended, err
}

// EndWorkspaceSessions ends every live widget session of a workspace — an administrator's emergency
// stop — and returns how many ended. Every browser continues with a fresh anonymous session.
func (s *Service) EndWorkspaceSessions(ctx context.Context, workspaceID string) (int, error) {
	var ended int
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		if err := requireWorkspace(ctx, tx, workspaceID); err != nil {
			return err
		}
		ids, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: workspaceID}, s.clock())
		if err != nil {
			return err
		}
		ended = len(ids)
		endSessions(out, ids, ReasonRevoked)
		return s.audit(ctx, tx, workspaceID, "sessions.ended_all", workspaceID, sessionsEndedDetail(ended))
	})
	return ended, err
}

func sessionsEndedDetail(n int) string {
	if n == 1 {
		return "1 widget session ended"
	}
	return fmt.Sprintf("%d widget sessions ended", n)
}

// maxPublicKeySize bounds a pasted PEM or JWK: a 4096-bit RSA certificate chain fits easily.
const maxPublicKeySize = 16 << 10

// RegisterPublicKey adds a public key (PEM or JWK) that verifies tokens the business signs with its own
// private key. kid may be empty: a JWK's own kid is used, else one is generated.
func (s *Service) RegisterPublicKey(ctx context.Context, workspaceID, alg, kid string, data []byte) (store.SigningKey, error) {
	if len(data) > maxPublicKeySize {
		return store.SigningKey{}, problem.InvalidField("public_key", "is %d bytes; at most %d", len(data), maxPublicKeySize)
	}
	if strings.TrimSpace(string(data)) == "" {
		return store.SigningKey{}, problem.InvalidField("public_key", "is empty: paste a PEM public key or a JWK")
	}
	if alg != "" && !identity.IsPublicKeyAlg(alg) {
		return store.SigningKey{}, problem.InvalidField("alg", "must be one of %s for a public key", strings.Join(identity.PublicKeyAlgs(), ", "))
	}
	pk, err := identity.ParsePublicKey(data, alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	pemText, err := identity.MarshalPublicKeyPEM(pk.Key)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid = strings.TrimSpace(kid)
	if kid == "" {
		kid = pk.Kid
	}
	if kid == "" {
		kid = identity.NewKeyID()
	}
	if err := checkKid(kid); err != nil {
		return store.SigningKey{}, err
	}
	k := store.SigningKey{WorkspaceID: workspaceID, ID: kid, Kind: store.KeyPublic, Alg: pk.Alg, PublicKey: pemText, CreatedAt: s.clock()}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireWorkspace(ctx, tx, workspaceID); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, &k); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("key_exists", "this workspace already has a key %q; pick another kid", kid)
			}
			return err
		}
		return s.audit(ctx, tx, workspaceID, "key.registered", kid, pk.Alg+" public key "+pk.Fingerprint())
	})
	return k, err
}

func checkKid(kid string) error {
	if len(kid) > 128 {
		return problem.InvalidField("kid", "is longer than 128 characters")
	}
	if kid == "." || kid == ".." {
		return problem.InvalidField("kid", "cannot be %q: it would not survive in a URL path", kid)
	}
	for _, r := range kid {
		if r < 0x21 || r > 0x7e {
			return problem.InvalidField("kid", "may contain only printable ASCII without spaces")
		}
	}
	return nil
}

// AddJWKS configures a JWKS URL whose keys verify the workspace's tokens. The set is fetched once right
// away, so a mistake shows now rather than at the first customer's login.
//
// Whether the URL may be on a private, loopback or link-local address is the operator's decision for the
// whole server (chat.Config.JWKS's allow-list, parley serve --jwks-allow-networks), not the caller's:
// an admin who may set this URL must not be able to make the server fetch its internal network. For the
// same reason, a failed fetch is described by kind only, never by what the remote server answered.
func (s *Service) AddJWKS(ctx context.Context, workspaceID, rawURL string) (store.SigningKey, int, error) {
	rawURL = strings.TrimSpace(rawURL)
	if err := s.jwks.CheckURL(rawURL); err != nil {
		return store.SigningKey{}, 0, err
	}
	if err := requireWorkspace(ctx, s.store, workspaceID); err != nil {
		return store.SigningKey{}, 0, err
	}
	src := identity.JWKSSource{URL: rawURL}
	fetched, err := s.jwks.Keys(ctx, src)
	if err != nil {
		// A FetchError says what kind of failure it was and nothing the remote server sent; anything else
		// (the caller gave up) is said in general terms too.
		msg := "could not use the JWKS: the JWKS URL gave no usable answer in time"
		if fe, ok := errors.AsType[*identity.FetchError](err); ok {
			msg = "could not use the JWKS: " + fe.Reason
		}
		return store.SigningKey{}, 0, problem.New(http.StatusUnprocessableEntity, "jwks_unavailable", "%s", msg)
	}
	if len(fetched) == 0 {
		return store.SigningKey{}, 0, problem.New(http.StatusUnprocessableEntity, "jwks_unavailable", "the JWKS at %s holds no usable signing key (each needs a kid, an alg Parley supports, and no private parts)", rawURL)
	}
	// AllowPrivate is left false: it granted private addresses before the operator's allow-list did, and
	// no longer grants anything.
	k := store.SigningKey{WorkspaceID: workspaceID, ID: "jwks_" + newID("")[:8], Kind: store.KeyJWKS, JWKSURL: rawURL, CreatedAt: s.clock()}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateSigningKey(ctx, &k); err != nil {
			return err
		}
		return s.audit(ctx, tx, workspaceID, "jwks.added", k.ID, rawURL)
	})
	return k, len(fetched), err
}

// keyRing is what verifies one workspace's tokens: its stored keys, ready for package identity, and its
// JWKS sources.
type keyRing struct {
	keys    []identity.Key
	sources []identity.JWKSSource
}

// parsedKeys caches parsed public keys by PEM text: parsing an RSA key costs more than verifying with it.
type parsedKeys struct {
	mu sync.Mutex
	m  map[string]crypto.PublicKey
}

func (p *parsedKeys) get(pemText, alg string) (crypto.PublicKey, error) {
	p.mu.Lock()
	k, ok := p.m[alg+"\n"+pemText]
	p.mu.Unlock()
	if ok {
		return k, nil
	}
	pk, err := identity.ParsePublicKey([]byte(pemText), alg)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.m == nil || len(p.m) > 10000 {
		p.m = make(map[string]crypto.PublicKey)
	}
	p.m[alg+"\n"+pemText] = pk.Key
	p.mu.Unlock()
	return pk.Key, nil
}

// ring turns stored keys into verification keys, opening sealed secrets. A key that cannot be opened or
// parsed is left out and logged: it is the operator's problem (a wrong master key), not the token's.
func (s *Service) ring(keys []store.SigningKey) keyRing {
	var r keyRing
	for _, k := range keys {
		ik := identity.Key{ID: k.ID, Alg: k.Alg, RevokedAt: k.RevokedAt}
		switch k.Kind {
		case store.KeyHMAC, "":
			secret, err := s.openSecret(k)
			if err != nil {
				s.log.Error("cannot open a signing key's secret", "workspace", k.WorkspaceID, "kid", k.ID, "err", err)
				continue
			}
			ik.Secret = secret
		case store.KeyPublic, store.KeyServer:
			pub, err := s.parsed.get(k.PublicKey, k.Alg)
			if err != nil {
				s.log.Error("cannot parse a stored public key", "workspace", k.WorkspaceID, "kid", k.ID, "err", err)
				continue
			}
			ik.Public = pub
		case store.KeyJWKS:
			if k.RevokedAt.IsZero() {
				// k.AllowPrivate is not passed on: private addresses are the operator's allow-list's alone.
				r.sources = append(r.sources, identity.JWKSSource{URL: k.JWKSURL})
			}
			continue
		default:
			continue
		}
		r.keys = append(r.keys, ik)
	}
	return r
}

// openSecret returns a key's secret in the clear. A secret stored before sealing existed (plaintext) is
// returned as is; SealSecrets seals those at startup.
func (s *Service) openSecret(k store.SigningKey) ([]byte, error) {
	if !seal.IsSealed(k.Secret) {
		return k.Secret, nil
	}
	return s.box.Open(k.Secret, secretLabel(k.WorkspaceID, k.ID))
}

// verificationKeys returns the keys that may verify raw: the stored ones and, when the workspace has a
// JWKS, the fetched ones — refetched (rate-limited) when the token names a kid nobody knows yet.
func (s *Service) verificationKeys(ctx context.Context, workspaceID, raw string) ([]identity.Key, []store.SigningKey, error) {
	stored, err := s.store.SigningKeys(ctx, workspaceID)
	if err != nil {
		return nil, nil, err
	}
	r := s.ring(stored)
	if len(r.sources) == 0 {
		return r.keys, stored, nil
	}
	kid := ""
	if tok, err := identity.ParseCompact(raw); err == nil {
		kid = tok.Header.Kid
	} else {
		return r.keys, stored, nil // the token is refused before keys matter
	}
	keys, errs := s.jwks.Collect(ctx, kid, r.keys, r.sources)
	for _, err := range errs {
		s.log.Warn("JWKS fetch failed", "workspace", workspaceID, "err", err)
	}
	return keys, stored, nil
}

// keySource names the stored key that vouches for a verified token: the key itself, or the JWKS
// source a fetched key came from. Revoking it ends the sessions it verified.
func keySource(k identity.Key, stored []store.SigningKey) string {
	if k.Source == "" {
		return k.ID
	}
	for _, sk := range stored {
		if sk.Kind == store.KeyJWKS && sk.JWKSURL == k.Source && sk.RevokedAt.IsZero() {
			return sk.ID
		}
	}
	return k.ID
}

// SealSecrets seals every secret stored in the clear (by a version of Parley before sealing) and checks
// that the master key opens every sealed one, so a wrong PARLEY_MASTER_KEY stops the server at start
// instead of failing logins. It returns how many secrets it sealed.
func (s *Service) SealSecrets(ctx context.Context) (int, error) {
	workspaces, err := s.store.Workspaces(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, w := range workspaces {
		keys, err := s.store.SigningKeys(ctx, w.ID)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if len(k.Secret) == 0 {
				continue
			}
			if seal.IsSealed(k.Secret) {
				if _, err := s.box.Open(k.Secret, secretLabel(k.WorkspaceID, k.ID)); err != nil {
					return n, fmt.Errorf("the master key does not open key %q of workspace %q: run Parley with the PARLEY_MASTER_KEY (or %s file) this database was created with", k.ID, w.ID, seal.FileName)
				}
				continue
			}
			sealed := s.box.Seal(k.Secret, secretLabel(k.WorkspaceID, k.ID))
			if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.SetSigningKeySecret(ctx, k.WorkspaceID, k.ID, sealed) }); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// The server key signs the login tokens the customers API issues. Each workspace gets its own Ed25519
// key on first use; revoking it (like any key) makes the next issue create a fresh one.

// serverKey returns the workspace's active server key and its private key, creating them when needed.
func (s *Service) serverKey(ctx context.Context, workspaceID string) (store.SigningKey, ed25519.PrivateKey, error) {
	find := func(keys []store.SigningKey) (store.SigningKey, bool) {
		for i := len(keys) - 1; i >= 0; i-- {
			if keys[i].Kind == store.KeyServer && keys[i].RevokedAt.IsZero() {
				return keys[i], true
			}
		}
		return store.SigningKey{}, false
	}
	keys, err := s.store.SigningKeys(ctx, workspaceID)
	if err != nil {
		return store.SigningKey{}, nil, err
	}
	k, ok := find(keys)
	if !ok {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return store.SigningKey{}, nil, err
		}
		pemText, err := identity.MarshalPublicKeyPEM(pub)
		if err != nil {
			return store.SigningKey{}, nil, err
		}
		fresh := store.SigningKey{WorkspaceID: workspaceID, ID: "parley_" + newID("")[:10], Kind: store.KeyServer, Alg: identity.EdDSA,
			PublicKey: pemText, CreatedAt: s.clock()}
		fresh.Secret = s.box.Seal(priv.Seed(), secretLabel(workspaceID, fresh.ID))
		err = s.store.Update(ctx, func(tx store.Tx) error {
			// Two issuers racing: the second uses the first's key.
			keys, err := tx.SigningKeys(ctx, workspaceID)
			if err != nil {
				return err
			}
			if existing, ok := find(keys); ok {
				k = existing
				return nil
			}
			if err := tx.CreateSigningKey(ctx, &fresh); err != nil {
				return err
			}
			k = fresh
			return s.audit(ctx, tx, workspaceID, "server_key.created", fresh.ID, "EdDSA key for customers API login tokens")
		})
		if err != nil {
			return store.SigningKey{}, nil, err
		}
	}
	seed, err := s.box.Open(k.Secret, secretLabel(workspaceID, k.ID))
	if err != nil || len(seed) != ed25519.SeedSize {
		return store.SigningKey{}, nil, fmt.Errorf("chat: open server key %q of %s: %v", k.ID, workspaceID, err)
	}
	return k, ed25519.NewKeyFromSeed(seed), nil
}

// LoginTokenLifetime is how long a login token from the customers API stays redeemable (at most the
// workspace's maximum token lifetime).
const LoginTokenLifetime = 5 * time.Minute

// signLoginToken signs a single-use login token for a customer with the workspace's server key. It is
// an ordinary signed login (sub, profile claims, aud, jti), verified by the same code as any other.
func (s *Service) signLoginToken(ctx context.Context, w store.Workspace, c store.Customer) (string, time.Time, error) {
	k, priv, err := s.serverKey(ctx, w.ID)
	if err != nil {
		return "", time.Time{}, err
	}
	lifetime := min(LoginTokenLifetime, MaxLifetime(w.Settings))
	// iat keeps microseconds: a token issued in the same second as, but after, the customer's logout from
	// every device must still be accepted (see tokenIssuedBeforeLogout).
	iat := s.clock()
	exp := iat.Add(lifetime).Truncate(time.Second)
	claims := jwt.MapClaims{"sub": c.ExternalID, "aud": w.ID, "iat": float64(iat.UnixMicro()) / 1e6, "exp": exp.Unix(), "jti": newID("lt_"), "iss": "parley"}
	for name, v := range map[string]string{"email": c.Email, "name": c.Name, "given_name": c.FirstName, "phone": c.Phone} {
		if v != "" {
			claims[name] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = k.ID
	signed, err := tok.SignedString(priv)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("chat: sign login token: %w", err)
	}
	return signed, exp, nil
}
