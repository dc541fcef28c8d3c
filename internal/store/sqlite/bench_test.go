package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// benchConversation creates a session and a conversation of its own for one appending goroutine.
func benchConversation(b *testing.B, db *sqlite.DB, workspaceID string, n int64) store.Conversation {
	b.Helper()
	ctx := context.Background()
	hash := sha256.Sum256(fmt.Appendf(nil, "bench token %d", n))
	sess := store.Session{ID: fmt.Sprintf("sess-%d", n), WorkspaceID: workspaceID, TokenHash: hash[:],
		Level: store.LevelAnonymous, CreatedAt: at(0), UpdatedAt: at(0)}
	conv := store.Conversation{ID: fmt.Sprintf("conv-%d", n), WorkspaceID: workspaceID, SessionID: sess.ID,
		Status: store.StatusOpen, CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(b, db, func(tx store.Tx) error {
		if err := tx.CreateSession(ctx, &sess); err != nil {
			return err
		}
		return tx.CreateConversation(ctx, &conv)
	})
	return conv
}

func benchStore(b *testing.B) (*sqlite.DB, string) {
	b.Helper()
	db := openTemp(b)
	w := store.Workspace{ID: "ws", Name: "bench", CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(b, db, func(tx store.Tx) error { return tx.CreateWorkspace(context.Background(), &w) })
	return db, w.ID
}

// appendOne appends the i-th message of a conversation, as a customer's message with a client id, the
// way the widget sends them.
func appendOne(ctx context.Context, db *sqlite.DB, conv store.Conversation, i int) error {
	m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: conv.SessionID,
		Body: "Hello, I need help with my order #12345, it has not arrived yet.", ClientID: fmt.Sprintf("c-%d", i),
		CreatedAt: at(time.Duration(i) * time.Millisecond)}
	return db.Update(ctx, func(tx store.Tx) error { return tx.AppendMessage(ctx, &m) })
}

// BenchmarkAppendMessage measures appends from concurrent callers, each to its own conversation: the case
// group commit is for.
func BenchmarkAppendMessage(b *testing.B) {
	db, ws := benchStore(b)
	// RunParallel starts GOMAXPROCS goroutines (times -parallelism); their conversations are made before
	// the clock starts.
	convs := make([]store.Conversation, runtime.GOMAXPROCS(0))
	for i := range convs {
		convs[i] = benchConversation(b, db, ws, int64(i))
	}
	var next atomic.Int64
	ctx := context.Background()
	written := writtenBytes()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1) - 1
		var conv store.Conversation
		if n < int64(len(convs)) {
			conv = convs[n]
		} else {
			conv = benchConversation(b, db, ws, n)
		}
		for i := 0; pb.Next(); i++ {
			if err := appendOne(ctx, db, conv, i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if w := writtenBytes(); w > 0 {
		// What the appends cost in writes (WAL frames and checkpoints), a figure that does not depend on
		// how busy the machine is: each page a message dirties is a 4 KiB frame at commit.
		b.ReportMetric(float64(w-written)/float64(b.N), "wbytes/msg")
	}
}

// writtenBytes is how many bytes this process has passed to write system calls so far (Linux's
// /proc/self/io wchar), or 0 where that is not known.
func writtenBytes() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("wchar: ")); ok {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkAppendMessageSerial measures appends from one caller, so every commit holds one message.
func BenchmarkAppendMessageSerial(b *testing.B) {
	db, ws := benchStore(b)
	conv := benchConversation(b, db, ws, 1)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := appendOne(ctx, db, conv, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
