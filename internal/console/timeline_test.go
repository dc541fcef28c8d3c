package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

var (
	entryKeys   = regexp.MustCompile(`data-key="([me]\d+)"`)
	earlierLink = regexp.MustCompile(`<a href="([^"]+)#timeline" data-earlier>Show earlier messages</a>`)
	newestAttrs = regexp.MustCompile(`data-newest-message="(\d+)" data-newest-event="(\d+)"`)
)

// appendMessages stores n customer messages in a conversation straight into the store, a second apart
// from start: the fastest way to a long conversation.
func appendMessages(t testing.TB, st store.Store, conv store.Conversation, n int, start time.Time) []store.Message {
	t.Helper()
	out := make([]store.Message, 0, n)
	for done := 0; done < n; {
		batch := min(500, n-done)
		var msgs []store.Message
		err := st.Update(context.Background(), func(tx store.Tx) error {
			msgs = msgs[:0]
			for i := range batch {
				m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: conv.SessionID,
					Body: fmt.Sprintf("message %d <b>not bold</b>", done+i), CreatedAt: start.Add(time.Duration(done+i) * time.Second)}
				if err := tx.AppendMessage(context.Background(), &m); err != nil {
					return err
				}
				msgs = append(msgs, m)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msgs...)
		done += batch
	}
	return out
}

// A long conversation shows its newest page; "Show earlier messages" is a link that works without the
// script and walks back page by page to the start, every entry once; the script's fragments give the
// same pages, and what is new after a place.
func TestTimelinePages(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	first := tn.say(tn.visitor(), "The first words")
	conv := e.conversation(first.ConversationID)
	msgs := appendMessages(t, e.st, conv, 2*chat.TimelinePageSize+20, time.Now().Add(time.Minute))
	path := "/console/conversations/" + conv.ID

	p := b.mustGet(path)
	keys := entryKeys.FindAllStringSubmatch(p.body, -1)
	if len(keys) != chat.TimelinePageSize {
		t.Fatalf("the newest page holds %d entries; want %d", len(keys), chat.TimelinePageSize)
	}
	if last := keys[len(keys)-1][1]; last != fmt.Sprint("m", msgs[len(msgs)-1].Seq) {
		t.Errorf("the newest page ends with %s; want the newest message", last)
	}
	if !strings.Contains(p.body, "message 119 &lt;b&gt;not bold&lt;/b&gt;") {
		t.Error("the newest message's text is not on the page, as text")
	}
	if n := newestAttrs.FindStringSubmatch(p.body); n == nil || n[1] != fmt.Sprint(msgs[len(msgs)-1].Seq) {
		t.Errorf("the newest page's live cursor: %v", n)
	}

	// Walk back without the script.
	seen := map[string]bool{}
	var order []string
	add := func(body string) {
		var page []string
		for _, k := range entryKeys.FindAllStringSubmatch(body, -1) {
			if seen[k[1]] {
				t.Errorf("%s shown twice", k[1])
			}
			seen[k[1]] = true
			page = append(page, k[1])
		}
		order = append(page, order...)
	}
	add(p.body)
	pages := 1
	for {
		m := earlierLink.FindStringSubmatch(p.body)
		if m == nil {
			break
		}
		href := html.UnescapeString(m[1])
		// The script's fragment of the same page holds the same entries.
		u, _ := url.Parse(href)
		frag := b.mustGet(path + "/timeline?" + u.RawQuery)
		p = b.mustGet(href)
		if !strings.Contains(p.body, "Back to the newest messages") {
			t.Error("an earlier page has no way back to the newest")
		}
		if strings.Contains(p.body, "data-latest") {
			t.Error("an earlier page is marked as the live one")
		}
		if a, b := fmt.Sprint(entryKeys.FindAllStringSubmatch(frag.body, -1)), fmt.Sprint(entryKeys.FindAllStringSubmatch(p.body, -1)); a != b {
			t.Errorf("the fragment of %s differs from its page:\n%s\n%s", href, a, b)
		}
		add(p.body)
		if pages++; pages > 10 {
			t.Fatal("no end to the earlier pages")
		}
	}
	if pages != 3 {
		t.Errorf("%d pages; want 3", pages)
	}
	for _, m := range append([]store.Message{first}, msgs...) {
		if !seen[fmt.Sprint("m", m.Seq)] {
			t.Errorf("message %d never shown", m.Seq)
		}
	}
	if order[0][0] != 'e' {
		t.Errorf("the timeline does not open with the conversation starting: %v", order[:3])
	}

	// What is new after the newest page's place, and only that.
	n := newestAttrs.FindStringSubmatch(b.mustGet(path).body)
	later := tn.say(&chat.Visitor{Session: store.Session{ID: conv.SessionID, WorkspaceID: tn.ws.ID}, Workspace: tn.ws}, "Later")
	if later.ConversationID != conv.ID {
		t.Fatal("not the same conversation")
	}
	frag := b.mustGet(path + "/timeline?after=" + n[1] + "&after_event=" + n[2])
	if got := fmt.Sprint(entryKeys.FindAllStringSubmatch(frag.body, -1)); got != fmt.Sprint([][]string{{`data-key="m` + fmt.Sprint(later.Seq) + `"`, fmt.Sprint("m", later.Seq)}}) {
		t.Errorf("after the newest place: %s", got)
	}
	if strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, `data-newest-message="`+fmt.Sprint(later.Seq)+`"`) {
		t.Errorf("the fragment:\n%s", frag.body)
	}

	// Places that are not places.
	for _, q := range []string{"?before=-1", "?before=1e3", "?before=%2B5", "?before_event=x", "?before=99999999999999999999"} {
		if p := b.get(path + q); p.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", q, p.status)
		}
	}
	for _, q := range []string{"?after=-1", "?after=abc", "", "?before=0"} {
		if p := b.get(path + "/timeline" + q); p.status != http.StatusUnprocessableEntity {
			t.Errorf("timeline%s: %d", q, p.status)
		}
	}
}

// A conversation whose visitor never proved who they are, and whose session ended, reaches no one:
// the composer says so instead of offering a reply, the timeline ends with it, and a reply is refused.
func TestUnreachableConversation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	if _, err := e.svc.UpdateWorkspace(ctx, tn.ws.ID, chat.SettingsPatch{LoginURL: ptr("https://acme.example/login")}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(tn.admin)

	// An anonymous visitor who logged out; a claimed visitor who then signed in as someone else.
	anon := tn.visitor()
	loggedOut := tn.say(anon, "Anonymous, then gone").ConversationID
	if _, _, err := e.svc.Logout(ctx, anon); err != nil {
		t.Fatal(err)
	}
	claimed := tn.identified(chat.Claims{Name: "Ada", Email: "ada@example.com"})
	replaced := tn.say(claimed, "I am Ada, trust me").ConversationID
	if _, _, _, err := e.svc.Login(ctx, claimed, tn.token(jwt.MapClaims{"sub": "u-bob", "email": "bob@example.com", "name": "Bob"})); err != nil {
		t.Fatal(err)
	}
	// A verified customer who logged out is still reached, on their next sign-in.
	cust := tn.verified(jwt.MapClaims{"sub": "u-cy", "email": "cy@example.com", "name": "Cy"})
	verified := tn.say(cust, "Verified, then signed out").ConversationID
	if _, _, err := e.svc.Logout(ctx, cust); err != nil {
		t.Fatal(err)
	}
	// A live anonymous visitor, for comparison.
	live := tn.say(tn.visitor(), "Still here").ConversationID

	for _, c := range []struct {
		conv, why string
	}{
		{loggedOut, "they logged out"},
		{replaced, "they signed in as someone else"},
	} {
		path := "/console/conversations/" + c.conv
		p := b.mustGet(path)
		if strings.Contains(p.body, `action="`+path+`/reply"`) || !strings.Contains(p.body, "data-no-reply") {
			t.Errorf("%s: the composer still offers a reply", c.why)
		}
		if !strings.Contains(p.body, `data-event-type="unreachable"`) || !strings.Contains(p.body, "Nobody can receive replies here any more") ||
			!strings.Contains(p.body, c.why) {
			t.Errorf("%s: the timeline does not say nobody receives replies:\n%s", c.why, p.body)
		}
		if !strings.Contains(p.body, "Nobody could receive the sign-in link") {
			t.Errorf("%s: asking to sign in is offered", c.why)
		}
		r := b.post(path+"/reply", url.Values{"body": {"hello?"}, "client_id": {"console-" + c.conv}})
		if r.status != http.StatusSeeOther || !strings.Contains(b.mustGet(r.location()).body, "Nobody can receive a reply in this conversation") {
			t.Errorf("%s: a reply was not refused: %d", c.why, r.status)
		}
		if msgs, _ := e.st.Messages(ctx, c.conv, 0, 100); len(msgs) != 1 {
			t.Errorf("%s: %d messages stored; the reply went in", c.why, len(msgs))
		}
		// The live fragment ends with the note too.
		if f := b.mustGet(path + "/timeline?after=0"); !strings.Contains(f.body, `data-event-type="unreachable"`) {
			t.Errorf("%s: the timeline fragment lacks the note", c.why)
		}
	}
	for _, id := range []string{verified, live} {
		p := b.mustGet("/console/conversations/" + id)
		if !strings.Contains(p.body, `/reply"`) || strings.Contains(p.body, `data-event-type="unreachable"`) {
			t.Errorf("%s: a reachable conversation offers no reply", id)
		}
	}
}

func ptr[T any](v T) *T { return &v }
