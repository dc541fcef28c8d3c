package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
)

// TestWidgetMessageIDsCountPerConversation: a message id numbers the message within its conversation,
// so a visitor's ids run msg_<conversation>_0000000000000001, …02, …03 whatever other workspaces and
// other visitors write meanwhile (an installation-wide counter told them how much that was); ?after=
// resumes with them without gaps and refuses ids of other conversations and of the old form.
func TestWidgetMessageIDsCountPerConversation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other, err := e.svc.CreateWorkspace(ctx, "Other Shop")
	if err != nil {
		t.Fatal(err)
	}
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": other.ID})
	expect(t, r, 201, "")
	stranger := r.str("session_token") // another tenant's visitor
	neighbour := e.session()           // another visitor of the same workspace
	visitor := e.session()

	send := func(token, body string) map[string]any {
		t.Helper()
		r := e.send(token, body, "")
		expect(t, r, 201, "")
		return apiMessage(t, r)
	}
	busy := func(n int) { // traffic the visitor must not be able to count
		t.Helper()
		for i := range n {
			send(stranger, fmt.Sprintf("elsewhere %d", i))
			send(neighbour, fmt.Sprintf("next door %d", i))
		}
	}

	first := send(visitor, "one")
	conv := first["conversation_id"].(string)
	ids := []string{first["id"].(string)}
	busy(3)
	ids = append(ids, send(visitor, "two")["id"].(string))
	busy(2)
	reply, _, err := e.svc.PostAgentMessage(ctx, e.ws.ID, "agent-1", conv, "three, from the agent", "")
	if err != nil {
		t.Fatal(err)
	}
	busy(1)
	ids = append(ids, send(visitor, "four")["id"].(string))

	prefix := "msg_" + strings.TrimPrefix(conv, "cv_") + "_"
	want := []string{prefix + "0000000000000001", prefix + "0000000000000002", prefix + "0000000000000003", prefix + "0000000000000004"}
	listed := apiIDs(e.messages(visitor, conv, ""))
	if !slices.Equal(listed, want) {
		t.Fatalf("the visitor's message ids = %v; want %v, whatever anybody else wrote", listed, want)
	}
	if sent := []string{ids[0], ids[1], ids[2]}; !slices.Equal(sent, []string{want[0], want[1], want[3]}) {
		t.Fatalf("ids answered to the sends = %v; want %v", sent, []string{want[0], want[1], want[3]})
	}
	if got := chat.MessageID(reply); got != want[2] {
		t.Fatalf("the agent's reply has id %s; want %s", got, want[2])
	}
	// The other visitors' conversations count from 1 too, and their ids differ from the visitor's.
	strangerConv := e.conversations(stranger)[0]["id"].(string)
	strangerIDs := apiIDs(e.messages(stranger, strangerConv, ""))
	if len(strangerIDs) != 6 || strangerIDs[0] != "msg_"+strings.TrimPrefix(strangerConv, "cv_")+"_0000000000000001" || strangerIDs[0] == want[0] {
		t.Fatalf("another tenant's visitor's ids = %v", strangerIDs)
	}

	// Resuming one message at a time from each id walks the whole conversation, in order, no gaps.
	var resumed []string
	for after := ""; ; {
		q := "?limit=1"
		if after != "" {
			q += "&after=" + after
		}
		r := e.request("GET", "/v1/widget/conversations/"+conv+"/messages"+q, visitor, nil)
		expect(t, r, 200, "")
		page := r.body["messages"].([]any)
		if len(page) == 0 {
			break
		}
		after = page[0].(map[string]any)["id"].(string)
		resumed = append(resumed, after)
		if len(resumed) > len(want) {
			t.Fatalf("resuming never ends: %v", resumed)
		}
	}
	if !slices.Equal(resumed, want) {
		t.Fatalf("resumed one at a time: %v; want %v", resumed, want)
	}
	if got := apiIDs(e.messages(visitor, conv, want[1])); !slices.Equal(got, want[2:]) {
		t.Fatalf("after the second: %v; want %v", got, want[2:])
	}

	// Ids of another conversation, of the old installation-wide form, or otherwise not this
	// conversation's are refused, not read as some other position.
	for _, bad := range []string{
		strangerIDs[0],         // another tenant's conversation
		"msg_0000000000000001", // the old form
		"msg_000000000000000a",
		prefix + "000000000000000A", // upper case
		prefix + "1",                // not fixed width
		prefix + "00000000000000001",
		prefix + "-000000000000001",
		strings.ToUpper(prefix) + "0000000000000001",
		"msg__0000000000000001",
		prefix,
	} {
		apiExpectField(t, e.request("GET", "/v1/widget/conversations/"+conv+"/messages?after="+bad, visitor, nil), "after")
	}
}
