package console

import (
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Invitation and password-reset links (chat.InviteAgent, chat.ResetPasswordLink). The link is
// /console/link?t=<token>: a query rather than a path segment, answered with Referrer-Policy no-referrer
// and Cache-Control no-store, and the form posts the token back in a hidden field, so that after the
// POST the browser's address bar, history and any Referer hold no token (the success redirects to the
// console). A fragment (#token) would keep it from the server's logs too, but the server must read it.

const linkPath = "/console/link"

type linkPage struct {
	Token    string
	Invite   bool
	Name     string
	Email    string
	MinChars int
	Error    string
	Invalid  string // the link cannot be used: why, instead of the form
}

// linkHeaders keep the token out of Referer headers and caches.
func linkHeaders(w http.ResponseWriter) {
	securityHeaders(w.Header())
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
}

// LinkPage serves GET /console/link?t=: the form that sets the password of an invitation or reset.
func (c *Console) LinkPage(w http.ResponseWriter, r *http.Request) {
	linkHeaders(w)
	c.renderLink(w, r, http.StatusOK, r.URL.Query().Get("t"), "")
}

func (c *Console) renderLink(w http.ResponseWriter, r *http.Request, status int, token, refused string) {
	p := linkPage{Token: token, MinChars: chat.MinPasswordLength, Error: refused}
	l, a, err := c.chat.AgentLinkInfo(r.Context(), token)
	if err != nil {
		pr, ok := problem.As(err)
		if !ok || (pr.Code != "link_invalid" && pr.Code != "password_sign_in_off") {
			c.fail(w, r, err)
			return
		}
		p.Token, p.Invalid, status = "", sentence(pr.Message), pr.Status
	} else {
		p.Invite, p.Name, p.Email = l.Purpose == store.AgentLinkInvite, a.Name, a.Email
	}
	title := "Choose a new password"
	if p.Invite {
		title = "Welcome to Parley"
	}
	c.render(w, r, status, "link", &view{Title: title, Data: p, NoReferrer: true})
}

// AcceptLink serves POST /console/link (fields t, password, confirm): sets the password and signs the
// agent in (to the two-factor step first when they have it or the workspace requires it).
func (c *Console) AcceptLink(w http.ResponseWriter, r *http.Request) {
	linkHeaders(w)
	if err := c.linkSameOrigin(r); err != nil {
		c.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, problem.New(http.StatusBadRequest, "invalid_form", "the form could not be read"))
		return
	}
	f := r.PostForm
	token := strings.TrimSpace(f.Get("t"))
	if f.Get("password") != f.Get("confirm") {
		c.renderLink(w, r, http.StatusUnprocessableEntity, token, "The password and its confirmation differ. Type them again.")
		return
	}
	// The token itself is the credential (256 random bits, single use), so there is no session or CSRF
	// token to check; sameOrigin above keeps another site from posting a link of its own, which would sign
	// the visitor in to the poster's account.
	sessToken, sess, err := c.chat.AcceptLink(r.Context(), token, f.Get("password"), c.signInInfo(r))
	if err != nil {
		if p, ok := problem.As(err); ok && p.Status < 500 && p.Code != "link_invalid" && p.Code != "password_sign_in_off" {
			c.renderLink(w, r, p.Status, token, problemSentence(p))
			return
		}
		if p, ok := problem.As(err); ok && (p.Code == "link_invalid" || p.Code == "password_sign_in_off") {
			c.renderLink(w, r, p.Status, token, "")
			return
		}
		c.fail(w, r, err)
		return
	}
	c.signInTo(w, r, sessToken, sess, homePath)
}

// linkSameOrigin is sameOrigin for the link form. Its page sends no Referer, and under that policy
// browsers send "Origin: null" with the form; Sec-Fetch-Site then says where the post came from (a
// cross-site form says cross-site, whatever its own policy).
func (c *Console) linkSameOrigin(r *http.Request) error {
	if r.Header.Get("Origin") == "null" {
		if r.Header.Get("Sec-Fetch-Site") == "same-origin" {
			return nil
		}
		return errOriginRefused
	}
	return c.sameOrigin(r)
}
