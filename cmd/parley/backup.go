package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// runBackup copies the embedded database while the server runs. On PostgreSQL it writes nothing and
// prints the pg_dump command instead: the database's own tool does it better (and it fails, so that a
// script expecting a file never believes it has one).
func runBackup(ctx context.Context, e env, args []string) error {
	var g global
	var to string
	var force bool
	flags := newFlags("backup", e, &g)
	flags.StringVar(&to, "to", "", "the backup file to write (required); it must not exist unless --force")
	flags.BoolVar(&force, "force", false, "replace the --to file if it exists")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if g.databaseURL != "" {
		file := to
		if file == "" {
			file = "parley-$(date +%F).dump"
		}
		return useDatabaseTools(e, &g, "pg_dump", "pg_dump --format=custom --file="+shellWord(file)+" ", "")
	}
	if to == "" {
		return commandError(e, &g, usagef("--to FILE is required: the backup file to write"))
	}
	info, err := sqlite.Backup(ctx, g.databasePath(), to, force)
	switch {
	case errors.Is(err, fs.ErrExist):
		return commandError(e, &g, problem.New(http.StatusConflict, "backup_exists",
			"%s exists already; choose another name, or pass --force to replace it", to))
	case errors.Is(err, sqlite.ErrNoDatabase):
		return commandError(e, &g, problem.New(http.StatusNotFound, "no_database",
			"there is no database at %s: check --data (or PARLEY_DATA)", g.databasePath()))
	case err != nil:
		return commandError(e, &g, err)
	}
	key := masterKeyLocation(e, &g)
	reminder := "The master key is not in this backup, and the backup is useless without it: the signing secrets in it are sealed with that key. " +
		"Keep a copy of the key separately from the backups (a password manager or secret store), never beside them."
	out := map[string]any{
		"file": to, "bytes": info.Size, "schema_version": info.SchemaVersion,
		"workspaces": info.Workspaces, "conversations": info.Conversations, "messages": info.Messages,
		"attachments": info.Attachments, "attachment_bytes": info.AttachmentBytes,
		"master_key": key, "reminder": reminder,
	}
	return output(e, &g, out, func(w io.Writer) {
		fmt.Fprintf(w, "Wrote %s (%s), a consistent copy of %s at schema version %d:\n", to, humanBytes(info.Size), g.databasePath(), info.SchemaVersion)
		fmt.Fprintf(w, "  %d workspace(s), %d conversation(s), %d message(s), %d attachment(s) of %s (attachments are stored in the database, so they are in the backup).\n",
			info.Workspaces, info.Conversations, info.Messages, info.Attachments, humanBytes(info.AttachmentBytes))
		fmt.Fprintln(w)
		fmt.Fprintln(w, reminder)
		switch key {
		case seal.EnvVar:
			fmt.Fprintf(w, "Your master key is the value of %s.\n", seal.EnvVar)
		case "":
			fmt.Fprintf(w, "No master key exists yet (neither %s nor %s): nothing is sealed in this backup yet.\n", seal.EnvVar, filepath.Join(g.data, seal.FileName))
		default:
			fmt.Fprintf(w, "Your master key is the file %s.\n", key)
		}
	})
}

// runRestore puts a backup in place of the embedded database, which no process may have open.
func runRestore(ctx context.Context, e env, args []string) error {
	var g global
	var from string
	var force bool
	flags := newFlags("restore", e, &g)
	flags.StringVar(&from, "from", "", "the backup file to restore (required), as parley backup wrote it")
	flags.BoolVar(&force, "force", false, "replace an existing database (which is kept as parley.db.before-restore-<time>)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if g.databaseURL != "" {
		file := from
		if file == "" {
			file = "parley.dump"
		}
		return useDatabaseTools(e, &g, "pg_restore", "pg_restore --clean --if-exists --dbname=", " "+shellWord(file))
	}
	if from == "" {
		return commandError(e, &g, usagef("--from FILE is required: the backup file to restore"))
	}
	path := g.databasePath()
	res, err := sqlite.Restore(ctx, from, path, force, time.Now())
	switch {
	case errors.Is(err, sqlite.ErrInUse):
		return commandError(e, &g, problem.New(http.StatusConflict, "database_in_use",
			"%s is open in a running Parley process (parley serve, or another command): stop it, then run restore again; nothing was changed", path))
	case errors.Is(err, sqlite.ErrNotDatabase):
		return commandError(e, &g, problem.New(http.StatusUnprocessableEntity, "not_a_parley_database",
			"%s; nothing was changed", trimCause(err, sqlite.ErrNotDatabase)))
	case errors.Is(err, sqlite.ErrTooNew):
		return commandError(e, &g, problem.New(http.StatusConflict, "schema_too_new", "%s; nothing was changed", trimCause(err, sqlite.ErrTooNew)))
	case errors.Is(err, fs.ErrExist):
		return commandError(e, &g, problem.New(http.StatusConflict, "database_exists",
			"a database exists at %s: pass --force to replace it (it is kept as %s.before-restore-<time>); nothing was changed", path, path))
	case err != nil:
		return commandError(e, &g, err)
	}
	key := masterKeyLocation(e, &g)
	out := map[string]any{
		"database": path, "from": from, "bytes": res.Size,
		"schema_version": res.SchemaVersion, "latest_schema_version": res.Latest, "migrates_on_start": res.SchemaVersion < res.Latest,
		"workspaces": res.Workspaces, "conversations": res.Conversations, "messages": res.Messages,
		"attachments": res.Attachments, "attachment_bytes": res.AttachmentBytes,
		"kept": nonNil(res.Moved), "master_key": key,
	}
	return output(e, &g, out, func(w io.Writer) {
		fmt.Fprintf(w, "Restored %s to %s (%s) at schema version %d:\n", from, path, humanBytes(res.Size), res.SchemaVersion)
		fmt.Fprintf(w, "  %d workspace(s), %d conversation(s), %d message(s), %d attachment(s) of %s.\n",
			res.Workspaces, res.Conversations, res.Messages, res.Attachments, humanBytes(res.AttachmentBytes))
		if res.SchemaVersion < res.Latest {
			fmt.Fprintf(w, "This parley brings it to schema version %d when it next opens it (parley serve, or parley migrate).\n", res.Latest)
		}
		for _, kept := range res.Moved {
			fmt.Fprintf(w, "The database it replaced is kept as %s; delete it once the restore is confirmed.\n", kept)
		}
		switch key {
		case seal.EnvVar:
			fmt.Fprintf(w, "Master key: %s is set. It must be the key in use when the backup was made; with another, serve refuses to start.\n", seal.EnvVar)
		case "":
			fmt.Fprintf(w, "Master key: none found. Put the key that belongs to this backup in %s (or set %s) before starting serve; without it, serve creates a new key, cannot open the backup's secrets and refuses to start.\n",
				filepath.Join(g.data, seal.FileName), seal.EnvVar)
		default:
			fmt.Fprintf(w, "Master key: %s. It must be the key in use when the backup was made; with another, serve refuses to start.\n", key)
		}
	})
}

// masterKeyLocation says where the master key of this installation is: the environment variable's
// name, the key file's path, or "" when there is none yet.
func masterKeyLocation(e env, g *global) string {
	if e.getenv(seal.EnvVar) != "" {
		return seal.EnvVar
	}
	path := filepath.Join(g.data, seal.FileName)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return ""
}

// useDatabaseTools answers backup and restore on PostgreSQL: they are the database's own tools' job
// (pg_dump and pg_restore: consistent, online, and point-in-time recovery beyond them). It prints the
// exact command for the configured database and fails with use_database_tools, having written nothing.
func useDatabaseTools(e env, g *global, tool, before, after string) error {
	target, note := libpqURL(g.databaseURL, tool)
	command := before + shellWord(target) + after
	msg := fmt.Sprintf("nothing was written: on PostgreSQL, %s is the tool; run: %s", tool, command)
	if note != "" {
		msg += " (" + note + ")"
	}
	p := problem.New(http.StatusConflict, "use_database_tools", "%s", msg)
	if g.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{
			"error":   map[string]string{"code": p.Code, "message": p.Message},
			"tool":    tool,
			"command": command,
		})
		return p
	}
	fmt.Fprintf(e.stdout, "Parley's data is in PostgreSQL: use %s, which reads one consistent snapshot while Parley runs.\n\n    %s\n\n", tool, command)
	if note != "" {
		fmt.Fprintln(e.stdout, strings.ToUpper(note[:1])+note[1:]+".")
	}
	fmt.Fprintf(e.stdout, "Keep %s in your secret store, backed up separately from the dumps: a dump is useless without it.\n", seal.EnvVar)
	fmt.Fprintln(e.stdout, "Nothing was written. See docs/deploy.md, \"Backups (PostgreSQL)\".")
	return p
}

// libpqKeyword reports whether libpq (pg_dump's client library) accepts k as a URL parameter. pgx takes
// more (pool_max_conns, or any run-time setting such as enable_seqscan), which libpq refuses.
func libpqKeyword(k string) bool {
	switch k {
	case "host", "hostaddr", "port", "dbname", "user", "passfile", "require_auth", "channel_binding",
		"connect_timeout", "client_encoding", "options", "application_name", "fallback_application_name",
		"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"replication", "gssencmode", "sslmode", "sslnegotiation", "requiressl", "sslcompression", "sslcert",
		"sslkey", "sslkeylogfile", "sslpassword", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
		"requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib",
		"gssdelegation", "service", "target_session_attrs", "load_balance_hosts", "min_protocol_version",
		"max_protocol_version":
		return true
	}
	return false
}

// libpqURL turns Parley's database URL into one pg_dump and pg_restore accept and that is safe to print: the
// password is removed (libpq reads it from PGPASSWORD or ~/.pgpass) and pgx-only parameters are left out.
// note says what was changed, "" when nothing was. A connection string that is not a URL is referred
// to by its environment variable.
func libpqURL(raw, tool string) (target, note string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "$PARLEY_DATABASE_URL", "the configured connection string is not a postgres:// URL, so the command reads it from PARLEY_DATABASE_URL; it must hold only settings libpq knows"
	}
	var notes []string
	if _, has := u.User.Password(); has {
		u.User = url.User(u.User.Username())
		notes = append(notes, "the password is left out: give it in PGPASSWORD or ~/.pgpass")
	}
	q := u.Query()
	var dropped []string
	for k := range q {
		switch {
		case k == "password":
			q.Del(k)
			if len(notes) == 0 {
				notes = append(notes, "the password is left out: give it in PGPASSWORD or ~/.pgpass")
			}
		case !libpqKeyword(k):
			q.Del(k)
			dropped = append(dropped, k)
		}
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		notes = append(notes, "Parley's own connection settings are left out ("+strings.Join(dropped, ", ")+"): "+tool+" does not know them")
	}
	u.RawQuery = q.Encode()
	return u.String(), strings.Join(notes, "; ")
}

// shellWord quotes s for a POSIX shell, leaving it bare when it is plainly safe. $PARLEY_DATABASE_URL
// and $(date …) are meant to be expanded, so they are double-quoted.
func shellWord(s string) string {
	if strings.HasPrefix(s, "$") || strings.Contains(s, "$(") {
		return `"` + s + `"`
	}
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// trimCause is err's message without the sentinel's own text at its end.
func trimCause(err, sentinel error) string {
	return strings.TrimSuffix(err.Error(), ": "+sentinel.Error())
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// humanBytes formats a size for people: 512 B, 1.5 KiB, 12.3 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
