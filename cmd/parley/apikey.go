package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

func runAPIKey(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: parley apikey create|list|revoke --workspace ID [flags]")
	}
	switch args[0] {
	case "create":
		return apikeyCreate(ctx, e, args[1:])
	case "list":
		return apikeyList(ctx, e, args[1:])
	case "revoke":
		return apikeyRevoke(ctx, e, args[1:])
	}
	return usagef("unknown apikey command %q (create, list, revoke)", args[0])
}

func apikeyCreate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("apikey create", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	name := fs.String("name", "", "a label, such as the back end that uses the key")
	scopes := fs.String("scopes", strings.Join(chat.DefaultScopes(), ","), "comma-separated scopes (also: "+store.ScopeCustomersErase+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		k, err := svc.CreateAPIKey(ctx, *ws, *name, splitList(*scopes))
		if err != nil {
			return err
		}
		return output(e, &g, map[string]any{"id": k.ID, "key": k.Key, "name": k.Name, "scopes": k.Scopes}, func(out io.Writer) {
			fmt.Fprintf(out, "Created API key %s for workspace %s (scopes: %s).\n\n", k.ID, *ws, strings.Join(k.Scopes, ", "))
			fmt.Fprintf(out, "  key: %s\n\n", k.Key)
			fmt.Fprintln(out, "This is the only time the key is shown. Keep it on your back end and send it as")
			fmt.Fprintln(out, "`Authorization: Bearer <key>` to the customers API; never put it in a web page.")
		})
	}))
}

type apiKeyJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	CreatedAt  string   `json:"created_at"`
	RevokedAt  string   `json:"revoked_at,omitempty"`
	LastUsedAt string   `json:"last_used_at,omitempty"`
}

// rfc3339 formats a time for the CLI's output; the zero time ("never") is empty.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func apikeyList(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("apikey list", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		keys, err := svc.APIKeys(ctx, *ws)
		if err != nil {
			return err
		}
		list := make([]apiKeyJSON, len(keys))
		for i, k := range keys {
			list[i] = apiKeyJSON{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: rfc3339(k.CreatedAt), RevokedAt: rfc3339(k.RevokedAt), LastUsedAt: rfc3339(k.LastUsedAt)}
		}
		return output(e, &g, map[string]any{"api_keys": list}, func(out io.Writer) {
			if len(list) == 0 {
				fmt.Fprintf(out, "No API keys. Create one with: parley apikey create --workspace %s\n", *ws)
			}
			for _, k := range list {
				state := "live"
				if k.RevokedAt != "" {
					state = "revoked " + k.RevokedAt
				}
				fmt.Fprintf(out, "%s  %-30q  %s  created %s  last used %s  %s\n", k.ID, k.Name, strings.Join(k.Scopes, ","),
					k.CreatedAt, cmp.Or(k.LastUsedAt, "never"), state)
			}
		})
	}))
}

func apikeyRevoke(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("apikey revoke", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	id := fs.String("id", "", "the API key id, ak_… (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" || *id == "" {
		return commandError(e, &g, usagef("--workspace and --id are required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		if err := svc.RevokeAPIKey(ctx, *ws, *id); err != nil {
			return err
		}
		return output(e, &g, map[string]any{"id": *id, "revoked": true}, func(out io.Writer) {
			fmt.Fprintf(out, "Revoked API key %s. Calls with it are refused from now on.\n", *id)
		})
	}))
}

func runAudit(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("audit", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	limit := fs.Int("limit", 50, "how many events, newest first")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		if _, err := svc.Workspace(ctx, *ws); err != nil {
			return err
		}
		events, err := svc.AuditEvents(ctx, *ws, *limit)
		if err != nil {
			return err
		}
		type eventJSON struct {
			At     string `json:"at"`
			Actor  string `json:"actor"`
			Action string `json:"action"`
			Target string `json:"target"`
			Detail string `json:"detail,omitempty"`
		}
		list := make([]eventJSON, len(events))
		for i, ev := range events {
			list[i] = eventJSON{At: rfc3339(ev.At), Actor: ev.Actor, Action: ev.Action, Target: ev.Target, Detail: ev.Detail}
		}
		return output(e, &g, map[string]any{"events": list}, func(out io.Writer) {
			for _, ev := range list {
				fmt.Fprintf(out, "%s  %-18s %-22s %s  %s\n", ev.At, ev.Action, ev.Target, ev.Actor, ev.Detail)
			}
		})
	}))
}
