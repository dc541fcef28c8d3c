package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/console"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/store"
)

var (
	totpSecretRe   = regexp.MustCompile(`data-totp-secret>([A-Z2-7 ]+)<`)
	recoveryCodeRe = regexp.MustCompile(`<li><code>([a-z2-7]{6}-[a-z2-7]{6})</code></li>`)
)

// codeAt is what an authenticator app with the secret shows at t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(strings.ReplaceAll(secret, " ", ""), at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolInConsole sets two-factor up from the agent's own page and returns the secret and recovery codes.
// The first code is the current step's: a sign-in right after can use the next step's code, which the
// skew accepts, and never waits.
func enrolInConsole(t *testing.T, b *browser) (string, []string) {
	t.Helper()
	p := b.mustGet("/console/account/2fa")
	if !strings.Contains(p.body, "Set up two-factor sign-in") {
		t.Fatalf("account page without the set-up button:\n%s", p.body)
	}
	p = b.post("/console/account/2fa", url.Values{"action": {"begin"}})
	m := totpSecretRe.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil || !strings.Contains(p.body, `src="data:image/png;base64,`) {
		t.Fatalf("begin: %d, no secret or QR code:\n%s", p.status, p.body)
	}
	secret := m[1]
	// A wrong code shows the same set-up again, with the error.
	wrong := codeAt(t, secret, time.Now().Add(-5*time.Minute))
	p = b.post("/console/account/2fa", url.Values{"action": {"confirm"}, "code": {wrong}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, secret) || !strings.Contains(p.body, `role="alert"`) {
		t.Fatalf("a wrong first code: %d\n%s", p.status, p.body)
	}
	p = b.post("/console/account/2fa", url.Values{"action": {"confirm"}, "code": {codeAt(t, secret, time.Now())}})
	var codes []string
	for _, m := range recoveryCodeRe.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if p.status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirm: %d, %d recovery codes\n%s", p.status, len(codes), p.body)
	}
	if p := b.mustGet("/console/account/2fa"); !strings.Contains(p.body, "10 of 10 recovery codes") || recoveryCodeRe.MatchString(p.body) {
		t.Errorf("the page after enrolling shows the codes again, or not the count:\n%s", p.body)
	}
	return secret, codes
}

// passwordOnly signs a fresh browser in with the password alone and returns it with where it was sent.
func (e *env) passwordOnly(email string) (*browser, string) {
	e.t.Helper()
	b := e.browser()
	p := b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {email}, "password": {agentPassword}, "next": {"/console/mentions"}})
	if p.status != http.StatusSeeOther {
		e.t.Fatalf("sign in: %d", p.status)
	}
	return b, p.location()
}

// codePage opens the code page of a pending sign-in, which sets the browser's CSRF token.
func (b *browser) codePage(path string) {
	b.e.t.Helper()
	p := b.mustGet(path)
	if m := csrfField.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
}

func TestTwoFactorConsoleSignIn(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	secret, codes := enrolInConsole(t, e.signedIn(tn.admin))

	b, loc := e.passwordOnly("ada@acme.example")
	if loc != "/console/login/2fa?next=%2Fconsole%2Fmentions" {
		t.Fatalf("after the password: sent to %q", loc)
	}
	pending := b.cookie("parley_console").Value
	p := b.mustGet(loc)
	for _, want := range []string{`<label for="code">Authentication code</label>`, `autocomplete="one-time-code"`, `inputmode="numeric"`, "Use a recovery code instead"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("code page without %s", want)
		}
	}
	b.codePage(loc)
	// The next step's code (the current one was spent on the enrolment).
	code := codeAt(t, secret, time.Now().Add(30*time.Second))
	p = b.post("/console/login/2fa", url.Values{"code": {code}, "next": {"/console/mentions"}})
	if p.status != http.StatusSeeOther || p.location() != "/console/mentions" {
		t.Fatalf("the right code: %d → %q\n%s", p.status, p.location(), p.body)
	}
	if ck := b.cookie("parley_console"); ck == nil || ck.Value == pending {
		t.Error("the session cookie was not replaced")
	}
	b.mustGet("/console/mentions")

	// The same code for another sign-in, in its window: refused.
	b2, loc := e.passwordOnly("ada@acme.example")
	b2.codePage(loc)
	p = b2.post("/console/login/2fa", url.Values{"code": {code}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "used already") {
		t.Errorf("a replayed code: %d\n%s", p.status, p.body)
	}
	// A recovery code works once.
	p = b2.mustGet("/console/login/2fa?recovery=1")
	if !strings.Contains(p.body, `<label for="code">Recovery code</label>`) {
		t.Errorf("recovery page:\n%s", p.body)
	}
	p = b2.post("/console/login/2fa", url.Values{"code": {codes[0]}, "recovery": {"1"}})
	if p.status != http.StatusSeeOther || p.location() != "/console/" {
		t.Fatalf("a recovery code: %d → %q\n%s", p.status, p.location(), p.body)
	}
	b3, loc := e.passwordOnly("ada@acme.example")
	b3.codePage(loc)
	if p := b3.post("/console/login/2fa", url.Values{"code": {codes[0]}}); p.status != http.StatusUnauthorized {
		t.Errorf("a used recovery code: %d", p.status)
	}
	events, _ := e.svc.AuditEvents(context.Background(), tn.ws.ID, 100)
	var seen []string
	for _, ev := range events {
		seen = append(seen, ev.Action+" "+ev.Detail)
	}
	all := strings.Join(seen, "\n")
	for _, want := range []string{"2fa.enrolled", "signin.failed method=totp", "signin.failed method=recovery_code", "second_factor=totp", "second_factor=recovery_code"} {
		if !strings.Contains(all, want) {
			t.Errorf("audit trail without %q:\n%s", want, all)
		}
	}
}

// TestPendingSessionRefused: a session that owes its code opens no page, fragment or socket but the
// code page.
func TestPendingSessionRefused(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	enrolInConsole(t, e.signedIn(tn.admin))
	b, loc := e.passwordOnly("ada@acme.example")
	b.codePage(loc)
	for _, path := range []string{"/console/", "/console/mentions", "/console/preferences", "/console/account/2fa",
		"/console/settings", "/console/settings/agents", "/console/report", "/console/inbox/list", "/console/alerts/state"} {
		p := b.get(path)
		if p.status == http.StatusOK {
			t.Errorf("GET %s with a pending session: 200", path)
		}
	}
	// The cookie is cleared by a refusal; put it back for each check.
	b2, loc := e.passwordOnly("ada@acme.example")
	b2.codePage(loc)
	req, _ := http.NewRequest("GET", e.srv.URL+"/console/ws", nil)
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if p := b2.do(req); p.status != http.StatusUnauthorized {
		t.Errorf("GET /console/ws with a pending session: %d; want 401", p.status)
	}
	b3, loc := e.passwordOnly("ada@acme.example")
	b3.codePage(loc)
	if p := b3.post("/console/preferences", url.Values{"sound": {"on"}}); p.status != http.StatusUnauthorized {
		t.Errorf("POST /console/preferences with a pending session: %d; want 401", p.status)
	}
	// The enrolment page sends a session owing a code to the code page.
	b4, loc := e.passwordOnly("ada@acme.example")
	if p := b4.get("/console/login/enrol"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login/2fa") {
		t.Errorf("enrol page for a session owing a code: %d → %q", p.status, p.location())
	}
	_ = loc
}

func TestSecondFactorRateLimit(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.limits = console.Limits{SecondFactorsPerAgent: ratelimit.Rate{Every: time.Hour, Burst: 3}}
	})
	tn := e.tenant("Acme", "ada@acme.example")
	secret, _ := enrolInConsole(t, e.signedIn(tn.admin))
	wrong := codeAt(t, secret, time.Now().Add(-10*time.Minute))

	b, loc := e.passwordOnly("ada@acme.example")
	b.codePage(loc)
	// One wrong code was spent on the enrolment; one more here.
	if p := b.post("/console/login/2fa", url.Values{"code": {wrong}}); p.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", p.status)
	}
	// A success takes its attempt back: the budget is still one wrong code.
	if p := b.post("/console/login/2fa", url.Values{"code": {codeAt(t, secret, time.Now().Add(30*time.Second))}}); p.status != http.StatusSeeOther {
		t.Fatalf("the right code: %d\n%s", p.status, p.body)
	}
	b, loc = e.passwordOnly("ada@acme.example")
	b.codePage(loc)
	if p := b.post("/console/login/2fa", url.Values{"code": {wrong}}); p.status != http.StatusUnauthorized {
		t.Fatalf("third wrong code: %d", p.status)
	}
	p := b.post("/console/login/2fa", url.Values{"code": {wrong}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("fourth wrong code: %d, Retry-After %q", p.status, p.header.Get("Retry-After"))
	}
	// The password throttles are separate: signing in with the password still works.
	if _, loc := e.passwordOnly("ada@acme.example"); !strings.HasPrefix(loc, "/console/login/2fa") {
		t.Errorf("password sign-in while codes are throttled: sent to %q", loc)
	}
	// And another agent's codes are not throttled.
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	bobSecret, _ := enrolInConsole(t, e.signedIn(bob))
	bb, loc := e.passwordOnly("bob@acme.example")
	bb.codePage(loc)
	if p := bb.post("/console/login/2fa", url.Values{"code": {codeAt(t, bobSecret, time.Now().Add(-10*time.Minute))}}); p.status != http.StatusUnauthorized {
		t.Errorf("another agent's wrong code: %d; want 401", p.status)
	}
}

func TestRequire2FAConsole(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	on := true
	if _, err := e.svc.UpdateWorkspace(context.Background(), tn.ws.ID, chat.SettingsPatch{Require2FA: &on}); err != nil {
		t.Fatal(err)
	}
	b, loc := e.passwordOnly(bob.Email)
	if loc != "/console/login/enrol?next=%2Fconsole%2Fmentions" {
		t.Fatalf("after the password: sent to %q", loc)
	}
	if p := b.get("/console/login/2fa"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login/enrol") {
		t.Errorf("code page for a session that must enrol: %d → %q", p.status, p.location())
	}
	p := b.mustGet(loc)
	m := totpSecretRe.FindStringSubmatch(p.body)
	if m == nil || !strings.Contains(p.body, "requires") {
		t.Fatalf("enrol page:\n%s", p.body)
	}
	// Continue before enrolling is refused.
	if p := b.post("/console/login/enrol", url.Values{"action": {"continue"}}); p.status != http.StatusForbidden {
		t.Errorf("continue before enrolling: %d", p.status)
	}
	p = b.post("/console/login/enrol", url.Values{"action": {"confirm"}, "code": {codeAt(t, m[1], time.Now())}, "next": {"/console/mentions"}})
	if p.status != http.StatusOK || len(recoveryCodeRe.FindAllString(p.body, -1)) != 10 || !strings.Contains(p.body, `value="continue"`) {
		t.Fatalf("confirm: %d\n%s", p.status, p.body)
	}
	if p := b.get("/console/"); p.status == http.StatusOK {
		t.Error("the console opened before Continue")
	}
	b, loc = e.passwordOnly(bob.Email) // the refused GET cleared the cookie; the new sign-in owes a code
	if !strings.HasPrefix(loc, "/console/login/2fa") {
		t.Fatalf("after enrolling, a sign-in is sent to %q", loc)
	}
	b.codePage(loc)
	if p := b.post("/console/login/2fa", url.Values{"code": {codeAt(t, m[1], time.Now().Add(30*time.Second))}}); p.status != http.StatusSeeOther {
		t.Fatalf("code: %d", p.status)
	}
	p = b.mustGet("/console/account/2fa")
	if !strings.Contains(p.body, "cannot be turned off") {
		t.Errorf("account page when required:\n%s", p.body)
	}
	if p := b.post("/console/account/2fa", url.Values{"action": {"disable"}, "password": {agentPassword}}); p.status != http.StatusForbidden {
		t.Errorf("turning off when required: %d", p.status)
	}
}

func TestRequire2FAContinueCompletes(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	on := true
	if _, err := e.svc.UpdateWorkspace(context.Background(), tn.ws.ID, chat.SettingsPatch{Require2FA: &on}); err != nil {
		t.Fatal(err)
	}
	b, loc := e.passwordOnly(tn.admin.Email)
	p := b.mustGet(loc)
	secret := totpSecretRe.FindStringSubmatch(p.body)[1]
	p = b.post("/console/login/enrol", url.Values{"action": {"confirm"}, "code": {codeAt(t, secret, time.Now())}, "next": {"/console/mentions"}})
	if p.status != http.StatusOK {
		t.Fatalf("confirm: %d", p.status)
	}
	p = b.post("/console/login/enrol", url.Values{"action": {"continue"}, "next": {"/console/mentions"}})
	if p.status != http.StatusSeeOther || p.location() != "/console/mentions" {
		t.Fatalf("continue: %d → %q", p.status, p.location())
	}
	b.mustGet("/console/mentions")
	// The settings page shows the requirement, checked.
	if p := b.mustGet("/console/settings"); !regexp.MustCompile(`name="require_2fa"[^>]* checked`).MatchString(p.body) {
		t.Errorf("settings page without Require two-factor checked")
	}
}

func TestAccountTwoFactorTurnOffAndRegenerate(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	secret, codes := enrolInConsole(t, b)
	b.mustGet("/console/account/2fa")
	p := b.post("/console/account/2fa", url.Values{"action": {"regenerate"}, "code": {"000000"}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `role="alert"`) {
		t.Errorf("regenerate with a wrong code: %d", p.status)
	}
	p = b.post("/console/account/2fa", url.Values{"action": {"regenerate"}, "code": {codeAt(t, secret, time.Now().Add(30*time.Second))}})
	fresh := recoveryCodeRe.FindAllStringSubmatch(p.body, -1)
	if p.status != http.StatusOK || len(fresh) != 10 || fresh[0][1] == codes[0] {
		t.Fatalf("regenerate: %d, %d codes", p.status, len(fresh))
	}
	b.mustGet("/console/account/2fa")
	if p := b.post("/console/account/2fa", url.Values{"action": {"disable"}, "password": {"wrong password"}}); p.status != http.StatusUnauthorized {
		t.Errorf("turn off with a wrong password: %d", p.status)
	}
	p = b.mustPost("/console/account/2fa", url.Values{"action": {"disable"}, "password": {agentPassword}})
	if !strings.Contains(p.body, "Two-factor sign-in is off.") || !strings.Contains(p.body, "Set up two-factor sign-in") {
		t.Errorf("after turning off:\n%s", p.body)
	}
	if _, loc := e.passwordOnly(tn.admin.Email); loc != "/console/mentions" {
		t.Errorf("after turning off, the password alone sends to %q", loc)
	}
	// The preferences page links to the two-factor page.
	if p := b.mustGet("/console/preferences"); !strings.Contains(p.body, `href="/console/account/2fa"`) {
		t.Error("no link to the two-factor page from the preferences")
	}
}
