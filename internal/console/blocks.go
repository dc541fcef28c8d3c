package console

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Blocking abusive visitors (chat.BlockVisitor has the rules): "Block visitor…" on a conversation page,
// and the workspace's blocks at /console/blocks, where any agent may lift one.

const blocksPath = "/console/blocks"

// blocksLimit is how many blocks the blocks page shows.
const blocksLimit = 200

// blockDuration is one choice of the block form's "Block for" menu.
type blockDuration struct {
	Value string
	Label string
	For   time.Duration // zero: until lifted
}

var blockDurations = []blockDuration{
	{"1h", "1 hour", time.Hour},
	{"1d", "1 day", 24 * time.Hour},
	{"7d", "7 days", 7 * 24 * time.Hour},
	{"30d", "30 days", 30 * 24 * time.Hour},
	{"never", "Until lifted", 0},
}

// defaultBlockDuration is the menu's preselected choice.
const defaultBlockDuration = "1d"

// blockPanel is the data of the conversation page's block panel: the live block that stops the
// visitor, or the form that blocks them.
type blockPanel struct {
	Current *blockRow
	// SharedAddr is the visitor's address when it cannot be blocked (chat.BlockAddr), so a block names
	// their session only; Verified says a block names the verified customer.
	SharedAddr string
	Verified   bool
	Durations  []blockDuration
	Default    string
}

// blocking reads the block panel of a conversation.
func (c *Console) blocking(r *http.Request, conv store.Conversation) (blockPanel, error) {
	vb, err := c.chat.ConversationBlock(r.Context(), signedIn(r).agent, conv)
	if err != nil {
		return blockPanel{}, err
	}
	p := blockPanel{SharedAddr: vb.SharedAddr, Verified: vb.Verified, Durations: blockDurations, Default: defaultBlockDuration}
	if vb.Block != nil {
		p.Current = &blockRow{*vb.Block}
	}
	return p, nil
}

// BlockVisitor serves POST /console/conversations/{id}/block (fields for: a blockDurations value, reason).
func (c *Console) BlockVisitor(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	id := r.PathValue("id")
	choice := r.PostForm.Get("for")
	d, ok := blockFor(choice)
	if !ok {
		c.failed(w, r, conversationPath(id), problem.InvalidField("for", "choose how long the block lasts"))
		return
	}
	b, err := c.chat.BlockVisitor(r.Context(), s.agent, id, chat.BlockInput{For: d, Reason: r.PostForm.Get("reason")})
	if err != nil {
		c.failed(w, r, conversationPath(id), err)
		return
	}
	msg := "Visitor blocked " + untilText(b.ExpiresAt) + ": they can read their chat but not send messages."
	if b.CustomerID != "" {
		msg = "Customer blocked " + untilText(b.ExpiresAt) + ", on every device: they can read their chat but not send messages."
	} else if b.Addr == "" {
		msg = "Visitor blocked " + untilText(b.ExpiresAt) + ", by their chat session only: their address is not one that can be blocked (see the block panel)."
	}
	c.seeOther(w, r, conversationPath(id), "ok", msg)
}

func blockFor(value string) (time.Duration, bool) {
	for _, d := range blockDurations {
		if d.Value == value {
			return d.For, true
		}
	}
	return 0, false
}

func untilText(t time.Time) string {
	if t.IsZero() {
		return "until lifted"
	}
	return "until " + when(t)
}

// BlocksPage serves GET /console/blocks: the workspace's blocks, live ones first.
func (c *Console) BlocksPage(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	entries, err := c.chat.Blocks(r.Context(), s.agent, blocksLimit)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var live, ended []chat.BlockEntry
	for _, e := range entries {
		if e.Live {
			live = append(live, e)
		} else {
			ended = append(ended, e)
		}
	}
	p := blocksPage{Live: blockRows(live), Ended: blockRows(ended)}
	v := c.page(w, r, "Blocked visitors", "blocks", &p)
	v.Path = blocksPath
	c.render(w, r, http.StatusOK, "blocks", v)
}

type blocksPage struct {
	Live  []blockRow
	Ended []blockRow
}

// LiftBlock serves POST /console/blocks/{id}/lift (field back: the console page to return to).
func (c *Console) LiftBlock(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	back := blocksPath
	if b := r.PostForm.Get("back"); b != "" {
		back = localPath(b)
	}
	b, err := c.chat.LiftBlock(r.Context(), s.agent, r.PathValue("id"))
	if err != nil {
		c.failed(w, r, back, err)
		return
	}
	c.seeOther(w, r, back, "ok", "Block lifted: "+blockedWho(b)+" can send messages again.")
}

// blockedWho names whom a block stops, in the agent's words.
func blockedWho(e chat.BlockEntry) string {
	switch {
	case e.CustomerID != "":
		if e.Customer != nil {
			return "customer " + firstOf(e.Customer.Name, e.Customer.Email, e.CustomerID)
		}
		return "the customer"
	case e.Addr != "":
		return "the visitor from " + e.Addr
	}
	return "the visitor"
}

// blockRow is a block as the console's templates show it.
type blockRow struct{ chat.BlockEntry }

// Who names whom the block stops: the customer's name and email, or the visitor's address (and what
// they claimed to be, marked as such).
func (e blockRow) Who() string {
	if e.CustomerID != "" {
		if e.Customer == nil {
			return "A verified customer"
		}
		who := firstOf(e.Customer.Name, e.Customer.Email, e.Customer.ExternalID, "A verified customer")
		if e.Customer.Email != "" && e.Customer.Email != who {
			who += " (" + e.Customer.Email + ")"
		}
		return who
	}
	who := "Visitor"
	if e.Addr != "" {
		who = "Visitor from " + e.Addr
	}
	if claimed := firstOf(e.ClaimedName, e.ClaimedEmail); claimed != "" {
		who += ", who said they are " + claimed
	}
	return who
}

// Scope says what the block covers.
func (e blockRow) Scope() string {
	switch {
	case e.CustomerID != "":
		return "Verified customer, on every device"
	case e.Addr != "":
		return "Chat session and address"
	}
	return "Chat session only"
}

// Until is when the block ends, in words.
func (e blockRow) Until() string {
	if e.ExpiresAt.IsZero() {
		return "Until lifted"
	}
	return when(e.ExpiresAt)
}

// By names the agent who made the block.
func (e blockRow) By() string { return firstOf(e.CreatedByName, "A former agent") }

// Ended says how a block that is no longer live ended.
func (e blockRow) Ended() string {
	if !e.LiftedAt.IsZero() {
		return "Lifted by " + firstOf(e.LiftedByName, "a former agent")
	}
	return "Expired"
}

func blockRows(entries []chat.BlockEntry) []blockRow {
	out := make([]blockRow, len(entries))
	for i, e := range entries {
		out[i] = blockRow{e}
	}
	return out
}
