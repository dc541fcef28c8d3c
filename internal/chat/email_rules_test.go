package chat_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// EmailRecipient, the one rule for email to customers: only the conversation's own verified customer,
// with an address, subscribed, and admitted by the workspace's allowed email domains.
func TestEmailRecipient(t *testing.T) {
	ada := store.Customer{ID: "cu_ada", Email: "ada@bank.example"}
	conv := store.Conversation{ID: "cv_1", CustomerID: ada.ID}
	for _, c := range []struct {
		name  string
		conv  store.Conversation
		c     store.Customer
		state store.CustomerEmail
		st    store.Settings
		want  string
	}{
		{"the verified customer", conv, ada, store.CustomerEmail{}, store.Settings{}, "ada@bank.example"},
		{"an allowed domain", conv, ada, store.CustomerEmail{}, store.Settings{AllowedEmailDomains: []string{"bank.example"}}, "ada@bank.example"},
		{"anonymous or claimed: no customer", store.Conversation{ID: "cv_2", ClaimedEmail: "victim@example.com"}, store.Customer{}, store.CustomerEmail{}, store.Settings{}, ""},
		{"another customer", conv, store.Customer{ID: "cu_eve", Email: "eve@example.com"}, store.CustomerEmail{}, store.Settings{}, ""},
		{"no address", conv, store.Customer{ID: ada.ID}, store.CustomerEmail{}, store.Settings{}, ""},
		{"unsubscribed", conv, ada, store.CustomerEmail{OptedOutAt: time.Now()}, store.Settings{}, ""},
		{"a domain no longer allowed", conv, ada, store.CustomerEmail{}, store.Settings{AllowedEmailDomains: []string{"other.example"}}, ""},
	} {
		got, why := chat.EmailRecipient(c.conv, c.c, c.state, c.st)
		if got != c.want || (got == "" && why == "") {
			t.Errorf("%s: %q (%q); want %q, and a reason when none", c.name, got, why, c.want)
		}
	}
}

// The email settings keep to their ranges; zero restores a default.
func TestEmailSettingsValidation(t *testing.T) {
	e := newLifeEnv(t)
	d := func(v time.Duration) *time.Duration { return &v }
	for _, p := range []chat.SettingsPatch{
		{EmailReplyDelay: d(30 * time.Second)}, {EmailReplyDelay: d(8 * 24 * time.Hour)},
		{EmailInterval: d(time.Second)}, {UnreadAlertDelay: d(25 * time.Hour)},
	} {
		_, err := e.svc.UpdateWorkspace(t.Context(), e.ws, p)
		wantCode(t, "out of range", err, "invalid_field")
	}
	w, err := e.svc.UpdateWorkspace(t.Context(), e.ws, chat.SettingsPatch{EmailReplyDelay: d(2 * time.Minute), EmailInterval: d(0), UnreadAlertDelay: d(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if chat.EmailReplyDelay(w.Settings) != 2*time.Minute || chat.EmailInterval(w.Settings) != chat.DefaultEmailInterval || chat.UnreadAlertDelay(w.Settings) != time.Minute {
		t.Errorf("settings %+v", w.Settings)
	}
}
