package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

func runWebhook(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: parley webhook create|list|update|rotate|delete|test --workspace ID [flags]")
	}
	switch args[0] {
	case "create":
		return webhookCreate(ctx, e, args[1:])
	case "list":
		return webhookList(ctx, e, args[1:])
	case "update":
		return webhookUpdate(ctx, e, args[1:])
	case "rotate":
		return webhookRotate(ctx, e, args[1:])
	case "delete":
		return webhookDelete(ctx, e, args[1:])
	case "test":
		return webhookTest(ctx, e, args[1:])
	}
	return usagef("unknown webhook command %q (create, list, update, rotate, delete, test)", args[0])
}

type webhookJSON struct {
	ID           string   `json:"id"`
	URL          string   `json:"url"`
	Events       []string `json:"events"`
	IncludeNotes bool     `json:"include_notes"`
	CreatedAt    string   `json:"created_at"`
	DisabledAt   string   `json:"disabled_at,omitempty"`
	FailingSince string   `json:"failing_since,omitempty"`
	Secret       string   `json:"secret,omitempty"`
}

func toWebhookJSON(w store.WebhookEndpoint, secret string) webhookJSON {
	events := w.Events
	if events == nil {
		events = []string{}
	}
	return webhookJSON{ID: w.ID, URL: w.URL, Events: events, IncludeNotes: w.IncludeNotes, CreatedAt: rfc3339(w.CreatedAt),
		DisabledAt: rfc3339(w.DisabledAt), FailingSince: rfc3339(w.FailingSince), Secret: secret}
}

func webhookCreate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("webhook create", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	url := fs.String("url", "", "the receiver's URL (required)")
	events := fs.String("events", "", "comma-separated event types to send (default all: "+strings.Join(chat.WebhookEventTypes(), ",")+")")
	notes := fs.Bool("include-notes", false, "also send agents' internal notes as message.created")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" || *url == "" {
		return commandError(e, &g, usagef("--workspace and --url are required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		nw, err := svc.CreateWebhook(ctx, *ws, chat.WebhookInput{URL: url, Events: splitList(*events), IncludeNotes: notes})
		if err != nil {
			return err
		}
		return output(e, &g, toWebhookJSON(nw.Endpoint, nw.Secret), func(out io.Writer) {
			fmt.Fprintf(out, "Created webhook endpoint %s for workspace %s.\n\n  secret: %s\n\n", nw.Endpoint.ID, *ws, nw.Secret)
			fmt.Fprintln(out, "This is the only time the secret is shown. Give it to the receiver to verify the webhook-signature header.")
		})
	}))
}

func webhookList(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("webhook list", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" {
		return commandError(e, &g, usagef("--workspace is required"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		list, err := svc.Webhooks(ctx, *ws)
		if err != nil {
			return err
		}
		out := make([]webhookJSON, len(list))
		for i, w := range list {
			out[i] = toWebhookJSON(w, "")
		}
		return output(e, &g, map[string]any{"webhooks": out}, func(w io.Writer) {
			if len(out) == 0 {
				fmt.Fprintf(w, "No webhook endpoints. Create one with: parley webhook create --workspace %s --url URL\n", *ws)
			}
			for _, h := range out {
				state := "active"
				switch {
				case h.DisabledAt != "":
					state = "disabled " + h.DisabledAt
				case h.FailingSince != "":
					state = "failing since " + h.FailingSince
				}
				events := "all events"
				if len(h.Events) > 0 {
					events = strings.Join(h.Events, ",")
				}
				fmt.Fprintf(w, "%s  %s  %s  notes %v  %s\n", h.ID, h.URL, events, h.IncludeNotes, state)
			}
		})
	}))
}

// webhookUpdate changes what its flags name and nothing else: the URL, the event filter (all: every
// event), the notes opt-in, and with --enable turns a disabled (or failing) endpoint on again, which
// forgets its failures. Each change is audited by the service as the console's are.
func webhookUpdate(ctx context.Context, e env, args []string) error {
	var g global
	fs := newFlags("webhook update", e, &g)
	ws := fs.String("workspace", "", "workspace id (required)")
	id := fs.String("id", "", "the endpoint id, wh_… (required)")
	url := fs.String("url", "", "the receiver's new URL")
	events := fs.String("events", "", "comma-separated event types to send, or all ("+strings.Join(chat.WebhookEventTypes(), ",")+")")
	notes := fs.String("include-notes", "", "on: also send agents' internal notes as message.created; off: don't")
	enable := fs.Bool("enable", false, "turn a disabled endpoint on again, forgetting its failures")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ws == "" || *id == "" {
		return commandError(e, &g, usagef("--workspace and --id are required"))
	}
	var in chat.WebhookInput
	changes := false
	var usageErr error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "url":
			in.URL, changes = url, true
		case "events":
			// Non-nil even when empty: an empty filter is every event, nil would leave it alone.
			in.Events, changes = []string{}, true
			if l := splitList(*events); !(len(l) == 1 && strings.EqualFold(l[0], "all")) {
				in.Events = append(in.Events, l...)
			}
		case "include-notes":
			in.IncludeNotes = onOffFlag("include-notes", *notes, &usageErr)
			changes = true
		}
	})
	if usageErr != nil {
		return commandError(e, &g, usageErr)
	}
	if !changes && !*enable {
		return commandError(e, &g, usagef("nothing to change: give --url, --events, --include-notes or --enable"))
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		var w store.WebhookEndpoint
		var err error
		if changes {
			if w, err = svc.UpdateWebhook(ctx, *ws, *id, in); err != nil {
				return err
			}
		}
		if *enable {
			if w, err = svc.SetWebhookDisabled(ctx, *ws, *id, false); err != nil {
				return err
			}
		}
		h := toWebhookJSON(w, "")
		return output(e, &g, h, func(out io.Writer) {
			events := "all events"
			if len(h.Events) > 0 {
				events = strings.Join(h.Events, ",")
			}
			state := "active"
			switch {
			case h.DisabledAt != "":
				state = "disabled " + h.DisabledAt
			case h.FailingSince != "":
				state = "failing since " + h.FailingSince
			}
			fmt.Fprintf(out, "Updated webhook endpoint %s: %s  %s  notes %v  %s\n", h.ID, h.URL, events, h.IncludeNotes, state)
		})
	}))
}

// webhookByID parses the flags of the commands that name one endpoint.
func webhookByID(e env, g *global, name string, args []string) (ws, id string, err error) {
	fs := newFlags(name, e, g)
	wsf := fs.String("workspace", "", "workspace id (required)")
	idf := fs.String("id", "", "the endpoint id, wh_… (required)")
	if err := parseFlags(fs, args); err != nil {
		return "", "", err
	}
	if *wsf == "" || *idf == "" {
		return "", "", commandError(e, g, usagef("--workspace and --id are required"))
	}
	return *wsf, *idf, nil
}

func webhookRotate(ctx context.Context, e env, args []string) error {
	var g global
	ws, id, err := webhookByID(e, &g, "webhook rotate", args)
	if err != nil {
		return err
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		nw, err := svc.RotateWebhookSecret(ctx, ws, id)
		if err != nil {
			return err
		}
		return output(e, &g, toWebhookJSON(nw.Endpoint, nw.Secret), func(out io.Writer) {
			fmt.Fprintf(out, "New secret for %s:\n\n  secret: %s\n\n", id, nw.Secret)
			fmt.Fprintln(out, "Deliveries carry signatures with both the old and the new secret for 24 hours; switch the receiver meanwhile.")
		})
	}))
}

func webhookDelete(ctx context.Context, e env, args []string) error {
	var g global
	ws, id, err := webhookByID(e, &g, "webhook delete", args)
	if err != nil {
		return err
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		if err := svc.DeleteWebhook(ctx, ws, id); err != nil {
			return err
		}
		return output(e, &g, map[string]any{"id": id, "deleted": true}, func(out io.Writer) {
			fmt.Fprintf(out, "Deleted webhook endpoint %s.\n", id)
		})
	}))
}

func webhookTest(ctx context.Context, e env, args []string) error {
	var g global
	ws, id, err := webhookByID(e, &g, "webhook test", args)
	if err != nil {
		return err
	}
	return commandError(e, &g, withService(ctx, e, &g, func(svc *chat.Service) error {
		wid, err := svc.SendTestWebhook(ctx, ws, id)
		if err != nil {
			return err
		}
		return output(e, &g, map[string]any{"id": id, "webhook_id": wid}, func(out io.Writer) {
			fmt.Fprintf(out, "Queued a webhook.test event (webhook-id %s); a running server delivers it.\n", wid)
		})
	}))
}
