package chat_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/store"
)

// tfEnv is a workspace with one agent, on a clock the test moves.
type tfEnv struct {
	*agentEnv
	clock *testClock
	agent store.Agent
}

func newTFEnv(t *testing.T) *tfEnv {
	t.Helper()
	// Half-way through a 30-second step, so that moving by whole steps never lands on an edge.
	now := time.Now().UTC().Truncate(30 * time.Second).Add(15 * time.Second)
	clock := &testClock{now: now}
	e := newAgentEnv(t, chat.Config{Passwords: password.NewHasher(2), Now: clock.Now})
	return &tfEnv{agentEnv: e, clock: clock, agent: e.createAgent(t, "ann@acme.example", store.RoleAgent)}
}

// code is what the agent's authenticator app shows now for the secret shown at enrolment.
func (e *tfEnv) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(strings.ReplaceAll(secret, " ", ""), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol sets up two-factor for the agent and returns the secret and the recovery codes; the clock is
// moved to the next step afterwards, so the next code is a fresh one.
func (e *tfEnv) enrol(t *testing.T, agentID string) (string, []string) {
	t.Helper()
	en, err := e.svc.BeginTOTPEnrolment(t.Context(), agentID)
	if err != nil {
		t.Fatalf("BeginTOTPEnrolment: %v", err)
	}
	codes, err := e.svc.ConfirmTOTPEnrolment(t.Context(), agentID, e.code(t, en.Secret))
	if err != nil {
		t.Fatalf("ConfirmTOTPEnrolment: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	return en.Secret, codes
}

func (e *tfEnv) signIn(t *testing.T, email string) (string, store.AgentSession) {
	t.Helper()
	token, _, sess, err := e.svc.StartAgentSession(t.Context(), email, agentPassword, chat.SignInInfo{Addr: "192.0.2.7"})
	if err != nil {
		t.Fatalf("StartAgentSession: %v", err)
	}
	return token, sess
}

func (e *tfEnv) actions(t *testing.T) []string {
	t.Helper()
	events, err := e.svc.AuditEvents(t.Context(), e.ws, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range events {
		out = append(out, ev.Action+" "+ev.Detail)
	}
	return out
}

func hasAction(list []string, prefix string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.HasPrefix(s, prefix) })
}

func TestTOTPEnrolment(t *testing.T) {
	ctx := t.Context()
	e := newTFEnv(t)
	en, err := e.svc.BeginTOTPEnrolment(ctx, e.agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(en.URL)
	if err != nil {
		t.Fatalf("the enrolment URL %q: %v", en.URL, err)
	}
	if key.Issuer() != "Parley (Acme)" || key.AccountName() != "ann@acme.example" || key.Period() != 30 ||
		key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 || key.Secret() != strings.ReplaceAll(en.Secret, " ", "") {
		t.Errorf("enrolment key %s; want issuer Parley (Acme), the agent's email, 30 s, 6 digits, SHA1, the secret shown", en.URL)
	}
	if !strings.HasPrefix(string(en.QR), "\x89PNG") {
		t.Errorf("the QR code is not a PNG")
	}
	stored, _ := e.st.Agent(ctx, e.agent.ID)
	if len(stored.TOTPSecret) == 0 || strings.Contains(string(stored.TOTPSecret), key.Secret()) || !stored.TOTPEnabledAt.IsZero() {
		t.Errorf("stored after begin: secret %q, enabled %v; want sealed, not yet enabled", stored.TOTPSecret, stored.TOTPEnabledAt)
	}
	// Not on until a code confirms it: a sign-in owes nothing.
	if _, sess := e.signIn(t, "ann@acme.example"); sess.Stage != "" {
		t.Errorf("a sign-in during set-up owes %q", sess.Stage)
	}
	again, err := e.svc.TOTPEnrolmentInProgress(ctx, e.agent.ID)
	if err != nil || again.Secret != en.Secret {
		t.Errorf("TOTPEnrolmentInProgress = %q, %v; want the same secret", again.Secret, err)
	}

	_, err = e.svc.ConfirmTOTPEnrolment(ctx, e.agent.ID, "000000")
	if e.code(t, en.Secret) != "000000" {
		wantProblem(t, "a wrong first code", err, http.StatusUnauthorized, "second_factor_failed")
	}
	_, err = e.svc.ConfirmTOTPEnrolment(ctx, e.agent.ID, "12ab")
	wantProblem(t, "a malformed first code", err, http.StatusUnauthorized, "second_factor_failed")

	codes, err := e.svc.ConfirmTOTPEnrolment(ctx, e.agent.ID, " "+e.code(t, en.Secret)[:3]+" "+e.code(t, en.Secret)[3:])
	if err != nil {
		t.Fatalf("confirming with the app's code (typed with spaces): %v", err)
	}
	if len(codes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
		t.Errorf("recovery codes %q; want 10 different", codes)
	}
	for _, c := range codes {
		if len(c) != 13 || c[6] != '-' {
			t.Errorf("recovery code %q; want two groups of six", c)
		}
	}
	st, err := e.svc.TwoFactor(ctx, e.agent.ID)
	if err != nil || !st.Enabled || st.CodesLeft != 10 || st.Enrolling {
		t.Errorf("TwoFactor after enrolling = %+v, %v", st, err)
	}
	_, err = e.svc.BeginTOTPEnrolment(ctx, e.agent.ID)
	wantProblem(t, "beginning again while on", err, http.StatusConflict, "two_factor_enabled")
	if a := e.actions(t); !hasAction(a, chat.Audit2FAEnrolled) || !hasAction(a, "signin.failed method=totp during=enrol") {
		t.Errorf("audit trail %q; want 2fa.enrolled and the wrong first code", a)
	}
}

func TestSecondFactorSignIn(t *testing.T) {
	ctx := t.Context()
	e := newTFEnv(t)
	secret, _ := e.enrol(t, e.agent.ID)
	used := e.code(t, secret)
	token, sess := e.signIn(t, "ann@acme.example")
	if sess.Stage != store.AgentStageTOTP {
		t.Fatalf("stage after the password = %q; want totp", sess.Stage)
	}
	if _, _, err := e.svc.AgentSession(ctx, token); err == nil {
		t.Error("a session owing its code opened the console")
	}

	_, _, err := e.svc.VerifySecondFactor(ctx, token, "not a code", chat.SignInInfo{})
	wantProblem(t, "a malformed code", err, http.StatusUnauthorized, "second_factor_failed")
	full, fs, err := e.svc.VerifySecondFactor(ctx, token, used, chat.SignInInfo{})
	if err != nil {
		t.Fatalf("the app's code: %v", err)
	}
	if fs.Stage != "" || full == token {
		t.Errorf("completed session: stage %q, same token %v", fs.Stage, full == token)
	}
	if _, _, err := e.svc.AgentSession(ctx, full); err != nil {
		t.Errorf("the completed session: %v", err)
	}
	if _, _, err := e.svc.AgentSession(ctx, token); err == nil {
		t.Error("the pending token still works")
	}

	// The same code again, in its window, for another sign-in: a replay.
	token2, _ := e.signIn(t, "ann@acme.example")
	_, _, err = e.svc.VerifySecondFactor(ctx, token2, used, chat.SignInInfo{})
	wantProblem(t, "the same code again", err, http.StatusUnauthorized, "second_factor_failed")
	// The code of the step before, also within the skew, is older still: refused too.
	e.clock.Advance(30 * time.Second)
	prev, _ := totp.GenerateCode(strings.ReplaceAll(secret, " ", ""), e.clock.Now().Add(-30*time.Second))
	if prev == used {
		_, _, err = e.svc.VerifySecondFactor(ctx, token2, prev, chat.SignInInfo{})
		wantProblem(t, "the used step's code a step later", err, http.StatusUnauthorized, "second_factor_failed")
	}
	if _, _, err := e.svc.VerifySecondFactor(ctx, token2, e.code(t, secret), chat.SignInInfo{}); err != nil {
		t.Errorf("the next step's code: %v", err)
	}
	if a := e.actions(t); !hasAction(a, "signin.failed method=totp") || !hasAction(a, "signin.succeeded method=password second_factor=totp") {
		t.Errorf("audit trail %q", a)
	}
	// A complete session owes nothing.
	_, _, err = e.svc.VerifySecondFactor(ctx, full, e.code(t, secret), chat.SignInInfo{})
	wantProblem(t, "a complete session", err, http.StatusConflict, "not_pending")
}

func TestRecoveryCodes(t *testing.T) {
	ctx := t.Context()
	e := newTFEnv(t)
	secret, codes := e.enrol(t, e.agent.ID)
	token, _ := e.signIn(t, "ann@acme.example")
	// Typed in upper case, with a space for the dash: the same code.
	typed := strings.ToUpper(strings.Replace(codes[3], "-", " ", 1))
	if _, _, err := e.svc.VerifySecondFactor(ctx, token, typed, chat.SignInInfo{}); err != nil {
		t.Fatalf("a recovery code: %v", err)
	}
	token, _ = e.signIn(t, "ann@acme.example")
	_, _, err := e.svc.VerifySecondFactor(ctx, token, codes[3], chat.SignInInfo{})
	wantProblem(t, "a used recovery code", err, http.StatusUnauthorized, "second_factor_failed")
	_, _, err = e.svc.VerifySecondFactor(ctx, token, "aaaaaa-aaaaaa", chat.SignInInfo{})
	wantProblem(t, "a made-up recovery code", err, http.StatusUnauthorized, "second_factor_failed")
	if st, _ := e.svc.TwoFactor(ctx, e.agent.ID); st.CodesLeft != 9 {
		t.Errorf("codes left %d; want 9", st.CodesLeft)
	}
	if a := e.actions(t); !hasAction(a, "signin.failed method=recovery_code") || !hasAction(a, "signin.succeeded method=password second_factor=recovery_code") {
		t.Errorf("audit trail %q", a)
	}

	// Regenerating takes a current code, and voids every earlier code.
	_, err = e.svc.RegenerateRecoveryCodes(ctx, e.agent.ID, "")
	wantProblem(t, "regenerating without a code", err, http.StatusUnauthorized, "second_factor_failed")
	fresh, err := e.svc.RegenerateRecoveryCodes(ctx, e.agent.ID, e.code(t, secret))
	if err != nil || len(fresh) != 10 {
		t.Fatalf("RegenerateRecoveryCodes = %d codes, %v", len(fresh), err)
	}
	_, _, err = e.svc.VerifySecondFactor(ctx, token, codes[4], chat.SignInInfo{})
	wantProblem(t, "an old recovery code after regenerating", err, http.StatusUnauthorized, "second_factor_failed")
	if _, _, err := e.svc.VerifySecondFactor(ctx, token, fresh[0], chat.SignInInfo{}); err != nil {
		t.Errorf("a new recovery code: %v", err)
	}
	if a := e.actions(t); !hasAction(a, chat.Audit2FARegenerated) {
		t.Errorf("audit trail %q; want %s", a, chat.Audit2FARegenerated)
	}
}

func TestDisableTOTP(t *testing.T) {
	ctx := t.Context()
	e := newTFEnv(t)
	secret, _ := e.enrol(t, e.agent.ID)
	err := e.svc.DisableTOTP(ctx, e.agent.ID, "", "wrong password")
	wantProblem(t, "a wrong password", err, http.StatusUnauthorized, "second_factor_failed")
	err = e.svc.DisableTOTP(ctx, e.agent.ID, "", "")
	wantProblem(t, "neither code nor password", err, http.StatusUnauthorized, "second_factor_failed")

	// The workspace requires it: no agent turns it off.
	on, off := true, false
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Require2FA: &on}); err != nil {
		t.Fatal(err)
	}
	err = e.svc.DisableTOTP(ctx, e.agent.ID, e.code(t, secret), "")
	wantProblem(t, "turning off when required", err, http.StatusForbidden, "two_factor_required")
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Require2FA: &off}); err != nil {
		t.Fatal(err)
	}

	if err := e.svc.DisableTOTP(ctx, e.agent.ID, "", agentPassword); err != nil {
		t.Fatalf("turning off with the password: %v", err)
	}
	if _, sess := e.signIn(t, "ann@acme.example"); sess.Stage != "" {
		t.Errorf("after turning off, a sign-in owes %q", sess.Stage)
	}
	if st, _ := e.svc.TwoFactor(ctx, e.agent.ID); st.Enabled || st.Enrolling || st.CodesLeft != 0 {
		t.Errorf("TwoFactor after turning off = %+v", st)
	}
	err = e.svc.DisableTOTP(ctx, e.agent.ID, "", agentPassword)
	wantProblem(t, "turning off twice", err, http.StatusConflict, "two_factor_off")

	// With a code this time.
	secret, _ = e.enrol(t, e.agent.ID)
	if err := e.svc.DisableTOTP(ctx, e.agent.ID, e.code(t, secret), ""); err != nil {
		t.Fatalf("turning off with a code: %v", err)
	}
	if a := e.actions(t); !hasAction(a, "2fa.disabled confirmed_by=password") || !hasAction(a, "2fa.disabled confirmed_by=totp") {
		t.Errorf("audit trail %q", a)
	}
}

func TestRequire2FAEnrolment(t *testing.T) {
	ctx := t.Context()
	e := newTFEnv(t)
	on := true
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Require2FA: &on}); err != nil {
		t.Fatal(err)
	}
	token, sess := e.signIn(t, "ann@acme.example")
	if sess.Stage != store.AgentStageEnrol {
		t.Fatalf("stage = %q; want enrol", sess.Stage)
	}
	if _, _, err := e.svc.AgentSession(ctx, token); err == nil {
		t.Error("a session owing its enrolment opened the console")
	}
	_, _, err := e.svc.CompleteEnrolment(ctx, token)
	wantProblem(t, "continuing before enrolling", err, http.StatusForbidden, "two_factor_required")
	_, _, err = e.svc.VerifySecondFactor(ctx, token, "123456", chat.SignInInfo{})
	wantProblem(t, "a code for a session that must enrol", err, http.StatusConflict, "not_pending")

	e.enrol(t, e.agent.ID)
	full, fs, err := e.svc.CompleteEnrolment(ctx, token)
	if err != nil || fs.Stage != "" {
		t.Fatalf("CompleteEnrolment = %+v, %v", fs, err)
	}
	if _, _, err := e.svc.AgentSession(ctx, full); err != nil {
		t.Errorf("the completed session: %v", err)
	}
	if a := e.actions(t); !hasAction(a, "signin.succeeded method=password second_factor=enrolled") {
		t.Errorf("audit trail %q", a)
	}
}

func TestResetTOTP(t *testing.T) {
	ctx := t.Context()
	e := newTFEnv(t)
	secret, _ := e.enrol(t, e.agent.ID)
	token, _ := e.signIn(t, "ann@acme.example")
	full, _, err := e.svc.VerifySecondFactor(ctx, token, e.code(t, secret), chat.SignInInfo{})
	if err != nil {
		t.Fatal(err)
	}
	other := e.createAgent(t, "bob@acme.example", store.RoleAgent)
	_, _, err = e.svc.ResetTOTP(ctx, e.ws, "nobody@acme.example")
	wantProblem(t, "an unknown email", err, http.StatusNotFound, "agent_not_found")
	_, _, err = e.svc.ResetTOTP(ctx, "ws_other", "ann@acme.example")
	wantProblem(t, "another workspace", err, http.StatusNotFound, "agent_not_found")

	a, ended, err := e.svc.ResetTOTP(ctx, e.ws, "Ann@Acme.Example")
	if err != nil || a.ID != e.agent.ID || ended != 1 {
		t.Fatalf("ResetTOTP = %s, %d ended, %v", a.ID, ended, err)
	}
	if _, _, err := e.svc.AgentSession(ctx, full); err == nil {
		t.Error("the agent's session outlived the reset")
	}
	if _, sess := e.signIn(t, "ann@acme.example"); sess.Stage != "" {
		t.Errorf("after the reset a sign-in owes %q", sess.Stage)
	}
	if st, _ := e.svc.TwoFactor(ctx, e.agent.ID); st.Enabled || st.CodesLeft != 0 {
		t.Errorf("after the reset: %+v", st)
	}
	if st, _ := e.svc.TwoFactor(ctx, other.ID); st.Enabled {
		t.Errorf("another agent: %+v", st)
	}
	if a := e.actions(t); !hasAction(a, "2fa.reset sessions_ended=1") {
		t.Errorf("audit trail %q", a)
	}
}
