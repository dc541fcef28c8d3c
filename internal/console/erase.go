package console

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// A customer's data on request: administrators download everything Parley holds about a customer
// (the same document as the customers API's export) or erase the customer, after typing their user id.

// ExportCustomer serves GET /console/customers/{id}/export: the export document as a download.
func (c *Console) ExportCustomer(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	x, err := c.chat.ExportCustomerAs(r.Context(), s.agent, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="parley-customer-`+x.Customer.ID+`.json"`)
	h.Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(x)
}

// EraseCustomer serves POST /console/customers/{id}/erase (field confirm: the customer's user id, or
// email when they have none). Done, the customer's page no longer exists: the answer goes to the inbox.
func (c *Console) EraseCustomer(w http.ResponseWriter, r *http.Request) {
	s := c.adminSession(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	erased, err := c.chat.EraseCustomerAs(r.Context(), s.agent, id, r.PostFormValue("confirm"))
	if err != nil {
		c.failed(w, r, "/console/customers/"+id, err)
		return
	}
	c.seeOther(w, r, homePath, "ok", "The customer is erased, with "+plural(erased.Conversations, "conversation")+" and "+
		plural(erased.Messages, "message")+"; their widget sessions ended.")
}

// plural says "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
