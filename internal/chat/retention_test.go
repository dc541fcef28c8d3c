package chat_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Retention: closed conversations older than the workspace's retention go, with the anonymous visitor
// who had them; recent and open ones stay, and so do verified customers. Both stores.
func TestRetentionPurgesOldClosedConversations(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	agent := e.agent(t, "agent@acme.example")
	say := func(v *chat.Visitor, body string) store.Message {
		t.Helper()
		m, _, err := e.svc.PostMessage(ctx, v, body, "")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	closeConv := func(id string) {
		t.Helper()
		if _, err := e.svc.SetConversationStatus(ctx, agent, id, store.StatusClosed); err != nil {
			t.Fatal(err)
		}
	}

	// Forty days ago: an anonymous visitor's conversation, closed; a verified customer's, closed; and
	// an anonymous one left open.
	_, oldAnon := e.session(t)
	oldAnonConv := say(oldAnon, "old and closed").ConversationID
	closeConv(oldAnonConv)
	_, customer := e.verified(t, "u-retained")
	oldCustConv := say(customer, "old customer chat").ConversationID
	closeConv(oldCustConv)
	_, openV := e.session(t)
	openConv := say(openV, "old but open").ConversationID
	e.clock.Advance(40 * 24 * time.Hour)

	// Five days ago: closed, recent.
	_, recentV := e.session(t)
	recentConv := say(recentV, "recent").ConversationID
	closeConv(recentConv)
	e.clock.Advance(5 * 24 * time.Hour)

	// Without a retention nothing goes.
	if n, err := e.svc.PurgeClosedConversations(ctx, e.ws); err != nil || n != 0 {
		t.Fatalf("purge without retention: %d, %v", n, err)
	}
	for _, bad := range []int{-1, chat.MaxRetentionDays + 1} {
		if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{RetentionDays: &bad}); err == nil {
			t.Errorf("retention of %d days accepted", bad)
		}
	}
	days := 30
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{RetentionDays: &days}); err != nil {
		t.Fatal(err)
	}

	// Cleanup schedules one job per day, however many instances run it.
	if c := e.cleanup(t); c.RetentionJobs != 1 {
		t.Errorf("first cleanup enqueued %d retention jobs; want 1", c.RetentionJobs)
	}
	if c := e.cleanup(t); c.RetentionJobs != 0 {
		t.Errorf("second cleanup the same day enqueued %d retention jobs; want 0", c.RetentionJobs)
	}
	// chattest's runner takes the job; run the purge directly as well, so the test does not wait on it.
	if _, err := e.svc.PurgeClosedConversations(ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	gone := func(id string) bool {
		_, err := e.st.Conversation(ctx, id)
		return errors.Is(err, store.ErrNotFound)
	}
	for _, id := range []string{oldAnonConv, oldCustConv} {
		if !gone(id) {
			t.Errorf("conversation %s, closed 45 days ago, is still there", id)
		}
	}
	for _, id := range []string{openConv, recentConv} {
		if gone(id) {
			t.Errorf("conversation %s was deleted", id)
		}
	}
	if _, err := e.st.Session(ctx, oldAnon.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old anonymous visitor's session: %v; want deleted", err)
	}
	if _, err := e.st.Session(ctx, openV.Session.ID); err != nil {
		t.Errorf("the open conversation's visitor: %v", err)
	}
	if _, err := e.st.Customer(ctx, customer.Session.CustomerID); err != nil {
		t.Errorf("the verified customer went with their conversation: %v", err)
	}
	if n := e.rows(t, "messages"); n != 2 {
		t.Errorf("%d messages left; want 2 (the open and the recent conversation's)", n)
	}
}
