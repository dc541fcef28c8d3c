package chat

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// The audit trail: every change an administrator (or the command line, or the customers API) makes to
// who may do what in a workspace, recorded by audit (keys.go) inside the transaction that makes it. The
// trail is append-only in the database (triggers on both stores), so what it says happened did.
//
// Details never hold a secret: a sealed value (a []byte setting) is only said to have changed, and
// passwords, codes and message bodies never reach this file.

// Audit actions of changes this file describes.
const (
	AuditAgentCreated     = "agent.created"
	AuditAgentRoleChanged = "agent.role_changed"
	AuditAgentDisabled    = "agent.disabled"
	AuditAgentEnabled     = "agent.enabled"
	AuditSettingsChanged  = "settings.changed"
	AuditInboxCreated     = "routing.inbox_created"
	AuditInboxUpdated     = "routing.inbox_updated"
	AuditInboxDeleted     = "routing.inbox_deleted"
	AuditRuleAdded        = "routing.rule_added"
	AuditRuleRemoved      = "routing.rule_removed"
	AuditRulesReordered   = "routing.rules_reordered"
	AuditCannedCreated    = "canned.created"
	AuditCannedUpdated    = "canned.updated"
	AuditCannedDeleted    = "canned.deleted"
	AuditTranscriptMailed = "transcript.emailed"
)

// AuditEventsFiltered returns the workspace's audit events the filter selects, newest first; a limit
// outside 1–1000 is 100.
func (s *Service) AuditEventsFiltered(ctx context.Context, workspaceID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return s.store.AuditEventsFiltered(ctx, workspaceID, f)
}

// maxAuditValue bounds each side of an "old → new" in a detail: a list of origins or domains can be
// long, and the trail says what changed, not every value.
const maxAuditValue = 300

// settingsChanges describes each changed setting of a workspace as "field: old → new", one entry per
// field, named as the settings' JSON names them ("sso.issuer"). It walks the settings by reflection so
// that a setting added later is audited without anyone remembering to.
func settingsChanges(before, after store.Workspace) []string {
	var out []string
	if before.Name != after.Name {
		out = append(out, "name: "+auditValue(reflect.ValueOf(before.Name))+" → "+auditValue(reflect.ValueOf(after.Name)))
	}
	return diffFields(out, "", reflect.ValueOf(effective(before.Settings)), reflect.ValueOf(effective(after.Settings)))
}

// effective applies the defaults to settings, so that a form writing out a default ("10m" where the
// store held "default") changes nothing in the trail, as it changes nothing in what Parley does.
func effective(st store.Settings) store.Settings {
	st.MaxTokenLifetime = MaxLifetime(st)
	st.VerifiedIdleTimeout = VerifiedIdleTimeout(st)
	st.VerifiedLifetime = VerifiedLifetime(st)
	st.VisitorIdleTimeout = VisitorIdleTimeout(st)
	st.AttachmentMaxBytes, st.AttachmentKinds = AttachmentLimits(st)
	st.EmailReplyDelay = EmailReplyDelay(st)
	st.EmailInterval = EmailInterval(st)
	st.UnreadAlertDelay = UnreadAlertDelay(st)
	st.ConsoleIdleTimeout = ConsoleIdleTimeout(st)
	return st
}

// same compares settings values as people read them: an empty list is the same whether nil or not.
func same(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !same(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
		}
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				return reflect.DeepEqual(a.Interface(), b.Interface())
			}
			if !same(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

func diffFields(out []string, prefix string, a, b reflect.Value) []string {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = f.Name
		}
		if f.Name == "BlocksUntil" {
			continue // a hint package chat keeps, no setting
		}
		if f.Type == reflect.TypeFor[store.SSOSettings]() {
			continue // single sign-on is audited as a whole, as settings.sso (sso.go)
		}
		x, y := a.Field(i), b.Field(i)
		if same(x, y) {
			continue
		}
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
			out = diffFields(out, prefix+name+".", x, y)
		case f.Type == reflect.TypeFor[[]byte]() || strings.Contains(strings.ToLower(f.Name), "secret"):
			// Sealed secrets: that they changed is worth knowing, their value never leaves the store.
			out = append(out, prefix+name+": changed")
		default:
			out = append(out, prefix+name+": "+auditValue(x)+" → "+auditValue(y))
		}
	}
	return out
}

// auditValue writes a setting's value for people: text quoted, durations as Go writes them, lists
// comma-separated, and anything else as JSON; clipped to maxAuditValue.
func auditValue(v reflect.Value) string {
	var s string
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		if v.Int() == 0 {
			s = "default"
		} else {
			s = time.Duration(v.Int()).String()
		}
	case v.Kind() == reflect.String:
		s = fmt.Sprintf("%q", v.String())
	case v.Kind() == reflect.Bool:
		s = map[bool]string{true: "on", false: "off"}[v.Bool()]
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		if v.Len() == 0 {
			s = "none"
		} else {
			s = strings.Join(v.Interface().([]string), ", ")
		}
	default:
		j, err := json.Marshal(v.Interface())
		if err != nil {
			j = []byte(fmt.Sprint(v.Interface()))
		}
		s = string(j)
	}
	if len(s) > maxAuditValue {
		s = clip(s, maxAuditValue-len("…")) + "…"
	}
	return s
}

// ruleText describes a routing rule for the trail, naming its inbox.
func ruleText(r store.RoutingRule, inboxes map[string]string) string {
	var cond []string
	if r.Level != "" {
		cond = append(cond, r.Level)
	}
	if r.EmailDomain != "" {
		cond = append(cond, "@"+r.EmailDomain)
	}
	if r.AttributeKey != "" {
		cond = append(cond, r.AttributeKey+"="+r.AttributeValue)
	}
	if len(cond) == 0 {
		cond = append(cond, "anyone")
	}
	inbox := inboxes[r.InboxID]
	if inbox == "" {
		inbox = r.InboxID
	}
	return strings.Join(cond, " ") + " → " + inbox
}

// auditRuleChanges records how a workspace's ordered rules went from before to after: each rule added
// and each removed (by what it says, since a saved list gets new ids), and a new order of the rules kept.
func (s *Service) auditRuleChanges(ctx context.Context, tx store.Tx, workspaceID string, before, after []store.RoutingRule, inboxes map[string]string) error {
	old := make([]string, len(before))
	for i, r := range before {
		old[i] = ruleText(r, inboxes)
	}
	cur := make([]string, len(after))
	for i, r := range after {
		cur[i] = ruleText(r, inboxes)
	}
	keptOld, keptNew := slices.Clone(old), []string{}
	for i, text := range cur {
		if j := slices.Index(keptOld, text); j >= 0 {
			keptOld[j] = "\x00" // matched once: a duplicate rule needs its own match
			keptNew = append(keptNew, text)
			continue
		}
		if err := s.audit(ctx, tx, workspaceID, AuditRuleAdded, after[i].ID, fmt.Sprintf("rule %d: %s", i+1, text)); err != nil {
			return err
		}
	}
	var keptOrder []string
	for i, text := range old {
		if keptOld[i] == "\x00" {
			keptOrder = append(keptOrder, text)
			continue
		}
		if err := s.audit(ctx, tx, workspaceID, AuditRuleRemoved, before[i].ID, fmt.Sprintf("rule %d: %s", i+1, text)); err != nil {
			return err
		}
	}
	if slices.Equal(keptOrder, keptNew) {
		return nil
	}
	return s.audit(ctx, tx, workspaceID, AuditRulesReordered, "", clip(strings.Join(keptOrder, "; ")+" ⇒ "+strings.Join(keptNew, "; "), 2*maxAuditValue))
}

// auditAgentChange records what an administrator changed about an agent: the role ("agent → admin"),
// and disabling or enabling the account. Saving what already was records nothing.
func (s *Service) auditAgentChange(ctx context.Context, tx store.Tx, before, after store.Agent) error {
	if before.Role != after.Role {
		if err := s.audit(ctx, tx, after.WorkspaceID, AuditAgentRoleChanged, after.ID, before.Role+" → "+after.Role+" ("+after.Email+")"); err != nil {
			return err
		}
	}
	switch {
	case before.DisabledAt.IsZero() && !after.DisabledAt.IsZero():
		return s.audit(ctx, tx, after.WorkspaceID, AuditAgentDisabled, after.ID, after.Email+"; signed out everywhere")
	case !before.DisabledAt.IsZero() && after.DisabledAt.IsZero():
		return s.audit(ctx, tx, after.WorkspaceID, AuditAgentEnabled, after.ID, after.Email)
	}
	return nil
}

// auditInbox records an inbox created (prev has no id) or changed: its name and its members, by email.
func (s *Service) auditInbox(ctx context.Context, tx store.Tx, prev, in store.Inbox, emails map[string]string) error {
	members := func(ids []string) string {
		var out []string
		for _, id := range ids {
			out = append(out, cmp.Or(emails[id], id))
		}
		slices.Sort(out)
		if len(out) == 0 {
			return "nobody"
		}
		return clip(strings.Join(out, ", "), maxAuditValue)
	}
	if prev.ID == "" {
		return s.audit(ctx, tx, in.WorkspaceID, AuditInboxCreated, in.ID, fmt.Sprintf("%q, members: %s", in.Name, members(in.Members)))
	}
	var changes []string
	if prev.Name != in.Name {
		changes = append(changes, fmt.Sprintf("name: %q → %q", prev.Name, in.Name))
	}
	if was, is := members(prev.Members), members(in.Members); was != is {
		changes = append(changes, "members: "+was+" → "+is)
	}
	if len(changes) == 0 {
		return nil
	}
	return s.audit(ctx, tx, in.WorkspaceID, AuditInboxUpdated, in.ID, strings.Join(changes, "; "))
}

// auditCanned records a canned response created, changed or deleted: its scope, shortcut and title,
// and for a change what changed. The body is a message to customers: the trail says it changed, and the
// response itself shows what it says now.
func (s *Service) auditCanned(ctx context.Context, tx store.Tx, action string, c store.CannedResponse, changes string) error {
	detail := fmt.Sprintf("%s /%s %q", CannedScope(c), c.Shortcut, c.Title)
	if changes != "" {
		detail += "; " + changes
	}
	return s.audit(ctx, tx, c.WorkspaceID, action, c.ID, detail)
}

func cannedChanges(prev, c store.CannedResponse) string {
	var changes []string
	if prev.Shortcut != c.Shortcut {
		changes = append(changes, "shortcut: /"+prev.Shortcut+" → /"+c.Shortcut)
	}
	if prev.Title != c.Title {
		changes = append(changes, fmt.Sprintf("title: %q → %q", clip(prev.Title, maxAuditValue), clip(c.Title, maxAuditValue)))
	}
	if prev.Body != c.Body {
		changes = append(changes, "text: changed")
	}
	if len(changes) == 0 {
		return "unchanged"
	}
	return strings.Join(changes, "; ")
}
