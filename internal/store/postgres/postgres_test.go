package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// The tests run against a real PostgreSQL: PARLEY_TEST_DATABASE_URL, by default a local server with
// trust authentication. Without one they are skipped, unless PARLEY_REQUIRE_POSTGRES=1 (as in CI).
// Every test works in a schema of its own, dropped at the end, so test binaries can share the database.

func databaseURL() string { return dbtest.PostgresURL() }

var (
	connect    = dbtest.Connect
	exec       = dbtest.Exec
	schemaName = dbtest.SchemaName
	openSchema = dbtest.OpenSchema
)

// openTemp opens a store on a fresh, empty, migrated schema.
func openTemp(t testing.TB) *postgres.Store { return dbtest.Postgres(t) }

func TestContract(t *testing.T) {
	connect(t).Close(context.Background()) // skip once, not in every subtest
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func at(d time.Duration) time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).Add(d) }

func mustUpdate(t testing.TB, s *postgres.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// countMigrations returns how many migrations schema_migrations records, and the highest version.
func countMigrations(t *testing.T, schema string) (rows, latest int) {
	t.Helper()
	conn := connect(t)
	defer conn.Close(context.Background())
	q := `SELECT COUNT(*), COALESCE(MAX(version), 0) FROM ` + pgx.Identifier{schema, "schema_migrations"}.Sanitize()
	if err := conn.QueryRow(context.Background(), q).Scan(&rows, &latest); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return rows, latest
}

func migrationFiles(t *testing.T) int {
	t.Helper()
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// fixture creates a workspace, an anonymous session and its conversation.
func fixture(t testing.TB, s *postgres.Store) store.Conversation {
	t.Helper()
	ctx := context.Background()
	w := store.Workspace{ID: "ws", Name: "Acme", CreatedAt: at(0), UpdatedAt: at(0)}
	sess := store.Session{ID: "sess", WorkspaceID: w.ID, TokenHash: []byte{1, 2, 3}, Level: store.LevelAnonymous,
		CreatedAt: at(0), UpdatedAt: at(0)}
	conv := store.Conversation{ID: "conv", WorkspaceID: w.ID, SessionID: sess.ID, Status: store.StatusOpen,
		CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(t, s, func(tx store.Tx) error {
		return errors.Join(tx.CreateWorkspace(ctx, &w), tx.CreateSession(ctx, &sess), tx.CreateConversation(ctx, &conv))
	})
	return conv
}

// TestConcurrentOpen starts several stores on one new schema at once, as instances starting together
// do: every store must open, and the migrations must run exactly once.
func TestConcurrentOpen(t *testing.T) {
	schema := schemaName(t) // Open creates it
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := postgres.Open(context.Background(), databaseURL(), postgres.Options{Schema: schema, MaxConns: 2})
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = errors.Join(s.Update(context.Background(), func(tx store.Tx) error {
				return tx.CreateWorkspace(context.Background(), &store.Workspace{ID: fmt.Sprintf("ws-%d", i), Name: "x", CreatedAt: at(0), UpdatedAt: at(0)})
			}), s.Close())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
	want := migrationFiles(t)
	if rows, latest := countMigrations(t, schema); rows != want || latest != want {
		t.Errorf("schema_migrations holds %d rows up to version %d; want each of the %d migrations once", rows, latest, want)
	}
	s := openSchema(t, schema, postgres.Options{})
	if ws, err := s.Workspaces(context.Background()); err != nil || len(ws) != n {
		t.Errorf("Workspaces = %d, %v; want %d", len(ws), err, n)
	}
	if rows, _ := countMigrations(t, schema); rows != want {
		t.Errorf("reopening changed schema_migrations to %d rows; want %d", rows, want)
	}
}

// TestMigrate runs the explicit migration `parley migrate` uses, on a schema named in the URL.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	schema := schemaName(t)
	exec(t, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	u, err := url.Parse(databaseURL())
	if err != nil {
		t.Skipf("PARLEY_TEST_DATABASE_URL is not a URL, so the test cannot add search_path to it: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	want := migrationFiles(t)
	if n, err := postgres.Migrate(ctx, u.String()); err != nil || n != want {
		t.Fatalf("Migrate on an empty schema = %d, %v; want %d applied", n, err, want)
	}
	if n, err := postgres.Migrate(ctx, u.String()); err != nil || n != 0 {
		t.Errorf("Migrate again = %d, %v; want 0 applied", n, err)
	}
	if rows, latest := countMigrations(t, schema); rows != want || latest != want {
		t.Errorf("schema_migrations holds %d rows up to version %d; want %d", rows, latest, want)
	}
	s := openSchema(t, schema, postgres.Options{})
	fixture(t, s)
	if _, err := postgres.Migrate(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"); err == nil {
		t.Errorf("Migrate on an unreachable server succeeded")
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	schema := schemaName(t)
	s := openSchema(t, schema, postgres.Options{})
	conv := fixture(t, s)
	m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: conv.SessionID, Body: "persist me",
		ClientID: "c1", CreatedAt: at(time.Second)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &m) })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openSchema(t, schema, postgres.Options{})
	if got, err := s.MessageByClientID(ctx, conv.SessionID, "c1"); err != nil || got.Seq != m.Seq || got.Body != m.Body {
		t.Errorf("MessageByClientID after reopen = %+v, %v; want seq %d", got, err, m.Seq)
	}
	next := store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: "agent", Body: "after reopen", CreatedAt: at(time.Minute)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &next) })
	if next.Seq <= m.Seq {
		t.Errorf("Seq after reopen = %d; want above %d", next.Seq, m.Seq)
	}
}

// TestTimesInUTC stores times of another zone, with microseconds, and reads them back as the same
// instants in UTC.
func TestTimesInUTC(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	zone := time.FixedZone("UTC-7", -7*3600)
	created := time.Date(2026, 3, 8, 1, 59, 59, 999999_000, zone)
	w := store.Workspace{ID: "ws", Name: "x", CreatedAt: created, UpdatedAt: created.Add(time.Nanosecond * 1500)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateWorkspace(ctx, &w) })
	got, err := s.Workspace(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt != created.UTC() || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v; want %v in UTC", got.CreatedAt, created.UTC())
	}
	// Nanoseconds are cut to microseconds, as UnixMicro cuts them on SQLite.
	if want := created.Add(time.Microsecond).UTC(); got.UpdatedAt != want {
		t.Errorf("UpdatedAt = %v; want %v", got.UpdatedAt, want)
	}
}

func TestOptions(t *testing.T) {
	if _, err := postgres.Open(context.Background(), databaseURL(), postgres.Options{MaxConns: -1}); err == nil {
		t.Errorf("Open with MaxConns -1 succeeded")
	}
	if _, err := postgres.Open(context.Background(), "postgres://%zz", postgres.Options{}); err == nil {
		t.Errorf("Open with a malformed URL succeeded")
	}
	// One connection is enough: an Update's reads go through its transaction.
	s := openSchema(t, schemaName(t), postgres.Options{MaxConns: 1})
	conv := fixture(t, s)
	mustUpdate(t, s, func(tx store.Tx) error {
		m := store.Message{ConversationID: conv.ID, Sender: store.SenderSystem, Body: "x", CreatedAt: at(0)}
		if err := tx.AppendMessage(context.Background(), &m); err != nil {
			return err
		}
		_, err := tx.Messages(context.Background(), conv.ID, 0, 10)
		return err
	})
}

func TestReadsAfterClose(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	fixture(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Workspace(ctx, "ws")
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Workspace after Close = %v; want ErrClosed", err)
	}
	_, err = s.Messages(ctx, "conv", 0, 10)
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Messages after Close = %v; want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// TestAppendOrderAcrossInstances appends to one conversation from two stores, as two Parley instances
// behind a load balancer would, while a client polls with the last seq it saw. Every message must reach
// it exactly once: a message that committed after one with a higher seq would be skipped.
func TestAppendOrderAcrossInstances(t *testing.T) {
	ctx := context.Background()
	schema := schemaName(t)
	instances := []*postgres.Store{openSchema(t, schema, postgres.Options{MaxConns: 8}), openSchema(t, schema, postgres.Options{MaxConns: 8})}
	conv := fixture(t, instances[0])

	const writersPerInstance, perWriter = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := make(map[int64]string)
	errs := make(chan error, 2*writersPerInstance+2)
	for n, s := range instances {
		for g := range writersPerInstance {
			wg.Go(func() {
				for i := range perWriter {
					m := store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: fmt.Sprintf("agent-%d-%d", n, g),
						Body: fmt.Sprintf("%d/%d/%d", n, g, i), ClientID: fmt.Sprintf("c-%d", i), CreatedAt: at(time.Duration(i) * time.Millisecond)}
					// Half the writers do more in the transaction after appending, so commits lag behind
					// the numbering.
					err := s.Update(ctx, func(tx store.Tx) error {
						if err := tx.AppendMessage(ctx, &m); err != nil {
							return err
						}
						if g%2 == 0 {
							return tx.AppendEvent(ctx, &store.Event{ConversationID: conv.ID, Type: "noted", CreatedAt: m.CreatedAt})
						}
						return nil
					})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					committed[m.Seq] = m.Body
					mu.Unlock()
				}
			})
		}
	}

	// Each instance has a poller, as clients of either would.
	stop := make(chan struct{})
	seen := make([][]int64, len(instances))
	var pollers sync.WaitGroup
	for n, s := range instances {
		pollers.Go(func() {
			var after int64
			poll := func() error {
				page, err := s.Messages(ctx, conv.ID, after, 1000)
				for _, m := range page {
					if m.Seq <= after {
						return fmt.Errorf("poller %d: seq %d after %d", n, m.Seq, after)
					}
					after = m.Seq
					seen[n] = append(seen[n], m.Seq)
				}
				return err
			}
			for {
				select {
				case <-stop:
					// Every writer has returned: one last read picks up the final commits.
					if err := poll(); err != nil {
						errs <- err
					}
					return
				default:
				}
				if err := poll(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	pollers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	if len(committed) != len(instances)*writersPerInstance*perWriter {
		t.Fatalf("%d distinct seqs committed; want %d", len(committed), len(instances)*writersPerInstance*perWriter)
	}
	all := slices.Sorted(func(yield func(int64) bool) {
		for seq := range committed {
			if !yield(seq) {
				return
			}
		}
	})
	for n, got := range seen {
		if !slices.Equal(got, all) {
			missing := 0
			for _, seq := range all {
				if _, found := slices.BinarySearch(got, seq); !found {
					missing++
				}
			}
			t.Errorf("poller %d saw %d messages, %d of the committed ones never: seq order is not commit order", n, len(got), missing)
		}
	}
	msgs, err := instances[1].Messages(ctx, conv.ID, 0, 1000)
	if err != nil || len(msgs) != len(all) {
		t.Fatalf("Messages = %d, %v; want %d", len(msgs), err, len(all))
	}
	for i, m := range msgs {
		if committed[m.Seq] != m.Body {
			t.Errorf("message %d reads %q; the writer stored %q", m.Seq, m.Body, committed[m.Seq])
		}
		// Numbers within the conversation are dense and in Seq order, from both instances.
		if m.N != int64(i+1) {
			t.Errorf("message %d (seq %d) has number %d; want %d", i, m.Seq, m.N, i+1)
		}
	}
}

// TestDeadlockIsRetried makes two Updates lock two conversations in opposite orders. PostgreSQL aborts
// one of them; Update runs its function again, and both succeed.
func TestDeadlockIsRetried(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	one := fixture(t, s)
	two := store.Conversation{ID: "conv-2", WorkspaceID: one.WorkspaceID, SessionID: one.SessionID, Status: store.StatusOpen,
		CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &two) })

	var runs atomic.Int32
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	appendBoth := func(first, second string) error {
		attempt := 0
		return s.Update(ctx, func(tx store.Tx) error {
			runs.Add(1)
			attempt++
			m := store.Message{ConversationID: first, Sender: store.SenderSystem, Body: "first", CreatedAt: at(0)}
			if err := tx.AppendMessage(ctx, &m); err != nil {
				return err
			}
			if attempt == 1 {
				firstLocks.Done()
				firstLocks.Wait() // both now hold one conversation and are about to ask for the other
			}
			m = store.Message{ConversationID: second, Sender: store.SenderSystem, Body: "second", CreatedAt: at(0)}
			return tx.AppendMessage(ctx, &m)
		})
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = appendBoth(one.ID, two.ID) })
	wg.Go(func() { errs[1] = appendBoth(two.ID, one.ID) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	if n := runs.Load(); n < 3 {
		t.Errorf("the functions ran %d times; want a rerun of the one PostgreSQL aborted", n)
	}
	for _, id := range []string{one.ID, two.ID} {
		if msgs, err := s.Messages(ctx, id, 0, 10); err != nil || len(msgs) != 2 {
			t.Errorf("Messages(%s) = %d, %v; want 2 (one from each Update)", id, len(msgs), err)
		}
	}
}

// TestUpdatesAreSerializable races Updates that each look a customer up and create it when missing, as
// a login does. On SQLite's single writer the later ones find the first's customer; here too, every
// Update must succeed and exactly one customer exist — no conflict surfaces from the race.
func TestUpdatesAreSerializable(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	conv := fixture(t, s)
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	created := make([]bool, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				created[i] = false
				_, err := tx.CustomerByExternalID(ctx, conv.WorkspaceID, "user-1")
				if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				created[i] = true
				return tx.CreateCustomer(ctx, &store.Customer{ID: fmt.Sprintf("cust-%d", i), WorkspaceID: conv.WorkspaceID,
					ExternalID: "user-1", CreatedAt: at(0), UpdatedAt: at(0)})
			})
		})
	}
	close(start)
	wg.Wait()
	creators := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d Updates created the customer; want exactly 1", creators)
	}
	if c, err := s.CustomerByExternalID(ctx, conv.WorkspaceID, "user-1"); err != nil || !strings.HasPrefix(c.ID, "cust-") {
		t.Errorf("CustomerByExternalID = %+v, %v", c, err)
	}
}

// listenerPID waits until a session listens on channel (the store's name for it) and returns its pid.
func listenerPID(t *testing.T, channel string, not int32) int32 {
	t.Helper()
	conn := connect(t)
	defer conn.Close(context.Background())
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var pid int32
		err := conn.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> $2`,
			`LISTEN `+pgx.Identifier{channel}.Sanitize(), not).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
	}
	t.Fatalf("nobody listens on %s", channel)
	return 0
}

// TestNotify checks what the event relay between instances relies on: a transaction's notifications
// reach every instance's listener when it commits, never when it rolls back, in commit order — which,
// for appends to one conversation, is seq order — and a listener that lost its connection listens again
// and says so.
func TestNotify(t *testing.T) {
	ctx := context.Background()
	schema := schemaName(t)
	one, two := openSchema(t, schema, postgres.Options{}), openSchema(t, schema, postgres.Options{})
	elsewhere := openTemp(t) // another installation in the same database
	conv := fixture(t, one)

	got := make(chan string, 1000)
	resyncs := make(chan struct{}, 10)
	lctx, stop := context.WithCancel(ctx)
	listenErr := make(chan error, 1)
	go func() {
		listenErr <- one.Listen(lctx, "events", func(p []byte) { got <- string(p) }, func() { resyncs <- struct{}{} })
	}()
	// Listening is announced the first time too (a server waits for it before taking traffic).
	select {
	case <-resyncs:
	case <-time.After(10 * time.Second):
		t.Fatalf("Listen did not announce that it listens within 10s")
	}
	pid := listenerPID(t, schema+":events", 0)

	notify := func(s *postgres.Store, payload string, fail bool) {
		t.Helper()
		errFail := errors.New("roll back")
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Notify(ctx, "events", []byte(payload)); err != nil {
				return err
			}
			if fail {
				return errFail
			}
			return nil
		})
		if fail && err != errFail || !fail && err != nil {
			t.Fatalf("Update notifying %q: %v", payload, err)
		}
	}
	next := func() string {
		t.Helper()
		select {
		case p := <-got:
			return p
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification within 10s")
			return ""
		}
	}
	notify(two, "a", false)
	notify(two, "rolled back", true)
	notify(elsewhere, "another installation's", false)
	notify(one, "b", false)
	for _, want := range []string{"a", "b"} {
		if p := next(); p != want {
			t.Fatalf("notification %q; want %q", p, want)
		}
	}

	// Concurrent appends from both instances, each announcing its seq: they arrive in seq order.
	const writers, perWriter = 8, 25
	var wg sync.WaitGroup
	for g := range writers {
		s := []*postgres.Store{one, two}[g%2]
		wg.Go(func() {
			for i := range perWriter {
				err := s.Update(ctx, func(tx store.Tx) error {
					m := store.Message{ConversationID: conv.ID, Sender: store.SenderSystem, Body: "x", CreatedAt: at(time.Duration(i))}
					if err := tx.AppendMessage(ctx, &m); err != nil {
						return err
					}
					return tx.Notify(ctx, "events", []byte(fmt.Sprint(m.Seq)))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var last int64
	for range writers * perWriter {
		var seq int64
		fmt.Sscan(next(), &seq)
		if seq <= last {
			t.Fatalf("notification of seq %d after seq %d: not in commit order", seq, last)
		}
		last = seq
	}

	// The listening connection drops: the listener connects again, announces it (the relay resyncs its
	// clients then), and hears on.
	exec(t, `SELECT pg_terminate_backend($1)`, pid)
	select {
	case <-resyncs:
	case <-time.After(10 * time.Second):
		t.Fatalf("no resync within 10s of losing the listening connection")
	}
	listenerPID(t, schema+":events", pid)
	notify(two, "c", false)
	if p := next(); p != "c" {
		t.Fatalf("notification after reconnecting %q; want c", p)
	}

	stop()
	if err := <-listenErr; err != nil {
		t.Errorf("Listen after its context ended = %v; want nil", err)
	}
	go func() { listenErr <- two.Listen(ctx, "events", func([]byte) {}, func() {}) }()
	time.Sleep(50 * time.Millisecond)
	two.Close()
	select {
	case err := <-listenErr:
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("Listen after Close = %v; want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Listen still running 10s after Close")
	}
	if err := one.Update(ctx, func(tx store.Tx) error {
		return tx.Notify(ctx, strings.Repeat("x", 64), nil)
	}); err == nil {
		t.Errorf("Notify on a 64-byte channel name succeeded")
	}
}
