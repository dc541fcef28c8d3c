package console

import (
	"net/http"
	"slices"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// apiKeysPage is the data of the API keys page. New is set only on the answer to a create, the one time
// the key is shown.
type apiKeysPage struct {
	Keys   []store.APIKey
	Scopes []scopeOption
	New    *chat.NewAPIKey
	Curl   string // a first call with the new key, against this server
	// The create form as sent, when it was refused.
	Name  string
	Error string
}

// scopeOption is one checkbox of the create form.
type scopeOption struct {
	Name    string
	About   string
	Checked bool
}

// scopeAbout says what each scope lets a key do.
var scopeAbout = map[string]string{
	store.ScopeCustomersWrite: "create and update customers, issue login tokens",
	store.ScopeCustomersRead:  "read customers and their conversations",
	store.ScopeSessionsRevoke: "end a customer's widget sessions",
	store.ScopeCustomersErase: "erase a customer and everything held about them",
}

// scopeOptions lists every scope, checked when it is in checked.
func scopeOptions(checked []string) []scopeOption {
	var out []scopeOption
	for _, sc := range chat.AllScopes() {
		out = append(out, scopeOption{Name: sc, About: scopeAbout[sc], Checked: slices.Contains(checked, sc)})
	}
	return out
}

func (c *Console) renderAPIKeys(w http.ResponseWriter, r *http.Request, status int, p apiKeysPage) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	keys, err := c.chat.APIKeys(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Keys = keys
	if p.Scopes == nil {
		p.Scopes = scopeOptions(chat.DefaultScopes())
	}
	v := c.page(w, r, "API keys", "apikeys", p)
	v.Path = apiKeysPath
	c.render(w, r, status, "apikeys", v)
}

// APIKeysPage serves GET /console/settings/api-keys.
func (c *Console) APIKeysPage(w http.ResponseWriter, r *http.Request) {
	c.renderAPIKeys(w, r, http.StatusOK, apiKeysPage{})
}

// CreateAPIKey serves POST /console/settings/api-keys (fields name, scope — one per checked box). The
// answer is the page itself, not a redirect, because it shows the new key and nothing may keep it for a
// later page.
func (c *Console) CreateAPIKey(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	name, scopes := r.PostForm.Get("name"), r.PostForm["scope"]
	refuse := func(status int, message string) {
		c.renderAPIKeys(w, r, status, apiKeysPage{Name: name, Scopes: scopeOptions(scopes), Error: message})
	}
	// The service reads no scopes as all of them; a form with every box unchecked means none, which is
	// no use, so it is refused rather than turned into a key that can do everything.
	if len(scopes) == 0 {
		refuse(http.StatusUnprocessableEntity, "Choose at least one scope: a key without any can do nothing.")
		return
	}
	k, err := c.chat.CreateAPIKey(r.Context(), s.agent.WorkspaceID, name, scopes)
	if err != nil {
		if p, ok := fixable(err); ok {
			refuse(p.Status, problemSentence(p))
			return
		}
		c.fail(w, r, err)
		return
	}
	curl := "curl -X PUT " + c.ownOrigin(r) + "/v1/customers/USER_ID -H \"Authorization: Bearer " + k.Key +
		"\" -H \"Content-Type: application/json\" -d '{\"email\": \"customer@example.com\"}'"
	c.renderAPIKeys(w, r, http.StatusOK, apiKeysPage{New: &k, Curl: curl})
}

// RevokeAPIKey serves POST /console/settings/api-keys/{id}/revoke.
func (c *Console) RevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	if err := c.chat.RevokeAPIKey(r.Context(), s.agent.WorkspaceID, id); err != nil {
		c.failed(w, r, apiKeysPath, err)
		return
	}
	c.seeOther(w, r, apiKeysPath, "ok", "API key "+id+" is revoked: calls with it are refused from now on.")
}
