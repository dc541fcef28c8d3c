package console

import (
	"net/http"

	"github.com/parleyhq/parley/internal/chat"
)

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
