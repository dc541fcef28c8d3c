package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/store"
)

// Cookies. The session cookie is scoped to the console's path, so the widget API and the demo site on
// the same origin never see it.
const (
	sessionCookie   = "parley_console"
	loginCSRFCookie = "parley_console_login"
	flashCookie     = "parley_console_flash"
	cookiePath      = "/console"
	loginPath       = "/console/login"
	homePath        = "/console/"
)

// maxFormBytes bounds a form body: the longest is a 4000-character reply, which percent-encoding can
// grow to 48 KB.
const maxFormBytes = 128 << 10

// session is the signed-in agent of a request.
type session struct {
	token     string
	agent     store.Agent
	sess      store.AgentSession
	workspace store.Workspace
}

type sessionKey struct{}

func signedIn(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// Public wraps a page anyone may open (the sign-in page).
func (c *Console) Public(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	})
}

// Agent wraps a page for signed-in agents. A signed-out GET is sent to the sign-in page (and back
// afterwards); a signed-out POST is a 401. Every POST must come from the console's own origin and carry
// the session's CSRF token in the form field csrf.
func (c *Console) Agent(h http.HandlerFunc) http.Handler { return c.guard(h, false, false) }

// Fragment wraps what the console's script fetches (HTML fragments, the WebSocket): signed out is a 401,
// never a redirect.
func (c *Console) Fragment(h http.HandlerFunc) http.Handler { return c.guard(h, true, false) }

// Admin is Agent for administrators only: other agents get a 403 page.
func (c *Console) Admin(h http.HandlerFunc) http.Handler { return c.guard(h, false, true) }

func (c *Console) guard(h http.HandlerFunc, fragment, admin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		s, err := c.authenticate(r)
		if err != nil {
			if p, ok := problem.As(err); ok && p.Status == http.StatusUnauthorized {
				c.clearCookie(w, r, sessionCookie)
				if !fragment && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
					http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
			}
			c.fail(w, r, err)
			return
		}
		// Changes made through the console are attributed to the agent, and the address they came
		// from, in the workspace's audit trail.
		ctx := chat.WithActor(context.WithValue(r.Context(), sessionKey{}, s), chat.AgentActor(s.agent))
		ctx = chat.WithClientAddr(ctx, c.clientIP(r))
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost {
			if err := c.checkPost(w, r, s.sess); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		if admin {
			if err := chat.RequireAdmin(s.agent); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		h(w, r)
	})
}

// adminSession returns the request's signed-in administrator, or answers 403 and returns nil. Admin has
// checked already; handlers that reach workspace-wide settings by the workspace's id alone check again,
// so that a route listed with the wrong middleware still cannot reach them.
func (c *Console) adminSession(w http.ResponseWriter, r *http.Request) *session {
	s := signedIn(r)
	if s == nil {
		c.fail(w, r, problem.New(http.StatusUnauthorized, "session_invalid", "sign in to use the console"))
		return nil
	}
	if err := chat.RequireAdmin(s.agent); err != nil {
		c.fail(w, r, err)
		return nil
	}
	return s
}

func (c *Console) authenticate(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, problem.New(http.StatusUnauthorized, "session_invalid", "sign in to use the console")
	}
	a, sess, ws, err := c.chat.AgentSignIn(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	return &session{token: ck.Value, agent: a, sess: sess, workspace: ws}, nil
}

// checkPost applies the two CSRF defences to a form post: it must come from the console's own origin
// (when the browser says where it came from), and carry the session's token.
func (c *Console) checkPost(w http.ResponseWriter, r *http.Request, sess store.AgentSession) error {
	if err := c.sameOrigin(r); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return problem.New(http.StatusBadRequest, "invalid_form", "the form could not be read")
	}
	return chat.CheckCSRF(sess, r.PostForm.Get("csrf"))
}

var errOriginRefused = problem.New(http.StatusForbidden, "origin_refused", "this request came from another site; open the console and try again there")

// sameOrigin refuses a request that a browser says came from another site. Browsers send Origin on every
// POST and WebSocket, and Sec-Fetch-Site on every request; a client sending neither is not a browser,
// and then the CSRF token alone decides.
func (c *Console) sameOrigin(r *http.Request) error {
	refused := errOriginRefused
	if origin := r.Header.Get("Origin"); origin != "" {
		if origin == "null" || !strings.EqualFold(origin, c.ownOrigin(r)) {
			return refused
		}
		return nil
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return nil
	}
	return refused
}

// ownOrigin is the origin the console is served at, as the browser sees it: behind a trusted proxy that
// rewrites the Host, the one it forwarded.
func (c *Console) ownOrigin(r *http.Request) string {
	scheme := "http"
	if c.overTLS(r) {
		scheme = "https"
	}
	host := r.Host
	if fh := strings.TrimSpace(r.Header.Get("X-Forwarded-Host")); fh != "" && ratelimit.FromTrustedProxy(r, c.trusted) {
		host, _, _ = strings.Cut(fh, ",")
		host = strings.TrimSpace(host)
	}
	return scheme + "://" + host
}

// overTLS reports whether the browser reached us over TLS, directly or through a trusted proxy.
func (c *Console) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return ratelimit.FromTrustedProxy(r, c.trusted) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: c.overTLS(r), SameSite: http.SameSiteLaxMode,
	})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	path := cookiePath
	if name == loginCSRFCookie {
		path = loginPath
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: c.overTLS(r), SameSite: http.SameSiteLaxMode})
}

// ---------------------------------------------------------------- sign-in

// loginPage is the data of the sign-in page.
type loginPage struct {
	CSRF      string
	Next      string
	Email     string
	Error     string
	SignedOut bool
	SSO       []chat.SSOWorkspace // workspaces whose agents may sign in through single sign-on (sso.go)
	// SetupPending: nobody can sign in yet, the installation waits for its first-run setup (setup.go).
	SetupPending bool
}

// loginCSRFLifetime is how long a sign-in form stays usable.
const loginCSRFLifetime = time.Hour

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// LoginPage serves GET /console/login.
func (c *Console) LoginPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := c.authenticate(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if c.SetupPending(r.Context()) {
		c.render(w, r, http.StatusOK, "login", &view{Title: "Set up Parley", Data: loginPage{SetupPending: true}})
		return
	}
	c.renderLogin(w, r, http.StatusOK, loginPage{Next: next, SignedOut: r.URL.Query().Get("signed_out") == "1"})
}

// renderLogin shows the sign-in form with a fresh double-submit token: the same random value in a
// short-lived cookie and in a hidden field. A cross-site form cannot read the cookie, so it cannot sign a
// victim into the attacker's account.
func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, p loginPage) {
	p.CSRF = randomString()
	c.setCookie(w, r, loginCSRFCookie, p.CSRF, loginPath, loginCSRFLifetime)
	if sso, err := c.chat.SSOWorkspaces(r.Context()); err == nil {
		p.SSO = sso
	} else if r.Context().Err() == nil {
		c.log.Warn("sign-in page: list single sign-on workspaces", "err", err)
	}
	c.render(w, r, status, "login", &view{Title: "Sign in", Data: p})
}

// Login serves POST /console/login.
func (c *Console) Login(w http.ResponseWriter, r *http.Request) {
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
	p := loginPage{Next: localPath(f.Get("next")), Email: strings.TrimSpace(f.Get("email"))}
	ck, err := r.Cookie(loginCSRFCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(f.Get("csrf"))) != 1 {
		p.Error = "This sign-in form has expired. Please try again."
		c.renderLogin(w, r, http.StatusForbidden, p)
		return
	}
	// Each attempt is counted before the password is checked, so that concurrent guesses cannot all slip
	// past the throttles, and taken back if it succeeds: only failures use the budgets up (see Limits).
	account, addr := accountKey(p.Email), addrKey(c.clientIP(r))
	dev, known := c.knownDevice(r, account)
	budgets := []budget{{c.loginPerIP, addr}}
	if known {
		budgets = append(budgets, budget{c.loginPerDevice, dev.ID})
	} else {
		budgets = append(budgets, budget{c.loginPerAccountIP, account + "\n" + addr}, budget{c.loginPerAccount, account})
	}
	for i, b := range budgets {
		if err := b.f.Take(b.key); err != nil {
			refund(budgets[:i])
			c.fail(w, r, err)
			return
		}
	}
	token, agent, sess, err := c.chat.StartAgentSession(r.Context(), p.Email, f.Get("password"), c.signInInfo(r))
	if err != nil {
		if pr, ok := problem.As(err); ok && pr.Code == "login_failed" {
			p.Error = "That email and password do not match an active agent account."
			c.renderLogin(w, r, http.StatusUnauthorized, p)
			return
		}
		if pr, ok := problem.As(err); ok && pr.Code == "password_sign_in_off" {
			refund(budgets) // the password was right
			p.Error = "This workspace signs agents in through single sign-on only. Use the single sign-on button."
			c.renderLogin(w, r, http.StatusForbidden, p)
			return
		}
		refund(budgets) // not a wrong password: the server failed, or the client went away
		c.fail(w, r, err)
		return
	}
	refund(budgets)
	c.rememberDevice(w, r, agent, dev, known)
	c.clearCookie(w, r, loginCSRFCookie)
	c.signInTo(w, r, token, sess, p.Next)
}

// signInTo sets the session cookie of a sign-in that just began (by password, single sign-on or a
// link) and sends the browser on: to next when the session is complete, or to the step it still owes.
func (c *Console) signInTo(w http.ResponseWriter, r *http.Request, token string, sess store.AgentSession, next string) {
	c.setCookie(w, r, sessionCookie, token, cookiePath, time.Until(sess.ExpiresAt))
	switch sess.Stage {
	case store.AgentStageTOTP:
		http.Redirect(w, r, secondFactorPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
	case store.AgentStageEnrol:
		http.Redirect(w, r, enrolPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// Where a pending sign-in (store.AgentSession.Stage) completes: the two-factor code after the password,
// and the enrolment a workspace requiring two-factor sends an agent without it to.
const (
	secondFactorPath = "/console/login/2fa"
	enrolPath        = "/console/login/enrol"
)

// signInInfo is what a sign-in records about where it comes from.
func (c *Console) signInInfo(r *http.Request) chat.SignInInfo {
	return chat.SignInInfo{UserAgent: r.UserAgent(), Addr: c.clientIP(r)}
}

// Pending wraps the pages that complete a sign-in: they open with a session that still owes its second
// factor (or enrolment), which every other page refuses, as well as with a complete one. POSTs are
// checked as Agent checks them.
func (c *Console) Pending(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			http.Redirect(w, r, loginPath, http.StatusSeeOther)
			return
		}
		sess, a, err := c.chat.PendingAgentSession(r.Context(), ck.Value)
		if err != nil {
			if p, ok := problem.As(err); ok && p.Status == http.StatusUnauthorized {
				c.clearCookie(w, r, sessionCookie)
				http.Redirect(w, r, loginPath, http.StatusSeeOther)
				return
			}
			c.fail(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), pendingKey{}, &pending{token: ck.Value, agent: a, sess: sess})
		ctx = chat.WithClientAddr(chat.WithActor(ctx, chat.AgentActor(a)), c.clientIP(r))
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost {
			if err := c.checkPost(w, r, sess); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		h(w, r)
	})
}

// pending is the sign-in a Pending page completes.
type pending struct {
	token string
	agent store.Agent
	sess  store.AgentSession
}

type pendingKey struct{}

func pendingSignIn(r *http.Request) *pending {
	p, _ := r.Context().Value(pendingKey{}).(*pending)
	return p
}

// budget is one failure budget a sign-in attempt counts against.
type budget struct {
	f   *ratelimit.Failures
	key string
}

func refund(budgets []budget) {
	for _, b := range budgets {
		b.f.Refund(b.key)
	}
}

func (c *Console) clientIP(r *http.Request) string { return ratelimit.ClientIP(r, c.trusted) }

// Logout serves POST /console/logout.
func (c *Console) Logout(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	if err := c.chat.EndAgentSession(r.Context(), s.token); err != nil {
		c.fail(w, r, err)
		return
	}
	c.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, loginPath+"?signed_out=1", http.StatusSeeOther)
}

// localPath returns next if it is a path inside the console, and the inbox otherwise, so that a link to
// the sign-in page can never send the agent elsewhere afterwards. The path is decoded and cleaned of dot
// segments first, as the browser will resolve it, and only then checked: "/console/../x" is "/x".
// Anything a browser might read as another host ("//", a backslash, a scheme) is refused outright, and
// the answer is re-encoded from the cleaned path, so no %2e%2e or %2f survives into the Location.
func localPath(next string) string {
	if next == "" || len(next) > 2000 || !strings.HasPrefix(next, "/") {
		return homePath
	}
	if strings.ContainsAny(next, "\\\x00\r\n\t") || strings.HasPrefix(next, "//") {
		return homePath
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return homePath
	}
	// The decoded path: what %2e, %2f and %5c stand for counts, since browsers (and proxies) may read them.
	p := u.Path
	if p == "" || !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, "\\\x00\r\n\t") {
		return homePath
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != "/console" && !strings.HasPrefix(clean, "/console/") || clean == loginPath || clean == loginPath+"/" {
		return homePath
	}
	if strings.ContainsAny(u.RawQuery, "\x00\r\n") {
		return homePath
	}
	out := (&url.URL{Path: clean, RawQuery: u.RawQuery}).String()
	// A fragment is kept only when it is a plain element id ("reply"): http.Redirect cleans what has no
	// query as a path, fragment included, so one with slashes or dots could climb out again.
	if f := u.Fragment; f != "" && len(f) <= 100 && strings.Trim(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == "" {
		out += "#" + f
	}
	if strings.HasPrefix(out, "//") { // cannot happen after the checks above; kept as the last word
		return homePath
	}
	return out
}

// errNotFound is the console's answer to a path it does not have.
var errNotFound = problem.NotFound("not_found", "there is no such page in the console")

// NotFound serves every console path no route matched.
func (c *Console) NotFound(w http.ResponseWriter, r *http.Request) { c.fail(w, r, errNotFound) }
