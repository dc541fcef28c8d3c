package console

import (
	"net/http"
	"strings"

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
	p.Agents, p.Me, p.MinChars = agents, s.agent.ID, chat.MinPasswordLength
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
