package console

import (
	"net/http"
	"slices"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Webhook endpoints (docs/webhooks.md): administrators register receivers, see which fail, read each
// one's delivery log, rotate secrets and send test events.

const webhooksPath = "/console/settings/webhooks"

// webhooksPage is the data of the webhooks page. New is set only on the answer to a create or a
// rotation, the one time the secret is shown.
type webhooksPage struct {
	Endpoints []store.WebhookEndpoint
	Events    []eventOption
	New       *chat.NewWebhook
	Rotated   bool
	// The create form as sent, when it was refused.
	URL          string
	IncludeNotes bool
	Error        string
	// Endpoint is the endpoint of the log page and of the edit page; Log is its delivery log.
	Endpoint *store.WebhookEndpoint
	Log      []store.WebhookDelivery
}

// eventOption is one checkbox of the create form.
type eventOption struct {
	Name    string
	About   string
	Checked bool
}

var eventAbout = map[string]string{
	chat.WebhookConversationCreated:  "a visitor starts a conversation",
	chat.WebhookMessageCreated:       "a message is written (internal notes only if included below)",
	chat.WebhookConversationClosed:   "a conversation is closed",
	chat.WebhookConversationReopened: "a conversation is reopened",
	chat.WebhookCustomerVerified:     "a customer signs in verified for the first time",
	chat.WebhookCustomerErased:       "a customer is erased",
}

func eventOptions(checked []string) []eventOption {
	var out []eventOption
	for _, ev := range chat.WebhookEventTypes() {
		out = append(out, eventOption{Name: ev, About: eventAbout[ev], Checked: slices.Contains(checked, ev)})
	}
	return out
}

func (c *Console) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, p webhooksPage) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	list, err := c.chat.Webhooks(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Endpoints = list
	if p.Events == nil {
		p.Events = eventOptions(nil)
	}
	v := c.page(w, r, "Webhooks", "webhooks", p)
	v.Path = webhooksPath
	c.render(w, r, status, "webhooks", v)
}

// WebhooksPage serves GET /console/settings/webhooks.
func (c *Console) WebhooksPage(w http.ResponseWriter, r *http.Request) {
	c.renderWebhooks(w, r, http.StatusOK, webhooksPage{})
}

// CreateWebhook serves POST /console/settings/webhooks (fields url, event — one per checked box, none
// meaning every event — and include_notes). The answer is the page itself, showing the secret once.
func (c *Console) CreateWebhook(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	u, events, notes := r.PostForm.Get("url"), r.PostForm["event"], r.PostForm.Get("include_notes") == "on"
	nw, err := c.chat.CreateWebhook(r.Context(), s.agent.WorkspaceID, chat.WebhookInput{URL: &u, Events: events, IncludeNotes: &notes})
	if err != nil {
		if p, ok := fixable(err); ok {
			c.renderWebhooks(w, r, p.Status, webhooksPage{URL: u, IncludeNotes: notes, Events: eventOptions(events), Error: problemSentence(p)})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.renderWebhooks(w, r, http.StatusOK, webhooksPage{New: &nw})
}

// RotateWebhook serves POST /console/settings/webhooks/{id}/rotate: the new secret is shown once.
func (c *Console) RotateWebhook(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	nw, err := c.chat.RotateWebhookSecret(r.Context(), s.agent.WorkspaceID, r.PathValue("id"))
	if err != nil {
		c.failed(w, r, webhooksPath, err)
		return
	}
	c.renderWebhooks(w, r, http.StatusOK, webhooksPage{New: &nw, Rotated: true})
}

// TestWebhook serves POST /console/settings/webhooks/{id}/test.
func (c *Console) TestWebhook(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	wid, err := c.chat.SendTestWebhook(r.Context(), s.agent.WorkspaceID, id)
	if err != nil {
		c.failed(w, r, webhooksPath, err)
		return
	}
	c.seeOther(w, r, webhooksPath+"/"+id, "ok", "A webhook.test event ("+wid+") is on its way; its delivery appears below.")
}

// SetWebhookDisabled serves POST /console/settings/webhooks/{id}/disable and …/enable.
func (c *Console) SetWebhookDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.adminSession(w, r)
		if s == nil {
			return
		}
		id := r.PathValue("id")
		if _, err := c.chat.SetWebhookDisabled(r.Context(), s.agent.WorkspaceID, id, disabled); err != nil {
			c.failed(w, r, webhooksPath, err)
			return
		}
		msg := "Webhook endpoint " + id + " is enabled again."
		if disabled {
			msg = "Webhook endpoint " + id + " is disabled: nothing is sent to it."
		}
		c.seeOther(w, r, webhooksPath, "ok", msg)
	}
}

// DeleteWebhook serves POST /console/settings/webhooks/{id}/delete.
func (c *Console) DeleteWebhook(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	if err := c.chat.DeleteWebhook(r.Context(), s.agent.WorkspaceID, id); err != nil {
		c.failed(w, r, webhooksPath, err)
		return
	}
	c.seeOther(w, r, webhooksPath, "ok", "Webhook endpoint "+id+" is deleted.")
}

// renderWebhookEdit shows the edit form of endpoint e: p carries the form's values (the endpoint's own,
// or as sent when refused).
func (c *Console) renderWebhookEdit(w http.ResponseWriter, r *http.Request, status int, e store.WebhookEndpoint, p webhooksPage) {
	p.Endpoint = &e
	v := c.page(w, r, "Edit webhook endpoint", "webhooks", p)
	v.Path = webhooksPath + "/" + e.ID + "/edit"
	c.render(w, r, status, "webhook_edit", v)
}

// WebhookEditPage serves GET /console/settings/webhooks/{id}/edit: the endpoint's URL, event filter and
// notes opt-in in a form like the create form, prefilled.
func (c *Console) WebhookEditPage(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	e, err := c.chat.Webhook(r.Context(), s.agent.WorkspaceID, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.renderWebhookEdit(w, r, http.StatusOK, e, webhooksPage{URL: e.URL, IncludeNotes: e.IncludeNotes, Events: eventOptions(e.Events)})
}

// UpdateWebhook serves POST /console/settings/webhooks/{id}/edit (the create form's fields: url, event
// once per checked box — none meaning every event — and include_notes). Every field is set from the
// form, so unticking all boxes means all events, as on create.
func (c *Console) UpdateWebhook(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	u, notes := r.PostForm.Get("url"), r.PostForm.Get("include_notes") == "on"
	// Non-nil even when no box is ticked: nil would leave the filter as it was.
	events := append([]string{}, r.PostForm["event"]...)
	e, err := c.chat.UpdateWebhook(r.Context(), s.agent.WorkspaceID, id, chat.WebhookInput{URL: &u, Events: events, IncludeNotes: &notes})
	if err != nil {
		p, ok := fixable(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		cur, err := c.chat.Webhook(r.Context(), s.agent.WorkspaceID, id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.renderWebhookEdit(w, r, p.Status, cur, webhooksPage{URL: u, IncludeNotes: notes, Events: eventOptions(events), Error: problemSentence(p)})
		return
	}
	c.seeOther(w, r, webhooksPath, "ok", "Webhook endpoint "+e.ID+" is saved.")
}

// WebhookLogPage serves GET /console/settings/webhooks/{id}: the endpoint and its delivery log.
func (c *Console) WebhookLogPage(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	e, err := c.chat.Webhook(r.Context(), s.agent.WorkspaceID, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	log, err := c.chat.WebhookDeliveries(r.Context(), s.agent.WorkspaceID, id, 100)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := c.page(w, r, "Webhook deliveries", "webhooks", webhooksPage{Endpoint: &e, Log: log})
	v.Path = webhooksPath + "/" + id
	c.render(w, r, http.StatusOK, "webhook_log", v)
}
