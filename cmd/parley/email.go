package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/mail"
)

// mailOptions are the outbound email settings serve and `email test` share.
type mailOptions struct {
	url       string
	from      string
	publicURL string
}

func (o *mailOptions) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&o.url, "smtp-url", e.getenv("PARLEY_SMTP_URL"),
		"SMTP server for outbound email: smtp://user:pass@host:587 (STARTTLS required) or smtps://user:pass@host:465; empty: no email (env PARLEY_SMTP_URL)")
	fs.StringVar(&o.from, "mail-from", e.getenv("PARLEY_MAIL_FROM"),
		"sender of outbound email, e.g. \"Acme Support <support@acme.example>\" (env PARLEY_MAIL_FROM)")
}

// registerPublic adds --public-url, which only serve needs.
func (o *mailOptions) registerPublic(fs *flag.FlagSet, e env) {
	fs.StringVar(&o.publicURL, "public-url", e.getenv("PARLEY_PUBLIC_URL"),
		"the address people reach this server at, e.g. https://chat.acme.example, for links in email; required with --smtp-url (env PARLEY_PUBLIC_URL)")
}

// checkPublicURL validates --public-url: an http(s) origin, needed when email is on (links in it).
func (o *mailOptions) checkPublicURL(emailOn bool) (string, error) {
	if o.publicURL == "" {
		if emailOn {
			return "", usagef("--smtp-url is set: --public-url must say where people reach this server (https://chat.acme.example), for the links in email")
		}
		return "", nil
	}
	u, err := url.Parse(o.publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", usagef("--public-url must be an origin such as https://chat.acme.example")
	}
	return strings.TrimSuffix(o.publicURL, "/"), nil
}

// sender returns the configured Sender, or nil when no SMTP server is configured.
func (o *mailOptions) sender() (*mail.Sender, error) {
	if o.url == "" {
		if o.from != "" {
			return nil, usagef("--mail-from is set but --smtp-url is not: set both to send email")
		}
		return nil, nil
	}
	st, err := mail.ParseURL(o.url)
	if err != nil {
		return nil, usagef("--smtp-url: %v", err)
	}
	if o.from == "" {
		return nil, usagef("--smtp-url is set: --mail-from must say who email comes from")
	}
	s, err := mail.NewSender(mail.Config{Settings: st, From: o.from})
	if err != nil {
		return nil, usagef("%v", err)
	}
	return s, nil
}

func runEmail(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "test" {
		return usagef("usage: parley email test --to ADDRESS [--smtp-url URL --mail-from ADDRESS]")
	}
	var g global
	var o mailOptions
	fs := newFlags("email test", e, &g)
	o.register(fs, e)
	to := fs.String("to", "", "where to send the test message")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *to == "" {
		return commandError(e, &g, usagef("--to is required"))
	}
	s, err := o.sender()
	if err == nil && s == nil {
		err = usagef("no SMTP server configured: give --smtp-url and --mail-from (or PARLEY_SMTP_URL and PARLEY_MAIL_FROM)")
	}
	if err != nil {
		return commandError(e, &g, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	reply, err := s.Send(ctx, mail.Message{
		To: *to, Subject: "Parley test message",
		Text: "This is a test message from Parley. If you can read it, Parley can send email through your SMTP server.\n",
		HTML: "<p>This is a test message from Parley. If you can read it, Parley can send email through your SMTP server.</p>\n",
	})
	if err != nil {
		return commandError(e, &g, fmt.Errorf("sending failed: %w", err))
	}
	return output(e, &g, map[string]string{"to": *to, "from": s.From().String(), "server_reply": reply}, func(w io.Writer) {
		fmt.Fprintf(w, "sent to %s; the server said: %s\n", *to, reply)
	})
}
