package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

func runAgent(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: parley agent create|list|reset-2fa --workspace ID [flags]")
	}
	switch args[0] {
	case "create":
		return agentCreate(ctx, e, args[1:])
	case "list":
		return agentList(ctx, e, args[1:])
	case "reset-2fa":
		return agentReset2FA(ctx, e, args[1:])
	}
	return usagef("unknown agent command %q (create, list, reset-2fa)", args[0])
}

// agentJSON is what agent commands print with --json. It never carries the password hash.
type agentJSON struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Workspace  string `json:"workspace"`
	Available  bool   `json:"available"`
	CreatedAt  string `json:"created_at"`
	DisabledAt string `json:"disabled_at,omitempty"`
}

func agentShape(a store.Agent) agentJSON {
	j := agentJSON{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role, Workspace: a.WorkspaceID,
		Available: a.Available, CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339)}
	if !a.DisabledAt.IsZero() {
		j.DisabledAt = a.DisabledAt.UTC().Format(time.RFC3339)
	}
	return j
}

func agentCreate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("agent create", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	email := fs.String("email", "", "the agent's email address, with which they sign in (required)")
	name := fs.String("name", "", "the agent's name, as customers and colleagues see it (required)")
	role := fs.String("role", "agent", "agent, or admin to also manage the workspace")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: parley agent create --workspace ID --email E --name N [--role agent|admin] < password")
		fmt.Fprintln(fs.Output(), "\nThe password is the first line of standard input, so that it never shows in the process list or shell history.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" || *email == "" || *name == "" {
		return commandError(e, &g, usagef("--workspace, --email and --name are required"))
	}
	promptIfTerminal(e, *email)
	pw, err := readPassword(e.stdin)
	if err != nil {
		return commandError(e, &g, err)
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		a, err := svc.CreateAgent(ctx, *ws, *email, *name, *role, pw)
		if err != nil {
			return err
		}
		j := agentShape(a)
		return output(e, &g, map[string]string{"id": j.ID, "email": j.Email, "name": j.Name, "role": j.Role, "workspace": j.Workspace},
			func(out io.Writer) {
				fmt.Fprintf(out, "Created %s %s (%s, %s) in workspace %s.\n", a.Role, a.ID, a.Name, a.Email, a.WorkspaceID)
				fmt.Fprintln(out, "They sign in to the agent console with this email and the password you gave.")
			})
	}))
}

// maxPasswordLine bounds what is read from standard input: the longest password and its line ending.
const maxPasswordLine = chat.MaxPasswordBytes + 2 // "\r\n"

// readPassword returns the first line of r, without its line ending. Only that line is read, so a
// password may be piped from a file or a secrets manager (`pass show x | parley agent create …`).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordLine)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	if errors.Is(err, io.EOF) && len(line) == maxPasswordLine {
		return "", problem.InvalidField("password", "must be at most %d bytes; the first line of standard input is longer", chat.MaxPasswordBytes)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", usagef("the password is read from standard input (its first line), and none was given: " +
			"pipe it in, e.g. `printf '%%s\\n' \"$PASSWORD\" | parley agent create …`")
	}
	return line, nil
}

// promptIfTerminal asks for the password when a person is typing it. The input is not hidden (that
// needs terminal control the standard library lacks), so it says so. A character device is taken for a
// terminal, except the null device, which scripts use for "no input".
func promptIfTerminal(e env, email string) {
	f, ok := e.stdin.(*os.File)
	if !ok {
		return
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(info, null) {
		return
	}
	fmt.Fprintf(e.stderr, "Password for %s (at least %d characters; shown as you type): ", email, chat.MinPasswordLength)
}

func agentList(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("agent list", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		agents, err := svc.Agents(ctx, *ws)
		if err != nil {
			return err
		}
		list := make([]agentJSON, len(agents))
		for i, a := range agents {
			list[i] = agentShape(a)
		}
		return output(e, &g, map[string]any{"agents": list}, func(out io.Writer) {
			if len(list) == 0 {
				fmt.Fprintf(out, "No agents. Create one with: parley agent create --workspace %s --email E --name N < password-file\n", *ws)
			}
			for _, a := range list {
				state := "available"
				if !a.Available {
					state = "away"
				}
				if a.DisabledAt != "" {
					state = "disabled " + a.DisabledAt
				}
				fmt.Fprintf(out, "%s  %-5s  %s  %q  created %s  %s\n", a.ID, a.Role, a.Email, a.Name, a.CreatedAt, state)
			}
		})
	}))
}
