package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/parleyhq/parley/internal/buildinfo"
	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/console"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/widget"
)

// shutdownTimeout bounds the graceful drain after SIGTERM.
const shutdownTimeout = 15 * time.Second

type serveOptions struct {
	addr           string
	trustedProxies string
	jwksAllow      string
	webhookAllow   string
	noRateLimits   bool
	maxSockets     int
	metricsAddr    string
	demo           bool
	cleanup        time.Duration
	mail           mailOptions
}

func runServe(ctx context.Context, e env, args []string) error {
	var g global
	var o serveOptions
	fs := newFlags("serve", e, &g)
	fs.StringVar(&o.addr, "addr", envOr(e, "PARLEY_ADDR", DefaultAddr), "listen address HOST:PORT (env PARLEY_ADDR)")
	fs.StringVar(&o.trustedProxies, "trusted-proxies", e.getenv("PARLEY_TRUSTED_PROXIES"), "comma-separated CIDRs of load balancers whose X-Forwarded-For is believed (env PARLEY_TRUSTED_PROXIES)")
	fs.StringVar(&o.jwksAllow, "jwks-allow-networks", e.getenv(jwksAllowEnv), jwksAllowUsage)
	fs.StringVar(&o.webhookAllow, "webhook-allow-networks", e.getenv("PARLEY_WEBHOOK_ALLOW_NETWORKS"), "comma-separated CIDRs of private, loopback or link-local networks webhooks may be delivered to, for receivers on your own network; plain http goes only to these (env PARLEY_WEBHOOK_ALLOW_NETWORKS; default none: public https only)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", e.getenv("PARLEY_METRICS_ADDR"), metricsAddrUsage)
	fs.BoolVar(&o.noRateLimits, "no-rate-limits", false, "disable per-client rate limits (load tests only)")
	maxSocketsDefault, err := intEnv(e, "PARLEY_MAX_SOCKETS", httpapi.DefaultSocketLimits().Total)
	if err != nil {
		return err
	}
	fs.IntVar(&o.maxSockets, "max-sockets", maxSocketsDefault, "widget WebSockets this process holds at most; beyond it new ones close with 1013 and the widget retries (env PARLEY_MAX_SOCKETS; each needs a file descriptor: raise ulimit -n above it)")
	fs.BoolVar(&o.demo, "demo", false, "also serve a demo shop at / (creates a demo workspace, key and agent on first run)")
	cleanupDefault, err := durationEnv(e, "PARLEY_CLEANUP_INTERVAL", DefaultCleanupInterval)
	if err != nil {
		return err
	}
	fs.DurationVar(&o.cleanup, "cleanup-interval", cleanupDefault, "how often to end expired sessions and delete expired records, e.g. 5m; 0 turns cleanup off (env PARLEY_CLEANUP_INTERVAL)")
	o.mail.register(fs, e)
	o.mail.registerPublic(fs, e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.cleanup < 0 {
		return usagef("--cleanup-interval must not be negative")
	}
	if o.maxSockets < 1 {
		return usagef("--max-sockets must be at least 1, got %d", o.maxSockets)
	}
	sender, err := o.mail.sender()
	if err != nil {
		return err
	}
	publicURL, err := o.mail.checkPublicURL(sender != nil)
	if err != nil {
		return err
	}
	g.mailer, g.publicURL = sender, publicURL
	log, err := g.logger(e.stderr)
	if err != nil {
		return err
	}
	// The first line of every server log says which build wrote it, for whoever reads the log later.
	bi := buildinfo.Read()
	log.Info("starting parley", "version", bi.Version, "commit", bi.Short(), "go", bi.GoVersion, "platform", bi.OS+"/"+bi.Arch)
	proxies, err := parsePrefixes("--trusted-proxies", o.trustedProxies)
	if err != nil {
		return err
	}
	if g.jwksAllow, err = parsePrefixes("--jwks-allow-networks", o.jwksAllow); err != nil {
		return err
	}
	if len(g.jwksAllow) > 0 {
		log.Info("JWKS URLs may be fetched from these private networks", "networks", o.jwksAllow)
	}
	if g.webhookAllow, err = parsePrefixes("--webhook-allow-networks", o.webhookAllow); err != nil {
		return err
	}
	if len(g.webhookAllow) > 0 {
		log.Info("webhooks may be delivered to these private networks", "networks", o.webhookAllow)
	}
	if path := e.getenv(clockOffsetEnv); path != "" {
		clock := newOffsetClock(path, func(d time.Duration, err error) {
			if err != nil {
				log.Warn("test clock: offset file unreadable; keeping the offset", "file", path, "offset", d.String(), "err", err)
				return
			}
			log.Info("test clock: offset changed", "file", path, "offset", d.String())
		})
		g.now = clock.Now
		log.Warn("test clock in use: the server's time is shifted by the duration in "+clockOffsetEnv+"; never set it in production", "file", path)
	}
	if v := e.getenv(announceDelayEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			return usagef("%s: want a duration from 0 to 1m, got %q", announceDelayEnv, v)
		}
		g.announceDelay = d
		log.Warn("test knob in use: announcements to other instances are held back by "+announceDelayEnv+"; never set it in production", "delay", d.String())
	}
	hub := realtime.NewHub()
	svc, st, err := g.newService(ctx, e, log, hub)
	if err != nil {
		return err
	}
	defer st.Close()
	var apiMetrics httpapi.Metrics
	if o.metricsAddr != "" {
		m, stop, err := startMetrics(o.metricsAddr, st, g.now, log)
		if err != nil {
			return err
		}
		defer stop()
		svc.UseMetrics(m)
		apiMetrics = m
	}
	assets, err := widget.Load()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer ln.Close()
	base := baseURL(ln.Addr())
	var site http.Handler
	if o.demo {
		if site, err = startDemo(ctx, e, &g, svc, hub, log, base); err != nil {
			return err
		}
	}
	limits, consoleLimits := httpapi.DefaultLimits(), console.DefaultLimits()
	limits.Sockets.Total = o.maxSockets
	if o.noRateLimits {
		limits, consoleLimits = httpapi.Limits{}, console.Limits{}
	}
	warnOpenFiles(log, o.maxSockets)
	// The master key also seals the console's known-device cookies, so they outlive restarts and are
	// valid on every instance sharing the database. It opened every sealed secret in newService already.
	box, err := g.masterKey(e, log)
	if err != nil {
		return err
	}
	setupToken, err := newSetupToken(ctx, svc)
	if err != nil {
		return err
	}
	con, err := console.New(console.Config{Chat: svc, Events: hub, Logger: log, Limits: consoleLimits, TrustedProxies: proxies, Secrets: box, Now: g.now, SetupToken: setupToken})
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Config{
		Chat: svc, Events: hub, Logger: log, Limits: limits, TrustedProxies: proxies, Widget: assets, Site: site, Console: con,
		Ready:   func(ctx context.Context) error { _, err := st.Workspaces(ctx); return err },
		Metrics: apiMetrics,
	})
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if _, shared := st.(chat.Notifier); shared {
		// Events of every instance reach this one's sockets through the database; take no traffic
		// before that works.
		listening := make(chan struct{})
		go func() {
			if err := svc.RunRelay(ctx, hub, listening); err != nil && ctx.Err() == nil {
				log.Error("event relay stopped", "err", err)
			}
		}()
		select {
		case <-listening:
		case <-ctx.Done():
			return nil
		case <-time.After(30 * time.Second):
			return errors.New("could not listen for other instances' events on the database within 30s")
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "url", base, "console", base+"/console/")
	if setupToken != "" {
		printSetupLink(e.stdout, base, setupToken)
		log.Info("Parley is not set up yet: open the setup link printed on standard output (it is not logged)", "setup", base+"/setup")
	}
	if sender != nil {
		st, _ := mail.ParseURL(o.mail.url)
		log.Info("email: sending through SMTP", "smtp", st.Redacted(), "from", sender.From().String())
	} else {
		log.Info("email is off: no --smtp-url; nothing is sent by email")
	}

	// Background work (email) runs from the jobs table; with several instances each job runs once.
	runner := jobs.New(jobs.Config{Store: st, Now: g.now, Logger: log})
	svc.RegisterJobs(runner)
	jctx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); runner.Run(jctx) }()
	defer func() { stopJobs(); <-jobsDone }()

	if o.cleanup > 0 {
		cctx, stop := context.WithCancel(ctx)
		cleaned := make(chan struct{})
		go func() {
			defer close(cleaned)
			runCleanup(cctx, svc, o.cleanup, log)
		}()
		// The store closes when runServe returns: stop cleaning and let a batch in progress end first.
		defer func() { stop(); <-cleaned }()
	} else {
		log.Warn("cleanup is off (--cleanup-interval 0): expired sessions, used token ids and old agent sessions stay in the database")
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests and closing sockets")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// In-flight requests finish (every acknowledged message is already committed); sockets get a close
	// frame telling clients to reconnect, and they resume from their last message id.
	sockets := make(chan error, 1)
	go func() { sockets <- api.Shutdown(sctx) }()
	err = srv.Shutdown(sctx)
	err = errors.Join(err, <-sockets)
	if err != nil {
		log.Warn("shutdown incomplete", "err", err)
	}
	log.Info("stopped")
	return nil
}

// newSetupToken returns the token of the first-run setup link when the store has no workspace (and so no
// agent), or "" when Parley is set up. It is kept in memory only: a restart makes a new one.
func newSetupToken(ctx context.Context, svc *chat.Service) (string, error) {
	configured, err := svc.Configured(ctx)
	if err != nil || configured {
		return "", err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// printSetupLink prints the one place the setup token appears: on standard output, like the demo's
// credentials, and never in the log, which may be shipped elsewhere.
func printSetupLink(w io.Writer, base, token string) {
	fmt.Fprintln(w, "Parley is not set up yet. Open this link to create your workspace, administrator and signing key:")
	fmt.Fprintf(w, "\n  %s/setup#token=%s\n\n", base, token)
	fmt.Fprintln(w, "It works until it is used or this process stops. (Or set up from the command line: parley workspace create, README.md.)")
}

// baseURL is the address people can open: a wildcard listen address is shown as loopback.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// startDemo prepares the demo workspace, key and agent (first run only), starts the demo agent's
// greeter and returns the demo site.
func startDemo(ctx context.Context, e env, g *global, svc *chat.Service, hub *realtime.Hub, log *slog.Logger, base string) (http.Handler, error) {
	setup, created, err := demo.Ensure(ctx, svc, agentCreator{svc}, filepath.Join(g.data, "demo.json"), base)
	if err != nil {
		return nil, err
	}
	w := e.stdout
	if created {
		fmt.Fprintln(w, "Created the demo workspace, signing key and agent (remembered in "+filepath.Join(g.data, "demo.json")+").")
	}
	fmt.Fprintf(w, "Parley demo: open %s/\n", base)
	fmt.Fprintf(w, "  workspace  %s\n", setup.WorkspaceID)
	fmt.Fprintf(w, "  key        %s (HS256) — the demo shop's back end signs logins with it\n", setup.KeyID)
	if setup.AgentEmail != "" {
		fmt.Fprintf(w, "  agent      %s  password %s\n", setup.AgentEmail, setup.AgentPassword)
	}
	go demo.Greet(ctx, svc, hub, setup, log)
	return demo.Handler(setup)
}

// agentCreator adapts the service to what the demo needs.
type agentCreator struct{ svc *chat.Service }

func (a agentCreator) CreateAgent(ctx context.Context, workspaceID, email, name, role, password string) (string, error) {
	agent, err := a.svc.CreateAgent(ctx, workspaceID, email, name, role, password)
	return agent.ID, err
}

// jwksAllowEnv and jwksAllowUsage describe --jwks-allow-networks, which serve and key create share.
const (
	jwksAllowEnv   = "PARLEY_JWKS_ALLOW_NETWORKS"
	jwksAllowUsage = "comma-separated CIDRs of private, loopback or link-local networks JWKS URLs may be fetched from, for an identity provider on your own network; plain http is fetched only from these (env " + jwksAllowEnv + "; default none: public https only)"
)

// parsePrefixes reads a comma-separated list of CIDRs or single addresses given to flag.
func parsePrefixes(flag, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range splitList(s) {
		p, err := netip.ParsePrefix(part)
		if err != nil {
			addr, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return nil, usagef("%s: %q is not a CIDR or address", flag, part)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}
