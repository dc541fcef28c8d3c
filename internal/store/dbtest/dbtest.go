// Package dbtest opens real databases for tests: a fresh SQLite file, or a fresh schema of the
// PostgreSQL server the tests are pointed at. Tests that take their store from here run against either,
// so the HTTP and domain tests cover both stores (PARLEY_TEST_STORE=postgres selects PostgreSQL).
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// DefaultPostgresURL is the local server with trust authentication that development machines and CI run.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is PARLEY_TEST_DATABASE_URL, or DefaultPostgresURL.
func PostgresURL() string {
	if u := os.Getenv("PARLEY_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// UsePostgres reports whether PARLEY_TEST_STORE selects PostgreSQL for the tests that can run on either.
func UsePostgres() bool { return os.Getenv("PARLEY_TEST_STORE") == "postgres" }

// Connect opens a plain connection for a test's own statements. When the server cannot be reached the
// test is skipped, or fails when PARLEY_REQUIRE_POSTGRES=1 (as in CI) or PostgreSQL was asked for.
func Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresURL())
	if err != nil {
		where := PostgresURL()
		if u, perr := url.Parse(where); perr == nil {
			where = u.Redacted()
		}
		if os.Getenv("PARLEY_REQUIRE_POSTGRES") == "1" || UsePostgres() {
			t.Fatalf("PostgreSQL is required but unreachable at %s: %v", where, err)
		}
		t.Skipf("PostgreSQL unreachable at %s (%v): skipping. Set PARLEY_TEST_DATABASE_URL to run these tests, "+
			"and PARLEY_REQUIRE_POSTGRES=1 to fail instead of skipping.", where, err)
	}
	return conn
}

// Exec runs a statement on a connection of its own.
func Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	conn := Connect(t)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// SchemaName returns a new schema name for the test and drops that schema when the test ends (after
// the stores opened later have closed: cleanups run last registered first). It does not create it.
func SchemaName(t testing.TB) string {
	t.Helper()
	Connect(t).Close(context.Background()) // skip early when there is no server
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "parley_test_" + hex.EncodeToString(b)
	t.Cleanup(func() { Exec(t, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`) })
	return name
}

// OpenSchema opens a PostgreSQL store on the given schema, closed when the test ends.
func OpenSchema(t testing.TB, schema string, opts postgres.Options) *postgres.Store {
	t.Helper()
	opts.Schema = schema
	s, err := postgres.Open(context.Background(), PostgresURL(), opts)
	if err != nil {
		t.Fatalf("postgres.Open(schema %s): %v", schema, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postgres opens a PostgreSQL store on a fresh, empty, migrated schema.
func Postgres(t testing.TB) *postgres.Store {
	t.Helper()
	return OpenSchema(t, SchemaName(t), postgres.Options{})
}

// SQLite opens a store on a fresh SQLite file, closed when the test ends.
func SQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Open opens a fresh store of the kind PARLEY_TEST_STORE selects: SQLite unless it says postgres.
func Open(t testing.TB) store.Store {
	t.Helper()
	if UsePostgres() {
		return Postgres(t)
	}
	return SQLite(t)
}

// Count runs a test's own `SELECT COUNT(*) …` query (no arguments) against a store this package
// opened, read-only, to check what was or was not written.
func Count(t testing.TB, st store.Store, query string) int {
	t.Helper()
	var n int
	switch s := st.(type) {
	case *sqlite.DB:
		db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	case *postgres.Store:
		conn := Connect(t)
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `SET search_path TO `+pgx.Identifier{s.Schema()}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	default:
		t.Fatalf("dbtest.Count: a %T was not opened by dbtest", st)
	}
	return n
}
