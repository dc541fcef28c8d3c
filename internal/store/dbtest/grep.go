package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// Grep reads every row of every table of a store this package opened, whatever tables the schema has
// now or gains later, and returns a line "table: row" for each row in which one of the needles appears
// in any column (bytes read as text). Tests use it to prove that something is gone everywhere.
func Grep(t testing.TB, st store.Store, needles ...string) []string {
	t.Helper()
	var hits []string
	match := func(table string, vals []any) {
		var cols []string
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				cols = append(cols, string(v))
			case nil:
				cols = append(cols, "")
			default:
				cols = append(cols, fmt.Sprint(v))
			}
		}
		row := strings.Join(cols, " | ")
		for _, n := range needles {
			if n != "" && strings.Contains(row, n) {
				hits = append(hits, table+": "+row)
				return
			}
		}
	}
	switch s := st.(type) {
	case *sqlite.DB:
		db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, table := range sqliteTables(t, db) {
			rows, err := db.Query(`SELECT * FROM "` + table + `"`)
			if err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatalf("read %s: %v", table, err)
				}
				match(table, vals)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			rows.Close()
		}
	case *postgres.Store:
		ctx := context.Background()
		conn := Connect(t)
		defer conn.Close(ctx)
		var tables []string
		rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`, s.Schema())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		rows.Close()
		if len(tables) == 0 {
			t.Fatal("dbtest.Grep: no tables in the schema")
		}
		for _, table := range tables {
			rows, err := conn.Query(ctx, `SELECT * FROM `+pgx.Identifier{s.Schema(), table}.Sanitize())
			if err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatalf("read %s: %v", table, err)
				}
				match(table, vals)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			rows.Close()
		}
	default:
		t.Fatalf("dbtest.Grep: a %T was not opened by dbtest", st)
	}
	return hits
}

func sqliteTables(t testing.TB, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if len(tables) == 0 {
		t.Fatal("dbtest.Grep: no tables in the database")
	}
	return tables
}
