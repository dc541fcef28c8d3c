package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// First-run setup (docs/setup.md). `parley serve` on an installation without a workspace makes a random
// token, keeps it in memory only and prints the link /setup#token=…. The page reads the token from the
// URL's fragment, which browsers send to no server and put in no Referer, and posts it in the form body;
// without JavaScript the visitor pastes it into the same field. The setup creates the workspace, its first
// administrator and its first signing key (chat.SetUp), after which the page is gone for good: every
// instance asks the store until it sees a workspace, then remembers.

const (
	setupPath       = "/setup"
	setupCSRFCookie = "parley_setup"
)

// setup is the state of the first-run setup on this instance.
type setup struct {
	token    string      // "" when this instance started on a set-up installation
	done     atomic.Bool // a workspace was seen: the setup page is gone for good
	failures *ratelimit.Failures
}

var (
	errSetupToken = problem.New(http.StatusForbidden, "setup_token_invalid",
		"this setup link is not valid: open the link that parley serve printed when it started (a restart makes a new one)")
	errNoSetup = problem.NotFound("setup_not_available", "there is no setup page: Parley is already set up; sign in at /console/")
)

// SetupPending reports whether the installation still waits for its first-run setup on this instance:
// it made a setup link and the store still has no workspace. Once a workspace is seen, the answer is
// remembered (a workspace is never the last one deleted). When the store cannot tell, the pages that
// merely point to the setup (/ and the sign-in page) show what they show once set up.
func (c *Console) SetupPending(ctx context.Context) bool {
	pending, err := c.setupPending(ctx)
	if err != nil && ctx.Err() == nil {
		c.log.Warn("setup: could not tell whether Parley is set up", "err", err)
	}
	return pending
}

func (c *Console) setupPending(ctx context.Context) (bool, error) {
	if c.setup.token == "" || c.setup.done.Load() {
		return false, nil
	}
	configured, err := c.chat.Configured(ctx)
	if err != nil {
		return false, err
	}
	if configured {
		c.setup.done.Store(true)
	}
	return !configured, nil
}

// setupOpen answers the request and returns false unless the setup page is there to be served: the
// store failing to answer is a 500, not a claim that Parley is set up.
func (c *Console) setupOpen(w http.ResponseWriter, r *http.Request) bool {
	pending, err := c.setupPending(r.Context())
	switch {
	case err != nil:
		c.fail(w, r, err)
	case !pending:
		c.setupGone(w, r, errNoSetup)
	}
	return err == nil && pending
}

// setupPage is the data of the setup page.
type setupPage struct {
	CSRF  string
	Token string // what the visitor posted, kept so that a refused form needs no second paste
	Form  chat.SetupInput
	Error string
	Code  string // Error's stable code (docs/api.md), for scripts and tests
	Field string // the field Error is about, to point at it
	// Afterwards:
	Done    bool
	Result  chat.SetupResult
	Origin  string // where this Parley is served, as the browser sees it
	Embed   string
	Signing string
	// Gone: the 404 and 409 answers.
	Gone    bool
	Message string

	MinChars int
}

// SetupPage serves GET /setup.
func (c *Console) SetupPage(w http.ResponseWriter, r *http.Request) {
	if !c.setupOpen(w, r) {
		return
	}
	c.renderSetup(w, r, http.StatusOK, setupPage{})
}

// Setup serves POST /setup (fields csrf, token, workspace_name, origin, name, email, password, confirm).
func (c *Console) Setup(w http.ResponseWriter, r *http.Request) {
	if !c.setupOpen(w, r) {
		return
	}
	if err := c.sameOrigin(r); err != nil {
		c.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, problem.New(http.StatusBadRequest, "invalid_form", "the form could not be read"))
		return
	}
	f := r.PostForm
	p := setupPage{
		Token: strings.TrimSpace(f.Get("token")),
		Form: chat.SetupInput{
			Workspace: f.Get("workspace_name"), Origin: f.Get("origin"),
			Name: f.Get("name"), Email: f.Get("email"), Password: f.Get("password"),
		},
	}
	ck, err := r.Cookie(setupCSRFCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(f.Get("csrf"))) != 1 {
		p.Error, p.Code = "This setup form has expired. Please try again.", "csrf_failed"
		c.renderSetup(w, r, http.StatusForbidden, p)
		return
	}
	// Every attempt counts against its address until the token proves right: guessing is hopeless
	// (256 bits), and this keeps it from being tried at speed all the same.
	addr := addrKey(c.clientIP(r))
	if err := c.setup.failures.Take(addr); err != nil {
		c.fail(w, r, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(p.Token), []byte(c.setup.token)) != 1 {
		c.log.Info("setup: refused a wrong setup token", "addr", c.clientIP(r))
		p.Error, p.Code, p.Field = sentence(errSetupToken.Message), errSetupToken.Code, "token"
		c.renderSetup(w, r, errSetupToken.Status, p)
		return
	}
	c.setup.failures.Refund(addr)
	if f.Get("password") != f.Get("confirm") {
		p.Error, p.Code, p.Field = "The password and its confirmation differ. Type them again.", "invalid_field", "password"
		c.renderSetup(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	ctx := chat.WithClientAddr(r.Context(), c.clientIP(r))
	res, err := c.chat.SetUp(ctx, p.Form)
	if err != nil {
		pr, ok := problem.As(err)
		switch {
		case ok && pr.Code == "already_set_up":
			c.setup.done.Store(true)
			c.log.Info("setup: another setup won; this one wrote nothing")
			c.setupGone(w, r, err)
		case ok && pr.Field != "":
			p.Error, p.Code, p.Field = problemSentence(pr), pr.Code, pr.Field
			c.renderSetup(w, r, pr.Status, p)
		default:
			c.fail(w, r, err)
		}
		return
	}
	c.setup.done.Store(true)
	c.log.Info("setup: Parley is set up", "workspace", res.Workspace.ID, "agent", res.Agent.ID, "kid", res.Key.ID)
	http.SetCookie(w, &http.Cookie{Name: setupCSRFCookie, Value: "", Path: setupPath, MaxAge: -1, HttpOnly: true, Secure: c.overTLS(r), SameSite: http.SameSiteStrictMode})
	origin := c.ownOrigin(r)
	done := setupPage{Done: true, Result: res, Origin: origin,
		Embed:   EmbedSnippet(origin, res.Workspace.ID),
		Signing: SigningSnippet(res.Workspace.ID, res.Key.ID),
	}
	c.render(w, r, http.StatusOK, "setup", &view{Title: "Parley is set up", Data: done})
}

// renderSetup shows the setup form with a fresh double-submit token, as the sign-in form does.
func (c *Console) renderSetup(w http.ResponseWriter, r *http.Request, status int, p setupPage) {
	p.CSRF = randomString()
	p.MinChars = chat.MinPasswordLength
	p.Form.Password = "" // never sent back
	http.SetCookie(w, &http.Cookie{
		Name: setupCSRFCookie, Value: p.CSRF, Path: setupPath, MaxAge: int(loginCSRFLifetime.Seconds()),
		HttpOnly: true, Secure: c.overTLS(r), SameSite: http.SameSiteStrictMode,
	})
	c.render(w, r, status, "setup", &view{Title: "Set up Parley", Data: p})
}

// setupGone answers a setup page that is no more (404), or a setup another one beat (409).
func (c *Console) setupGone(w http.ResponseWriter, r *http.Request, err error) {
	p := c.problemOf(w, r, err)
	c.render(w, r, p.Status, "setup", &view{Title: "Parley is set up", Data: setupPage{Gone: true, Message: sentence(p.Message), Code: p.Code}})
}

// EmbedSnippet is the tag that embeds the widget of the workspace on a page, Parley served at origin.
func EmbedSnippet(origin, workspaceID string) string {
	return `<script src="` + origin + `/widget.js" data-workspace="` + workspaceID + `" async></script>`
}

// SigningSnippet signs a login token for the workspace with the key, as README.md's Node.js example
// does: the secret comes from the back end's environment, never from its code.
func SigningSnippet(workspaceID, kid string) string {
	return `import jwt from 'jsonwebtoken';

// On your back end, when a signed-in user opens a page with the widget:
const token = jwt.sign(
  { sub: 'user-1234', email: 'ada@example.com', name: 'Ada Lovelace', aud: '` + workspaceID + `',
    exp: Math.floor(Date.now() / 1000) + 300 },
  process.env.PARLEY_SECRET,                    // the psk_… secret above, unchanged
  { algorithm: 'HS256', keyid: '` + kid + `' }, // jsonwebtoken adds iat itself
);
console.log(token);
`
}
