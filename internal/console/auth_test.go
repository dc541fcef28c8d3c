package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/console"
	"github.com/parleyhq/parley/internal/ratelimit"
)

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.browser()

	// Signed out: a page redirects to the sign-in page (and back afterwards); a post or a fragment is a 401.
	p := b.get("/console/conversations/cv_x?tab=1")
	if p.status != http.StatusSeeOther || p.location() != "/console/login?next="+url.QueryEscape("/console/conversations/cv_x?tab=1") {
		t.Fatalf("signed-out GET: %d %q", p.status, p.location())
	}
	if p := b.post("/console/availability", url.Values{"available": {"0"}}); p.status != http.StatusUnauthorized {
		t.Fatalf("signed-out POST: %d", p.status)
	}
	for _, path := range []string{"/console/inbox/list", "/console/ws", "/console/conversations/cv_x/live"} {
		if p := b.get(path); p.status != http.StatusUnauthorized {
			t.Fatalf("signed-out GET %s: %d", path, p.status)
		}
	}

	// A wrong password: the form again, with a message, and no session.
	p = b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {tn.admin.Email}, "password": {"not the password at all"}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "do not match") || strings.Contains(p.body, "not the password at all") {
		t.Fatalf("wrong password: %d\n%s", p.status, p.body)
	}
	if setCookie(p, "parley_console") != nil {
		t.Fatal("a session cookie after a wrong password")
	}

	// The right one: a session cookie with the safe flags, and the inbox.
	p = b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {"  ADA@acme.example "}, "password": {agentPassword}})
	if p.status != http.StatusSeeOther || p.location() != "/console/" {
		t.Fatalf("sign in: %d %q\n%s", p.status, p.location(), p.body)
	}
	ck := setCookie(p, "parley_console")
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/console" || ck.Secure {
		t.Fatalf("session cookie: %+v", ck)
	}
	inbox := b.mustGet("/console/")
	if !strings.Contains(inbox.body, "<h1>Inbox</h1>") || !strings.Contains(inbox.body, "Admin of Acme") {
		t.Fatalf("inbox:\n%s", inbox.body)
	}
	checkHeaders(t, inbox)
	// Signed in, the sign-in page sends the agent on.
	if p := b.get("/console/login?next=/console/report"); p.status != http.StatusSeeOther || p.location() != "/console/report" {
		t.Fatalf("login page when signed in: %d %q", p.status, p.location())
	}

	// Sign out: the cookie is cleared and the old token no longer works.
	token := b.cookie("parley_console").Value
	p = b.post("/console/logout", nil)
	if p.status != http.StatusSeeOther || p.location() != "/console/login?signed_out=1" {
		t.Fatalf("sign out: %d %q", p.status, p.location())
	}
	if !strings.Contains(b.mustGet(p.location()).body, "You have signed out") {
		t.Fatal("no signed-out notice")
	}
	old := e.browser()
	old.jar.SetCookies(mustURL(t, e.srv.URL+"/console/"), []*http.Cookie{{Name: "parley_console", Value: token, Path: "/console"}})
	if p := old.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("a signed-out token still opens the inbox: %d", p.status)
	}
}

func checkHeaders(t *testing.T, p page) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := p.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSecureCookie(t *testing.T) {
	t.Run("TLS", func(t *testing.T) {
		e := newEnv(t, func(o *envOptions) { o.tls = true })
		tn := e.tenant("Acme", "ada@acme.example")
		b := e.browser()
		p := b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {tn.admin.Email}, "password": {agentPassword}})
		if ck := setCookie(p, "parley_console"); p.status != http.StatusSeeOther || ck == nil || !ck.Secure {
			t.Fatalf("over TLS: %d %+v", p.status, ck)
		}
		if ck := setCookie(p, "parley_console_device"); ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Fatalf("known-device cookie over TLS: %+v", ck)
		}
	})
	for _, tc := range []struct {
		name    string
		proxies []string
		secure  bool
	}{
		{"forwarded by a trusted proxy", []string{"127.0.0.0/8", "::1/128"}, true},
		{"forwarded by anyone else", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *envOptions) { o.proxies = tc.proxies })
			tn := e.tenant("Acme", "ada@acme.example")
			b := e.browser()
			// The browser spoke https to the proxy, so its Origin is https.
			origin := strings.Replace(e.srv.URL, "http://", "https://", 1)
			if !tc.secure {
				origin = e.srv.URL
			}
			p := b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {tn.admin.Email}, "password": {agentPassword}},
				"X-Forwarded-Proto", "https", "Origin", origin)
			ck := setCookie(p, "parley_console")
			if p.status != http.StatusSeeOther || ck == nil || ck.Secure != tc.secure {
				t.Fatalf("%d %+v, want Secure %v\n%s", p.status, ck, tc.secure, p.body)
			}
		})
	}
}

func TestLoginCSRF(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	creds := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "email": {tn.admin.Email}, "password": {agentPassword}}
	}
	cases := []struct {
		name    string
		prepare func(b *browser) (url.Values, []string)
	}{
		{"no cookie, no field", func(b *browser) (url.Values, []string) { return creds(""), nil }},
		{"no cookie", func(b *browser) (url.Values, []string) { return creds("made-up"), nil }},
		{"wrong field", func(b *browser) (url.Values, []string) { b.loginForm(); return creds("wrong"), nil }},
		{"another site", func(b *browser) (url.Values, []string) {
			return creds(b.loginForm()), []string{"Origin", "https://evil.example"}
		}},
		{"another site, by Sec-Fetch-Site", func(b *browser) (url.Values, []string) {
			return creds(b.loginForm()), []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			form, headers := tc.prepare(b)
			p := b.post("/console/login", form, headers...)
			if p.status != http.StatusForbidden || setCookie(p, "parley_console") != nil {
				t.Fatalf("%d, cookie %v", p.status, setCookie(p, "parley_console"))
			}
			if p := b.get("/console/"); p.status != http.StatusSeeOther {
				t.Fatalf("signed in after a refused form: %d", p.status)
			}
		})
	}
}

// cookieAt is the value of the browser's cookie name as sent to path, or "".
func (b *browser) cookieAt(path, name string) string {
	for _, c := range b.jar.Cookies(mustURL(b.e.t, b.e.srv.URL+path)) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signOut opens the inbox (for its CSRF token) and signs out.
func (b *browser) signOut() {
	b.e.t.Helper()
	b.mustGet("/console/")
	b.mustPost("/console/logout", nil)
}

// signInFrom posts the sign-in form as if from the client address ip, through a trusted proxy.
func (b *browser) signInFrom(ip, email, pw string) page {
	b.e.t.Helper()
	return b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {email}, "password": {pw}}, "X-Forwarded-For", ip)
}

// throttled expects a 429 sign-in answer that signed nobody in.
func throttled(t *testing.T, p page, what string) {
	t.Helper()
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many attempts") {
		t.Fatalf("%s: %d Retry-After %q, want 429\n%s", what, p.status, p.header.Get("Retry-After"), p.body)
	}
	if setCookie(p, "parley_console") != nil {
		t.Fatalf("%s: signed in while rate limited", what)
	}
	checkHeaders(t, p)
}

func wantStatus(t *testing.T, p page, status int, what string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: %d, want %d\n%s", what, p.status, status, p.body)
	}
}

// throttledEnv is a console whose sign-in budgets are small, behind a trusted proxy so that a test can
// sign in from any client address.
func throttledEnv(t *testing.T, l console.Limits) *env {
	return newEnv(t, func(o *envOptions) {
		o.limits = l
		o.proxies = []string{"127.0.0.0/8", "::1/128"}
	})
}

// Successful sign-ins use up no budget: only failures count.
func TestLoginSuccessesDoNotCount(t *testing.T) {
	e := throttledEnv(t, console.Limits{
		LoginsPerIP:        ratelimit.Rate{Every: time.Hour, Burst: 3},
		LoginsPerAccountIP: ratelimit.Rate{Every: time.Hour, Burst: 2},
		LoginsPerAccount:   ratelimit.Rate{Every: time.Hour, Burst: 2},
		LoginsPerDevice:    ratelimit.Rate{Every: time.Hour, Burst: 2},
	})
	tn := e.tenant("Acme", "ada@acme.example")
	for i := range 8 {
		// A new browser each time: no known-device cookie helps.
		wantStatus(t, e.browser().signInFrom("198.51.100.7", tn.admin.Email, agentPassword), http.StatusSeeOther, "sign-in "+strconv.Itoa(i))
	}
	// The budgets are whole: two failures for the account from this address, then the limit.
	b := e.browser()
	for i := range 2 {
		wantStatus(t, b.signInFrom("198.51.100.7", tn.admin.Email, "wrong password "+strconv.Itoa(i)), http.StatusUnauthorized, "failure")
	}
	throttled(t, b.signInFrom("198.51.100.7", strings.ToUpper(tn.admin.Email), agentPassword), "after two failures for the account")
}

// Failures from one client address, whatever the account, are refused after LoginsPerIP; other
// addresses are not.
func TestLoginFailuresPerAddress(t *testing.T) {
	e := throttledEnv(t, console.Limits{
		LoginsPerIP:        ratelimit.Rate{Every: time.Hour, Burst: 4},
		LoginsPerAccountIP: ratelimit.Rate{Every: time.Hour, Burst: 10},
		LoginsPerAccount:   ratelimit.Rate{Every: time.Hour, Burst: 10},
	})
	tn := e.tenant("Acme", "ada@acme.example")
	const ip = "203.0.113.9"
	for range 3 { // successes first: they count for nothing
		wantStatus(t, e.browser().signInFrom(ip, tn.admin.Email, agentPassword), http.StatusSeeOther, "sign-in")
	}
	b := e.browser()
	for i := range 4 {
		wantStatus(t, b.signInFrom(ip, "user"+strconv.Itoa(i)+"@acme.example", "wrong password 123"), http.StatusUnauthorized, "failure "+strconv.Itoa(i))
	}
	throttled(t, b.signInFrom(ip, "else@acme.example", "wrong password 123"), "fifth failure from one address")
	throttled(t, e.browser().signInFrom(ip, tn.admin.Email, agentPassword), "the right password from that address")
	// An IPv6 client is its /64.
	for i := range 4 {
		wantStatus(t, b.signInFrom("2001:db8:1:2::"+strconv.Itoa(i+1), "v6@acme.example", "wrong password 123"), http.StatusUnauthorized, "IPv6 failure")
	}
	throttled(t, b.signInFrom("2001:db8:1:2:ffff::9", "v6b@acme.example", "wrong password 123"), "another address of the same /64")
	wantStatus(t, e.browser().signInFrom("198.51.100.7", tn.admin.Email, agentPassword), http.StatusSeeOther, "from another address")
}

// A stranger failing on purpose, from their own addresses, cannot lock the agent out: the account's
// failures count per address, and the agent's address has none.
func TestLoginAttackerElsewhereCannotLockOut(t *testing.T) {
	e := throttledEnv(t, console.Limits{
		LoginsPerIP:        ratelimit.Rate{Every: time.Hour, Burst: 100},
		LoginsPerAccountIP: ratelimit.Rate{Every: time.Hour, Burst: 3},
		LoginsPerAccount:   ratelimit.Rate{Every: time.Hour, Burst: 50},
	})
	tn := e.tenant("Acme", "ada@acme.example")
	attacker := e.browser()
	for i := range 3 {
		wantStatus(t, attacker.signInFrom("203.0.113.66", tn.admin.Email, "guess "+strconv.Itoa(i)+" is wrong"), http.StatusUnauthorized, "guess")
	}
	for range 5 {
		throttled(t, attacker.signInFrom("203.0.113.66", tn.admin.Email, "another wrong guess"), "the attacker's fourth guess")
	}
	// Even the right password from the attacker's address waits.
	throttled(t, e.browser().signInFrom("203.0.113.66", tn.admin.Email, agentPassword), "the right password from the attacker's address")
	// The agent, from their own address, in a browser that never signed in before: in.
	wantStatus(t, e.browser().signInFrom("198.51.100.7", tn.admin.Email, agentPassword), http.StatusSeeOther, "the agent")
}

// When guesses from many addresses reach the account's ceiling, new browsers wait, but a browser that
// signed in to the account before passes; it has a budget of its own, so a stolen cookie cannot guess
// at will either. The cookie is the account's alone, and cannot be forged.
func TestLoginKnownDevicePassesTheAccountCeiling(t *testing.T) {
	e := throttledEnv(t, console.Limits{
		LoginsPerIP:        ratelimit.Rate{Every: time.Hour, Burst: 100},
		LoginsPerAccountIP: ratelimit.Rate{Every: time.Hour, Burst: 2},
		LoginsPerAccount:   ratelimit.Rate{Every: time.Hour, Burst: 6},
		LoginsPerDevice:    ratelimit.Rate{Every: time.Hour, Burst: 3},
	})
	tn := e.tenant("Acme", "ada@acme.example")
	other := e.agent(tn.ws.ID, "grace@acme.example", "Grace", "agent")
	laptop := e.browser()
	p := laptop.signInFrom("198.51.100.7", tn.admin.Email, agentPassword)
	wantStatus(t, p, http.StatusSeeOther, "first sign-in")
	ck := setCookie(p, "parley_console_device")
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/console/login" || ck.MaxAge < 30*24*3600 || ck.Secure {
		t.Fatalf("known-device cookie %+v", ck)
	}
	// Sign out, then guesses from three addresses fill the account's ceiling.
	laptop.signOut()
	for i := range 6 {
		ip := "203.0.113." + strconv.Itoa(10+i/2)
		wantStatus(t, e.browser().signInFrom(ip, tn.admin.Email, "wrong guess "+strconv.Itoa(i)), http.StatusUnauthorized, "guess")
	}
	throttled(t, e.browser().signInFrom("192.0.2.44", tn.admin.Email, agentPassword), "a new browser once the account's ceiling is reached")
	throttled(t, e.browser().signInFrom("198.51.100.7", tn.admin.Email, agentPassword), "a new browser at the agent's address")
	// The agent's laptop passes, from its address or any other.
	wantStatus(t, laptop.signInFrom("198.51.100.7", tn.admin.Email, agentPassword), http.StatusSeeOther, "the known device")
	laptop.signOut()
	wantStatus(t, laptop.signInFrom("192.0.2.200", tn.admin.Email, agentPassword), http.StatusSeeOther, "the known device elsewhere")
	laptop.signOut()

	// The cookie is the account's: for another account it is no known device (that account's own
	// throttles apply, and its failures do not touch the laptop's budget).
	for i := range 2 {
		wantStatus(t, laptop.signInFrom("198.51.100.7", other.Email, "wrong "+strconv.Itoa(i)+" guess"), http.StatusUnauthorized, "other account")
	}
	throttled(t, laptop.signInFrom("198.51.100.7", other.Email, agentPassword), "the other account's per-address limit")

	// A copied cookie that was tampered with is no known device either.
	tampered := e.browser()
	val := []byte(ck.Value)
	val[len(val)/2] ^= 1
	tampered.jar.SetCookies(mustURL(t, e.srv.URL+"/console/login"), []*http.Cookie{{Name: "parley_console_device", Value: string(val), Path: "/console/login"}})
	throttled(t, tampered.signInFrom("192.0.2.45", tn.admin.Email, agentPassword), "a tampered cookie")

	// The known device's own budget: three failures, then it waits too (a stolen cookie cannot guess
	// at will).
	thief := e.browser()
	thief.jar.SetCookies(mustURL(t, e.srv.URL+"/console/login"), []*http.Cookie{{Name: "parley_console_device", Value: laptop.cookieAt("/console/login", "parley_console_device"), Path: "/console/login"}})
	for i := range 3 {
		wantStatus(t, thief.signInFrom("192.0.2.99", tn.admin.Email, "stolen cookie guess "+strconv.Itoa(i)), http.StatusUnauthorized, "thief")
	}
	throttled(t, thief.signInFrom("192.0.2.99", tn.admin.Email, "stolen cookie guess 4"), "the device's own budget")
}

func TestNoOpenRedirect(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	for next, want := range map[string]string{
		"/console/report?days=7":          "/console/report?days=7",
		"/console/settings":               "/console/settings",
		"https://evil.example/":           "/console/",
		"//evil.example/console/":         "/console/",
		"/\\evil.example":                 "/console/",
		"/console/\\\\evil.example":       "/console/",
		"javascript:alert(1)":             "/console/",
		"/console/login":                  "/console/",
		"/consolefoo":                     "/console/",
		"https:/console/x":                "/console/",
		"/console/\r\nLocation: http://x": "/console/",
		"":                                "/console/",
		// Cleaned (decoded, dot segments resolved) before the check, as a browser would resolve them.
		"/console/..//evil.example":          "/console/",
		"/console/%2e%2e//evil":              "/console/",
		"/console/%2E%2E/%2e%2e/evil":        "/console/",
		"/console/..%2f..%2fevil":            "/console/",
		"/console/%2F%2Fevil.example":        "/console/",
		"/console/%5cevil.example":           "/console/",
		"/console/\\evil":                    "/console/",
		"//evil":                             "/console/",
		"///evil":                            "/console/",
		"/console/../../x":                   "/console/",
		"/console/../x":                      "/console/",
		"/console/./../console/../x":         "/console/",
		"/console/#/../../x":                 "/console/",
		"/console/x?a=1#/../../y":            "/console/x?a=1",
		"/console/conversations/cv_1#reply":  "/console/conversations/cv_1#reply",
		"/console/%09/x":                     "/console/",
		"/console/login/../login":            "/console/",
		"/console/x/../login":                "/console/",
		"http:/console/x":                    "/console/",
		"/console/settings/../report?days=7": "/console/report?days=7",
		"/console/./settings/":               "/console/settings/",
	} {
		b := e.browser()
		p := b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {tn.admin.Email}, "password": {agentPassword}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location() != want {
			t.Errorf("next %q: %d %q, want %q", next, p.status, p.location(), want)
		}
	}
	// The hidden field carries only a local path, whatever the link said.
	b := e.browser()
	for _, next := range []string{"https://evil.example", "/console/..//evil.example", "/console/%2e%2e//evil.example"} {
		if p := b.get("/console/login?next=" + url.QueryEscape(next)); strings.Contains(p.body, "evil.example") {
			t.Fatalf("the sign-in form carries a foreign next for %q", next)
		}
	}
}
