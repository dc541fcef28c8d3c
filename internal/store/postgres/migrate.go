package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parleyhq/parley/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the advisory lock that serializes migrations: every Parley instance
// starting against one database takes it, so each migration runs exactly once. It spells "parley".
const migrationLock = 0x7061726c6579

// loadMigrations reads the embedded migrations in version order.
func loadMigrations() ([]store.Migration, error) {
	return store.LoadMigrations(migrationFiles, "migrations")
}

// Migrate applies pending migrations to the database at url and returns how many it applied; it is what
// `parley migrate` runs. Open migrates too, so calling it first is optional. The tables go to the first
// schema of the connection's search_path, which a search_path parameter in the URL may set.
func Migrate(ctx context.Context, url string) (applied int, err error) {
	// Parsed as a pool configuration, so a URL that serve accepts (pool_max_conns and the like) works
	// here too; the connection itself is a plain one.
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return 0, fmt.Errorf("postgres: parse database url: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrate(ctx, conn, "")
}

// migrate applies pending migrations on conn, each in its own transaction, while holding the advisory
// lock: instances starting together wait for each other, and each re-reads the applied versions inside
// its transaction, so every migration runs exactly once. The lock belongs to the session, so it goes
// with the connection if the process dies halfway. schema, when set, is created first.
func migrate(ctx context.Context, conn *pgx.Conn, schema string) (applied int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return 0, fmt.Errorf("postgres: lock for migrations: %w", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)); uerr != nil && err == nil {
			err = fmt.Errorf("postgres: unlock after migrations: %w", uerr)
		}
	}()
	if schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return 0, fmt.Errorf("postgres: create schema %s: %w", schema, err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		ran, err := apply(ctx, conn, m)
		if err != nil {
			return applied, err
		}
		if ran {
			applied++
		}
	}
	return applied, nil
}

// apply runs one migration unless it is recorded already, and reports whether it ran.
func apply(ctx context.Context, conn *pgx.Conn, m store.Migration) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: begin migration %s: %w", m.Name, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
		return false, fmt.Errorf("postgres: read schema version: %w", err)
	}
	if done {
		return false, nil
	}
	// Without arguments, Exec uses the simple protocol, which runs a file of several statements.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("postgres: migration %s: %w", m.Name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return false, fmt.Errorf("postgres: record migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("postgres: commit migration %s: %w", m.Name, err)
	}
	return true, nil
}
