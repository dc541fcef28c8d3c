package main

import (
	"context"
	"fmt"
	"io"

	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// runMigrate applies pending migrations explicitly — before a rolling upgrade, say. Every command also
// migrates on start, serialized so that instances starting together migrate once.
func runMigrate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("migrate", e, &g)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var applied int
	var database string
	if g.databaseURL != "" {
		database = "PostgreSQL"
		n, err := postgres.Migrate(ctx, g.databaseURL)
		if err != nil {
			return commandError(e, &g, err)
		}
		applied = n
	} else {
		database = "SQLite " + g.databasePath()
		n, err := sqlite.Migrate(ctx, g.databasePath())
		if err != nil {
			return commandError(e, &g, err)
		}
		applied = n
	}
	return output(e, &g, map[string]any{"database": database, "applied": applied}, func(w io.Writer) {
		if applied == 0 {
			fmt.Fprintf(w, "%s is up to date.\n", database)
			return
		}
		fmt.Fprintf(w, "Applied %d migration(s) to %s.\n", applied, database)
	})
}
