package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// trustMarks reads each customer message's data-trust hook, in order.
func trustMarks(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`data-sender="customer" data-trust="(\w+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestConversationPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob Builder", store.RoleAgent)
	b := e.signedIn(tn.admin)

	// A visitor writes anonymously, then signs in mid-conversation (rule 7).
	v := tn.visitor()
	conv := tn.say(v, "Before signing in").ConversationID
	_, v, _, err := e.svc.Login(ctx, v, tn.token(jwt.MapClaims{"sub": "u-1", "email": "cust@bank.example", "name": "Cleo Customer", "locale": "fr-CA"}))
	if err != nil {
		t.Fatal(err)
	}
	tn.say(v, "After signing in")
	path := "/console/conversations/" + conv

	// The inbox lists it unread, with its level.
	list := b.mustGet("/console/inbox/list?view=open")
	if !strings.Contains(list.body, `data-conversation="`+conv+`" data-unread="true" data-level="verified"`) || !strings.Contains(list.body, ">New<") {
		t.Fatalf("inbox list:\n%s", list.body)
	}
	if strings.Contains(list.body, "<html") {
		t.Fatal("the fragment carries the layout")
	}

	p := b.mustGet(path)
	checkHeaders(t, p)
	// The timeline opens with the conversation starting, then the first message.
	order := regexp.MustCompile(`data-(?:sender|event-type)="(\w+)"`).FindAllStringSubmatch(p.body, -1)
	if len(order) < 3 || order[0][1] != "started" || order[1][1] != "assigned" || order[2][1] != "customer" {
		t.Errorf("timeline order %v", order)
	}
	if got := trustMarks(p.body); strings.Join(got, ",") != "none,green" {
		t.Fatalf("trust marks %v", got)
	}
	for _, want := range []string{
		// Every customer message's mark says why, on hover, on focus and to screen readers.
		`role="img" aria-label="Verified customer" aria-describedby="trust-note-`,
		`role="img" aria-label="Not verified" aria-describedby="trust-note-`,
		`Sent while signed in as a verified customer</span>`,
		`Sent without signing in, so whoever wrote it has not proved who they are</span>`,
		`data-event-type="authenticated"`, "Authenticated as cust@bank.example (key " + tn.key.ID + ")",
		`data-verified-email>cust@bank.example<`, "Signed login, key <code>" + tn.key.ID + "</code>",
		`<dt>Language</dt><dd data-customer-language>French (fr-CA)</dd>`, // what to answer in
		"/console/customers/", ">Send<", ">Close conversation<", ">Transfer<",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("conversation page lacks %q", want)
		}
	}
	// Opening it marked it read.
	if list := b.mustGet("/console/inbox/list?view=open"); !strings.Contains(list.body, `data-unread="false"`) {
		t.Fatal("still unread after opening")
	}

	// Reply, Post-Redirect-Get; the same form posted twice sends once.
	form := url.Values{"body": {"Hi Cleo, how can I help?"}, "client_id": {"console-nonce-1"}}
	if r := b.post(path+"/reply", form); r.status != http.StatusSeeOther || r.location() != path+"#reply" {
		t.Fatalf("reply: %d %q\n%s", r.status, r.location(), r.body)
	}
	if r := b.post(path+"/reply", form); r.status != http.StatusSeeOther {
		t.Fatalf("resubmitted reply: %d\n%s", r.status, r.body)
	}
	msgs, _ := e.st.Messages(ctx, conv, 0, 100)
	if n := strings.Count(b.mustGet(path).body, "Hi Cleo, how can I help?"); n != 1 || len(msgs) != 3 {
		t.Fatalf("reply shown %d times, %d messages", n, len(msgs))
	}

	// Assign to Bob, then to no one.
	b.mustPost(path+"/assign", url.Values{"assignee": {bob.ID}})
	if got := e.conversation(conv).AssigneeID; got != bob.ID {
		t.Fatalf("assignee %q", got)
	}
	p = b.mustPost(path+"/assign", url.Values{"assignee": {""}})
	if !strings.Contains(p.body, "Conversation unassigned.") || e.conversation(conv).AssigneeID != "" {
		t.Fatal("unassign")
	}
	if !strings.Contains(p.body, "Assigned to Bob Builder by Admin of Acme") {
		t.Errorf("no assigned sentence:\n%s", p.body)
	}

	// Close: the trusted mark turns gray, and replying is a follow-up that reopens.
	p = b.mustPost(path+"/close", nil)
	if got := trustMarks(p.body); strings.Join(got, ",") != "none,gray" {
		t.Fatalf("closed trust marks %v", got)
	}
	for _, want := range []string{"Verified customer (conversation closed)", "Send follow-up (reopens)", ">Reopen<", "Closed by Admin of Acme"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("closed page lacks %q", want)
		}
	}
	b.mustPost(path+"/reply", url.Values{"body": {"Following up"}, "client_id": {"console-nonce-2"}})
	if c := e.conversation(conv); c.Status != store.StatusOpen {
		t.Fatalf("follow-up did not reopen: %s", c.Status)
	}
	p = b.mustGet(path)
	if !strings.Contains(p.body, "Reopened by Admin of Acme&#39;s follow-up") {
		t.Errorf("no follow-up event sentence")
	}

	// Ask to sign in: no login URL is a flash saying so, not an error page; an already verified customer
	// cannot be asked.
	p = b.mustPost(path+"/request-login", nil)
	if !strings.Contains(p.body, "flash-error") || !strings.Contains(p.body, "login URL") {
		t.Fatalf("no flash for no_login_url:\n%s", p.body)
	}
	if !strings.Contains(p.body, "disabled aria-describedby=\"login-blocked\"") {
		t.Error("the Ask to sign in button is not disabled")
	}
	login := "https://acme.example/login"
	if _, err := e.svc.UpdateWorkspace(ctx, tn.ws.ID, chat.SettingsPatch{LoginURL: &login}); err != nil {
		t.Fatal(err)
	}
	if p := b.mustPost(path+"/request-login", nil); !strings.Contains(p.body, "already signed in") {
		t.Fatalf("verified customer asked to sign in:\n%s", p.body)
	}

	// An identified visitor: rule 6's warning, the claim, and asking them to sign in works.
	tn.verified(jwt.MapClaims{"sub": "u-2", "email": "dora@bank.example", "name": "Dora"})
	iv := tn.identified(chat.Claims{Name: "Not Dora", Email: "dora@bank.example"})
	iconv := tn.say(iv, "I am Dora, honest").ConversationID
	ipath := "/console/conversations/" + iconv
	p = b.mustGet(ipath)
	for _, want := range []string{"data-claim-warning", "a verified profile with that email exists", "data-claimed-email>dora@bank.example<", `data-trust="none"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("identified conversation lacks %q", want)
		}
	}
	p = b.mustPost(ipath+"/request-login", nil)
	if !strings.Contains(p.body, `data-event-type="login_requested"`) || !strings.Contains(p.body, "Admin of Acme asked the visitor to sign in") ||
		!strings.Contains(p.body, `data-sender="system"`) {
		t.Fatalf("login request not on the timeline:\n%s", p.body)
	}
	// Closed, an unverified visitor cannot be replied to, and the page says why.
	p = b.mustPost(ipath+"/close", nil)
	if !strings.Contains(p.body, "data-no-reply") || strings.Contains(p.body, "/reply\"") {
		t.Fatalf("closed identified conversation offers a reply:\n%s", p.body)
	}
	if r := b.post(ipath+"/reply", url.Values{"body": {"anyone?"}}); r.status != http.StatusSeeOther {
		t.Fatalf("reply to closed identified: %d", r.status)
	} else if !strings.Contains(b.mustGet(r.location()).body, "never verified") {
		t.Fatal("no flash for conversation_closed")
	}

	// The live regions, for the script.
	live := b.mustGet(ipath + "/live")
	for _, region := range []string{"head", "reply", "actions", "profile", "marks"} {
		if !strings.Contains(live.body, `data-region="`+region+`"`) {
			t.Errorf("live fragment lacks region %s", region)
		}
	}

	// Mark read (the script's call) answers 204.
	if r := b.post(path+"/read", url.Values{"seq": {"99"}}); r.status != http.StatusNoContent {
		t.Fatalf("mark read: %d", r.status)
	}

	// The customer page.
	cust := regexp.MustCompile(`/console/customers/(cu_\w+)`).FindStringSubmatch(b.mustGet(path).body)
	if cust == nil {
		t.Fatal("no customer link")
	}
	cp := b.mustGet("/console/customers/" + cust[1])
	if !strings.Contains(cp.body, "Cleo Customer") || !strings.Contains(cp.body, path) || !strings.Contains(cp.body, "<dd data-customer-language>French (fr-CA)</dd>") {
		t.Fatalf("customer page:\n%s", cp.body)
	}
	if p := b.get("/console/customers/cu_nope"); p.status != http.StatusNotFound || !strings.Contains(p.body, "Not found") {
		t.Fatalf("missing customer: %d", p.status)
	}

	// Availability toggle.
	p = b.mustPost("/console/availability", url.Values{"available": {"0"}, "back": {"/console/report"}})
	if !strings.Contains(p.body, `value="0" aria-pressed="true">Away`) || !strings.Contains(p.body, "<h1>Report</h1>") {
		t.Fatalf("availability:\n%s", p.body)
	}
}

func TestInboxViews(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	// The admin is available, so routing assigns every new conversation to them.
	mine := tn.say(tn.verified(jwt.MapClaims{"sub": "u-1", "email": "mine@bank.example", "name": "Mina"}), "one").ConversationID
	if _, err := e.svc.SetAvailability(context.Background(), tn.admin, false); err != nil {
		t.Fatal(err)
	}
	waiting := tn.say(tn.identified(chat.Claims{Name: "Wes Waiting"}), "two").ConversationID
	closed := tn.say(tn.visitor(), "three").ConversationID
	if _, err := e.svc.SetConversationStatus(context.Background(), tn.admin, closed, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	for view, want := range map[string][]string{
		"unassigned": {waiting},
		"mine":       {mine},
		"open":       {mine, waiting},
		"closed":     {closed},
	} {
		p := b.mustGet("/console/?view=" + view)
		for _, id := range []string{mine, waiting, closed} {
			listed := strings.Contains(p.body, `data-conversation="`+id+`"`)
			if listed != contains(want, id) {
				t.Errorf("view %s: %s listed %v", view, id, listed)
			}
		}
	}
	p := b.mustGet("/console/?view=open&q=wes")
	if !strings.Contains(p.body, waiting) || strings.Contains(p.body, `data-conversation="`+mine) {
		t.Error("search")
	}
	if !strings.Contains(p.body, "Identified (unverified)") || !strings.Contains(p.body, `value="wes"`) {
		t.Error("search page")
	}
	if p := b.get("/console/?view=bogus"); p.status != http.StatusUnprocessableEntity {
		t.Errorf("bad view: %d", p.status)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
