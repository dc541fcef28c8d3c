package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

type agentsPage struct {
	Agents   []store.Agent
	Me       string
	MinChars int
	// The create form as sent, when it was refused.
	Name, Email, Role string
	// NewLink is an invitation or reset link just made and not emailed: shown this once.
	NewLink *shownLink
	// The invitation form as sent, when it was refused.
	InviteName, InviteEmail, InviteRole string
	Emailing                            bool // links go out by email
}

// shownLink is an agent link the administrator hands over themselves (no email configured).
type shownLink struct {
	URL, Name, Email string
	Invite           bool
	ExpiresAt        time.Time
}

// AgentsPage serves GET /console/settings/agents.
func (c *Console) AgentsPage(w http.ResponseWriter, r *http.Request) {
	c.renderAgents(w, r, http.StatusOK, agentsPage{Role: store.RoleAgent}, "")
}

// renderAgents shows the agents page; a refused create shows its form again with the error message.
func (c *Console) renderAgents(w http.ResponseWriter, r *http.Request, status int, p agentsPage, refused string) {
	s := signedIn(r)
	agents, err := c.chat.Agents(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Agents, p.Me, p.MinChars, p.Emailing = agents, s.agent.ID, chat.MinPasswordLength, c.chat.CanEmailLinks()
	v := c.page(w, r, "Agents", "agents", p)
	v.Path = agentsPath
	if refused != "" {
		v.Flash = &flash{Kind: "error", Message: refused}
	}
	c.render(w, r, status, "agents", v)
}

// CreateAgent serves POST /console/settings/agents (fields name, email, role, password).
func (c *Console) CreateAgent(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	pf := r.PostForm
	a, err := c.chat.CreateAgent(r.Context(), s.agent.WorkspaceID, pf.Get("email"), pf.Get("name"), pf.Get("role"), pf.Get("password"))
	if err != nil {
		if p, ok := problem.As(err); ok && p.Status < 500 && p.Status != http.StatusNotFound {
			// The form again as sent (but the password), with what to fix.
			c.renderAgents(w, r, p.Status, agentsPage{Name: pf.Get("name"), Email: pf.Get("email"), Role: pf.Get("role")}, problemSentence(p))
			return
		}
		c.fail(w, r, err)
		return
	}
	c.seeOther(w, r, agentsPath, "ok", a.Name+" ("+a.Email+") can now sign in as "+strings.ToLower(roleLabel(a.Role))+".")
}

// SetAgentRole serves POST /console/settings/agents/{id}/role (field role).
func (c *Console) SetAgentRole(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	a, err := c.chat.SetAgentRole(r.Context(), s.agent, r.PathValue("id"), r.PostForm.Get("role"))
	if err != nil {
		c.failed(w, r, agentsPath, err)
		return
	}
	c.seeOther(w, r, agentsPath, "ok", a.Name+" is now "+strings.ToLower(roleLabel(a.Role))+".")
}

// DisableAgent serves POST /console/settings/agents/{id}/disable.
func (c *Console) DisableAgent(w http.ResponseWriter, r *http.Request) { c.setDisabled(w, r, true) }

// EnableAgent serves POST /console/settings/agents/{id}/enable.
func (c *Console) EnableAgent(w http.ResponseWriter, r *http.Request) { c.setDisabled(w, r, false) }

func (c *Console) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	s := signedIn(r)
	a, err := c.chat.SetAgentDisabled(r.Context(), s.agent, r.PathValue("id"), disabled)
	if err != nil {
		c.failed(w, r, agentsPath, err)
		return
	}
	msg := a.Name + " is disabled and signed out everywhere."
	if !disabled {
		msg = a.Name + " can sign in again."
	}
	c.seeOther(w, r, agentsPath, "ok", msg)
}

// InviteAgent serves POST /console/settings/agents/invite (fields name, email, role): the agent gets no
// password but a link to choose one, emailed when the server can mail and otherwise shown here once.
func (c *Console) InviteAgent(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	pf := r.PostForm
	link, err := c.chat.InviteAgent(r.Context(), s.agent.WorkspaceID, pf.Get("email"), pf.Get("name"), pf.Get("role"))
	if err != nil {
		if p, ok := problem.As(err); ok && p.Status < 500 && p.Status != http.StatusNotFound {
			c.renderAgents(w, r, p.Status, agentsPage{Role: store.RoleAgent, InviteName: pf.Get("name"), InviteEmail: pf.Get("email"), InviteRole: pf.Get("role")}, problemSentence(p))
			return
		}
		c.fail(w, r, err)
		return
	}
	if link.Emailed {
		c.seeOther(w, r, agentsPath, "ok", "Invitation sent to "+link.Agent.Email+". The link in it works once, for 72 hours.")
		return
	}
	c.showLink(w, r, link)
}

// SendResetLink serves POST /console/settings/agents/{id}/reset-link: a link to choose a new password,
// valid an hour; the agent's sessions end only when it is used.
func (c *Console) SendResetLink(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	link, err := c.chat.ResetPasswordLink(r.Context(), s.agent.WorkspaceID, r.PathValue("id"))
	if err != nil {
		c.failed(w, r, agentsPath, err)
		return
	}
	if link.Emailed {
		c.seeOther(w, r, agentsPath, "ok", "Password reset link sent to "+link.Agent.Email+". It works once, for an hour.")
		return
	}
	c.showLink(w, r, link)
}

// showLink renders the agents page with a link that was not emailed, this once: Parley keeps only its
// hash. The page is no-store, so neither Back nor a cache shows it again.
func (c *Console) showLink(w http.ResponseWriter, r *http.Request, link chat.IssuedLink) {
	shown := &shownLink{URL: c.ownOrigin(r) + chat.LinkPath(link.Token), Name: link.Agent.Name, Email: link.Agent.Email,
		Invite: link.Purpose == store.AgentLinkInvite, ExpiresAt: link.ExpiresAt}
	c.renderAgents(w, r, http.StatusOK, agentsPage{Role: store.RoleAgent, NewLink: shown}, "")
}

// SignOutAgent serves POST /console/settings/agents/{id}/sign-out: every console session of the agent
// ends at once.
func (c *Console) SignOutAgent(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	n, err := c.chat.EndAgentSessions(r.Context(), s.agent, r.PathValue("id"))
	if err != nil {
		c.failed(w, r, agentsPath, err)
		return
	}
	if r.PathValue("id") == s.agent.ID {
		c.clearCookie(w, r, sessionCookie)
		http.Redirect(w, r, loginPath+"?signed_out=1", http.StatusSeeOther)
		return
	}
	msg := "They had no console session open."
	if n == 1 {
		msg = "Their one console session has ended."
	} else if n > 1 {
		msg = "Their " + strconv.Itoa(n) + " console sessions have ended."
	}
	c.seeOther(w, r, agentsPath, "ok", "Signed out everywhere. "+msg)
}
