package console

import (
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Canned responses: the page that lists and manages them (GET /console/canned), and their use in the
// reply box. The picker (static/canned.js) reads the conversation page's own <select> of responses,
// each option already filled for the conversation by package chat; without the script, the select and
// its Insert button post the reply form to …/canned, which answers with the page again and the filled
// response in the reply box — never a sent message.

const cannedPath = "/console/canned"

// cannedItem is a response as the management page lists it.
type cannedItem struct {
	store.CannedResponse
	Personal bool
	CanEdit  bool
	// Shadowed: a personal response of the agent has the same shortcut, and takes its place in the picker.
	Shadowed bool
	// Edit is the edit form's content: the response, or what was sent when the edit was refused
	// (EditOpen).
	Edit     chat.CannedInput
	EditOpen bool
	CSRF     string // for the item's forms
}

type cannedPage struct {
	Personal []cannedItem
	Shared   []cannedItem
	Admin    bool
	// The create form as sent, when it was refused.
	Form chat.CannedInput
	// Editing is the response whose edit form was refused, with the form as sent ("" for none).
	Editing  string
	EditForm chat.CannedInput
	Error    string
	// Variables are the variables a body may hold, for the form's hint.
	Variables []string
	MaxTitle  int
	MaxBody   int
}

// cannedVariables lists the variables a body may hold.
func cannedVariables() []string {
	return []string{chat.VarCustomerFirstName, chat.VarCustomerName, chat.VarCustomerEmail, chat.VarAgentFirstName}
}

// CannedPage serves GET /console/canned: the agent's personal responses, and the shared ones (managed
// here by administrators, listed read-only for everyone else).
func (c *Console) CannedPage(w http.ResponseWriter, r *http.Request) {
	c.renderCanned(w, r, http.StatusOK, cannedPage{Form: chat.CannedInput{Scope: chat.CannedPersonal}})
}

func (c *Console) renderCanned(w http.ResponseWriter, r *http.Request, status int, p cannedPage) {
	s := signedIn(r)
	list, err := c.chat.CannedResponses(r.Context(), s.agent)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	personal := map[string]bool{}
	for _, cr := range list {
		if cr.OwnerID != "" {
			personal[cr.Shortcut] = true
		}
	}
	for _, cr := range list {
		it := cannedItem{CannedResponse: cr, Personal: cr.OwnerID != "", CanEdit: chat.CanManageCanned(s.agent, cr),
			Edit: chat.CannedInput{Title: cr.Title, Shortcut: cr.Shortcut, Body: cr.Body}, CSRF: s.sess.CSRFToken}
		if p.Editing == cr.ID {
			it.Edit, it.EditOpen = p.EditForm, true
		}
		if it.Personal {
			p.Personal = append(p.Personal, it)
		} else {
			it.Shadowed = personal[cr.Shortcut]
			p.Shared = append(p.Shared, it)
		}
	}
	p.Admin = s.agent.Role == store.RoleAdmin
	p.Variables, p.MaxTitle, p.MaxBody = cannedVariables(), chat.MaxCannedTitle, chat.MaxMessageLength
	v := c.page(w, r, "Canned responses", "canned", p)
	v.Path = cannedPath
	if p.Error != "" {
		v.Flash = &flash{Kind: "error", Message: p.Error}
	}
	c.render(w, r, status, "canned", v)
}

func cannedInput(r *http.Request) chat.CannedInput {
	pf := r.PostForm
	return chat.CannedInput{Scope: pf.Get("scope"), Title: pf.Get("title"), Shortcut: pf.Get("shortcut"), Body: pf.Get("body")}
}

// refusedForm tells whether a refusal is one the agent fixes in the form they sent (shown again with
// it), rather than a page of its own (404, 403).
func refusedForm(err error) (*problem.Error, bool) {
	p, ok := problem.As(err)
	return p, ok && p.Status < 500 && p.Status != http.StatusNotFound && p.Status != http.StatusForbidden
}

// CreateCanned serves POST /console/canned (fields scope, title, shortcut, body).
func (c *Console) CreateCanned(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	in := cannedInput(r)
	cr, err := c.chat.CreateCannedResponse(r.Context(), s.agent, in)
	if err != nil {
		if p, ok := refusedForm(err); ok {
			c.renderCanned(w, r, p.Status, cannedPage{Form: in, Error: problemSentence(p)})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.seeOther(w, r, cannedPath, "ok", "Saved /"+cr.Shortcut+" ("+chat.CannedScope(cr)+").")
}

// UpdateCanned serves POST /console/canned/{id} (fields title, shortcut, body).
func (c *Console) UpdateCanned(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	in := cannedInput(r)
	id := r.PathValue("id")
	cr, err := c.chat.UpdateCannedResponse(r.Context(), s.agent, id, in)
	if err != nil {
		if p, ok := refusedForm(err); ok {
			c.renderCanned(w, r, p.Status, cannedPage{Form: chat.CannedInput{Scope: chat.CannedPersonal}, Editing: id, EditForm: in, Error: problemSentence(p)})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.seeOther(w, r, cannedPath, "ok", "Saved /"+cr.Shortcut+".")
}

// DeleteCanned serves POST /console/canned/{id}/delete.
func (c *Console) DeleteCanned(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	cr, err := c.chat.DeleteCannedResponse(r.Context(), s.agent, r.PathValue("id"))
	if err != nil {
		c.failed(w, r, cannedPath, err)
		return
	}
	c.seeOther(w, r, cannedPath, "ok", "Deleted /"+cr.Shortcut+".")
}

// ---------------------------------------------------------------- the reply box

// composer is what the reply box holds beyond the form itself: the responses to insert, filled for
// this conversation, and a draft with what the agent must know about it before sending.
type composer struct {
	Canned []chat.CannedChoice
	// Variables are the variables the script looks for in the reply (as text: {{…}} cannot be written
	// in a template).
	Variables string
	// Draft is the reply box's text when the page comes back with one: a response inserted without
	// the script, or a reply the server refused.
	Draft string
	// Claimed lists the claimed values the draft holds; Unfilled the variables it still holds.
	Claimed  []string
	Unfilled []string
}

// withComposer fills the page's reply box: the responses the agent may insert, filled for it.
func (c *Console) withComposer(r *http.Request, p *conversationPage) error {
	if !p.CanReply {
		return nil
	}
	s := signedIn(r)
	list, err := c.chat.CannedChoices(r.Context(), s.agent, p.ConversationView)
	if err != nil {
		return err
	}
	p.Composer.Canned = list
	p.Composer.Variables = strings.Join(cannedVariables(), " ")
	return nil
}

// InsertCanned serves POST /console/conversations/{id}/canned (the reply form, with field canned: a
// response id): the conversation page again, with the response filled for it in the reply box after
// whatever the agent had typed. It sends nothing.
func (c *Console) InsertCanned(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	p, err := c.conversation(r, chat.TimelineCursor{}, true)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	id := r.PostForm.Get("canned")
	if id == "" {
		c.renderDraft(w, r, p, http.StatusUnprocessableEntity, r.PostForm.Get("body"), nil, "Choose a canned response to insert.")
		return
	}
	f, err := c.chat.FillCanned(r.Context(), s.agent, p.ConversationView, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	draft := strings.TrimRight(r.PostForm.Get("body"), " \t\r\n")
	if draft != "" {
		draft += "\n"
	}
	c.renderDraft(w, r, p, http.StatusOK, draft+f.Body, f.Claimed, "")
}

// renderDraft shows the conversation page with a draft in the reply box: what the agent must know
// before sending it (claimed values, unfilled variables) is said beside it, and refused an error.
func (c *Console) renderDraft(w http.ResponseWriter, r *http.Request, p *conversationPage, status int, draft string, claimed []string, refused string) {
	p.Composer.Draft = draft
	for _, v := range claimed {
		if strings.Contains(draft, v) {
			p.Composer.Claimed = append(p.Composer.Claimed, v)
		}
	}
	p.Composer.Unfilled = chat.UnfilledVariables(draft)
	v := c.page(w, r, "Conversation with "+p.DisplayName, "inbox", p)
	v.Path = conversationPath(p.Conversation.ID)
	v.Live = "conversation"
	v.LiveURL = conversationPath(p.Conversation.ID) + "/live"
	if refused != "" {
		v.Flash = &flash{Kind: "error", Message: refused}
	}
	c.render(w, r, status, "conversation", v)
}

// refusedReply answers a reply the server refused for a variable it still holds: the page again with
// the reply in the box, so nothing typed is lost. It reports whether err was that refusal.
func (c *Console) refusedReply(w http.ResponseWriter, r *http.Request, err error) bool {
	p, ok := problem.As(err)
	if !ok || p.Code != "unfilled_variable" {
		return false
	}
	page, perr := c.conversation(r, chat.TimelineCursor{}, true)
	if perr != nil {
		c.fail(w, r, perr)
		return true
	}
	page.Attach.Draft = c.draftAttachments(r) // attachments.go
	c.renderDraft(w, r, page, p.Status, r.PostForm.Get("body"), nil, problemSentence(p))
	return true
}
