package console

import (
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/store"
)

// identityLogLimit is how many refused logins the identity log shows.
const identityLogLimit = 200

// maxCheckedToken bounds what the token checker accepts; the widget refuses far smaller tokens anyway,
// and the checker says so.
const maxCheckedToken = 64 << 10

type identityPage struct {
	Failures []store.LoginFailure
	Token    string           // what was pasted, shown again only in the textarea
	Checks   []identity.Check // the checker's results, when a token was checked
	Checked  bool
	Passed   bool
}

// IdentityPage serves GET /console/identity: the workspace's recent refused logins and the token
// checker.
func (c *Console) IdentityPage(w http.ResponseWriter, r *http.Request) {
	c.renderIdentity(w, r, &identityPage{})
}

func (c *Console) renderIdentity(w http.ResponseWriter, r *http.Request, p *identityPage) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	var err error
	if p.Failures, err = c.chat.LoginFailures(r.Context(), s.agent.WorkspaceID, identityLogLimit); err != nil {
		c.fail(w, r, err)
		return
	}
	v := c.page(w, r, "Identity log", "identity", p)
	v.Path = "/console/identity"
	c.render(w, r, http.StatusOK, "identity", v)
}

// CheckToken serves POST /console/identity/check (field token): it runs every check a widget login
// would and shows each one's result. The token is neither logged nor kept; the answer is this page,
// with the token back in its textarea only.
func (c *Console) CheckToken(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	raw := r.PostForm.Get("token")
	if len(raw) > maxCheckedToken {
		raw = raw[:maxCheckedToken]
	}
	checks, err := c.chat.CheckToken(r.Context(), s.agent.WorkspaceID, strings.TrimSpace(raw))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &identityPage{Token: raw, Checks: checks, Checked: true, Passed: len(checks) > 0}
	for _, ch := range checks {
		if !ch.OK {
			p.Passed = false
		}
	}
	c.renderIdentity(w, r, p)
}
