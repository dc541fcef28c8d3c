package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/console"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// The first-run setup page (console/setup.go, docs/setup.md), on both stores: its token, its rules,
// nothing written when it refuses, exactly one winner among instances sharing a database, and a 404
// for good afterwards.

const setupPassword = "violet kettle mountain drum"

// setupInstance is one Parley instance serving the setup page with its own token.
type setupInstance struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *chat.Service
	token string
}

func newSetupInstance(t *testing.T, st store.Store, token string, limits console.Limits) *setupInstance {
	t.Helper()
	hub := realtime.NewHub()
	svc := chattest.Start(t, chat.Config{Store: st, Events: hub, Passwords: password.NewHasher(4)}, hub)
	con, err := console.New(console.Config{Chat: svc, Events: hub, Limits: limits, SetupToken: token})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub, Console: con})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		api.Shutdown(context.Background())
		srv.Close()
	})
	return &setupInstance{t: t, srv: srv, svc: svc, token: token}
}

// setupBrowser is one browser: a cookie jar, and the CSRF token of the setup form it last loaded.
type setupBrowser struct {
	in   *setupInstance
	c    *http.Client
	csrf string
}

func (in *setupInstance) browser() *setupBrowser {
	in.t.Helper()
	jar, _ := cookiejar.New(nil)
	return &setupBrowser{in: in, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var setupCSRFField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *setupBrowser) get(path string) (int, string) {
	b.in.t.Helper()
	res, err := b.c.Get(b.in.srv.URL + path)
	if err != nil {
		b.in.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := setupCSRFField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return res.StatusCode, string(body)
}

// open loads the setup form, which must be there.
func (b *setupBrowser) open() {
	b.in.t.Helper()
	if status, body := b.get("/setup"); status != http.StatusOK || !strings.Contains(body, `name="token"`) {
		b.in.t.Fatalf("GET /setup: %d\n%s", status, body)
	}
}

func (b *setupBrowser) post(form url.Values) (int, string) {
	b.in.t.Helper()
	form.Set("csrf", b.csrf)
	req, _ := http.NewRequest(http.MethodPost, b.in.srv.URL+"/setup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.in.srv.URL)
	res, err := b.c.Do(req)
	if err != nil {
		b.in.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := setupCSRFField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return res.StatusCode, string(body)
}

func setupForm(token string) url.Values {
	return url.Values{
		"token": {token}, "workspace_name": {"Acme Bank"}, "origin": {"HTTPS://www.Acme.example:443"},
		"name": {"Ada Admin"}, "email": {"ada@acme.example"}, "password": {setupPassword}, "confirm": {setupPassword},
	}
}

// setupStores runs f on SQLite and on PostgreSQL (skipped when no server answers).
func setupStores(t *testing.T, f func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, func(t *testing.T) store.Store { return dbtest.SQLite(t) }) })
	t.Run("postgres", func(t *testing.T) { f(t, func(t *testing.T) store.Store { return dbtest.Postgres(t) }) })
}

func countRows(t *testing.T, st store.Store) (workspaces, agents, keys int) {
	t.Helper()
	return dbtest.Count(t, st, `SELECT COUNT(*) FROM workspaces`), dbtest.Count(t, st, `SELECT COUNT(*) FROM agents`),
		dbtest.Count(t, st, `SELECT COUNT(*) FROM signing_keys`)
}

func requireEmpty(t *testing.T, st store.Store, after string) {
	t.Helper()
	if w, a, k := countRows(t, st); w+a+k != 0 {
		t.Fatalf("after %s: %d workspaces, %d agents, %d keys written; want none", after, w, a, k)
	}
}

var errorCode = regexp.MustCompile(`role="alert"[^>]*data-code="([^"]*)"`)

func codeOf(body string) string {
	if m := errorCode.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

func TestSetupRules(t *testing.T) {
	setupStores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		in := newSetupInstance(t, st, "the-right-token-0123456789abcdefghijklmnop", console.Limits{})
		b := in.browser()

		// Before setup, / and the sign-in page point to the setup page.
		if status, body := b.get("/"); status != http.StatusOK || !strings.Contains(body, "not set up yet") || !strings.Contains(body, `href="/setup"`) {
			t.Fatalf("GET / before setup: %d\n%s", status, body)
		}
		if status, body := b.get("/console/login"); status != http.StatusOK || !strings.Contains(body, "Finish setup with the link") || strings.Contains(body, `name="password"`) {
			t.Fatalf("GET /console/login before setup: %d\n%s", status, body)
		}
		b.open()

		refusals := []struct {
			name   string
			change func(url.Values)
			status int
			code   string
			says   string
		}{
			{"wrong token", func(f url.Values) { f.Set("token", "the-wrong-token-0123456789abcdefghijklmnop") }, http.StatusForbidden, "setup_token_invalid", "not valid"},
			{"no token", func(f url.Values) { f.Del("token") }, http.StatusForbidden, "setup_token_invalid", "not valid"},
			{"a prefix of the token", func(f url.Values) { f.Set("token", "the-right-token") }, http.StatusForbidden, "setup_token_invalid", "not valid"},
			{"short password", func(f url.Values) { f.Set("password", "short pw"); f.Set("confirm", "short pw") }, http.StatusUnprocessableEntity, "invalid_field", "at least 12 characters"},
			{"common password", func(f url.Values) { f.Set("password", "password1234"); f.Set("confirm", "password1234") }, http.StatusUnprocessableEntity, "invalid_field", "commonly used"},
			{"password with the email", func(f url.Values) {
				f.Set("password", "ada@acme.example!!")
				f.Set("confirm", "ada@acme.example!!")
			}, http.StatusUnprocessableEntity, "invalid_field", "email address"},
			{"confirmation differs", func(f url.Values) { f.Set("confirm", setupPassword+"x") }, http.StatusUnprocessableEntity, "invalid_field", "confirmation differ"},
			{"origin with a path", func(f url.Values) { f.Set("origin", "https://www.acme.example/shop") }, http.StatusUnprocessableEntity, "invalid_field", "must be an origin"},
			{"origin not http", func(f url.Values) { f.Set("origin", "ftp://www.acme.example") }, http.StatusUnprocessableEntity, "invalid_field", "https://"},
			{"no origin", func(f url.Values) { f.Set("origin", " ") }, http.StatusUnprocessableEntity, "invalid_field", "must not be empty"},
			{"no workspace name", func(f url.Values) { f.Set("workspace_name", "") }, http.StatusUnprocessableEntity, "invalid_field", "must not be empty"},
			{"bad email", func(f url.Values) { f.Set("email", "not an email") }, http.StatusUnprocessableEntity, "invalid_field", "mail"},
		}
		for _, r := range refusals {
			form := setupForm(in.token)
			r.change(form)
			status, body := b.post(form)
			if status != r.status || codeOf(body) != r.code || !strings.Contains(html.UnescapeString(body), r.says) {
				t.Fatalf("%s: %d %q; want %d %s saying %q\n%s", r.name, status, codeOf(body), r.status, r.code, r.says, body)
			}
			if strings.Contains(body, setupPassword) {
				t.Fatalf("%s: the refused form repeats the password", r.name)
			}
			requireEmpty(t, st, r.name)
		}

		// Without the form's CSRF cookie and field, nothing happens either.
		other := in.browser()
		if status, body := other.post(setupForm(in.token)); status != http.StatusForbidden || codeOf(body) != "csrf_failed" {
			t.Fatalf("without the form's CSRF token: %d %q", status, codeOf(body))
		}
		requireEmpty(t, st, "a post without CSRF")

		status, body := b.post(setupForm(in.token))
		if status != http.StatusOK {
			t.Fatalf("setup: %d\n%s", status, body)
		}
		ws, err := st.Workspaces(context.Background())
		if err != nil || len(ws) != 1 {
			t.Fatalf("workspaces after setup: %v %v", ws, err)
		}
		w := ws[0]
		if w.Name != "Acme Bank" || len(w.Settings.AllowedOrigins) != 1 || w.Settings.AllowedOrigins[0] != "https://www.acme.example" {
			t.Fatalf("workspace %+v; want Acme Bank allowing the canonical origin", w)
		}
		agents, _ := st.Agents(context.Background(), w.ID)
		if len(agents) != 1 || agents[0].Email != "ada@acme.example" || agents[0].Role != store.RoleAdmin || agents[0].Name != "Ada Admin" {
			t.Fatalf("agents after setup: %+v", agents)
		}
		keys, _ := st.SigningKeys(context.Background(), w.ID)
		if len(keys) != 1 || keys[0].Alg != "HS256" {
			t.Fatalf("keys after setup: %+v", keys)
		}
		page := html.UnescapeString(body)
		secret := regexp.MustCompile(`psk_[A-Za-z0-9_-]+`).FindString(page)
		for _, want := range []string{
			`<script src="` + in.srv.URL + `/widget.js" data-workspace="` + w.ID + `" async></script>`,
			`keyid: '` + keys[0].ID + `'`, `aud: '` + w.ID + `'`, secret,
		} {
			if secret == "" || !strings.Contains(page, want) {
				t.Fatalf("the result page lacks %q\n%s", want, page)
			}
		}
		if strings.Contains(page, in.token) {
			t.Fatal("the result page repeats the setup token")
		}
		// The secret shown is the key's: a token signed with it logs a visitor in.
		_, v, err := in.svc.CreateSession(context.Background(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})
		tok.Header["kid"] = keys[0].ID
		signed, _ := tok.SignedString([]byte(secret))
		if _, _, _, err := in.svc.Login(context.Background(), v, signed); err != nil {
			t.Fatalf("login with a token signed by the secret shown: %v", err)
		}

		// Afterwards the page is gone, with the right token too, and nothing more is written.
		if status, body := b.get("/setup"); status != http.StatusNotFound || codeOf(body) != "setup_not_available" {
			t.Fatalf("GET /setup after setup: %d %q", status, codeOf(body))
		}
		form := setupForm(in.token)
		form.Set("email", "eve@acme.example")
		if status, _ := b.post(form); status != http.StatusNotFound {
			t.Fatalf("POST /setup after setup: %d; want 404", status)
		}
		if w, a, k := countRows(t, st); w != 1 || a != 1 || k != 1 {
			t.Fatalf("after a second setup: %d workspaces, %d agents, %d keys", w, a, k)
		}
		if status, body := b.get("/"); status != http.StatusOK || strings.Contains(body, "not set up") || !strings.Contains(body, `href="/console/"`) || !strings.Contains(body, `href="/healthz"`) {
			t.Fatalf("GET / after setup: %d\n%s", status, body)
		}
		// The administrator signs in with the password they chose.
		status, body = b.get("/console/login")
		if status != http.StatusOK || !strings.Contains(body, `name="password"`) {
			t.Fatalf("GET /console/login after setup: %d\n%s", status, body)
		}
		req, _ := http.NewRequest(http.MethodPost, in.srv.URL+"/console/login", strings.NewReader(url.Values{
			"csrf": {b.csrf}, "email": {"ada@acme.example"}, "password": {setupPassword}, "next": {"/console/"},
		}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/" {
			t.Fatalf("sign-in after setup: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// An instance started on a set-up installation has no token, and no setup page.
func TestSetupWithoutToken(t *testing.T) {
	in := newSetupInstance(t, dbtest.SQLite(t), "", console.Limits{})
	b := in.browser()
	if status, _ := b.get("/setup"); status != http.StatusNotFound {
		t.Fatalf("GET /setup without a token: %d", status)
	}
	if status, _ := b.post(setupForm("")); status != http.StatusNotFound {
		t.Fatalf("POST /setup without a token: %d", status)
	}
}

// Setting up from the command line (workspace create) while the link is out closes the page too: the
// instance asks the store, not only its memory.
func TestSetupClosedByAnotherWay(t *testing.T) {
	st := dbtest.SQLite(t)
	in := newSetupInstance(t, st, "a-token-0123456789abcdefghijklmnopqrstuv", console.Limits{})
	b := in.browser()
	b.open()
	if _, err := in.svc.CreateWorkspace(context.Background(), "Made by the CLI"); err != nil {
		t.Fatal(err)
	}
	if status, _ := b.post(setupForm(in.token)); status != http.StatusNotFound {
		t.Fatalf("POST /setup once a workspace exists: %d; want 404", status)
	}
	if w, a, k := countRows(t, st); w != 1 || a != 0 || k != 0 {
		t.Fatalf("%d workspaces, %d agents, %d keys; want the CLI's workspace alone", w, a, k)
	}
}

func TestSetupRateLimited(t *testing.T) {
	in := newSetupInstance(t, dbtest.SQLite(t), "a-token-0123456789abcdefghijklmnopqrstuv", console.Limits{SetupsPerIP: ratelimit.Rate{Every: time.Hour, Burst: 3}})
	b := in.browser()
	b.open()
	for i := range 3 {
		if status, _ := b.post(setupForm("wrong")); status != http.StatusForbidden {
			t.Fatalf("wrong token %d: %d; want 403", i+1, status)
		}
	}
	// The budget is spent: even the right token waits now.
	if status, _ := b.post(setupForm(in.token)); status != http.StatusTooManyRequests {
		t.Fatalf("after 3 wrong tokens: %d; want 429", status)
	}
}

// Several instances on one database, each with its own valid link, set up at the same moment: exactly
// one wins, the others are told Parley is already set up (409; or 404 when their request came after the
// winner committed), and every instance's page is gone.
func TestSetupRace(t *testing.T) {
	const instances = 4
	setupStores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		for round := range 3 {
			stores := make([]store.Store, instances+1)
			first := open(t)
			stores[0] = first
			for i := 1; i <= instances; i++ {
				stores[i] = first
				if pg, ok := first.(*postgres.Store); ok { // a store (a pool) of its own, as another process has
					stores[i] = dbtest.OpenSchema(t, pg.Schema(), postgres.Options{})
				}
			}
			var ins []*setupInstance
			var browsers []*setupBrowser
			for i := 0; i <= instances; i++ {
				in := newSetupInstance(t, stores[i], "token-of-instance-"+string(rune('a'+i))+"-0123456789abcdefghijklmnop", console.Limits{})
				ins = append(ins, in)
				b := in.browser()
				b.open()
				browsers = append(browsers, b)
			}
			// Instance 0 only watches; the others post at once.
			statuses := make([]int, instances+1)
			codes := make([]string, instances+1)
			var start, wg sync.WaitGroup
			start.Add(1)
			for i := 1; i <= instances; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					form := setupForm(ins[i].token)
					form.Set("workspace_name", "Racer "+string(rune('a'+i)))
					form.Set("email", "admin-"+string(rune('a'+i))+"@acme.example")
					start.Wait()
					var body string
					statuses[i], body = browsers[i].post(form)
					codes[i] = codeOf(body)
				}()
			}
			start.Done()
			wg.Wait()
			wins := 0
			for i := 1; i <= instances; i++ {
				switch {
				case statuses[i] == http.StatusOK:
					wins++
				case statuses[i] == http.StatusConflict && codes[i] == "already_set_up":
				case statuses[i] == http.StatusNotFound && codes[i] == "setup_not_available":
					// Its request came after the winner had committed: the page is gone, as for anyone
					// afterwards (a full run saw this once).
				default:
					t.Fatalf("round %d, instance %d: %d %q; want 200, 409 already_set_up, or 404 setup_not_available", round, i, statuses[i], codes[i])
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d setups won (%v); want exactly one", round, wins, statuses)
			}
			if w, a, k := countRows(t, first); w != 1 || a != 1 || k != 1 {
				t.Fatalf("round %d: %d workspaces, %d agents, %d keys; want one of each", round, w, a, k)
			}
			for i, b := range browsers {
				if status, _ := b.get("/setup"); status != http.StatusNotFound {
					t.Fatalf("round %d: instance %d still serves the setup page (%d)", round, i, status)
				}
			}
		}
	})
}
