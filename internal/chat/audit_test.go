package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// auditRows lists the workspace's audit events the filter selects as "action target: detail [actor, addr]".
func auditRows(t *testing.T, svc *chat.Service, ws string, f store.AuditFilter) []string {
	t.Helper()
	events, err := svc.AuditEventsFiltered(t.Context(), ws, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Action+" "+e.Target+": "+e.Detail+" ["+e.Actor+", "+e.Addr+"]")
	}
	return out
}

func wantRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: audit rows\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// asAdmin is the context of a console request by the admin from 198.51.100.7.
func asAdmin(ctx context.Context, admin store.Agent) context.Context {
	return chat.WithClientAddr(chat.WithActor(ctx, chat.AgentActor(admin)), "198.51.100.7")
}

func TestAuditAgents(t *testing.T) {
	e := newAgentEnv(t, chat.Config{})
	cli := chat.WithActor(t.Context(), "cli")
	admin, err := e.svc.CreateAgent(cli, e.ws, "boss@acme.example", "Boss", store.RoleAdmin, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	ctx := asAdmin(t.Context(), admin)
	bob, err := e.svc.CreateAgent(ctx, e.ws, "bob@acme.example", "Bob", "", agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	by := " [" + chat.AgentActor(admin) + ", 198.51.100.7]"
	if _, err := e.svc.SetAgentRole(ctx, admin, bob.ID, store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetAgentRole(ctx, admin, bob.ID, store.RoleAdmin); err != nil { // no change: no event
		t.Fatal(err)
	}
	if _, err := e.svc.SetAgentDisabled(ctx, admin, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetAgentDisabled(ctx, admin, bob.ID, false); err != nil {
		t.Fatal(err)
	}
	// A refused change records nothing: the event commits with the change or not at all.
	_, err = e.svc.SetAgentDisabled(ctx, admin, admin.ID, true)
	wantProblem(t, "disabling oneself", err, 409, "cannot_disable_self")
	wantRows(t, "agent changes", auditRows(t, e.svc, e.ws, store.AuditFilter{Action: "agent."}), []string{
		"agent.enabled " + bob.ID + ": bob@acme.example" + by,
		"agent.disabled " + bob.ID + ": bob@acme.example; signed out everywhere" + by,
		"agent.role_changed " + bob.ID + ": agent → admin (bob@acme.example)" + by,
		"agent.created " + bob.ID + ": bob@acme.example as agent" + by,
		"agent.created " + admin.ID + ": boss@acme.example as admin [cli, ]",
	})
}

func TestAuditSettings(t *testing.T) {
	e := newAgentEnv(t, chat.Config{})
	admin := e.createAgent(t, "boss@acme.example", store.RoleAdmin)
	ctx := asAdmin(t.Context(), admin)
	name, origins, verified, idle := "Acme Support", []string{"https://shop.acme.example"}, true, 90*time.Minute
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Name: &name, AllowedOrigins: &origins, RequireVerified: &verified, VisitorIdleTimeout: &idle}); err != nil {
		t.Fatal(err)
	}
	// Saving the same settings again changes nothing, and records nothing.
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Name: &name, AllowedOrigins: &origins, RequireVerified: &verified}); err != nil {
		t.Fatal(err)
	}
	var many []string
	for i := range 60 {
		many = append(many, "https://shop"+strings.Repeat("x", i%10)+string(rune('a'+i%26))+".acme.example")
	}
	verified = false
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{AllowedOrigins: &many, RequireVerified: &verified}); err != nil {
		t.Fatal(err)
	}
	events, err := e.svc.AuditEventsFiltered(t.Context(), e.ws, store.AuditFilter{Action: chat.AuditSettingsChanged})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		if ev.Actor != chat.AgentActor(admin) || ev.Addr != "198.51.100.7" {
			t.Errorf("%s by %q from %q; want the admin's request", ev.Detail, ev.Actor, ev.Addr)
		}
		if !strings.HasPrefix(ev.Detail, ev.Target+": ") {
			t.Errorf("target %q of %q; want the field", ev.Target, ev.Detail)
		}
		got = append(got, ev.Detail)
	}
	if len(got) != 6 {
		t.Fatalf("settings events:\n%s\nwant 6", strings.Join(got, "\n"))
	}
	want := []string{
		"require_verified: on → off",
		"", // the long list, checked below
		"visitor_idle_timeout: 720h0m0s → 1h30m0s",
		"require_verified: off → on",
		"allowed_origins: none → https://shop.acme.example",
		`name: "Acme" → "Acme Support"`,
	}
	for i, w := range want {
		if w != "" && got[i] != w {
			t.Errorf("event %d: %q; want %q", i, got[i], w)
		}
	}
	if long := got[1]; !strings.HasPrefix(long, "allowed_origins: https://shop.acme.example → https://shopa.acme.example, ") || !strings.HasSuffix(long, "…") || len(long) > 700 {
		t.Errorf("a long list: %q (%d bytes); want it clipped with …", long, len(long))
	}
}

func TestAuditRouting(t *testing.T) {
	e := newAgentEnv(t, chat.Config{})
	admin := e.createAgent(t, "boss@acme.example", store.RoleAdmin)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAgent)
	ctx := asAdmin(t.Context(), admin)
	vip, err := e.svc.SaveInbox(ctx, admin, "", "VIP", []string{ann.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SaveInbox(ctx, admin, vip.ID, "Priority", []string{ann.ID, admin.ID}); err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.SaveInbox(ctx, admin, "", "Other", nil)
	if err != nil {
		t.Fatal(err)
	}
	bank := chat.RuleInput{Level: store.LevelVerified, EmailDomain: "bank.example", InboxID: vip.ID}
	anyone := chat.RuleInput{InboxID: other.ID}
	gold := chat.RuleInput{AttributeKey: "plan", AttributeValue: "gold", InboxID: vip.ID}
	rules, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{bank, anyone})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{anyone, gold, bank}) // move, add
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{anyone, gold}); err != nil { // remove
		t.Fatal(err)
	}
	if err := e.svc.DeleteInbox(ctx, admin, vip.ID); err != nil {
		t.Fatal(err)
	}
	by := " [" + chat.AgentActor(admin) + ", 198.51.100.7]"
	wantRows(t, "routing", auditRows(t, e.svc, e.ws, store.AuditFilter{Action: "routing."}), []string{
		"routing.inbox_deleted " + vip.ID + `: "Priority" and the rule leading to it` + by,
		"routing.rule_removed " + moved[2].ID + `: rule 3: verified @bank.example → "Priority"` + by,
		"routing.rules_reordered : " + `verified @bank.example → "Priority"; anyone → "Other" ⇒ anyone → "Other"; verified @bank.example → "Priority"` + by,
		"routing.rule_added " + moved[1].ID + `: rule 2: plan=gold → "Priority"` + by,
		"routing.rule_added " + rules[1].ID + `: rule 2: anyone → "Other"` + by,
		"routing.rule_added " + rules[0].ID + `: rule 1: verified @bank.example → "Priority"` + by,
		"routing.inbox_created " + other.ID + `: "Other", members: nobody` + by,
		"routing.inbox_updated " + vip.ID + `: name: "VIP" → "Priority"; members: ann@acme.example → ann@acme.example, boss@acme.example` + by,
		"routing.inbox_created " + vip.ID + `: "VIP", members: ann@acme.example` + by,
	})
}

func TestAuditCanned(t *testing.T) {
	e := newAgentEnv(t, chat.Config{})
	admin := e.createAgent(t, "boss@acme.example", store.RoleAdmin)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAgent)
	ctx := asAdmin(t.Context(), admin)
	c, err := e.svc.CreateCannedResponse(ctx, admin, chat.CannedInput{Scope: chat.CannedShared, Title: "Hello", Shortcut: "hi", Body: "Hello {{customer.name}}"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateCannedResponse(ctx, admin, c.ID, chat.CannedInput{Title: "Greeting", Shortcut: "hello", Body: "Hi there, a secret-ish body"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeleteCannedResponse(ctx, admin, c.ID); err != nil {
		t.Fatal(err)
	}
	mine, err := e.svc.CreateCannedResponse(chat.WithActor(t.Context(), chat.AgentActor(ann)), ann, chat.CannedInput{Scope: chat.CannedPersonal, Title: "Bye", Shortcut: "bye", Body: "Bye"})
	if err != nil {
		t.Fatal(err)
	}
	by := " [" + chat.AgentActor(admin) + ", 198.51.100.7]"
	got := auditRows(t, e.svc, e.ws, store.AuditFilter{Action: "canned."})
	wantRows(t, "canned responses", got, []string{
		"canned.created " + mine.ID + `: personal /bye "Bye" [` + chat.AgentActor(ann) + ", ]",
		"canned.deleted " + c.ID + `: shared /hello "Greeting"` + by,
		"canned.updated " + c.ID + `: shared /hello "Greeting"; shortcut: /hi → /hello; title: "Hello" → "Greeting"; text: changed` + by,
		"canned.created " + c.ID + `: shared /hi "Hello"` + by,
	})
	if strings.Contains(strings.Join(got, ""), "secret-ish") {
		t.Error("the trail holds a response's text")
	}
}

func TestAuditTranscriptEmailed(t *testing.T) {
	e := newMailEnv(t)
	ctx := asAdmin(t.Context(), e.agent)
	ada := e.customer(t, "u1", "ada@example.com", "Ada")
	m, _, err := e.svc.PostMessage(t.Context(), ada, "where is my parcel?", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.EmailTranscript(ctx, e.agent, m.ConversationID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.EmailTranscriptToVisitor(t.Context(), ada, m.ConversationID, ""); err != nil {
		t.Fatal(err)
	}
	wantRows(t, "transcripts", auditRows(t, e.svc, e.ws, store.AuditFilter{Action: "transcript."}), []string{
		"transcript.emailed " + m.ConversationID + ": to ada@example.com [customer " + ada.Session.CustomerID + ", ]",
		"transcript.emailed " + m.ConversationID + ": to ada@example.com [" + chat.AgentActor(e.agent) + ", 198.51.100.7]",
	})
}
