package main

import (
	"context"
	"fmt"
	"io"
	"os"

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
	alg := fs.String("alg", "", "HS256 (default), HS384 or HS512 for a secret Parley generates; RS256, PS256, ES256, EdDSA … with --public-key")
	publicKey := fs.String("public-key", "", "register a public key instead: a file holding a PEM public key or a JWK")
	kid := fs.String("kid", "", "with --public-key: the kid your tokens carry (default: the JWK's kid, or a generated one)")
	jwksURL := fs.String("jwks-url", "", "use the keys published at this JWKS URL instead")
	allowNetworks := fs.String("jwks-allow-networks", e.getenv(jwksAllowEnv), "with --jwks-url: "+jwksAllowUsage)
	// Kept so that existing scripts still run; what it once granted, --jwks-allow-networks now decides.
	allowPrivate := fs.Bool("allow-private-addresses", false, "with --jwks-url: accepted for compatibility and ignored; private networks are allowed by --jwks-allow-networks")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	if *publicKey != "" && *jwksURL != "" {
		return commandError(e, &g, usagef("--public-key and --jwks-url are two different kinds of key: give one"))
	}
	if *jwksURL == "" && *allowPrivate {
		return commandError(e, &g, usagef("--allow-private-addresses goes with --jwks-url"))
	}
	var err error
	if g.jwksAllow, err = parsePrefixes("--jwks-allow-networks", *allowNetworks); err != nil {
		return commandError(e, &g, err)
	}
	if *allowPrivate {
		fmt.Fprintln(e.stderr, "parley: --allow-private-addresses no longer changes anything: a JWKS is fetched from a private, loopback or link-local address only inside --jwks-allow-networks (env "+jwksAllowEnv+"), which parley serve must be given too.")
	}
	switch {
	case *publicKey != "":
		data, err := readLimited(*publicKey, 64<<10)
		if err != nil {
			return commandError(e, &g, err)
		}
		return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
			k, err := svc.RegisterPublicKey(ctx, *ws, *alg, *kid, data)
			if err != nil {
				return err
			}
			return output(e, &g, map[string]string{"kid": k.ID, "alg": k.Alg, "kind": k.Kind}, func(out io.Writer) {
				fmt.Fprintf(out, "Registered %s public key %s for workspace %s.\n", k.Alg, k.ID, *ws)
				fmt.Fprintln(out, "Sign tokens with the matching private key and put this kid in their header.")
			})
		}))
	case *jwksURL != "":
		return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
			k, n, err := svc.AddJWKS(ctx, *ws, *jwksURL)
			if err != nil {
				return err
			}
			return output(e, &g, map[string]any{"kid": k.ID, "kind": k.Kind, "jwks_url": k.JWKSURL, "keys": n}, func(out io.Writer) {
				fmt.Fprintf(out, "Workspace %s now verifies tokens with the keys at %s (%d usable now, id %s).\n", *ws, k.JWKSURL, n, k.ID)
				fmt.Fprintln(out, "Tokens must name their key with kid. Publish a new key there to rotate; Parley refetches on an unknown kid.")
			})
		}))
	}
	if *kid != "" {
		return commandError(e, &g, usagef("--kid goes with --public-key; Parley names the keys it generates"))
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

// readLimited reads a small file named on the command line, refusing one too large to be what it should.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes; that is not a public key", path, max)
	}
	return data, nil
}

type keyJSON struct {
	Kid        string `json:"kid"`
	Kind       string `json:"kind"`
	Alg        string `json:"alg,omitempty"`
	JWKSURL    string `json:"jwks_url,omitempty"`
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
		list := make([]keyJSON, len(keys))
		for i, k := range keys {
			list[i] = keyJSON{Kid: k.ID, Kind: k.Kind, Alg: k.Alg, JWKSURL: k.JWKSURL, CreatedAt: rfc3339(k.CreatedAt), RevokedAt: rfc3339(k.RevokedAt), LastUsedAt: rfc3339(k.LastUsedAt)}
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
				what := k.Alg
				switch k.Kind {
				case "jwks":
					what = "JWKS " + k.JWKSURL
				case "public":
					what += " public key"
				case "server":
					what += " Parley's key for customers API login tokens"
				}
				fmt.Fprintf(out, "%s  %s  created %s  last used %s  %s\n", k.Kid, what, k.CreatedAt, used, state)
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
		ended, err := svc.RevokeKey(ctx, *ws, *kid)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]any{"kid": *kid, "revoked": true, "ended_sessions": ended}, func(out io.Writer) {
			fmt.Fprintf(out, "Revoked key %s. Tokens signed with it are refused from now on; %d widget session(s) it verified ended.\n", *kid, ended)
		})
	}))
}
