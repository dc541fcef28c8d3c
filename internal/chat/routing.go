package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Routing: a new conversation goes to the inbox of the first rule that matches its visitor (identity
// level, email domain, a verified attribute), and is assigned to the least-busy available agent of that
// inbox. Without a matching rule it goes to no inbox and any available agent of the workspace may get
// it; with no available agent it waits, unassigned. Out of business hours (hours.go) it goes to its
// inbox but to no agent, available or not: it waits there, with an "out_of_hours" timeline event saying
// when the workspace opens, for whoever answers first. Routing runs once, when the conversation starts: a
// visitor who signs in later keeps the inbox and agent they have.

const maxInboxNameLength = 80

func (s *Service) inboxOf(ctx context.Context, r store.Reader, workspaceID, id string) (store.Inbox, error) {
	in, err := r.Inbox(ctx, id)
	if isNotFound(err) || (err == nil && in.WorkspaceID != workspaceID) {
		return store.Inbox{}, problem.NotFound("inbox_not_found", "no inbox %q", id)
	}
	return in, err
}

// Inboxes lists the workspace's inboxes, oldest first.
func (s *Service) Inboxes(ctx context.Context, workspaceID string) ([]store.Inbox, error) {
	return s.store.Inboxes(ctx, workspaceID)
}

// SaveInbox creates an inbox (id "") or renames one and sets its members, who must be agents of the
// workspace.
func (s *Service) SaveInbox(ctx context.Context, admin store.Agent, id, name string, members []string) (store.Inbox, error) {
	if err := RequireAdmin(admin); err != nil {
		return store.Inbox{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Inbox{}, problem.InvalidField("name", "must not be empty")
	}
	if err := checkText("name", name, maxInboxNameLength, false); err != nil {
		return store.Inbox{}, err
	}
	var in store.Inbox
	err := s.store.Update(ctx, func(tx store.Tx) error {
		agents, err := tx.Agents(ctx, admin.WorkspaceID)
		if err != nil {
			return err
		}
		known := make(map[string]bool, len(agents))
		emails := make(map[string]string, len(agents))
		for _, a := range agents {
			known[a.ID] = true
			emails[a.ID] = a.Email
		}
		var list []string
		for _, m := range members {
			if !known[m] {
				return problem.InvalidField("members", "no agent %q in this workspace", m)
			}
			list = appendUnique(list, m)
		}
		var prev store.Inbox
		if id == "" {
			in = store.Inbox{ID: newID("in_"), WorkspaceID: admin.WorkspaceID, Name: name, Members: list, CreatedAt: s.clock()}
			err = tx.CreateInbox(ctx, &in)
		} else {
			if in, err = s.inboxOf(ctx, tx, admin.WorkspaceID, id); err != nil {
				return err
			}
			prev = in
			in.Name, in.Members = name, list
			err = tx.UpdateInbox(ctx, &in)
		}
		if errors.Is(err, store.ErrConflict) {
			return conflict("inbox_exists", "there is already an inbox named %q", name)
		}
		if err != nil {
			return err
		}
		return s.auditInbox(ctx, tx, prev, in, emails)
	})
	return in, err
}

// DeleteInbox removes an inbox and the rules that lead to it; its conversations stay, in no inbox.
func (s *Service) DeleteInbox(ctx context.Context, admin store.Agent, id string) error {
	if err := RequireAdmin(admin); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		in, err := s.inboxOf(ctx, tx, admin.WorkspaceID, id)
		if err != nil {
			return err
		}
		rules, err := tx.RoutingRules(ctx, admin.WorkspaceID)
		if err != nil {
			return err
		}
		if err := tx.DeleteInbox(ctx, admin.WorkspaceID, id); err != nil {
			return err
		}
		detail := fmt.Sprintf("%q", in.Name)
		switch n := len(slices.DeleteFunc(rules, func(r store.RoutingRule) bool { return r.InboxID != id })); n {
		case 0:
		case 1:
			detail += " and the rule leading to it"
		default:
			detail += fmt.Sprintf(" and the %d rules leading to it", n)
		}
		return s.audit(ctx, tx, admin.WorkspaceID, AuditInboxDeleted, id, detail)
	})
}

// RoutingRules lists the workspace's rules in order.
func (s *Service) RoutingRules(ctx context.Context, workspaceID string) ([]store.RoutingRule, error) {
	return s.store.RoutingRules(ctx, workspaceID)
}

// RuleInput is one rule as an administrator writes it.
type RuleInput struct {
	Level       string // "", anonymous, identified or verified
	EmailDomain string // "" for any
	// AttributeKey and AttributeValue: the verified customer's attribute of that key must have that
	// value, compared as text (numbers by their literal, booleans as true/false); "" for any.
	AttributeKey   string
	AttributeValue string
	InboxID        string
}

// SetRoutingRules replaces the workspace's ordered rule list.
func (s *Service) SetRoutingRules(ctx context.Context, admin store.Agent, in []RuleInput) ([]store.RoutingRule, error) {
	if err := RequireAdmin(admin); err != nil {
		return nil, err
	}
	if len(in) > 100 {
		return nil, problem.InvalidField("rules", "at most 100 rules")
	}
	rules := make([]store.RoutingRule, len(in))
	now := s.clock()
	for i, r := range in {
		switch r.Level {
		case "", store.LevelAnonymous, store.LevelIdentified, store.LevelVerified:
		default:
			return nil, problem.InvalidField("level", "rule %d: must be anonymous, identified, verified or empty (any), not %q", i+1, r.Level)
		}
		domain := ""
		if d := strings.TrimSpace(r.EmailDomain); d != "" {
			var err error
			if domain, err = identity.CanonicalDomain(strings.TrimPrefix(d, "@")); err != nil {
				return nil, problem.InvalidField("email_domain", "rule %d: %s", i+1, err)
			}
		}
		key, value, err := ruleAttribute(i+1, r)
		if err != nil {
			return nil, err
		}
		rules[i] = store.RoutingRule{ID: newID("rr_"), WorkspaceID: admin.WorkspaceID, Position: i, Level: r.Level, EmailDomain: domain,
			AttributeKey: key, AttributeValue: value, InboxID: r.InboxID, CreatedAt: now}
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		for i, r := range rules {
			if _, err := s.inboxOf(ctx, tx, admin.WorkspaceID, r.InboxID); err != nil {
				return problem.InvalidField("inbox", "rule %d: no inbox %q", i+1, r.InboxID)
			}
		}
		before, err := tx.RoutingRules(ctx, admin.WorkspaceID)
		if err != nil {
			return err
		}
		if err := tx.ReplaceRoutingRules(ctx, admin.WorkspaceID, rules); err != nil {
			return err
		}
		inboxes, err := tx.Inboxes(ctx, admin.WorkspaceID)
		if err != nil {
			return err
		}
		names := make(map[string]string, len(inboxes))
		for _, in := range inboxes {
			names[in.ID] = fmt.Sprintf("%q", in.Name)
		}
		return s.auditRuleChanges(ctx, tx, admin.WorkspaceID, before, rules, names)
	})
	return rules, err
}

// ruleAttribute checks rule n's attribute condition: a key as attributes name them, and a value as
// attributes hold them (trimmed: a form's stray space must not make a rule that never matches).
func ruleAttribute(n int, r RuleInput) (key, value string, err error) {
	key, value = strings.TrimSpace(r.AttributeKey), strings.TrimSpace(r.AttributeValue)
	if key == "" {
		if value != "" {
			return "", "", problem.InvalidField("attribute_key", "rule %d: name the attribute whose value must be %q", n, value)
		}
		return "", "", nil
	}
	if err := attributes.CheckKey(key); err != nil {
		return "", "", problem.InvalidField("attribute_key", "rule %d: %s", n, err)
	}
	if value == "" {
		return "", "", problem.InvalidField("attribute_value", "rule %d: give the value attribute %q must have", n, key)
	}
	if len(value) > attributes.MaxValueBytes {
		return "", "", problem.InvalidField("attribute_value", "rule %d: at most %d bytes; attributes hold no longer values", n, attributes.MaxValueBytes)
	}
	if err := checkText("attribute_value", value, attributes.MaxValueBytes, false); err != nil {
		return "", "", err
	}
	return key, value, nil
}

// RuleMatches reports whether a rule applies to a visitor of the given level and email, whose verified
// customer has the given attributes. Only verified attributes ever reach a rule: what a visitor claims
// (setUser) is theirs to invent.
func RuleMatches(r store.RoutingRule, level, email string, verified attributes.Set) bool {
	if r.Level != "" && r.Level != level {
		return false
	}
	if r.AttributeKey != "" {
		v, ok := verified.Get(r.AttributeKey)
		if !ok || v.Text != r.AttributeValue {
			return false
		}
	}
	return r.EmailDomain == "" || (email != "" && identity.EmailDomain(email) == r.EmailDomain)
}

// route picks the new conversation's inbox and assignee, inside the transaction that created it.
// settings are the workspace's; verified are the attributes of the conversation's verified customer
// (none for other visitors).
func (s *Service) route(ctx context.Context, tx store.Tx, out *outbox, conv *store.Conversation, settings store.Settings, level, email string, verified attributes.Set) error {
	rules, err := tx.RoutingRules(ctx, conv.WorkspaceID)
	if err != nil {
		return err
	}
	var inbox *store.Inbox
	for _, r := range rules {
		if !RuleMatches(r, level, email, verified) {
			continue
		}
		in, err := tx.Inbox(ctx, r.InboxID)
		if err != nil {
			return err
		}
		inbox = &in
		break
	}
	members := map[string]bool{}
	if inbox != nil {
		conv.InboxID = inbox.ID
		if err := tx.SetConversationInbox(ctx, conv.ID, inbox.ID, s.clock()); err != nil {
			return err
		}
		if err := s.addEvent(ctx, tx, out, *conv, "routed", map[string]string{"inbox_id": inbox.ID, "inbox": inbox.Name}); err != nil {
			return err
		}
		for _, m := range inbox.Members {
			members[m] = true
		}
	}
	if open, next := OpenAt(settings, s.clock()); !open {
		// Out of hours an agent marked available has most likely just left it on: assigning to them
		// would hide the conversation from whoever opens up first.
		data := map[string]string{"next_open": ""}
		if !next.IsZero() {
			data["next_open"] = next.Format(time.RFC3339)
		}
		return s.addEvent(ctx, tx, out, *conv, "out_of_hours", data)
	}
	agents, err := tx.Agents(ctx, conv.WorkspaceID)
	if err != nil {
		return err
	}
	eligible := agents[:0:0]
	for _, a := range agents {
		if a.Available && a.DisabledAt.IsZero() && (inbox == nil || members[a.ID]) {
			eligible = append(eligible, a)
		}
	}
	if len(eligible) == 0 {
		return nil
	}
	load, err := tx.OpenAssignedCounts(ctx, conv.WorkspaceID)
	if err != nil {
		return err
	}
	// Least busy first; among equals, the agent who has been around longest (Agents' order).
	sort.SliceStable(eligible, func(i, j int) bool { return load[eligible[i].ID] < load[eligible[j].ID] })
	return s.assign(ctx, tx, out, conv, eligible[0].ID, "routing")
}
