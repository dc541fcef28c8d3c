package console_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

const (
	xssScript = `<script>alert(1)</script>`
	xssAttr   = `"><img src=x onerror=alert(1)>`
	xssURL    = `javascript:alert(1)`
	// Emails cannot hold < > or ", but may hold quotes and equals signs.
	xssEmail = `x'onfocus='top.x=1'autofocus@example.com`
)

// attribute is one attribute of a tag in a page.
type attribute struct{ tag, name, value string }

// attributes reads every tag's attributes, honouring quotes, the way a browser's tokenizer would for
// the markup html/template produces (where text never holds a raw "<").
func attributes(body string) []attribute {
	var out []attribute
	for i := 0; i < len(body); i++ {
		if body[i] != '<' || i+1 >= len(body) || !isLetter(body[i+1]) {
			continue
		}
		j := i + 1
		for j < len(body) && !isSpace(body[j]) && body[j] != '>' && body[j] != '/' {
			j++
		}
		tag := strings.ToLower(body[i+1 : j])
		for j < len(body) && body[j] != '>' {
			if isSpace(body[j]) || body[j] == '/' {
				j++
				continue
			}
			k := j
			for k < len(body) && !isSpace(body[k]) && body[k] != '=' && body[k] != '>' && body[k] != '/' {
				k++
			}
			a := attribute{tag: tag, name: strings.ToLower(body[j:k])}
			j = k
			if j < len(body) && body[j] == '=' {
				j++
				if j < len(body) && (body[j] == '"' || body[j] == '\'') {
					q := body[j]
					end := strings.IndexByte(body[j+1:], q)
					if end < 0 {
						end = len(body) - j - 1
					}
					a.value = body[j+1 : j+1+end]
					j += end + 2
				} else {
					k = j
					for k < len(body) && !isSpace(body[k]) && body[k] != '>' {
						k++
					}
					a.value, j = body[j:k], k
				}
			}
			out = append(out, a)
		}
		i = j
	}
	return out
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isSpace(b byte) bool  { return b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\f' }

// unsafeAttribute finds an event handler, autofocus or a javascript: URL among a page's attributes.
func unsafeAttribute(body string) string {
	for _, a := range attributes(body) {
		if strings.HasPrefix(a.name, "on") || a.name == "autofocus" {
			return "<" + a.tag + " " + a.name + "=" + a.value
		}
		switch a.name {
		case "href", "src", "action", "formaction", "data-fragment":
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.value)), "javascript:") {
				return "<" + a.tag + " " + a.name + "=" + a.value
			}
		}
	}
	return ""
}

// Every string a customer, visitor or integrator controls goes through html/template on every page that
// shows it: the raw payloads never appear, and the only script is the console's own.
func TestCustomerTextIsText(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme "+xssScript, "ada@acme.example")
	admin := tn.admin
	evil := e.agent(tn.ws.ID, "evil@acme.example", xssScript+xssAttr, store.RoleAgent)
	if _, err := e.svc.SaveInbox(ctx, admin, "", xssScript+xssAttr, []string{admin.ID, evil.ID}); err != nil {
		t.Fatal(err)
	}
	first, login := xssScript+xssAttr+xssURL, `https://acme.example/login?next="><script>alert(1)</script>`
	if _, err := e.svc.UpdateWorkspace(ctx, tn.ws.ID, chat.SettingsPatch{FirstMessage: &first, LoginURL: &login}); err != nil {
		t.Fatal(err)
	}

	// A verified customer whose every claim is a payload, writing payloads.
	v := tn.verified(jwt.MapClaims{"sub": xssURL + xssScript, "email": xssEmail, "name": xssScript + xssAttr, "phone": xssAttr})
	var conv string
	for _, body := range []string{xssScript, xssAttr, xssURL, "</textarea>" + xssScript, `<svg onload=alert(1)>`} {
		conv = tn.say(v, body).ConversationID
	}
	if _, err := e.svc.Assign(ctx, admin, conv, evil.ID); err != nil {
		t.Fatal(err)
	}
	// An identified visitor claiming payloads.
	iv := tn.identified(chat.Claims{Name: xssScript + xssAttr, Email: xssEmail, Phone: xssScript})
	iconv := tn.say(iv, xssAttr).ConversationID
	if _, err := e.svc.RequestLogin(ctx, admin, iconv); err != nil {
		t.Fatal(err)
	}
	// A refused login whose header names a payload key id: the identity log shows the message.
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + strings.ReplaceAll(xssScript+xssAttr, `"`, `\"`) + `"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`))
	if _, _, _, err := e.svc.Login(ctx, tn.visitor(), header+"."+payload+".c2ln"); err == nil {
		t.Fatal("a forged token signed in")
	}
	if fails, _ := e.svc.LoginFailures(ctx, tn.ws.ID, 10); len(fails) == 0 || !strings.Contains(fails[0].Message+fails[0].KeyID, "<script>") {
		t.Fatalf("the failure does not carry the payload, so the test proves nothing: %+v", fails)
	}
	// Keys an integrator names: an API key's name, a public key's kid, a JWKS URL.
	if _, err := e.svc.CreateAPIKey(ctx, tn.ws.ID, xssScript+xssAttr, nil); err != nil {
		t.Fatal(err)
	}
	kid := xssScript + `"'><img/src=x/onerror=alert(1)>` // a kid holds no spaces
	ec := newECKey(t)
	if _, err := e.svc.RegisterPublicKey(ctx, tn.ws.ID, "ES256", kid, []byte(publicPEM(t, &ec.PublicKey))); err != nil {
		t.Fatal(err)
	}
	jwksURL, _ := jwksServer(t, "idp-1")
	jwksURL += "?x=" + kid
	if _, _, err := e.svc.AddJWKS(ctx, tn.ws.ID, jwksURL); err != nil {
		t.Fatal(err)
	}
	escapedKid := "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&gt;&lt;img/src=x/onerror=alert(1)&gt;"
	var customerID string
	if c := e.conversation(conv); c.CustomerID == "" {
		t.Fatal("not verified")
	} else {
		customerID = c.CustomerID
	}

	b := e.signedIn(admin)
	pages := []struct {
		path     string
		fragment bool
		shows    []string // what must be there, escaped
	}{
		{"/console/", false, []string{"&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"}},
		{"/console/?view=open&q=" + url.QueryEscape(xssAttr), false, []string{`value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`}},
		{"/console/inbox/list?view=open", true, []string{"&lt;script&gt;"}},
		{"/console/conversations/" + conv, false, []string{"&lt;svg onload=alert(1)&gt;", "javascript:alert(1)&lt;script&gt;", "x&#39;onfocus=&#39;top.x=1&#39;autofocus@example.com"}},
		{"/console/conversations/" + conv + "/live", true, []string{"&lt;script&gt;"}},
		{"/console/conversations/" + conv + "/timeline?after=0", true, []string{"&lt;/textarea&gt;&lt;script&gt;", "&lt;svg onload=alert(1)&gt;"}},
		{"/console/conversations/" + iconv, false, []string{"Claims to be x&#39;onfocus"}},
		{"/console/customers/" + customerID, false, []string{"javascript:alert(1)&lt;script&gt;"}},
		{"/console/settings", false, []string{"https://acme.example/login?next=&#34;&gt;&lt;script&gt;"}},
		{"/console/settings/keys", false, []string{"<code>" + escapedKid + "</code>", "?x=" + escapedKid + "</code>"}},
		{"/console/settings/api-keys", false, []string{"<td>&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</td>"}},
		{"/console/settings/audit", false, []string{"<code>" + escapedKid + "</code>", "?x=" + escapedKid}},
		{"/console/settings/agents", false, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"/console/settings/routing", false, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"/console/identity", false, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"/console/report", false, nil},
	}
	check := func(where string, p page, fragment bool, shows []string) {
		t.Helper()
		for _, raw := range []string{xssScript, xssAttr, "<svg onload", "</textarea><script"} {
			if strings.Contains(p.body, raw) {
				t.Errorf("%s: raw payload %q on the page", where, raw)
			}
		}
		// Pages load the console's own scripts (layout.html) and nothing else; fragments load none.
		lower := strings.ToLower(p.body)
		own := strings.Count(lower, `<script src="/console/static/`)
		if fragment && own != 0 {
			t.Errorf("%s: a fragment loads %d scripts, want none", where, own)
		}
		if !fragment && own == 0 {
			t.Errorf("%s: the page loads none of the console's scripts", where)
		}
		if n := strings.Count(lower, "<script") - own; n != 0 {
			t.Errorf("%s: %d <script tags besides the console's own, want none", where, n)
		}
		if m := unsafeAttribute(p.body); m != "" {
			t.Errorf("%s: an unsafe attribute: %s", where, m)
		}
		if n := len(attributes(p.body)); n < 10 {
			t.Errorf("%s: only %d attributes read; the reader is broken", where, n)
		}
		if strings.Contains(p.body, "<img") {
			t.Errorf("%s: an <img>", where)
		}
		for _, s := range shows {
			if !strings.Contains(p.body, s) {
				t.Errorf("%s: lacks %q (the payload should show, as text)", where, s)
			}
		}
	}
	for _, pg := range pages {
		p := b.mustGet(pg.path)
		check(pg.path, p, pg.fragment, pg.shows)
		if strings.Contains(pg.path, "/report") && !strings.Contains(p.body, "<svg") {
			t.Errorf("no chart on the report")
		}
	}

	// The token checker: a payload token comes back only inside its textarea, escaped.
	tok := "</textarea>" + xssScript + "." + xssAttr
	p := b.post("/console/identity/check", url.Values{"token": {tok}})
	check("token checker", p, false, []string{"&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;.&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</textarea>", "would be refused"})
	if n := strings.Count(p.body, "&lt;/textarea&gt;&lt;script&gt;"); n != 1 {
		t.Errorf("the token is echoed %d times, want once (in its textarea)", n)
	}
	// A refused settings form shows the values back, escaped.
	p = b.post("/console/settings", url.Values{"name": {xssScript}, "login_url": {xssURL}})
	check("refused settings", p, false, []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `value="javascript:alert(1)"`})
	// Refused key forms too: each shows what was sent back, escaped.
	p = b.post("/console/settings/keys/public", url.Values{"alg": {"ES256"}, "kid": {xssAttr}, "public_key": {"</textarea>" + xssScript}})
	check("refused public key", p, false, []string{"&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;</textarea>", `value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`})
	p = b.post("/console/settings/keys/jwks", url.Values{"url": {xssAttr}})
	check("refused JWKS", p, false, []string{`value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`})
	p = b.post("/console/settings/keys/jwks", url.Values{"url": {xssURL}})
	check("refused JWKS javascript:", p, false, []string{`value="javascript:alert(1)"`})
	p = b.post("/console/settings/api-keys", url.Values{"name": {xssScript + xssAttr}})
	check("refused API key", p, false, []string{`value="&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`})
	// A created API key: its name on the page that shows the key once.
	p = b.post("/console/settings/api-keys", url.Values{"name": {xssScript + xssAttr}, "scope": {"customers:read"}})
	check("created API key", p, false, []string{"(&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;)"})
	// A refused agent form too.
	p = b.post("/console/settings/agents", url.Values{"name": {xssScript}, "email": {xssEmail}, "password": {"short"}})
	check("refused agent", p, false, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"})
}

func TestAttributeReader(t *testing.T) {
	body := `<p title="a &lt;b onclick=x&gt;">text onload=y</p><img src=x onerror=alert(1)><a href=' javascript:x'>`
	got := unsafeAttribute(body)
	if got != "<img onerror=alert(1)" {
		t.Fatalf("unsafeAttribute: %q", got)
	}
	if got := unsafeAttribute(`<a href=' JavaScript:x'>`); got == "" {
		t.Fatal("a javascript: link went unnoticed")
	}
	if got := unsafeAttribute(`<p title="onclick=x">x</p>`); got != "" {
		t.Fatalf("a quoted value taken for an attribute: %q", got)
	}
}
