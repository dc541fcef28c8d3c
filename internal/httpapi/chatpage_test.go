package httpapi_test

import (
	"crypto/sha512"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/widget"
)

// The chat page, GET /chat/{workspace} (docs/mobile.md): its headers, its script, its 404, the own
// origin its calls come from, and the single-use login its #token= link makes.

func withWidgetAssets(t *testing.T) envOption {
	assets, err := widget.Load()
	if err != nil {
		t.Fatal(err)
	}
	return func(c *httpapi.Config) { c.Widget = assets }
}

// page is a plain GET, as a browser opening a link makes it.
type page struct {
	status int
	header http.Header
	body   string
}

func (e *env) page(path string, headers ...string) page {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

// directives splits a Content-Security-Policy into its directives.
func directives(csp string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name != "" {
			out[name] = strings.TrimSpace(value)
		}
	}
	return out
}

func TestChatPage(t *testing.T) {
	e := newEnv(t, withWidgetAssets(t))
	name := `Acme <Bank> & "Co"`
	e.update(chat.SettingsPatch{Name: &name})
	p := e.page("/chat/" + e.ws.ID)
	if p.status != 200 || p.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /chat/%s: %d %q", e.ws.ID, p.status, p.header.Get("Content-Type"))
	}

	// Headers: a strict policy (its own scripts only, nothing inline, calls and the socket to its own
	// origin), no referrer, nothing cached, not framed (WebViews load it as a top-level page).
	host := strings.TrimPrefix(e.srv.URL, "http://")
	csp := directives(p.header.Get("Content-Security-Policy"))
	want := map[string]string{
		"default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "connect-src": "'self' ws://" + host,
		"base-uri": "'none'", "form-action": "'none'", "frame-ancestors": "'none'",
	}
	for d, v := range want {
		if csp[d] != v {
			t.Errorf("CSP %s = %q, want %q (policy %q)", d, csp[d], v, p.header.Get("Content-Security-Policy"))
		}
	}
	if strings.Contains(p.header.Get("Content-Security-Policy"), "unsafe") {
		t.Errorf("CSP allows something unsafe: %q", p.header.Get("Content-Security-Policy"))
	}
	if got := csp["img-src"]; got != "'self' data: blob:" {
		t.Errorf("CSP img-src = %q without a logo", got)
	}
	for h, v := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := p.header.Get(h); got != v {
			t.Errorf("%s: %q, want %q", h, got, v)
		}
	}

	// The page: its title is the workspace's name (escaped), a mobile viewport, and no inline script —
	// one script, the widget's checksummed file with its integrity, in page mode.
	if !strings.Contains(p.body, "<title>Acme &lt;Bank&gt; &amp; &#34;Co&#34;</title>") {
		t.Errorf("title: the workspace's name, escaped:\n%s", p.body)
	}
	if !regexp.MustCompile(`<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover[^"]*">`).MatchString(p.body) {
		t.Errorf("no mobile viewport meta:\n%s", p.body)
	}
	if !strings.Contains(p.body, `<meta name="referrer" content="no-referrer">`) {
		t.Errorf("no referrer meta:\n%s", p.body)
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(p.body, -1)
	if len(scripts) != 1 || strings.Count(p.body, "</script>") != 1 {
		t.Fatalf("want exactly one script, got %q", scripts)
	}
	attr := func(tag, name string) string {
		m := regexp.MustCompile(` ` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}
	tag := scripts[0]
	if !regexp.MustCompile(`<script [^>]*src="[^"]+"[^>]*></script>`).MatchString(p.body) || attr(tag, "data-mode") != "page" || attr(tag, "data-workspace") != e.ws.ID {
		t.Fatalf("the script is not the widget in page mode for the workspace: %s", tag)
	}
	if strings.Contains(tag, "async") || strings.Contains(tag, "defer") {
		t.Errorf("the script must run first, before the page goes on: %s", tag)
	}

	// The bootstrap: the script it names is served, matches its integrity, and takes the fragment's
	// token out of the address bar.
	js := e.page(attr(tag, "src"))
	if js.status != 200 || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET %s: %d %q", attr(tag, "src"), js.status, js.header.Get("Content-Type"))
	}
	sum := sha512.Sum384([]byte(js.body))
	if got := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); attr(tag, "integrity") != got {
		t.Errorf("integrity %q, the served script's %q", attr(tag, "integrity"), got)
	}
	if !strings.Contains(js.body, "history.replaceState") || !strings.Contains(js.body, "single_use") {
		t.Errorf("the served script has no page mode (replaceState, single_use login)")
	}
	css := e.page(attr(tag, "data-css"))
	sum = sha512.Sum384([]byte(css.body))
	if css.status != 200 || attr(tag, "data-css-integrity") != "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("the stylesheet %s: %d, integrity %q", attr(tag, "data-css"), css.status, attr(tag, "data-css-integrity"))
	}

	// HEAD answers like GET, without a body.
	res, err := e.client.Head(e.srv.URL + "/chat/" + e.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("HEAD: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

func TestChatPageUnknownWorkspace(t *testing.T) {
	e := newEnv(t, withWidgetAssets(t))
	for _, path := range []string{"/chat/ws_nope", "/chat/" + strings.Repeat("x", 65), "/chat/%3Cscript%3E"} {
		p := e.page(path)
		if p.status != 404 || p.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET %s: %d %q", path, p.status, p.header.Get("Content-Type"))
		}
		if !strings.Contains(p.body, "<h1>Chat not found</h1>") || strings.Contains(p.body, "<script") || strings.Contains(p.body, "script>") {
			t.Errorf("GET %s: not the plain 404 page:\n%s", path, p.body)
		}
		if csp := directives(p.header.Get("Content-Security-Policy")); csp["default-src"] != "'none'" || p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: CSP %q, Cache-Control %q", path, p.header.Get("Content-Security-Policy"), p.header.Get("Cache-Control"))
		}
	}
}

// A workspace with allowed origins still admits its own chat page, on Parley's own origin — and no
// other origin it did not list.
func TestChatPageOwnOriginAdmitted(t *testing.T) {
	e := newEnv(t, withWidgetAssets(t))
	e.update(chat.SettingsPatch{AllowedOrigins: &[]string{"https://shop.example"}})
	own := e.srv.URL // http://127.0.0.1:port

	create := func(origin string, headers ...string) response {
		return e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}, append([]string{"Origin", origin}, headers...)...)
	}
	r := create(own)
	expect(t, r, 201, "")
	token := r.str("session_token")
	expect(t, create("https://shop.example"), 201, "")
	for _, other := range []string{"https://evil.example", "null", strings.Replace(own, "127.0.0.1", "localhost", 1), "https://" + strings.TrimPrefix(own, "http://")} {
		expect(t, create(other), 403, "origin_not_allowed")
	}
	// A forwarded host counts only from a trusted proxy.
	expect(t, create("https://chat.example.com", "X-Forwarded-Host", "chat.example.com", "X-Forwarded-Proto", "https"), 403, "origin_not_allowed")

	// Every call the page makes: its session, a login, messages, the live socket.
	expect(t, e.request("GET", "/v1/widget/session", token, nil, "Origin", own), 200, "")
	expect(t, e.request("GET", "/v1/widget/session", token, nil, "Origin", "https://evil.example"), 403, "origin_not_allowed")
	expect(t, e.request("POST", "/v1/widget/messages", token, map[string]string{"body": "from the chat page", "client_id": "c1"}, "Origin", own), 201, "")
	login := e.request("POST", "/v1/widget/login", token, map[string]any{"token": e.sign(claims(map[string]any{"jti": "page-1"})), "single_use": true}, "Origin", own)
	expect(t, login, 200, "")
	token = login.str("session_token")
	c := wsDial(t, e, own)
	if id := wsAuth(t, c, token); id["level"] != "verified" {
		t.Fatalf("socket from the own origin: identity %v", id)
	}
	evil := wsDial(t, e, "https://evil.example")
	wsSend(t, evil, `{"type":"auth","session_token":"`+token+`"}`)
	wsExpectClose(t, evil, 4403, wsWait)
}

// Behind a trusted proxy, the own origin is the one the proxy forwarded.
func TestChatPageOwnOriginBehindProxy(t *testing.T) {
	e := newEnv(t, withWidgetAssets(t), func(c *httpapi.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	e.update(chat.SettingsPatch{AllowedOrigins: &[]string{"https://shop.example"}})
	forwarded := []string{"X-Forwarded-Host", "chat.example.com", "X-Forwarded-Proto", "https"}
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}, append([]string{"Origin", "https://chat.example.com"}, forwarded...)...)
	expect(t, r, 201, "")
	r = e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}, append([]string{"Origin", "http://chat.example.com"}, forwarded...)...)
	expect(t, r, 403, "origin_not_allowed")
	p := e.page("/chat/"+e.ws.ID, forwarded...)
	if got := directives(p.header.Get("Content-Security-Policy"))["connect-src"]; got != "'self' wss://chat.example.com" {
		t.Errorf("connect-src %q behind the proxy", got)
	}
}

// The chat page's login ("single_use": true) takes only a token that works once.
func TestChatPageSingleUseLogin(t *testing.T) {
	e := newEnv(t)
	pageLogin := func(session, token string) response {
		return e.request("POST", "/v1/widget/login", session, map[string]any{"token": token, "single_use": true})
	}

	// A site-signed token without jti: refused, saying why, and the session stays as it was.
	session := e.session()
	noJTI := e.sign(claims(nil))
	r := pageLogin(session, noJTI)
	expect(t, r, 401, "token_claims_invalid")
	if !strings.Contains(r.message(), "jti") || !strings.Contains(r.message(), "single") {
		t.Errorf("message %q does not say a jti is needed", r.message())
	}
	if id := e.request("GET", "/v1/widget/session", session, nil); id.str("identity", "level") != "anonymous" {
		t.Fatalf("after the refusal: %s", id.raw)
	}
	// The same token is fine for an ordinary login (the widget's Parley.login): the flag decides.
	expect(t, e.login(session, noJTI), 200, "")

	// With a jti: once, then token_replayed.
	withJTI := e.sign(claims(map[string]any{"jti": "link-1"}))
	expect(t, pageLogin(e.session(), withJTI), 200, "")
	expect(t, pageLogin(e.session(), withJTI), 401, "token_replayed")

	// A customers-API login token has a jti: accepted once.
	key := e.apiKey()
	expect(t, e.customers("PUT", "user-9", "", key, map[string]string{"name": "Noor"}), 201, "")
	lt := e.customers("POST", "user-9", "/login-tokens", key, nil).str("token")
	r = pageLogin(e.session(), lt)
	expect(t, r, 200, "")
	if r.str("identity", "level") != "verified" {
		t.Fatalf("identity %s", r.raw)
	}
	expect(t, pageLogin(e.session(), lt), 401, "token_replayed")

	// single_use must be a boolean.
	expect(t, e.request("POST", "/v1/widget/login", e.session(), map[string]any{"token": lt, "single_use": "yes"}), 422, "invalid_field")
}

// A workspace's logo is an image from its own origin: the chat page's policy lets that origin's images
// in, and only its images.
func TestChatPageLogoOrigin(t *testing.T) {
	e := newEnv(t, withWidgetAssets(t))
	logo := "https://cdn.acme.example:8443/brand/logo.png?v=2"
	e.update(chat.SettingsPatch{Appearance: &chat.AppearancePatch{LogoURL: &logo}})
	p := e.page("/chat/" + e.ws.ID)
	csp := directives(p.header.Get("Content-Security-Policy"))
	if got := csp["img-src"]; got != "'self' data: blob: https://cdn.acme.example:8443" {
		t.Errorf("CSP img-src = %q", got)
	}
	if csp["default-src"] != "'none'" || csp["connect-src"] != "'self' ws://"+strings.TrimPrefix(e.srv.URL, "http://") {
		t.Errorf("the logo changed other directives: %q", p.header.Get("Content-Security-Policy"))
	}
}
