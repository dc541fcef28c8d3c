package chat_test

import (
	"context"
	"crypto/sha256"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// BenchmarkAuthenticate is what every widget request pays to know its session: read the session and its
// workspace, check the lifetimes, and at most once a minute per session record its use. The floor is the
// bare store read the same requests make, SessionAndWorkspace by token hash, so the ratio between the two
// is the cost of the lifetime rules (run both in one go: `go test -run ^$ -bench Authenticate ./internal/chat/`).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	hub := realtime.NewHub()
	st := dbtest.Open(b)
	svc := chattest.Start(b, chat.Config{Store: st, Events: hub}, hub)
	ws, err := svc.CreateWorkspace(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	// 1,000 visitors; each benchmark goroutine takes turns over them, as requests of many tabs arrive.
	tokens := make([]string, 1000)
	for i := range tokens {
		if tokens[i], _, err = svc.CreateSession(ctx, ws.ID); err != nil {
			b.Fatal(err)
		}
	}
	run := func(b *testing.B, auth func(tok string) error) {
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := auth(tokens[next.Add(1)%int64(len(tokens))]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auths/s")
	}
	b.Run("floor=SessionAndWorkspace", func(b *testing.B) {
		run(b, func(tok string) error {
			h := sha256.Sum256([]byte(tok))
			_, _, err := st.SessionAndWorkspace(ctx, h[:])
			return err
		})
	})
	b.Run("Authenticate", func(b *testing.B) {
		run(b, func(tok string) error {
			_, err := svc.Authenticate(ctx, tok)
			return err
		})
	})
}
