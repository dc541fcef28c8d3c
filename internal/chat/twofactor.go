package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Two-factor sign-in for console agents: time-based one-time passwords (RFC 6238) as authenticator
// apps make them — HMAC-SHA1, six digits, a 30-second step — and ten single-use recovery codes for a
// lost phone. The secret is sealed with the master key; each code is accepted once (the agent's last
// accepted step only moves forward, in the store, so two instances cannot both take one code); only
// the hashes of recovery codes are kept. The console throttles wrong codes (console.Limits).

// TOTP parameters every authenticator app understands. The step and skew are in totpOpts.
const (
	totpPeriod     = 30
	totpSecretSize = 20 // bytes: 160 bits, the HMAC-SHA1 key size RFC 4226 recommends
	// RecoveryCodeCount recovery codes are made at enrolment and each regeneration.
	RecoveryCodeCount = 10
	// recoveryCodeChars: base32 characters of a recovery code, 60 bits (see newRecoveryCodes).
	recoveryCodeChars = 12
)

// totpOpts are the code parameters. A skew of one step accepts the code just before or after the
// current one, for a phone's clock a little off and the seconds it takes to type.
var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Audit actions of two-factor sign-in.
const (
	Audit2FAEnrolled    = "2fa.enrolled"
	Audit2FADisabled    = "2fa.disabled"
	Audit2FARegenerated = "2fa.recovery_codes_regenerated"
	Audit2FAReset       = "2fa.reset"
)

// How a second factor was provided, for CompleteAgentSession and the audit trail.
const (
	SecondFactorTOTP     = "totp"
	SecondFactorRecovery = "recovery_code"
	SecondFactorEnrolled = "enrolled"
)

func secondFactorFailed(format string, args ...any) *problem.Error {
	return problem.New(http.StatusUnauthorized, "second_factor_failed", format, args...)
}

func twoFactorRequired() *problem.Error {
	return problem.New(http.StatusForbidden, "two_factor_required",
		"this workspace requires two-factor sign-in; it cannot be turned off (an administrator can reset it with the command line)")
}

// totpLabel binds a sealed TOTP secret to its agent: copied into another agent's row, it does not open.
func totpLabel(agentID string) string { return "totp/" + agentID }

// TOTPEnrolment is what an agent needs to add Parley to an authenticator app.
type TOTPEnrolment struct {
	URL    string // the otpauth:// URL the QR code holds
	Secret string // the base32 secret in groups of four, to type in instead
	QR     []byte // a PNG of the QR code, made here (no outside service sees the secret)
}

// TwoFactorStatus is what an agent's two-factor page shows.
type TwoFactorStatus struct {
	Enabled   bool
	EnabledAt time.Time
	Enrolling bool // a secret was made but no code has confirmed it yet
	CodesLeft int  // unused recovery codes
	Required  bool // the workspace requires two-factor sign-in
}

// TwoFactor returns the agent's two-factor status.
func (s *Service) TwoFactor(ctx context.Context, agentID string) (TwoFactorStatus, error) {
	a, ws, err := s.agentAndWorkspace(ctx, agentID)
	if err != nil {
		return TwoFactorStatus{}, err
	}
	st := TwoFactorStatus{Enabled: !a.TOTPEnabledAt.IsZero(), EnabledAt: a.TOTPEnabledAt, Required: ws.Settings.Require2FA,
		Enrolling: a.TOTPEnabledAt.IsZero() && len(a.TOTPSecret) > 0}
	if st.Enabled {
		if st.CodesLeft, err = s.store.RecoveryCodesLeft(ctx, agentID); err != nil {
			return TwoFactorStatus{}, err
		}
	}
	return st, nil
}

func (s *Service) agentAndWorkspace(ctx context.Context, agentID string) (store.Agent, store.Workspace, error) {
	a, err := s.store.Agent(ctx, agentID)
	if isNotFound(err) {
		return store.Agent{}, store.Workspace{}, problem.NotFound("agent_not_found", "no agent %q", agentID)
	}
	if err != nil {
		return store.Agent{}, store.Workspace{}, err
	}
	ws, err := s.store.Workspace(ctx, a.WorkspaceID)
	return a, ws, err
}

// BeginTOTPEnrolment makes a new secret for the agent and returns what their authenticator app needs.
// Until a code confirms it (ConfirmTOTPEnrolment) it signs nothing in; beginning again replaces it. An
// agent with two-factor on turns it off first.
func (s *Service) BeginTOTPEnrolment(ctx context.Context, agentID string) (TOTPEnrolment, error) {
	var key *otp.Key
	err := s.store.Update(ctx, func(tx store.Tx) error {
		a, err := tx.Agent(ctx, agentID)
		if err != nil {
			return err
		}
		if !a.TOTPEnabledAt.IsZero() {
			return conflict("two_factor_enabled", "two-factor sign-in is on already; turn it off first to set up another app")
		}
		ws, err := tx.Workspace(ctx, a.WorkspaceID)
		if err != nil {
			return err
		}
		if key, err = newTOTPKey(ws, a, nil); err != nil {
			return err
		}
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret())
		if err != nil {
			return err
		}
		a.TOTPSecret = s.box.Seal(secret, totpLabel(a.ID))
		a.UpdatedAt = s.clock()
		return tx.UpdateAgent(ctx, &a)
	})
	if isNotFound(err) {
		return TOTPEnrolment{}, problem.NotFound("agent_not_found", "no agent %q", agentID)
	}
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return enrolmentOf(key)
}

// TOTPEnrolmentInProgress returns the enrolment begun and not yet confirmed, to show it again (after a
// wrong first code); 404 enrolment_not_started when there is none.
func (s *Service) TOTPEnrolmentInProgress(ctx context.Context, agentID string) (TOTPEnrolment, error) {
	a, ws, err := s.agentAndWorkspace(ctx, agentID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if !a.TOTPEnabledAt.IsZero() || len(a.TOTPSecret) == 0 {
		return TOTPEnrolment{}, problem.NotFound("enrolment_not_started", "no two-factor set-up is in progress; start it again")
	}
	secret, err := s.box.Open(a.TOTPSecret, totpLabel(a.ID))
	if err != nil {
		return TOTPEnrolment{}, err
	}
	key, err := newTOTPKey(ws, a, secret)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return enrolmentOf(key)
}

// newTOTPKey makes the key of an agent's authenticator entry: "Parley (workspace)" and their email, as
// the app lists it. secret nil makes a new one.
func newTOTPKey(ws store.Workspace, a store.Agent, secret []byte) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: "Parley (" + ws.Name + ")", AccountName: a.Email,
		Period: totpPeriod, SecretSize: totpSecretSize, Secret: secret, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
}

func enrolmentOf(key *otp.Key) (TOTPEnrolment, error) {
	img, err := key.Image(200, 200) // the size the page shows it at, pixel for pixel
	if err != nil {
		return TOTPEnrolment{}, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{URL: key.URL(), Secret: group(key.Secret(), 4), QR: b.Bytes()}, nil
}

// group writes s in space-separated groups of n characters, for reading aloud or typing.
func group(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+n, len(s))])
	}
	return b.String()
}

// ConfirmTOTPEnrolment turns two-factor sign-in on with the first code of the app set up by
// BeginTOTPEnrolment, and returns the agent's recovery codes: shown this once, never again.
func (s *Service) ConfirmTOTPEnrolment(ctx context.Context, agentID, code string) ([]string, error) {
	codes, hashes := newRecoveryCodes()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		a, err := tx.Agent(ctx, agentID)
		if err != nil {
			return err
		}
		if !a.TOTPEnabledAt.IsZero() {
			return conflict("two_factor_enabled", "two-factor sign-in is on already")
		}
		if len(a.TOTPSecret) == 0 {
			return problem.NotFound("enrolment_not_started", "no two-factor set-up is in progress; start it again")
		}
		if err := s.useTOTPCode(ctx, tx, a, code); err != nil {
			return err
		}
		now := s.clock()
		a.TOTPEnabledAt, a.UpdatedAt = now, now
		if err := tx.UpdateAgent(ctx, &a); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, a.ID, hashes, now); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, a.WorkspaceID, actorOr(ctx, a), Audit2FAEnrolled, a.ID, "", addrOf(ctx))
	})
	if err != nil {
		return nil, s.codeRefused(ctx, agentID, "totp", "enrol", err)
	}
	return codes, nil
}

// actorOr is the context's actor, or the agent when there is none (a sign-in before the session exists).
func actorOr(ctx context.Context, a store.Agent) string {
	if actor := actorOf(ctx); actor != "system" {
		return actor
	}
	return AgentActor(a)
}

// useTOTPCode accepts code if it is the agent's current one (give or take a step) of a step later than
// the last accepted, and records its step so it is never accepted again, here or on another instance.
func (s *Service) useTOTPCode(ctx context.Context, tx store.Tx, a store.Agent, code string) error {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != int(otp.DigitsSix) || strings.Trim(code, "0123456789") != "" {
		return secondFactorFailed("enter the %d-digit code your authenticator app shows", otp.DigitsSix.Length())
	}
	secret, err := s.box.Open(a.TOTPSecret, totpLabel(a.ID))
	if err != nil {
		return err
	}
	step, ok, err := matchTOTP(secret, code, s.clock())
	if err != nil {
		return err
	}
	if !ok {
		return secondFactorFailed("that code is not right; check the time on your phone, and enter the code your app shows now")
	}
	fresh, err := tx.UseTOTPStep(ctx, a.ID, step)
	if err != nil {
		return err
	}
	if !fresh {
		return secondFactorFailed("that code was used already; wait for your app to show the next one")
	}
	return nil
}

// matchTOTP returns the time step whose code is code, among the current step and its neighbours
// (totpOpts.Skew). The library computes the codes; only the choice of step, which replay protection
// needs and totp.ValidateCustom does not report, is made here.
func matchTOTP(secret []byte, code string, now time.Time) (int64, bool, error) {
	b32 := encodeSecret(secret)
	current := now.Unix() / totpPeriod
	found, match := int64(0), false
	for step := current - int64(totpOpts.Skew); step <= current+int64(totpOpts.Skew); step++ {
		want, err := totp.GenerateCodeCustom(b32, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false, err
		}
		// Every candidate is compared, in constant time, so the time taken says nothing of which matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !match {
			found, match = step, true
		}
	}
	return found, match, nil
}

// encodeSecret is a TOTP secret as authenticator apps take it: base32 without padding.
func encodeSecret(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// newRecoveryCodes makes RecoveryCodeCount codes and their hashes. Each is 12 base32 characters from
// crypto/rand (60 bits), shown in two groups of six. A fast hash (SHA-256) suffices where a password
// needs a slow one: a password has little entropy and a slow hash is what stands between a stolen
// database and it, whereas 2^60 random guesses per code are out of reach offline, each code works once,
// online guesses are throttled, and a code is worth nothing without the agent's password anyway.
func newRecoveryCodes() ([]string, [][]byte) {
	codes, hashes := make([]string, RecoveryCodeCount), make([][]byte, RecoveryCodeCount)
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for i := range codes {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
		c := enc.EncodeToString(b)[:recoveryCodeChars]
		codes[i] = strings.ToLower(c[:6] + "-" + c[6:])
		hashes[i] = recoveryHash(c)
	}
	return codes, hashes
}

// normalRecoveryCode is a typed recovery code as it was hashed: upper case, without spaces or dashes.
func normalRecoveryCode(code string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(code))
}

func recoveryHash(normal string) []byte {
	h := sha256.Sum256([]byte("parley recovery code\x00" + normal))
	return h[:]
}

// isRecoveryCode tells a recovery code from an app's code by its shape, so one field takes either.
func isRecoveryCode(code string) bool {
	n := normalRecoveryCode(code)
	return len(n) == recoveryCodeChars && strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == ""
}

// VerifySecondFactor completes a sign-in that owes a second factor with a code from the agent's app or
// one of their recovery codes, and returns the new session's token (CompleteAgentSession). A wrong,
// reused or malformed code is the 401 problem second_factor_failed, audited as a failed sign-in.
func (s *Service) VerifySecondFactor(ctx context.Context, pendingToken, code string, info SignInInfo) (string, store.AgentSession, error) {
	sess, a, err := s.PendingAgentSession(ctx, pendingToken)
	if err != nil {
		return "", store.AgentSession{}, err
	}
	if sess.Stage != store.AgentStageTOTP {
		return "", store.AgentSession{}, conflict("not_pending", "this sign-in owes no two-factor code")
	}
	how := SecondFactorTOTP
	if isRecoveryCode(code) {
		how = SecondFactorRecovery
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		fresh, err := tx.Agent(ctx, a.ID)
		if err != nil {
			return err
		}
		if fresh.TOTPEnabledAt.IsZero() {
			// Reset since the password was accepted: nothing to check the code against.
			return secondFactorFailed("two-factor sign-in was reset for this account; sign in again")
		}
		if how == SecondFactorTOTP {
			return s.useTOTPCode(ctx, tx, fresh, code)
		}
		ok, err := tx.UseRecoveryCode(ctx, a.ID, recoveryHash(normalRecoveryCode(code)), s.clock())
		if err != nil {
			return err
		}
		if !ok {
			return secondFactorFailed("that recovery code is not one of yours, or was used already")
		}
		return nil
	})
	if err != nil {
		if p, ok := problem.As(err); ok && p.Code == "second_factor_failed" {
			s.auditAgent(ctx, a, AuditSignInFailed, "method="+how, info)
		}
		return "", store.AgentSession{}, err
	}
	// The code is spent even if completing fails below: the agent enters the next one.
	return s.CompleteAgentSession(ctx, pendingToken, how)
}

// CompleteEnrolment completes a sign-in that had to enrol (the workspace requires two-factor), once the
// agent has: the recovery codes were shown and they continue.
func (s *Service) CompleteEnrolment(ctx context.Context, pendingToken string) (string, store.AgentSession, error) {
	sess, a, err := s.PendingAgentSession(ctx, pendingToken)
	if err != nil {
		return "", store.AgentSession{}, err
	}
	if sess.Stage != store.AgentStageEnrol {
		return "", store.AgentSession{}, conflict("not_pending", "this sign-in owes no enrolment")
	}
	if a.TOTPEnabledAt.IsZero() {
		return "", store.AgentSession{}, problem.New(http.StatusForbidden, "two_factor_required",
			"set up two-factor sign-in first: this workspace requires it")
	}
	return s.CompleteAgentSession(ctx, pendingToken, SecondFactorEnrolled)
}

// RegenerateRecoveryCodes replaces the agent's recovery codes, used or not, with new ones, shown this
// once. It takes a current code from their app: whoever has the session alone cannot mint codes.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, agentID, code string) ([]string, error) {
	codes, hashes := newRecoveryCodes()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		a, err := tx.Agent(ctx, agentID)
		if err != nil {
			return err
		}
		if a.TOTPEnabledAt.IsZero() {
			return conflict("two_factor_off", "two-factor sign-in is off; set it up first")
		}
		if err := s.useTOTPCode(ctx, tx, a, code); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, a.ID, hashes, s.clock()); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, a.WorkspaceID, actorOr(ctx, a), Audit2FARegenerated, a.ID, "", addrOf(ctx))
	})
	if err != nil {
		return nil, s.codeRefused(ctx, agentID, "totp", "regenerate", err)
	}
	return codes, nil
}

// DisableTOTP turns the agent's two-factor sign-in off (or abandons a set-up in progress), given a
// current code from their app or their password. A workspace requiring two-factor refuses it (403
// two_factor_required).
func (s *Service) DisableTOTP(ctx context.Context, agentID, code, pw string) error {
	a, ws, err := s.agentAndWorkspace(ctx, agentID)
	if err != nil {
		return err
	}
	enabled := !a.TOTPEnabledAt.IsZero()
	if !enabled && len(a.TOTPSecret) == 0 {
		return conflict("two_factor_off", "two-factor sign-in is off already")
	}
	if enabled && ws.Settings.Require2FA {
		return twoFactorRequired()
	}
	byCode := strings.TrimSpace(code) != ""
	if enabled && !byCode {
		// The password is checked before the transaction: a slow hash must not hold the writer.
		if err := s.checkPassword(ctx, a, pw); err != nil {
			return s.codeRefused(ctx, agentID, "password", "disable", err)
		}
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		a, err := tx.Agent(ctx, agentID)
		if err != nil {
			return err
		}
		if enabled != !a.TOTPEnabledAt.IsZero() {
			return conflict("two_factor_changed", "two-factor sign-in changed meanwhile; reload the page")
		}
		if enabled && byCode {
			if err := s.useTOTPCode(ctx, tx, a, code); err != nil {
				return err
			}
		}
		now := s.clock()
		a.TOTPSecret, a.TOTPEnabledAt, a.UpdatedAt = nil, time.Time{}, now
		if err := tx.UpdateAgent(ctx, &a); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, a.ID, nil, now); err != nil {
			return err
		}
		if !enabled {
			return nil // a set-up abandoned: nothing was on
		}
		how := "totp"
		if !byCode {
			how = "password"
		}
		return s.auditIn(ctx, tx, a.WorkspaceID, actorOr(ctx, a), Audit2FADisabled, a.ID, "confirmed_by="+how, addrOf(ctx))
	})
	return s.codeRefused(ctx, agentID, "totp", "disable", err)
}

// checkPassword checks the agent's password (a has its hash, as the store returns it).
func (s *Service) checkPassword(ctx context.Context, a store.Agent, pw string) error {
	if pw == "" || len(pw) > MaxPasswordBytes || a.PasswordHash == "" {
		return secondFactorFailed("enter a code from your authenticator app, or your password")
	}
	ok, err := s.hasher.Verify(ctx, pw, a.PasswordHash)
	if errors.Is(err, password.ErrMalformed) || errors.Is(err, password.ErrUnsupported) {
		s.log.Error("agent password hash unusable; reset the agent's password", "agent", a.ID, "err", err)
		ok, err = false, nil
	}
	if err != nil {
		return err
	}
	if !ok {
		return secondFactorFailed("that password is not right")
	}
	return nil
}

// codeRefused audits a wrong code given on an agent's own two-factor page, as a failed sign-in would
// be, and passes err on.
func (s *Service) codeRefused(ctx context.Context, agentID, method, what string, err error) error {
	if isNotFound(err) {
		return problem.NotFound("agent_not_found", "no agent %q", agentID)
	}
	if p, ok := problem.As(err); ok && p.Code == "second_factor_failed" {
		if a, aerr := s.store.Agent(ctx, agentID); aerr == nil {
			s.auditAgent(ctx, a, AuditSignInFailed, "method="+method+" during="+what, SignInInfo{Addr: addrOf(ctx)})
		}
	}
	return err
}

// ResetTOTP turns an agent's two-factor sign-in off for them when they lost both their phone and their
// recovery codes (parley agent reset-2fa), and ends their console sessions: they sign in again with
// their password, and enrol again if the workspace requires it. It returns the agent and how many
// sessions ended.
func (s *Service) ResetTOTP(ctx context.Context, workspaceID, email string) (store.Agent, int, error) {
	canon, err := identity.CanonicalEmail(email)
	if err != nil {
		return store.Agent{}, 0, problem.InvalidField("email", "%s", err)
	}
	var a store.Agent
	ended := 0
	err = s.update(ctx, func(tx store.Tx, out *outbox) error {
		if a, err = tx.AgentByEmail(ctx, canon); err != nil || a.WorkspaceID != workspaceID {
			if err == nil || isNotFound(err) {
				return problem.NotFound("agent_not_found", "no agent with email %q in workspace %q", canon, workspaceID)
			}
			return err
		}
		now := s.clock()
		a.TOTPSecret, a.TOTPEnabledAt, a.UpdatedAt = nil, time.Time{}, now
		if err := tx.UpdateAgent(ctx, &a); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, a.ID, nil, now); err != nil {
			return err
		}
		if ended, err = tx.RevokeAgentSessions(ctx, a.ID, now); err != nil {
			return err
		}
		if ended > 0 {
			out.add(realtime.Event{Type: EventAgentSessionEnded, Data: a.ID}, AgentTopic(a.ID))
		}
		return s.audit(ctx, tx, a.WorkspaceID, Audit2FAReset, a.ID, "sessions_ended="+strconv.Itoa(ended))
	})
	a.PasswordHash = ""
	return a, ended, err
}
