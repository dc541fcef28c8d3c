package console

import (
	"net/http"
	"net/url"

	"github.com/parleyhq/parley/internal/chat"
)

// Note serves POST /console/conversations/{id}/note (fields body, client_id): an internal note, as Reply
// with kind=note. The composer of a conversation no reply can reach posts here.
func (c *Console) Note(w http.ResponseWriter, r *http.Request) {
	if r.PostForm == nil {
		r.PostForm = url.Values{}
	}
	r.PostForm.Set("kind", "note")
	c.Reply(w, r)
}

// MentionsPage serves GET /console/mentions: the conversations whose internal notes mention the
// signed-in agent (@name), the most recently mentioned first.
func (c *Console) MentionsPage(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	items, err := c.chat.Mentions(r.Context(), s.agent)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "mentions", c.page(w, r, "Mentions", "mentions", mentionsPage{Items: items}))
}

type mentionsPage struct {
	Items []chat.MentionItem
}
