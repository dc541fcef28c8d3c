package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// Defaults shared by flags, env variables and the README.
const (
	DefaultData = "./parley-data"
	DefaultAddr = "127.0.0.1:8080"
)

// usageError marks a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// env is the process environment as run receives it.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// global holds the options every command accepts. Each has one name as a flag and as an env variable.
type global struct {
	data        string
	databaseURL string
	json        bool
	logLevel    string
	logFormat   string
	// jwksAllow are the private networks JWKS URLs may be fetched from: set by the commands that fetch
	// (serve, key create) from --jwks-allow-networks.
	jwksAllow []netip.Prefix
	// webhookAllow are the private networks webhooks may be delivered to (serve's --webhook-allow-networks).
	webhookAllow []netip.Prefix
	// now is the service's clock: nil means time.Now; serve sets it from PARLEY_CLOCK_OFFSET_FILE.
	now func() time.Time
	// announceDelay holds the relay's announcements back (serve, from PARLEY_TEST_ANNOUNCE_DELAY).
	announceDelay time.Duration
	// mailer and publicURL: serve's email settings (nil and "" without SMTP).
	mailer    *mail.Sender
	publicURL string
}

func (g *global) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&g.data, "data", envOr(e, "PARLEY_DATA", DefaultData), "data folder of the embedded database (env PARLEY_DATA)")
	fs.StringVar(&g.databaseURL, "database-url", e.getenv("PARLEY_DATABASE_URL"), "PostgreSQL URL instead of the embedded database (env PARLEY_DATABASE_URL)")
	fs.BoolVar(&g.json, "json", false, "print exactly one JSON object on stdout")
	fs.StringVar(&g.logLevel, "log-level", envOr(e, "PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error (env PARLEY_LOG_LEVEL)")
	fs.StringVar(&g.logFormat, "log-format", envOr(e, "PARLEY_LOG_FORMAT", "text"), "text or json (env PARLEY_LOG_FORMAT)")
}

func envOr(e env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

func (g *global) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, usagef("--log-level must be debug, info, warn or error")
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format must be text or json")
}

// openStore opens the configured database: PostgreSQL when a URL is given, else the embedded one.
func (g *global) openStore(ctx context.Context) (store.Store, error) {
	if g.databaseURL != "" {
		return postgres.Open(ctx, g.databaseURL, postgres.Options{})
	}
	return sqlite.Open(ctx, g.databasePath(), sqlite.Options{})
}

// databasePath is the embedded database's file in the data folder.
func (g *global) databasePath() string { return filepath.Join(g.data, "parley.db") }

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"workspace", "create or update a workspace: workspace create|update|list", runWorkspace},
		{"key", "manage token signing keys: key create|list|revoke", runKey},
		{"agent", "manage support agents: agent create|list", runAgent},
		{"apikey", "manage customers API keys: apikey create|list|revoke", runAPIKey},
		{"webhook", "manage webhook endpoints: webhook create|list|update|rotate|delete|test", runWebhook},
		{"audit", "show the audit trail of keys and API keys", runAudit},
		{"email", "check outbound email: email test --to ADDRESS", runEmail},
		{"migrate", "apply pending database migrations and exit", runMigrate},
		{"backup", "copy the database while the server runs: backup --to FILE", runBackup},
		{"restore", "put a backup in place of the database: restore --from FILE", runRestore},
		{"version", "print the version, commit and Go version of this binary (also --version)", runVersion},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	args, err := hoistGlobals(args)
	if err != nil {
		return err
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return nil
	}
	// Changes made from the command line are recorded as such in the audit trail.
	ctx = chat.WithActor(ctx, "cli")
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	printUsage(stderr)
	return usagef("unknown command %q", args[0])
}

// hoistGlobals lets global flags come before the command (`parley --data d key list …`) by moving them
// behind it, where the command's own flag set parses them.
func hoistGlobals(args []string) ([]string, error) {
	withValue := map[string]bool{"data": true, "database-url": true, "log-level": true, "log-format": true}
	var globals []string
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-h" && args[i] != "--help" {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if name == "version" && !hasValue {
			// `parley --version` (or -version), the spelling most tools answer to, is the version command.
			args = append(append(args[:i:i], "version"), args[i+1:]...)
			break
		}
		switch {
		case name == "json" || (withValue[name] && hasValue):
			globals = append(globals, args[i])
			i++
		case withValue[name] && i+1 < len(args):
			globals = append(globals, args[i], args[i+1])
			i += 2
		default:
			return nil, usagef("flag %s must come after the command (or is unknown)", args[i])
		}
	}
	if i == len(args) {
		return args[i:], nil
	}
	// Keep the command (and a sub-command such as "create") first.
	rest := []string{args[i]}
	i++
	if i < len(args) && !strings.HasPrefix(args[i], "-") {
		rest = append(rest, args[i])
		i++
	}
	rest = append(rest, args[i:]...)
	return append(rest, globals...), nil
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: parley <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command accepts --data DIR, --database-url URL and --json. Run `parley <command> -h` for its flags.")
}

// newFlags returns a flag set for a subcommand that reports errors instead of exiting.
func newFlags(name string, e env, g *global) *flag.FlagSet {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	g.register(fs, e)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// output prints a command's result: v as one JSON object with --json, human text otherwise.
func output(e env, g *global, v any, human func(w io.Writer)) error {
	if g.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human(e.stdout)
	return nil
}

// commandError reports err; with --json the error is the one JSON object on stdout.
func commandError(e env, g *global, err error) error {
	if err == nil || !g.json {
		return err
	}
	code, msg := "error", err.Error()
	if p, ok := problem.As(err); ok {
		code, msg = p.Code, p.Message
	}
	var u usageError
	if errors.As(err, &u) {
		code = "usage"
	}
	_ = json.NewEncoder(e.stdout).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	return err
}

// masterKey loads the key that seals secrets in the database: PARLEY_MASTER_KEY, else the key file in
// the data folder, created on first use.
func (g *global) masterKey(e env, log *slog.Logger) (*seal.Box, error) {
	if g.databaseURL != "" && e.getenv(seal.EnvVar) == "" {
		// Instances sharing a database must share its master key; a key file per machine would differ.
		return nil, fmt.Errorf("with --database-url, set %s (32 bytes, base64: openssl rand -base64 32) to the same value on every instance", seal.EnvVar)
	}
	key, created, err := seal.Load(e.getenv(seal.EnvVar), g.data)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if created {
		log.Info("created the master key that seals signing secrets; back it up with the database, which is useless without it",
			"path", filepath.Join(g.data, seal.FileName))
	}
	return seal.New(key)
}

// newService opens the store and the master key and returns a domain service over them, with every
// secret sealed and the master key checked against the database.
func (g *global) newService(ctx context.Context, e env, log *slog.Logger, events chat.Publisher) (*chat.Service, store.Store, error) {
	st, err := g.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	box, err := g.masterKey(e, log)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	jwks := identity.NewJWKSFetcher(identity.JWKSOptions{Logger: log, AllowNetworks: g.jwksAllow})
	cfg := chat.Config{Store: st, Events: events, Logger: log, Secrets: box, JWKS: jwks, Now: g.now, PublicURL: g.publicURL,
		WebhookAllowNetworks: g.webhookAllow}
	if g.mailer != nil {
		cfg.Mailer = g.mailer // a nil *mail.Sender in the interface would look configured
	}
	if n, ok := st.(chat.Notifier); ok {
		// Instances share the database: events travel through it (see chat.RunRelay).
		cfg.Notifier, cfg.AnnounceDelay = n, g.announceDelay
	}
	svc := chat.New(cfg)
	n, err := svc.SealSecrets(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if n > 0 {
		log.Info("sealed signing secrets stored in the clear by an earlier version", "count", n)
	}
	return svc, st, nil
}

// withService opens the store and runs fn with a domain service over it.
func withService(ctx context.Context, e env, g *global, fn func(*chat.Service) error) error {
	log, err := g.logger(e.stderr)
	if err != nil {
		return err
	}
	svc, st, err := g.newService(ctx, e, log, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(svc)
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}
