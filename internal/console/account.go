package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// The agent's own account: who they are, their password, and the console sessions they have open
// (package chat, passwords.go, holds the rules).

const accountPath = "/console/account"

type accountPage struct {
	HasPassword       bool
	PasswordChangedAt time.Time
	MinChars          int
	Sessions          []accountSession
	Error             string // a refused password change, shown by the form
}

// accountSession is one console session in the agent's list.
type accountSession struct {
	ID, Browser, UserAgent, Addr, Method string
	CreatedAt, LastSeenAt                time.Time
	Current, Pending                     bool
}

// AccountPage serves GET /console/account.
func (c *Console) AccountPage(w http.ResponseWriter, r *http.Request) {
	c.renderAccount(w, r, http.StatusOK, "")
}

func (c *Console) renderAccount(w http.ResponseWriter, r *http.Request, status int, refused string) {
	s := signedIn(r)
	sessions, err := c.chat.AgentSessions(r.Context(), s.agent, s.workspace)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	a, err := c.chat.AgentAccount(r.Context(), s.agent.ID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := accountPage{HasPassword: a.HasPassword, PasswordChangedAt: a.PasswordChangedAt, MinChars: chat.MinPasswordLength, Error: refused}
	for _, x := range sessions {
		p.Sessions = append(p.Sessions, accountSession{ID: x.ID, Browser: browserSummary(x.UserAgent), UserAgent: x.UserAgent,
			Addr: x.Addr, Method: methodLabel(x.Method), CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			Current: x.ID == s.sess.ID, Pending: x.Stage != ""})
	}
	c.render(w, r, status, "account", c.page(w, r, "Your account", "account", p))
}

func methodLabel(m string) string {
	switch m {
	case store.AgentMethodOIDC:
		return "single sign-on"
	case store.AgentMethodLink:
		return "invitation or reset link"
	}
	return "password"
}

// ChangePassword serves POST /console/account/password (fields current, password, confirm). Wrong
// current passwords count against the account's sign-in failure budget, so the form is no faster a way
// to guess a password than the sign-in page.
func (c *Console) ChangePassword(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	f := r.PostForm
	if f.Get("password") != f.Get("confirm") {
		c.renderAccount(w, r, http.StatusUnprocessableEntity, "The new password and its confirmation differ. Type them again.")
		return
	}
	b := budget{c.loginPerAccount, accountKey(s.agent.Email)}
	if err := b.f.Take(b.key); err != nil {
		c.fail(w, r, err)
		return
	}
	n, err := c.chat.ChangePassword(r.Context(), s.agent, f.Get("current"), f.Get("password"), s.token)
	if err != nil {
		if p, ok := problem.As(err); ok && p.Code == "current_password_wrong" {
			c.renderAccount(w, r, p.Status, "Your current password is not right. Type it again.")
			return
		}
		refund([]budget{b})
		if p, ok := problem.As(err); ok && p.Status < 500 {
			c.renderAccount(w, r, p.Status, problemSentence(p))
			return
		}
		c.fail(w, r, err)
		return
	}
	refund([]budget{b})
	msg := "Your password is changed."
	switch n {
	case 0:
	case 1:
		msg += " Your one other session has ended."
	default:
		msg += " Your " + strconv.Itoa(n) + " other sessions have ended."
	}
	c.seeOther(w, r, accountPath, "ok", msg)
}

// EndAccountSession serves POST /console/account/sessions/{id}/end: one of the agent's own sessions.
// Ending the one in use signs this browser out.
func (c *Console) EndAccountSession(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	id := r.PathValue("id")
	if err := c.chat.EndOwnSession(r.Context(), s.agent, id); err != nil {
		c.failed(w, r, accountPath, err)
		return
	}
	if id == s.sess.ID {
		c.clearCookie(w, r, sessionCookie)
		http.Redirect(w, r, loginPath+"?signed_out=1", http.StatusSeeOther)
		return
	}
	c.seeOther(w, r, accountPath, "ok", "That session has ended: the browser using it is signed out.")
}
