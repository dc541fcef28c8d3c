package chat_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

func TestMentionedAgents(t *testing.T) {
	agents := []store.Agent{
		{ID: "ada", Email: "ada@acme.example", Name: "Ada Lovelace"},
		{ID: "grace", Email: "g.hopper@acme.example", Name: "Grace Hopper"},
		{ID: "grace2", Email: "grace.kelly@acme.example", Name: "Grace Kelly"},
		{ID: "alan", Email: "alan@acme.example", Name: "Alan Turing", DisabledAt: time.Unix(1, 0)},
		{ID: "zoe", Email: "zoe@acme.example", Name: "Zoë Ünal"},
	}
	for _, c := range []struct {
		body string
		want string
	}{
		{"@ada please look", "ada"},
		{"@ADA and @Ada again", "ada"},             // case-insensitive, once
		{"@adalovelace.", "ada"},                   // full name without spaces; a full stop ends it
		{"@g.hopper, @GraceKelly", "grace,grace2"}, // email local part, full name
		{"@grace is ambiguous", ""},                // two Graces: a longer mention is needed
		{"mail ada@acme.example", ""},              // an address, not a mention
		{"@alan is disabled", ""},                  // disabled agents are not alerted
		{"@me (author) and @zoë", "zoe"},           // the author never; letters beyond ASCII
		{"(@ada)", "ada"},                          // after punctuation
		{"@", ""},
		{"@@ada", "ada"},
		{strings.Repeat("@ada ", 1000), "ada"},
	} {
		var got []string
		for _, a := range chat.MentionedAgents(c.body, append(agents, store.Agent{ID: "me", Email: "me@acme.example", Name: "Me Myself"}), "me") {
			got = append(got, a.ID)
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("MentionedAgents(%q) = %v, want %q", c.body, got, c.want)
		}
	}
}

// The rule: a note is not customer-visible; every other message is.
func TestCustomerVisible(t *testing.T) {
	if chat.CustomerVisible(store.Message{Sender: store.SenderAgent, Internal: true}) {
		t.Error("a note is customer-visible")
	}
	for _, s := range []string{store.SenderCustomer, store.SenderAgent, store.SenderSystem} {
		if !chat.CustomerVisible(store.Message{Sender: s}) {
			t.Errorf("a %s message is not customer-visible", s)
		}
	}
	if id := chat.MessageID(store.Message{ConversationID: "cv_abc", N: -2, Internal: true}); id != "msg_abc_note_0000000000000002" {
		t.Errorf("a note's id: %s", id)
	} else if _, err := chat.ParseMessageID("cv_abc", id); err == nil {
		t.Error("a note's id parses as a customer message id")
	}
}
