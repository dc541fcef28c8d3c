package console

import (
	"net/http"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

type routingPage struct {
	Inboxes []inboxForm
	Agents  []store.Agent
	Rules   []ruleRow
	Levels  []levelOption
}

type inboxForm struct {
	store.Inbox
	Member map[string]bool
}

type ruleRow struct {
	store.RoutingRule
	Number    int
	InboxName string
	First     bool
	Last      bool
}

type levelOption struct{ Value, Label string }

// RoutingPage serves GET /console/settings/routing.
func (c *Console) RoutingPage(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	ctx := r.Context()
	inboxes, err := c.chat.Inboxes(ctx, s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	agents, err := c.chat.Agents(ctx, s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	rules, err := c.chat.RoutingRules(ctx, s.agent.WorkspaceID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := routingPage{Agents: agents, Levels: []levelOption{
		{"", "Any visitor"}, {store.LevelVerified, "Verified"}, {store.LevelIdentified, "Identified (unverified)"}, {store.LevelAnonymous, "Anonymous"},
	}}
	names := map[string]string{}
	for _, in := range inboxes {
		f := inboxForm{Inbox: in, Member: map[string]bool{}}
		for _, m := range in.Members {
			f.Member[m] = true
		}
		p.Inboxes = append(p.Inboxes, f)
		names[in.ID] = in.Name
	}
	for i, rule := range rules {
		p.Rules = append(p.Rules, ruleRow{RoutingRule: rule, Number: i + 1, InboxName: names[rule.InboxID], First: i == 0, Last: i == len(rules)-1})
	}
	v := c.page(w, r, "Routing", "routing", p)
	v.Path = routingPath
	c.render(w, r, http.StatusOK, "routing", v)
}

// CreateInbox serves POST /console/settings/inboxes (fields name, member…).
func (c *Console) CreateInbox(w http.ResponseWriter, r *http.Request) { c.saveInbox(w, r, "") }

// UpdateInbox serves POST /console/settings/inboxes/{id} (fields name, member…).
func (c *Console) UpdateInbox(w http.ResponseWriter, r *http.Request) {
	c.saveInbox(w, r, r.PathValue("id"))
}

func (c *Console) saveInbox(w http.ResponseWriter, r *http.Request, id string) {
	s := signedIn(r)
	in, err := c.chat.SaveInbox(r.Context(), s.agent, id, r.PostForm.Get("name"), r.PostForm["member"])
	if err != nil {
		c.failed(w, r, routingPath, err)
		return
	}
	c.seeOther(w, r, routingPath, "ok", "Inbox "+in.Name+" saved.")
}

// DeleteInbox serves POST /console/settings/inboxes/{id}/delete.
func (c *Console) DeleteInbox(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	if err := c.chat.DeleteInbox(r.Context(), s.agent, r.PathValue("id")); err != nil {
		c.failed(w, r, routingPath, err)
		return
	}
	c.seeOther(w, r, routingPath, "ok", "Inbox deleted, with the rules that led to it. Its conversations stay, in no inbox.")
}

// currentRules reads the workspace's rules as inputs, to change and write back.
func (c *Console) currentRules(r *http.Request) ([]chat.RuleInput, []store.RoutingRule, error) {
	s := signedIn(r)
	rules, err := c.chat.RoutingRules(r.Context(), s.agent.WorkspaceID)
	if err != nil {
		return nil, nil, err
	}
	in := make([]chat.RuleInput, len(rules))
	for i, rule := range rules {
		in[i] = chat.RuleInput{Level: rule.Level, EmailDomain: rule.EmailDomain, AttributeKey: rule.AttributeKey,
			AttributeValue: rule.AttributeValue, InboxID: rule.InboxID}
	}
	return in, rules, nil
}

func (c *Console) saveRules(w http.ResponseWriter, r *http.Request, in []chat.RuleInput, done string) {
	if _, err := c.chat.SetRoutingRules(r.Context(), signedIn(r).agent, in); err != nil {
		c.failed(w, r, routingPath, err)
		return
	}
	c.seeOther(w, r, routingPath, "ok", done)
}

// AddRule serves POST /console/settings/routing/rules (fields level, email_domain, attribute_key,
// attribute_value, inbox): a rule at the end of the list.
func (c *Console) AddRule(w http.ResponseWriter, r *http.Request) {
	in, _, err := c.currentRules(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	pf := r.PostForm
	in = append(in, chat.RuleInput{Level: pf.Get("level"), EmailDomain: pf.Get("email_domain"),
		AttributeKey: pf.Get("attribute_key"), AttributeValue: pf.Get("attribute_value"), InboxID: pf.Get("inbox")})
	c.saveRules(w, r, in, "Rule added.")
}

// MoveRule serves POST /console/settings/routing/rules/{id}/move (field direction: up or down).
func (c *Console) MoveRule(w http.ResponseWriter, r *http.Request) {
	in, rules, err := c.currentRules(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	i := ruleIndex(rules, r.PathValue("id"))
	if i < 0 {
		c.failed(w, r, routingPath, errRuleChanged)
		return
	}
	j := i - 1
	if r.PostForm.Get("direction") == "down" {
		j = i + 1
	}
	if j < 0 || j >= len(in) {
		c.seeOther(w, r, routingPath, "", "")
		return
	}
	in[i], in[j] = in[j], in[i]
	c.saveRules(w, r, in, "Rule moved.")
}

// RemoveRule serves POST /console/settings/routing/rules/{id}/remove.
func (c *Console) RemoveRule(w http.ResponseWriter, r *http.Request) {
	in, rules, err := c.currentRules(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	i := ruleIndex(rules, r.PathValue("id"))
	if i < 0 {
		c.failed(w, r, routingPath, errRuleChanged)
		return
	}
	c.saveRules(w, r, append(in[:i], in[i+1:]...), "Rule removed.")
}

// Rule ids change whenever the list is saved, so a stale page names a rule that no longer exists.
var errRuleChanged = problem.New(http.StatusConflict, "rule_changed", "the rules have changed since the page was loaded; here they are as they are now")

func ruleIndex(rules []store.RoutingRule, id string) int {
	for i, rule := range rules {
		if rule.ID == id {
			return i
		}
	}
	return -1
}
