package chat_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// TestCannedScopes: shared responses are the administrators' to manage and everyone's to see; personal
// ones are their owner's alone, invisible (404) to everyone else; another workspace's are 404 too.
func TestCannedScopes(t *testing.T) {
	e := newBlockEnv(t)
	ctx := t.Context()
	admin := e.createAgent(t, "admin@acme.example", store.RoleAdmin)
	agent := e.agent
	other := e.createAgent(t, "other@acme.example", store.RoleAgent)

	// An agent cannot create a shared response; an administrator can.
	_, err := e.svc.CreateCannedResponse(ctx, agent, chat.CannedInput{Scope: chat.CannedShared, Title: "Hello", Shortcut: "hello", Body: "Hi"})
	wantProblem(t, "agent creates shared", err, http.StatusForbidden, "admin_required")
	shared, err := e.svc.CreateCannedResponse(ctx, admin, chat.CannedInput{Scope: chat.CannedShared, Title: "Hello", Shortcut: "hello", Body: "Hi {{customer.first_name}}"})
	if err != nil {
		t.Fatalf("admin creates shared: %v", err)
	}
	_, err = e.svc.CreateCannedResponse(ctx, admin, chat.CannedInput{Scope: chat.CannedShared, Title: "Again", Shortcut: "hello", Body: "x"})
	wantProblem(t, "shared shortcut again", err, http.StatusConflict, "shortcut_taken")

	// Personal: the same shortcut as a shared one is allowed, and wins in the owner's picker.
	mine, err := e.svc.CreateCannedResponse(ctx, agent, chat.CannedInput{Scope: chat.CannedPersonal, Title: "My hello", Shortcut: "hello", Body: "Hey there"})
	if err != nil {
		t.Fatalf("agent creates personal: %v", err)
	}
	_, err = e.svc.CreateCannedResponse(ctx, agent, chat.CannedInput{Scope: chat.CannedPersonal, Title: "Again", Shortcut: "hello", Body: "x"})
	wantProblem(t, "personal shortcut again", err, http.StatusConflict, "shortcut_taken")
	if _, err := e.svc.CreateCannedResponse(ctx, other, chat.CannedInput{Scope: chat.CannedPersonal, Title: "Other's hello", Shortcut: "hello", Body: "Yo"}); err != nil {
		t.Fatalf("another agent's personal hello: %v", err)
	}

	// Who sees what.
	seen := func(a store.Agent) []string {
		t.Helper()
		list, err := e.svc.CannedResponses(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, c.Title)
		}
		return out
	}
	if got, want := seen(agent), []string{"Hello", "My hello"}; !reflect.DeepEqual(got, want) {
		t.Errorf("agent sees %q; want %q", got, want)
	}
	if got, want := seen(admin), []string{"Hello"}; !reflect.DeepEqual(got, want) {
		t.Errorf("admin sees %q; want %q (personal responses are private, from administrators too)", got, want)
	}
	for _, a := range []store.Agent{other, admin} {
		_, err := e.svc.CannedResponse(ctx, a, mine.ID)
		wantProblem(t, a.Email+" reads another's personal", err, http.StatusNotFound, "canned_response_not_found")
		_, err = e.svc.UpdateCannedResponse(ctx, a, mine.ID, chat.CannedInput{Title: "x", Shortcut: "x", Body: "x"})
		wantProblem(t, a.Email+" edits another's personal", err, http.StatusNotFound, "canned_response_not_found")
		_, err = e.svc.DeleteCannedResponse(ctx, a, mine.ID)
		wantProblem(t, a.Email+" deletes another's personal", err, http.StatusNotFound, "canned_response_not_found")
	}
	// An agent sees a shared response but cannot change it.
	_, err = e.svc.UpdateCannedResponse(ctx, agent, shared.ID, chat.CannedInput{Title: "x", Shortcut: "x", Body: "x"})
	wantProblem(t, "agent edits shared", err, http.StatusForbidden, "admin_required")
	_, err = e.svc.DeleteCannedResponse(ctx, agent, shared.ID)
	wantProblem(t, "agent deletes shared", err, http.StatusForbidden, "admin_required")
	if _, err := e.svc.UpdateCannedResponse(ctx, admin, shared.ID, chat.CannedInput{Title: "Greeting", Shortcut: "greet", Body: "Hi"}); err != nil {
		t.Errorf("admin edits shared: %v", err)
	}
	if _, err := e.svc.UpdateCannedResponse(ctx, agent, mine.ID, chat.CannedInput{Title: "Mine", Shortcut: "mine", Body: "Hey"}); err != nil {
		t.Errorf("owner edits personal: %v", err)
	}

	// Another workspace: its admin sees none of ours, and our ids are 404 to them.
	ws2, err := e.svc.CreateWorkspace(ctx, "Globex")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := e.svc.CreateAgent(ctx, ws2.ID, "admin@globex.example", "Globex Admin", store.RoleAdmin, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	if got := seen(stranger); len(got) != 0 {
		t.Errorf("another workspace's admin sees %q", got)
	}
	for _, id := range []string{shared.ID, mine.ID} {
		_, err := e.svc.CannedResponse(ctx, stranger, id)
		wantProblem(t, "another workspace reads", err, http.StatusNotFound, "canned_response_not_found")
		_, err = e.svc.UpdateCannedResponse(ctx, stranger, id, chat.CannedInput{Title: "x", Shortcut: "x", Body: "x"})
		wantProblem(t, "another workspace edits", err, http.StatusNotFound, "canned_response_not_found")
		_, err = e.svc.DeleteCannedResponse(ctx, stranger, id)
		wantProblem(t, "another workspace deletes", err, http.StatusNotFound, "canned_response_not_found")
	}
	if _, err := e.svc.DeleteCannedResponse(ctx, admin, shared.ID); err != nil {
		t.Errorf("admin deletes shared: %v", err)
	}
	if got, want := seen(agent), []string{"Mine"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after delete agent sees %q; want %q", got, want)
	}
}

// TestCannedValidation: every field is checked strictly, with invalid_field naming it.
func TestCannedValidation(t *testing.T) {
	e := newBlockEnv(t)
	ok := chat.CannedInput{Scope: chat.CannedPersonal, Title: "Title", Shortcut: "ok", Body: "Body"}
	for _, tc := range []struct {
		name  string
		edit  func(in *chat.CannedInput)
		field string
	}{
		{"no title", func(in *chat.CannedInput) { in.Title = "  " }, "title"},
		{"long title", func(in *chat.CannedInput) { in.Title = strings.Repeat("é", chat.MaxCannedTitle+1) }, "title"},
		{"title with newline", func(in *chat.CannedInput) { in.Title = "a\nb" }, "title"},
		{"no shortcut", func(in *chat.CannedInput) { in.Shortcut = "" }, "shortcut"},
		{"upper-case shortcut", func(in *chat.CannedInput) { in.Shortcut = "Hello" }, "shortcut"},
		{"shortcut with slash", func(in *chat.CannedInput) { in.Shortcut = "/hello" }, "shortcut"},
		{"shortcut with space", func(in *chat.CannedInput) { in.Shortcut = "he llo" }, "shortcut"},
		{"non-ASCII shortcut", func(in *chat.CannedInput) { in.Shortcut = "héllo" }, "shortcut"},
		{"long shortcut", func(in *chat.CannedInput) { in.Shortcut = strings.Repeat("a", 33) }, "shortcut"},
		{"empty body", func(in *chat.CannedInput) { in.Body = " \n " }, "body"},
		{"long body", func(in *chat.CannedInput) { in.Body = strings.Repeat("x", chat.MaxMessageLength+1) }, "body"},
		{"body with bidi override", func(in *chat.CannedInput) { in.Body = "a\u202eb" }, "body"},
		{"body not UTF-8", func(in *chat.CannedInput) { in.Body = "a\xffb" }, "body"},
		{"unknown scope", func(in *chat.CannedInput) { in.Scope = "team" }, "scope"},
	} {
		in := ok
		tc.edit(&in)
		_, err := e.svc.CreateCannedResponse(t.Context(), e.agent, in)
		if p := wantProblem(t, tc.name, err, http.StatusUnprocessableEntity, "invalid_field"); p != nil && p.Field != tc.field {
			t.Errorf("%s: field %q; want %q", tc.name, p.Field, tc.field)
		}
	}
	// At the limits, and trimmed.
	in := chat.CannedInput{Scope: chat.CannedPersonal, Title: " " + strings.Repeat("é", chat.MaxCannedTitle) + " ",
		Shortcut: " " + strings.Repeat("a", 31) + "- ", Body: strings.Repeat("x", chat.MaxMessageLength)}
	c, err := e.svc.CreateCannedResponse(t.Context(), e.agent, in)
	if err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	if c.Title != strings.Repeat("é", chat.MaxCannedTitle) || c.Shortcut != strings.Repeat("a", 31)+"-" {
		t.Errorf("stored %q /%q; want them trimmed", c.Title, c.Shortcut)
	}
}

// TestCannedFilling: variables are filled from a verified customer, from what a visitor claimed (and
// said to be claimed), and left as written for an anonymous one; the picker prefers the agent's own
// response at a shortcut; and the server refuses a reply that still holds a variable.
func TestCannedFilling(t *testing.T) {
	e := newBlockEnv(t)
	ctx := t.Context()
	admin := e.createAgent(t, "admin@acme.example", store.RoleAdmin)
	agent, err := e.svc.CreateAgent(ctx, e.ws, "grace@acme.example", "Grace Hopper", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	body := "Hi {{customer.first_name}} ({{customer.name}}, {{customer.email}}), {{agent.first_name}} here. {{customer.first_name}}! {{unknown}} {{ customer.name }}"
	shared, err := e.svc.CreateCannedResponse(ctx, admin, chat.CannedInput{Scope: chat.CannedShared, Title: "Hello", Shortcut: "hello", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateCannedResponse(ctx, admin, chat.CannedInput{Scope: chat.CannedShared, Title: "Thanks", Shortcut: "thanks", Body: "Thanks!"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateCannedResponse(ctx, agent, chat.CannedInput{Scope: chat.CannedPersonal, Title: "My thanks", Shortcut: "thanks", Body: "Thank you, {{customer.name}}."}); err != nil {
		t.Fatal(err)
	}

	conversation := func(v *chat.Visitor) chat.ConversationView {
		t.Helper()
		m, err := e.send(t, v, "help")
		if err != nil {
			t.Fatal(err)
		}
		cv, err := e.svc.Conversation(ctx, agent, m.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		return cv
	}
	choices := func(cv chat.ConversationView) map[string]chat.CannedChoice {
		t.Helper()
		list, err := e.svc.CannedChoices(ctx, agent, cv)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]chat.CannedChoice{}
		for _, c := range list {
			if _, dup := out[c.Shortcut]; dup {
				t.Errorf("picker offers /%s twice", c.Shortcut)
			}
			out[c.Shortcut] = c
		}
		return out
	}

	// Verified: nothing is claimed, nothing unfilled.
	verified := conversation(e.login(t, e.visitor(t, e.ws, "198.51.100.7"), "u42"))
	c := choices(verified)
	want := "Hi Customer (Customer u42, u42@bank.example), Grace here. Customer! {{unknown}} {{ customer.name }}"
	if got := c["hello"].Filled; got.Body != want || len(got.Claimed) != 0 || len(got.Unfilled) != 0 {
		t.Errorf("verified: %+v; want body %q with no claims and nothing unfilled", got, want)
	}
	if got := c["thanks"]; got.OwnerID != agent.ID || got.Filled.Body != "Thank you, Customer u42." {
		t.Errorf("thanks: %+v; want the agent's own response, filled", got)
	}

	// Claimed: filled, and each claimed value named once.
	claimedVisitor := e.visitor(t, e.ws, "198.51.100.8")
	var tok string
	if tok, claimedVisitor, err = e.svc.Identify(ctx, e.request(t, claimedVisitor), chat.Claims{Name: "Ada Lovelace", Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	e.tokens[claimedVisitor.Session.ID] = tok
	claimed := conversation(claimedVisitor)
	got := choices(claimed)["hello"].Filled
	want = "Hi Ada (Ada Lovelace, ada@example.com), Grace here. Ada! {{unknown}} {{ customer.name }}"
	if got.Body != want || !reflect.DeepEqual(got.Claimed, []string{"Ada", "Ada Lovelace", "ada@example.com"}) || len(got.Unfilled) != 0 {
		t.Errorf("claimed: %+v; want body %q, claims Ada, Ada Lovelace, ada@example.com", got, want)
	}
	// A claimed name that holds a variable's text is inserted as is, not filled again.
	sneaky := e.visitor(t, e.ws, "198.51.100.9")
	if tok, sneaky, err = e.svc.Identify(ctx, e.request(t, sneaky), chat.Claims{Name: "{{agent.first_name}}"}); err != nil {
		t.Fatal(err)
	}
	e.tokens[sneaky.Session.ID] = tok
	if got := choices(conversation(sneaky))["thanks"].Filled; got.Body != "Thank you, {{agent.first_name}}." {
		t.Errorf("claimed name with a variable: %q", got.Body)
	}

	// Anonymous: customer variables stay as written and are listed.
	anon := conversation(e.visitor(t, e.ws, "198.51.100.10"))
	got, err = e.svc.FillCanned(ctx, agent, anon, shared.ID)
	if err != nil {
		t.Fatal(err)
	}
	want = "Hi {{customer.first_name}} ({{customer.name}}, {{customer.email}}), Grace here. {{customer.first_name}}! {{unknown}} {{ customer.name }}"
	if got.Body != want || !reflect.DeepEqual(got.Unfilled, []string{"{{customer.first_name}}", "{{customer.name}}", "{{customer.email}}"}) || len(got.Claimed) != 0 {
		t.Errorf("anonymous: %+v; want %q with three unfilled", got, want)
	}

	// The server refuses a reply that still holds one; unknown {{…}} text is fine.
	_, err = e.svc.Reply(ctx, agent, anon.Conversation.ID, got.Body, "")
	if p := wantProblem(t, "reply with unfilled", err, http.StatusUnprocessableEntity, "unfilled_variable"); p != nil &&
		(p.Field != "body" || !strings.Contains(p.Message, "{{customer.email}}")) {
		t.Errorf("problem %+v; want field body naming {{customer.email}}", p)
	}
	if _, err := e.svc.Reply(ctx, agent, anon.Conversation.ID, "We use {{unknown}} and { {customer.name}} as text", ""); err != nil {
		t.Errorf("reply with unknown braces: %v", err)
	}
	// Another agent's personal response and another workspace's conversation are 404.
	_, err = e.svc.FillCanned(ctx, admin, anon, choices(anon)["thanks"].ID)
	wantProblem(t, "admin fills another's personal", err, http.StatusNotFound, "canned_response_not_found")
}

func TestUnfilledVariables(t *testing.T) {
	for body, want := range map[string][]string{
		"":                         nil,
		"{{":                       nil,
		"{{{customer.name}}}":      {"{{customer.name}}"},
		"{{{{agent.first_name}}":   {"{{agent.first_name}}"},
		"{{agent.first_name}}{{}}": {"{{agent.first_name}}"},
		"{{customer.email}} {{customer.name}} {{customer.email}}": {"{{customer.email}}", "{{customer.name}}"},
		"{{Customer.name}} {{customer.name }}":                    nil,
	} {
		if got := chat.UnfilledVariables(body); !reflect.DeepEqual(got, want) {
			t.Errorf("UnfilledVariables(%q) = %q; want %q", body, got, want)
		}
	}
}
