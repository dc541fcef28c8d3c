package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/console"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

const agentPassword = "correct horse battery staple"

// env is one running Parley with the console: a real SQLite file, the real routes behind a real
// listener.
type env struct {
	t   *testing.T
	srv *httptest.Server
	svc *chat.Service
	hub *realtime.Hub
	api *httpapi.API
	st  store.Store
}

type envOptions struct {
	limits  console.Limits
	proxies []string
	tls     bool
	// jwksAllow is the operator's allow-list of private networks for JWKS URLs (serve's
	// --jwks-allow-networks). nil means loopback, where the tests' identity providers listen; an empty
	// slice means none, as a server started without the flag.
	jwksAllow []string
	// readTimeout is the server's http.Server.ReadTimeout, as serve sets one (zero: none).
	readTimeout time.Duration
	// mailer sends the service's email (nil: no SMTP server configured, as by default).
	mailer chat.Mailer
	// publicURL is serve's --public-url, which emails link back to (empty: none).
	publicURL string
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *env {
	t.Helper()
	o := envOptions{}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	st := dbtest.Open(t) // SQLite, or PostgreSQL with PARLEY_TEST_STORE=postgres
	hub := realtime.NewHub()
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if o.jwksAllow != nil {
		allow = nil
		for _, p := range o.jwksAllow {
			allow = append(allow, mustPrefix(t, p))
		}
	}
	jwks := identity.NewJWKSFetcher(identity.JWKSOptions{AllowNetworks: allow, Logger: slog.New(slog.DiscardHandler)})
	svc := chattest.Start(t, chat.Config{Store: st, Events: hub, Passwords: password.NewHasher(4), JWKS: jwks, Mailer: o.mailer, PublicURL: o.publicURL}, hub)
	cfg := console.Config{Chat: svc, Events: hub, Limits: o.limits}
	for _, p := range o.proxies {
		cfg.TrustedProxies = append(cfg.TrustedProxies, mustPrefix(t, p))
	}
	con, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub, Console: con, TrustedProxies: cfg.TrustedProxies})
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(api)
	srv.Config.ReadTimeout = o.readTimeout
	if o.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.CloseClientConnections()
		api.Shutdown(ctx)
		srv.Close()
	})
	return &env{t: t, srv: srv, svc: svc, hub: hub, api: api, st: st}
}

// tenant is a workspace with a signing key and an administrator.
type tenant struct {
	e     *env
	ws    store.Workspace
	key   chat.NewKey
	admin store.Agent
}

func (e *env) tenant(name, adminEmail string) *tenant {
	e.t.Helper()
	ctx := context.Background()
	ws, err := e.svc.CreateWorkspace(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	key, err := e.svc.CreateKey(ctx, ws.ID, "HS256")
	if err != nil {
		e.t.Fatal(err)
	}
	admin := e.agent(ws.ID, adminEmail, "Admin of "+name, store.RoleAdmin)
	return &tenant{e: e, ws: ws, key: key, admin: admin}
}

func (e *env) agent(wsID, email, name, role string) store.Agent {
	e.t.Helper()
	a, err := e.svc.CreateAgent(context.Background(), wsID, email, name, role, agentPassword)
	if err != nil {
		e.t.Fatalf("CreateAgent %s: %v", email, err)
	}
	return a
}

// token signs a login token for the tenant's workspace.
func (tn *tenant) token(claims jwt.MapClaims) string {
	tn.e.t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = tn.key.ID
	s, err := tok.SignedString([]byte(tn.key.Secret))
	if err != nil {
		tn.e.t.Fatal(err)
	}
	return s
}

// visitor starts a widget session in the tenant's workspace.
func (tn *tenant) visitor() *chat.Visitor {
	tn.e.t.Helper()
	_, v, err := tn.e.svc.CreateSession(context.Background(), tn.ws.ID)
	if err != nil {
		tn.e.t.Fatal(err)
	}
	return v
}

// verified starts a session signed in as a verified customer.
func (tn *tenant) verified(claims jwt.MapClaims) *chat.Visitor {
	tn.e.t.Helper()
	v := tn.visitor()
	_, v, _, err := tn.e.svc.Login(context.Background(), v, tn.token(claims))
	if err != nil {
		tn.e.t.Fatalf("Login: %v", err)
	}
	return v
}

// identified starts a session that claims an identity.
func (tn *tenant) identified(c chat.Claims) *chat.Visitor {
	tn.e.t.Helper()
	_, v, err := tn.e.svc.Identify(context.Background(), tn.visitor(), c)
	if err != nil {
		tn.e.t.Fatalf("Identify: %v", err)
	}
	return v
}

// say posts a customer message and returns it.
func (tn *tenant) say(v *chat.Visitor, body string) store.Message {
	tn.e.t.Helper()
	m, _, err := tn.e.svc.PostMessage(context.Background(), v, body, "")
	if err != nil {
		tn.e.t.Fatalf("PostMessage: %v", err)
	}
	return m
}

func (e *env) conversation(id string) store.Conversation {
	e.t.Helper()
	c, err := e.st.Conversation(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// ---------------------------------------------------------------- a browser, roughly

// browser is an HTTP client that keeps cookies, does not follow redirects, and sends the Origin a
// browser would send on a form post.
type browser struct {
	e    *env
	jar  *cookiejar.Jar
	c    *http.Client
	csrf string // the console session's CSRF token, read from the last page
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, jar: jar, c: &c}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

var csrfMeta = regexp.MustCompile(`<meta name="parley-csrf" content="([^"]+)">`)
var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	p := page{status: res.StatusCode, header: res.Header, body: string(data)}
	if m := csrfMeta.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string, headers ...string) page {
	b.e.t.Helper()
	req, err := http.NewRequest("GET", b.e.srv.URL+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// post sends a form as a same-origin browser would, adding the CSRF token unless the form has one
// (an empty "csrf" value sends none).
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	} else if form.Get("csrf") == "" {
		form.Del("csrf")
	}
	req, err := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return b.do(req)
}

// loginForm opens the sign-in page and returns its double-submit token.
func (b *browser) loginForm() string {
	b.e.t.Helper()
	p := b.get("/console/login")
	if p.status != 200 {
		b.e.t.Fatalf("GET /console/login: %d", p.status)
	}
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		b.e.t.Fatalf("no csrf field on the sign-in page:\n%s", p.body)
	}
	return m[1]
}

// signIn signs the browser in as email and opens the inbox.
func (b *browser) signIn(email string) *browser {
	b.e.t.Helper()
	p := b.post("/console/login", url.Values{"csrf": {b.loginForm()}, "email": {email}, "password": {agentPassword}})
	if p.status != http.StatusSeeOther {
		b.e.t.Fatalf("sign in as %s: %d\n%s", email, p.status, p.body)
	}
	b.mustGet("/console/")
	return b
}

// signedIn is a fresh browser signed in as the agent.
func (e *env) signedIn(a store.Agent) *browser { return e.browser().signIn(a.Email) }

func (b *browser) mustGet(path string) page {
	b.e.t.Helper()
	p := b.get(path)
	if p.status != 200 {
		b.e.t.Fatalf("GET %s: %d (Location %q)\n%s", path, p.status, p.location(), p.body)
	}
	return p
}

// mustPost posts a form and expects a redirect (Post-Redirect-Get), which it follows once.
func (b *browser) mustPost(path string, form url.Values) page {
	b.e.t.Helper()
	p := b.post(path, form)
	if p.status != http.StatusSeeOther {
		b.e.t.Fatalf("POST %s: %d\n%s", path, p.status, p.body)
	}
	return b.mustGet(p.location())
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL + "/console/")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookie finds a Set-Cookie header of the response by name.
func setCookie(p page, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tamper is a token one character off: its first changed, to "x" unless it begins with one (a random
// token does, one time in 32 or so, and "x"+token[1:] was then the right token).
func tamper(token string) string {
	if strings.HasPrefix(token, "x") {
		return "y" + token[1:]
	}
	return "x" + token[1:]
}
