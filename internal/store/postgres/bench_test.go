package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// The append benchmarks mirror the SQLite store's (internal/store/sqlite/bench_test.go), so the two
// databases' figures can stand side by side. The pool has as many connections as RunParallel has
// goroutines, so callers wait for PostgreSQL rather than for a connection.

// benchConversation creates a session and a conversation of its own for one appending goroutine.
func benchConversation(b *testing.B, s *postgres.Store, workspaceID string, n int64) store.Conversation {
	b.Helper()
	ctx := context.Background()
	hash := sha256.Sum256(fmt.Appendf(nil, "bench token %d", n))
	sess := store.Session{ID: fmt.Sprintf("sess-%d", n), WorkspaceID: workspaceID, TokenHash: hash[:],
		Level: store.LevelAnonymous, CreatedAt: at(0), UpdatedAt: at(0)}
	conv := store.Conversation{ID: fmt.Sprintf("conv-%d", n), WorkspaceID: workspaceID, SessionID: sess.ID,
		Status: store.StatusOpen, CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(b, s, func(tx store.Tx) error {
		if err := tx.CreateSession(ctx, &sess); err != nil {
			return err
		}
		return tx.CreateConversation(ctx, &conv)
	})
	return conv
}

func benchStore(b *testing.B) (*postgres.Store, string) {
	b.Helper()
	s := openSchema(b, schemaName(b), postgres.Options{MaxConns: runtime.GOMAXPROCS(0)})
	w := store.Workspace{ID: "ws", Name: "bench", CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(b, s, func(tx store.Tx) error { return tx.CreateWorkspace(context.Background(), &w) })
	return s, w.ID
}

// appendOne appends the i-th message of a conversation, as a customer's message with a client id, the
// way the widget sends them. The client id is unique per conversation: several goroutines may share one.
func appendOne(ctx context.Context, s *postgres.Store, conv store.Conversation, i int64) error {
	m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: conv.SessionID,
		Body: "Hello, I need help with my order #12345, it has not arrived yet.", ClientID: fmt.Sprintf("c-%d", i),
		CreatedAt: at(time.Duration(i) * time.Millisecond)}
	return s.Update(ctx, func(tx store.Tx) error { return tx.AppendMessage(ctx, &m) })
}

// BenchmarkAppendMessage measures appends from concurrent callers, each to its own conversation.
func BenchmarkAppendMessage(b *testing.B) {
	s, ws := benchStore(b)
	convs := make([]store.Conversation, runtime.GOMAXPROCS(0))
	for i := range convs {
		convs[i] = benchConversation(b, s, ws, int64(i))
	}
	var next atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1) - 1
		var conv store.Conversation
		if n < int64(len(convs)) {
			conv = convs[n]
		} else {
			conv = benchConversation(b, s, ws, n)
		}
		for i := int64(0); pb.Next(); i++ {
			if err := appendOne(ctx, s, conv, i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAppendMessageSerial measures appends from one caller, so every commit holds one message.
func BenchmarkAppendMessageSerial(b *testing.B) {
	s, ws := benchStore(b)
	conv := benchConversation(b, s, ws, 1)
	ctx := context.Background()
	var i int64
	for b.Loop() {
		if err := appendOne(ctx, s, conv, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAppendMessageOneConversation measures concurrent appends to a single conversation, which the
// conversation's row lock serializes: the cost of keeping seq order equal to commit order.
func BenchmarkAppendMessageOneConversation(b *testing.B) {
	s, ws := benchStore(b)
	conv := benchConversation(b, s, ws, 1)
	var next atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := appendOne(ctx, s, conv, next.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
