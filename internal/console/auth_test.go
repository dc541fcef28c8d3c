package console_test

import (
	"net/http"
	"net/url"
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

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.limits = console.Limits{
			LoginsPerIP:    ratelimit.Rate{Every: time.Hour, Burst: 4},
			LoginsPerEmail: ratelimit.Rate{Every: time.Hour, Burst: 2},
		}
	})
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.browser()
	attempt := func(email, pw string) page {
		return b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {email}, "password": {pw}})
	}
	// Per email: two wrong guesses, then even the right password waits.
	for i := 0; i < 2; i++ {
		if p := attempt(tn.admin.Email, "guess number "+string(rune('a'+i))+" wrong"); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	p := attempt(strings.ToUpper(tn.admin.Email), agentPassword)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many attempts") {
		t.Fatalf("third attempt for the email: %d Retry-After %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
	}
	if setCookie(p, "parley_console") != nil {
		t.Fatal("signed in while rate limited")
	}
	checkHeaders(t, p)
	// Per address: two more emails use up the address's budget of four.
	if p := attempt("someone@acme.example", "wrong password 123"); p.status != http.StatusUnauthorized {
		t.Fatalf("other email: %d", p.status)
	}
	if p := attempt("else@acme.example", "wrong password 123"); p.status != http.StatusTooManyRequests {
		t.Fatalf("fifth attempt from one address: %d", p.status)
	}
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
	} {
		b := e.browser()
		p := b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {tn.admin.Email}, "password": {agentPassword}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location() != want {
			t.Errorf("next %q: %d %q, want %q", next, p.status, p.location(), want)
		}
	}
	// The hidden field carries only a local path, whatever the link said.
	b := e.browser()
	if p := b.get("/console/login?next=" + url.QueryEscape("https://evil.example")); strings.Contains(p.body, "evil.example") {
		t.Fatal("the sign-in form carries a foreign next")
	}
}
