package main

import (
	"context"
	"fmt"
	"io"

	"github.com/parleyhq/parley/internal/chat"
)

// agentReset2FA turns an agent's two-factor sign-in off for them, when they lost both their phone and
// their recovery codes: the secret and codes go, and their console sessions end. They sign in with
// their password again, and set two-factor up again (at once, if the workspace requires it).
func agentReset2FA(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("agent reset-2fa", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	email := fs.String("email", "", "the agent's email address (required)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: parley agent reset-2fa --workspace ID --email E")
		fmt.Fprintln(fs.Output(), "\nTurns the agent's two-factor sign-in off and ends their console sessions; audited as 2fa.reset.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" || *email == "" {
		return commandError(e, &g, usagef("--workspace and --email are required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		a, ended, err := svc.ResetTOTP(ctx, *ws, *email)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]any{"id": a.ID, "email": a.Email, "workspace": a.WorkspaceID, "sessions_ended": ended},
			func(out io.Writer) {
				fmt.Fprintf(out, "Two-factor sign-in of %s (%s) is off; %d console session(s) ended.\n", a.ID, a.Email, ended)
				fmt.Fprintln(out, "They sign in with their password, and set two-factor up again from Preferences (at once, if the workspace requires it).")
			})
	}))
}
