package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/store"
)

// keysPage is the data of the signing keys page. New is set only on the answer to a create or rotate,
// the one time its secret is shown. Public and JWKS hold what the register forms sent, when refused.
type keysPage struct {
	Keys       []keyRow
	Algs       []string // algorithms of the secrets Parley generates
	PublicAlgs []string // algorithms of the public keys an admin registers
	New        *chat.NewKey
	Rotated    string // the kid that was rotated, which still works until revoked
	Public     publicKeyForm
	JWKS       jwksForm
}

// publicKeyForm is the "Register a public key" form.
type publicKeyForm struct {
	Alg, Kid, Key string
	Error         string
}

// jwksForm is the "Use a JWKS URL" form.
type jwksForm struct {
	URL   string
	Error string
}

// keyRow is one key of the list, with what the page says about its kind.
type keyRow struct {
	store.SigningKey
	Label      string // "Secret (HS256)", "Public key (ES256)", "JWKS", …
	Rotatable  bool   // only secrets Parley generates can be rotated here
	RevokeNote string // what revoking it does, for the confirmation
}

func keyRows(keys []store.SigningKey) []keyRow {
	rows := make([]keyRow, 0, len(keys))
	for _, k := range keys {
		row := keyRow{SigningKey: k, RevokeNote: "Tokens signed with " + k.ID + " will be refused at once."}
		switch k.Kind {
		case store.KeyPublic:
			row.Label = "Public key (" + k.Alg + ")"
		case store.KeyJWKS:
			row.Label = "JWKS"
			row.RevokeNote = "Tokens signed with the keys published at this URL will be refused at once."
		case store.KeyServer:
			row.Label = "Parley — customers API login tokens (" + k.Alg + ")"
			row.RevokeNote = "Login tokens the customers API has issued with it will be refused; the next one issued uses a new key."
		default:
			row.Label = "Secret (" + k.Alg + ")"
			row.Rotatable = true
		}
		rows = append(rows, row)
	}
	return rows
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, status int, p keysPage) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	keys, err := c.chat.Keys(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Keys, p.Algs, p.PublicAlgs = keyRows(keys), []string{identity.HS256, identity.HS384, identity.HS512}, identity.PublicKeyAlgs()
	v := c.page(w, r, "Signing keys", "keys", p)
	v.Path = keysPath
	c.render(w, r, status, "keys", v)
}

// KeysPage serves GET /console/settings/keys.
func (c *Console) KeysPage(w http.ResponseWriter, r *http.Request) {
	c.renderKeys(w, r, http.StatusOK, keysPage{})
}

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
	c.renderKeys(w, r, http.StatusOK, keysPage{New: &k})
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
	c.renderKeys(w, r, http.StatusOK, keysPage{New: &k, Rotated: kid})
}

// RevokeKey serves POST /console/settings/keys/{kid}/revoke.
func (c *Console) RevokeKey(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	kid := r.PathValue("kid")
	ended, err := c.chat.RevokeKey(r.Context(), s.agent.WorkspaceID, kid)
	if err != nil {
		c.failed(w, r, keysPath, err)
		return
	}
	c.seeOther(w, r, keysPath, "ok", "Key "+kid+" is revoked: tokens signed with it are refused from now on, and "+
		sessionsEnded(ended)+" it verified ended.")
}

// RegisterPublicKey serves POST /console/settings/keys/public (fields alg, kid, public_key). A refused
// key shows the form again as sent (a public key is no secret), with what to fix.
func (c *Console) RegisterPublicKey(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	pf := r.PostForm
	form := publicKeyForm{Alg: pf.Get("alg"), Kid: strings.TrimSpace(pf.Get("kid")), Key: pf.Get("public_key")}
	k, err := c.chat.RegisterPublicKey(r.Context(), s.agent.WorkspaceID, form.Alg, form.Kid, []byte(form.Key))
	if err != nil {
		if p, ok := fixable(err); ok {
			form.Error = problemSentence(p)
			if strings.Contains(p.Message, "private key") {
				form.Key = "" // a private key pasted by mistake is not sent back
			}
			c.renderKeys(w, r, p.Status, keysPage{Public: form})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.seeOther(w, r, keysPath, "ok", "Public key "+k.ID+" ("+k.Alg+") is registered: tokens signed with its private key, with kid "+
		k.ID+" in their header, are verified from now on.")
}

// AddJWKS serves POST /console/settings/keys/jwks (field url). Parley fetches the set once before saving
// it, so a wrong URL shows now, on the form, rather than at a customer's login. The form once had an
// "allow private addresses" box; a field allow_private sent by an old page is ignored, since only the
// operator may let Parley fetch from private networks (parley serve --jwks-allow-networks).
func (c *Console) AddJWKS(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	form := jwksForm{URL: strings.TrimSpace(r.PostForm.Get("url"))}
	k, n, err := c.chat.AddJWKS(r.Context(), s.agent.WorkspaceID, form.URL)
	if err != nil {
		if p, ok := fixable(err); ok {
			form.Error = problemSentence(p)
			c.renderKeys(w, r, p.Status, keysPage{JWKS: form})
			return
		}
		c.fail(w, r, err)
		return
	}
	keys := strconv.Itoa(n) + " keys"
	if n == 1 {
		keys = "1 key"
	}
	c.seeOther(w, r, keysPath, "ok", "JWKS "+k.JWKSURL+" is in use as "+k.ID+": it holds "+keys+
		" now, and Parley fetches it again when a token names a kid it does not know.")
}

// sessionsEnded says how many widget sessions ended, in words.
func sessionsEnded(n int) string {
	switch n {
	case 0:
		return "no widget session"
	case 1:
		return "the 1 widget session"
	}
	return fmt.Sprintf("the %d widget sessions", n)
}
