package chat_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// benchEnv is a service over a real database with one workspace and key.
type benchEnv struct {
	svc *chat.Service
	ws  string
	key chat.NewKey
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	hub := realtime.NewHub()
	// SQLite, or PostgreSQL (with the event relay, as in production) when PARLEY_TEST_STORE=postgres.
	svc := chattest.Start(b, chat.Config{Store: dbtest.Open(b), Events: hub}, hub)
	ws, err := svc.CreateWorkspace(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	key, err := svc.CreateKey(ctx, ws.ID, "HS256")
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{svc: svc, ws: ws.ID, key: key}
}

func (e *benchEnv) token(b *testing.B, sub string) string {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "email": sub + "@example.com", "name": "Bench User", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
	tok.Header["kid"] = e.key.ID
	s, err := tok.SignedString([]byte(e.key.Secret))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// concurrentVisitors is how many goroutines per CPU the write benchmarks run: a server has many visitors
// in flight at once, and only then can group commit batch their writes.
const concurrentVisitors = 32

func perSecond(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkVerifyHS256 is token verification alone: strict parsing, key selection, signature, claims.
func BenchmarkVerifyHS256(b *testing.B) {
	e := newBenchEnv(b)
	tok := e.token(b, "user-1")
	keys := []identity.Key{{ID: e.key.ID, Alg: "HS256", Secret: []byte(e.key.Secret)}}
	policy := identity.Policy{Workspace: e.ws, MaxLifetime: 10 * time.Minute, Leeway: time.Minute, Now: time.Now()}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := identity.Verify(tok, keys, policy); err != nil {
				b.Fatal(err)
			}
		}
	})
	perSecond(b, "verifies/s")
}

// BenchmarkLogin is the whole login path below HTTP: authenticate the session token, read the keys,
// verify, upsert the customer, rotate the session token and commit. Each goroutine is a visitor who
// logs in again and again (each login rotates its token).
func BenchmarkLogin(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(concurrentVisitors)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		sub := fmt.Sprintf("user-%d", n.Add(1))
		jwtToken := e.token(b, sub)
		session, _, err := e.svc.CreateSession(ctx, e.ws)
		if err != nil {
			b.Fatal(err)
		}
		for pb.Next() {
			v, err := e.svc.Authenticate(ctx, session)
			if err != nil {
				b.Fatal(err)
			}
			if session, _, _, err = e.svc.Login(ctx, v, jwtToken); err != nil {
				b.Fatal(err)
			}
		}
	})
	perSecond(b, "logins/s")
}

// BenchmarkLoginNewVisitor adds session creation: a new browser arrives and logs in at once.
func BenchmarkLoginNewVisitor(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(concurrentVisitors)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		jwtToken := e.token(b, fmt.Sprintf("user-%d", n.Add(1)))
		for pb.Next() {
			session, _, err := e.svc.CreateSession(ctx, e.ws)
			if err != nil {
				b.Fatal(err)
			}
			v, err := e.svc.Authenticate(ctx, session)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, _, err = e.svc.Login(ctx, v, jwtToken); err != nil {
				b.Fatal(err)
			}
		}
	})
	perSecond(b, "logins/s")
}

// BenchmarkPostMessage is the append path below HTTP: authenticate, validate, check the client id,
// find the open conversation, append, commit (group commit), publish.
func BenchmarkPostMessage(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(concurrentVisitors)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := n.Add(1)
		session, v, err := e.svc.CreateSession(ctx, e.ws)
		if err != nil {
			b.Fatal(err)
		}
		if session, _, _, err = e.svc.Login(ctx, v, e.token(b, fmt.Sprintf("user-%d", g))); err != nil {
			b.Fatal(err)
		}
		i := 0
		for pb.Next() {
			i++
			v, err := e.svc.Authenticate(ctx, session)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := e.svc.PostMessage(ctx, v, "Hello, I have a question about my order.", fmt.Sprintf("g%d-%d", g, i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	perSecond(b, "msgs/s")
}

// customerAPI creates an API key and the customer "user-1" through it, as a business's back end does.
func (e *benchEnv) customerAPI(b *testing.B) (chat.NewAPIKey, chat.APIClient) {
	b.Helper()
	ctx := context.Background()
	key, err := e.svc.CreateAPIKey(ctx, e.ws, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	client, err := e.svc.AuthenticateAPIKey(ctx, key.Key)
	if err != nil {
		b.Fatal(err)
	}
	email := "ada@example.com"
	if _, _, err := e.svc.PutCustomer(ctx, client, "user-1", chat.CustomerInput{Email: &email}); err != nil {
		b.Fatal(err)
	}
	return key, client
}

// BenchmarkIssueLoginToken is the customers API's login-token path below HTTP: authenticate the API key,
// find the customer, open the sealed server key, sign an EdDSA token.
func BenchmarkIssueLoginToken(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	key, _ := e.customerAPI(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, err := e.svc.AuthenticateAPIKey(ctx, key.Key)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := e.svc.IssueLoginToken(ctx, c, "user-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	perSecond(b, "tokens/s")
}

// BenchmarkLoginWithIssuedToken logs in with tokens the customers API issued: EdDSA verification and a
// jti recorded per login, on top of BenchmarkLogin's work.
func BenchmarkLoginWithIssuedToken(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	_, client := e.customerAPI(b)
	tokens := make([]string, b.N)
	for i := range tokens {
		var err error
		if tokens[i], _, err = e.svc.IssueLoginToken(ctx, client, "user-1"); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism(concurrentVisitors)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		session, _, err := e.svc.CreateSession(ctx, e.ws)
		if err != nil {
			b.Fatal(err)
		}
		for pb.Next() {
			v, err := e.svc.Authenticate(ctx, session)
			if err != nil {
				b.Fatal(err)
			}
			if session, _, _, err = e.svc.Login(ctx, v, tokens[next.Add(1)-1]); err != nil {
				b.Fatal(err)
			}
		}
	})
	perSecond(b, "logins/s")
}
