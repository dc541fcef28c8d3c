package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/parleyhq/parley/internal/chat"
)

func runKey(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: parley key create|list|revoke --workspace ID [flags]")
	}
	switch args[0] {
	case "create":
		return keyCreate(ctx, e, args[1:])
	case "list":
		return keyList(ctx, e, args[1:])
	case "revoke":
		return keyRevoke(ctx, e, args[1:])
	}
	return usagef("unknown key command %q (create, list, revoke)", args[0])
}

func keyCreate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("key create", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	alg := fs.String("alg", "HS256", "HS256, HS384 or HS512")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		k, err := svc.CreateKey(ctx, *ws, *alg)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]string{"kid": k.ID, "alg": k.Alg, "secret": k.Secret}, func(out io.Writer) {
			fmt.Fprintf(out, "Created %s key %s for workspace %s.\n\n", k.Alg, k.ID, *ws)
			fmt.Fprintf(out, "  secret: %s\n\n", k.Secret)
			fmt.Fprintln(out, "This is the only time the secret is shown. Store it on your back end and pass it")
			fmt.Fprintln(out, "unchanged, as a string, as the key to your JWT library. Put the kid in the token")
			fmt.Fprintln(out, "header, or leave it out while the workspace has one key.")
		})
	}))
}

type keyJSON struct {
	Kid        string `json:"kid"`
	Alg        string `json:"alg"`
	CreatedAt  string `json:"created_at"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	LastUsedAt string `json:"last_used_at,omitempty"`
}

func keyList(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("key list", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		keys, err := svc.Keys(ctx, *ws)
		if err != nil {
			return err
		}
		stamp := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		}
		list := make([]keyJSON, len(keys))
		for i, k := range keys {
			list[i] = keyJSON{Kid: k.ID, Alg: k.Alg, CreatedAt: stamp(k.CreatedAt), RevokedAt: stamp(k.RevokedAt), LastUsedAt: stamp(k.LastUsedAt)}
		}
		return output(e, &g, map[string]any{"keys": list}, func(out io.Writer) {
			if len(list) == 0 {
				fmt.Fprintf(out, "No keys. Create one with: parley key create --workspace %s\n", *ws)
			}
			for _, k := range list {
				state := "active"
				if k.RevokedAt != "" {
					state = "revoked " + k.RevokedAt
				}
				used := k.LastUsedAt
				if used == "" {
					used = "never"
				}
				fmt.Fprintf(out, "%s  %s  created %s  last used %s  %s\n", k.Kid, k.Alg, k.CreatedAt, used, state)
			}
		})
	}))
}

func keyRevoke(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("key revoke", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	kid := fs.String("kid", "", "the key to revoke (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" || *kid == "" {
		return commandError(e, &g, usagef("--workspace and --kid are required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		if err := svc.RevokeKey(ctx, *ws, *kid); err != nil {
			return err
		}
		return output(e, &g, map[string]any{"kid": *kid, "revoked": true}, func(out io.Writer) {
			fmt.Fprintf(out, "Revoked key %s. Tokens signed with it are refused from now on.\n", *kid)
		})
	}))
}
