package console

import (
	"net/http"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/store"
)

// keysPage is the data of the signing keys page. New is set only on the answer to a create or rotate,
// the one time its secret is shown.
type keysPage struct {
	Keys    []store.SigningKey
	Algs    []string
	New     *chat.NewKey
	Rotated string // the kid that was rotated, which still works until revoked
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, p keysPage) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	keys, err := c.chat.Keys(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Keys, p.Algs = keys, []string{identity.HS256, "HS384", "HS512"}
	v := c.page(w, r, "Signing keys", "keys", p)
	v.Path = keysPath
	c.render(w, r, http.StatusOK, "keys", v)
}

// KeysPage serves GET /console/settings/keys.
func (c *Console) KeysPage(w http.ResponseWriter, r *http.Request) { c.renderKeys(w, r, keysPage{}) }

// CreateKey serves POST /console/settings/keys (field alg). The answer is the page itself, not a
// redirect, because it shows the new secret and nothing may keep it for a later page.
func (c *Console) CreateKey(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	k, err := c.chat.CreateKey(r.Context(), s.agent.WorkspaceID, r.PostForm.Get("alg"))
	if err != nil {
		c.failed(w, r, keysPath, err)
		return
	}
	c.renderKeys(w, r, keysPage{New: &k})
}

// RotateKey serves POST /console/settings/keys/{kid}/rotate: a new key with the same algorithm, shown
// once; the old key keeps verifying tokens until it is revoked.
func (c *Console) RotateKey(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	kid := r.PathValue("kid")
	k, err := c.chat.RotateKey(r.Context(), s.agent.WorkspaceID, kid)
	if err != nil {
		c.failed(w, r, keysPath, err)
		return
	}
	c.renderKeys(w, r, keysPage{New: &k, Rotated: kid})
}

// RevokeKey serves POST /console/settings/keys/{kid}/revoke.
func (c *Console) RevokeKey(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	kid := r.PathValue("kid")
	if err := c.chat.RevokeKey(r.Context(), s.agent.WorkspaceID, kid); err != nil {
		c.failed(w, r, keysPath, err)
		return
	}
	c.seeOther(w, r, keysPath, "ok", "Key "+kid+" is revoked: tokens signed with it are refused from now on.")
}
