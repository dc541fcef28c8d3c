package chat_test

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// messageReads is the real PostgreSQL store (a Notifier too), counting the reads of messages by seq: how
// a listening instance reads back a message it was told of.
type messageReads struct {
	*postgres.Store
	n atomic.Int64
}

func (m *messageReads) Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]store.Message, error) {
	m.n.Add(1)
	return m.Store.Messages(ctx, conversationID, afterSeq, limit)
}

// A message published by a listening instance is the message as stored, field for field, whether its
// notice carried it (short, no attachments: no read) or named it only (long: read back).
func TestRelayedMessagesAreTheStoredOnes(t *testing.T) {
	if !dbtest.UsePostgres() {
		t.Skip("one instance only: events travel between instances on PostgreSQL (PARLEY_TEST_STORE=postgres)")
	}
	ctx := t.Context()
	st := dbtest.Postgres(t)
	reads := &messageReads{Store: st}
	hub1, hub2 := realtime.NewHub(), realtime.NewHub()
	one := chattest.Start(t, chat.Config{Store: st, Events: hub1, Passwords: password.NewHasher(2)}, hub1)
	chattest.Start(t, chat.Config{Store: reads, Events: hub2, Passwords: password.NewHasher(2)}, hub2) // listens only
	ws, err := one.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	agent, err := one.CreateAgent(ctx, ws.ID, "sam@acme.example", "Sam", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := one.CreateSession(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	agents := hub2.Subscribe(64, chat.WorkspaceTopic(ws.ID))
	defer agents.Close()

	first, _, err := one.PostMessage(ctx, v, "Hello", "c-1")
	if err != nil {
		t.Fatal(err)
	}
	conv := first.ConversationID
	post := []func() (store.Message, error){
		func() (store.Message, error) { // escapes, multi-byte characters, no client id
			m, _, err := one.PostMessage(ctx, v, "Grüße \"quoted\" <b>&</b>\n\ttab ✓ 日本", "")
			return m, err
		},
		func() (store.Message, error) {
			m, _, err := one.PostAgentMessage(ctx, ws.ID, agent.ID, conv, "Hi, how can I help?", "a-1")
			return m, err
		},
		func() (store.Message, error) {
			m, _, err := one.PostNote(ctx, agent, conv, "note to self", "")
			return m, err
		},
		func() (store.Message, error) { // too long to travel whole: read back
			m, _, err := one.PostMessage(ctx, v, strings.Repeat("long ", 800), "c-2")
			return m, err
		},
	}
	// One at a time, so that each read back is counted against its message.
	check := func(i int, w store.Message, wantReads int64) {
		t.Helper()
		ev := nextOfType(t, agents, chat.EventMessage, "agents on the other instance")
		got, ok := ev.Data.(store.Message)
		if !ok {
			t.Fatalf("message %d: event data %T", i, ev.Data)
		}
		stored, err := st.Messages(ctx, conv, w.Seq-1, 1)
		if err != nil || len(stored) != 1 {
			t.Fatalf("message %d: stored %v, %v", i, stored, err)
		}
		if !reflect.DeepEqual(got, stored[0]) {
			t.Errorf("message %d published on the other instance:\n%#v\nstored:\n%#v", i, got, stored[0])
		}
		if n := reads.n.Load(); n != wantReads {
			t.Errorf("after message %d the other instance has read messages back %d times; want %d", i, n, wantReads)
		}
	}
	check(0, first, 0)
	for i, p := range post {
		m, err := p()
		if err != nil {
			t.Fatal(err)
		}
		wantReads := int64(0)
		if i == len(post)-1 {
			wantReads = 1 // only the long one
		}
		check(i+1, m, wantReads)
	}
}
