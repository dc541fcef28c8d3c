package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// workspaceJSON is what workspace commands print with --json.
type workspaceJSON struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	CreatedAt string       `json:"created_at"`
	Settings  settingsJSON `json:"settings"`
}

type settingsJSON struct {
	AllowedOrigins      []string `json:"allowed_origins"`
	Onboarding          string   `json:"onboarding"`
	FirstMessage        string   `json:"first_message"`
	LoginURL            string   `json:"login_url"`
	HideUntilLogin      bool     `json:"hide_until_login"`
	AllowedEmailDomains []string `json:"allowed_email_domains"`
	RequireVerified     bool     `json:"require_verified"`
	MaxTokenLifetime    string   `json:"max_token_lifetime"`
	VerifiedIdleTimeout string   `json:"verified_idle_timeout"`
	VerifiedLifetime    string   `json:"verified_lifetime"`
	VisitorIdleTimeout  string   `json:"visitor_idle_timeout"`
	ReadReceipts        string   `json:"read_receipts"`
}

func workspaceShape(w store.Workspace) workspaceJSON {
	s := w.Settings
	onboarding := "off"
	if s.Onboarding {
		onboarding = "on"
	}
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return workspaceJSON{
		ID: w.ID, Name: w.Name, CreatedAt: w.CreatedAt.Format(time.RFC3339),
		Settings: settingsJSON{
			AllowedOrigins: nonNil(s.AllowedOrigins), Onboarding: onboarding, FirstMessage: s.FirstMessage,
			LoginURL: s.LoginURL, HideUntilLogin: s.HideUntilLogin, AllowedEmailDomains: nonNil(s.AllowedEmailDomains),
			RequireVerified: s.RequireVerified, MaxTokenLifetime: chat.MaxLifetime(s).String(),
			VerifiedIdleTimeout: chat.VerifiedIdleTimeout(s).String(), VerifiedLifetime: chat.VerifiedLifetime(s).String(),
			VisitorIdleTimeout: chat.VisitorIdleTimeout(s).String(), ReadReceipts: onOff(!s.HideReadReceipts),
		},
	}
}

func printWorkspace(w io.Writer, ws store.Workspace) {
	s := workspaceShape(ws).Settings
	fmt.Fprintf(w, "workspace %s  %q\n", ws.ID, ws.Name)
	fmt.Fprintf(w, "  allowed origins        %s\n", listOrAny(s.AllowedOrigins, "any origin"))
	fmt.Fprintf(w, "  onboarding             %s\n", s.Onboarding)
	fmt.Fprintf(w, "  first message          %q\n", s.FirstMessage)
	fmt.Fprintf(w, "  login url              %s\n", s.LoginURL)
	fmt.Fprintf(w, "  hide until login       %t\n", s.HideUntilLogin)
	fmt.Fprintf(w, "  allowed email domains  %s\n", listOrAny(s.AllowedEmailDomains, "any domain"))
	fmt.Fprintf(w, "  require verified       %t\n", s.RequireVerified)
	fmt.Fprintf(w, "  max token lifetime     %s\n", s.MaxTokenLifetime)
	fmt.Fprintf(w, "  verified idle timeout  %s\n", s.VerifiedIdleTimeout)
	fmt.Fprintf(w, "  verified lifetime      %s\n", s.VerifiedLifetime)
	fmt.Fprintf(w, "  visitor idle timeout   %s\n", s.VisitorIdleTimeout)
	fmt.Fprintf(w, "  read receipts          %s\n", s.ReadReceipts)
}

func listOrAny(l []string, none string) string {
	if len(l) == 0 {
		return "(" + none + ")"
	}
	return strings.Join(l, ", ")
}

func runWorkspace(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: parley workspace create|update|show|list|end-sessions [flags]")
	}
	switch args[0] {
	case "create":
		return workspaceCreate(ctx, e, args[1:])
	case "update":
		return workspaceUpdate(ctx, e, args[1:])
	case "show":
		return workspaceShow(ctx, e, args[1:])
	case "list":
		return workspaceList(ctx, e, args[1:])
	case "end-sessions":
		return workspaceEndSessions(ctx, e, args[1:])
	}
	return usagef("unknown workspace command %q (create, update, show, list, end-sessions)", args[0])
}

func workspaceCreate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace create", e, &g)
	name := fs.String("name", "", "the business's name (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return commandError(e, &g, usagef("--name is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		w, err := svc.CreateWorkspace(ctx, *name)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]string{"id": w.ID, "name": w.Name}, func(out io.Writer) {
			fmt.Fprintf(out, "Created workspace %s (%q).\n", w.ID, w.Name)
			fmt.Fprintf(out, "Next: parley key create --workspace %s\n", w.ID)
		})
	}))
}

func workspaceUpdate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace update", e, &g)
	id := fs.String("workspace", "", "workspace id (required)")
	name := fs.String("name", "", "rename the workspace")
	origins := fs.String("allowed-origins", "", "comma-separated origins allowed to embed the widget, e.g. https://shop.example (empty: any)")
	onboarding := fs.String("onboarding", "", "on: ask name and email before the first message; off: don't")
	loginURL := fs.String("login-url", "", "the page where customers sign in to your site")
	firstMessage := fs.String("first-message", "", "greeting shown when the widget opens; may point to the login page")
	hide := fs.Bool("hide-until-login", false, "show the widget only to signed-in customers (--hide-until-login=false to undo)")
	domains := fs.String("allowed-email-domains", "", "comma-separated domains; only verified emails of these see the widget and may log in")
	requireVerified := fs.Bool("require-verified", false, "only verified customers may send messages (--require-verified=false to undo)")
	maxLifetime := fs.Duration("max-token-lifetime", 0, "longest exp − iat a login token may have, e.g. 10m")
	verifiedIdle := fs.Duration("verified-idle-timeout", 0, "a verified session not used for this long ends, e.g. 12h (1m to 720h; 0: the default, 12h)")
	verifiedLifetime := fs.Duration("verified-lifetime", 0, "a verified session ends this long after its login however busy, e.g. 168h (5m to 8760h, at least the verified idle timeout; 0: the default, 168h)")
	visitorIdle := fs.Duration("visitor-idle-timeout", 0, "an anonymous or identified session not used for this long ends, e.g. 720h (1h to 8760h; 0: the default, 720h)")
	readReceipts := fs.String("read-receipts", "", "on: customers see \"Read\" once an agent read their messages (the default); off: they don't")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	var p chat.SettingsPatch
	var usageErr error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			p.Name = name
		case "allowed-origins":
			l := splitList(*origins)
			p.AllowedOrigins = &l
		case "onboarding":
			switch strings.ToLower(*onboarding) {
			case "on", "true":
				v := true
				p.Onboarding = &v
			case "off", "false":
				v := false
				p.Onboarding = &v
			default:
				usageErr = usagef("--onboarding must be on or off")
			}
		case "login-url":
			p.LoginURL = loginURL
		case "first-message":
			p.FirstMessage = firstMessage
		case "hide-until-login":
			p.HideUntilLogin = hide
		case "allowed-email-domains":
			l := splitList(*domains)
			p.AllowedEmailDomains = &l
		case "require-verified":
			p.RequireVerified = requireVerified
		case "max-token-lifetime":
			p.MaxTokenLifetime = maxLifetime
		case "verified-idle-timeout":
			p.VerifiedIdleTimeout = verifiedIdle
		case "verified-lifetime":
			p.VerifiedLifetime = verifiedLifetime
		case "visitor-idle-timeout":
			p.VisitorIdleTimeout = visitorIdle
		case "read-receipts":
			switch strings.ToLower(*readReceipts) {
			case "on", "true":
				v := true
				p.ReadReceipts = &v
			case "off", "false":
				v := false
				p.ReadReceipts = &v
			default:
				usageErr = usagef("--read-receipts must be on or off")
			}
		}
	})
	if usageErr != nil {
		return commandError(e, &g, usageErr)
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		w, err := svc.UpdateWorkspace(ctx, *id, p)
		if err != nil {
			return err
		}
		return output(e, &g, workspaceShape(w), func(out io.Writer) { printWorkspace(out, w) })
	}))
}

// workspaceShow prints one workspace and its settings.
func workspaceShow(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace show", e, &g)
	id := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		w, err := svc.Workspace(ctx, *id)
		if err != nil {
			return err
		}
		return output(e, &g, workspaceShape(w), func(out io.Writer) { printWorkspace(out, w) })
	}))
}

func workspaceList(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace list", e, &g)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		ws, err := svc.Store().Workspaces(ctx)
		if err != nil {
			return err
		}
		list := make([]workspaceJSON, len(ws))
		for i, w := range ws {
			list[i] = workspaceShape(w)
		}
		return output(e, &g, map[string]any{"workspaces": list}, func(out io.Writer) {
			if len(ws) == 0 {
				fmt.Fprintln(out, "No workspaces yet. Create one with: parley workspace create --name NAME")
			}
			for _, w := range ws {
				printWorkspace(out, w)
			}
		})
	}))
}

// workspaceEndSessions ends every live widget session of a workspace: every browser continues as a
// fresh anonymous visitor and must log in again.
func workspaceEndSessions(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("workspace end-sessions", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		n, err := svc.EndWorkspaceSessions(ctx, *ws)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]any{"workspace": *ws, "ended_sessions": n}, func(out io.Writer) {
			fmt.Fprintf(out, "Ended %d widget session(s) of workspace %s; every visitor continues anonymously.\n", n, *ws)
		})
	}))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
