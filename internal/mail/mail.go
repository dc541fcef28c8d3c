// Package mail sends Parley's email through an SMTP server the operator configures: replies for
// customers who left the chat, alerts for agents, transcripts. It builds messages with
// github.com/wneessen/go-mail (multipart text and HTML, encodings, Message-ID), never by hand, and
// knows nothing of who may receive what: package chat decides that (email goes to verified addresses
// only) and enqueues the work.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which the server must offer
	TLSImplicit = "implicit" // TLS from the first byte (smtps://, usually port 465)
	TLSNone     = "none"     // no encryption at all: only when the URL asks for it (a relay on localhost)
)

// Settings say how to reach the SMTP server.
type Settings struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      string
}

// ParseURL reads --smtp-url: smtp://user:pass@host:587 (STARTTLS required; port 587 by default),
// smtps://user:pass@host:465 (implicit TLS; port 465 by default). Encryption is never dropped silently:
// only ?tls=none turns it off (for a relay on the same machine). User and password are percent-encoded
// like any URL's.
func ParseURL(raw string) (Settings, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Settings{}, errors.New("the SMTP URL is not a URL")
	}
	var s Settings
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.TLS, s.Port = TLSStartTLS, 587
	case "smtps":
		s.TLS, s.Port = TLSImplicit, 465
	default:
		return Settings{}, errors.New("the SMTP URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return Settings{}, errors.New("the SMTP URL names no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Settings{}, fmt.Errorf("the SMTP URL's port %q is not a port", p)
		}
		s.Port = n
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return Settings{}, errors.New("the SMTP URL takes no path")
	}
	for k, v := range u.Query() {
		switch {
		case k == "tls" && len(v) == 1 && v[0] == "none" && s.TLS == TLSStartTLS:
			s.TLS = TLSNone
		case k == "tls" && len(v) == 1 && v[0] == "starttls" && s.TLS == TLSStartTLS:
		default:
			return Settings{}, fmt.Errorf("the SMTP URL's parameter %s=%s is not understood (only smtp://…?tls=none, to send unencrypted)", k, strings.Join(v, ","))
		}
	}
	return s, nil
}

// Redacted is the URL without its password, for logs and messages.
func (s Settings) Redacted() string {
	scheme := "smtp"
	if s.TLS == TLSImplicit {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port))}
	if s.Username != "" {
		u.User = url.UserPassword(s.Username, "xxxxx")
	}
	if s.TLS == TLSNone {
		u.RawQuery = "tls=none"
	}
	return u.String()
}

// Config wires a Sender.
type Config struct {
	Settings Settings
	// From is the sender, an address with an optional name: "Acme Support <support@acme.example>".
	From string
	// Timeout bounds connecting and each SMTP exchange; zero means 30 seconds.
	Timeout time.Duration
	// TLSConfig overrides the TLS client settings (tests trust their own certificate with it); nil means
	// the system's roots and the server's host name.
	TLSConfig *tls.Config
	// HeloName is the name Parley gives in EHLO; empty means "localhost".
	HeloName string
}

// Sender sends messages through one SMTP server.
type Sender struct {
	cfg  Config
	from *mail.Address
}

// NewSender checks the configuration and returns a Sender. It does not connect.
func NewSender(cfg Config) (*Sender, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("the sender address %q is not an email address: --mail-from \"Acme Support <support@acme.example>\"", cfg.From)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Settings.Host == "" {
		return nil, errors.New("no SMTP server configured")
	}
	return &Sender{cfg: cfg, from: from}, nil
}

// From is the sender's address.
func (s *Sender) From() *mail.Address { return s.from }

// Message is one email. Text is required; HTML, when set, is sent as an alternative to it.
type Message struct {
	To      string // one address
	Subject string
	Text    string
	HTML    string
	// MessageID, without angle brackets, makes a message that is sent again (a retry after a crash)
	// recognisable as the same one; empty means a random one.
	MessageID string
	// Unsubscribe is the one-click unsubscribe URL (RFC 8058), sent as List-Unsubscribe with
	// List-Unsubscribe-Post: List-Unsubscribe=One-Click; empty for messages one cannot unsubscribe from.
	Unsubscribe string
	// Language is the message's language as a BCP 47 tag, sent as Content-Language (RFC 3282).
	Language string
	// Headers are extra headers (X-Parley-…); names must start with X-.
	Headers map[string]string
}

// Error is a failed send. Permanent failures (a 5xx answer: no such user, refused sender, bad
// credentials) will fail again; others (4xx, a connection that broke) may pass later.
type Error struct {
	Permanent bool
	Reply     string // the server's answer, as far as known
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Send delivers m and returns what the server answered on accepting it (usually a queue id).
func (s *Sender) Send(ctx context.Context, m Message) (string, error) {
	msg, err := s.build(m)
	if err != nil {
		return "", &Error{Permanent: true, Err: err}
	}
	client, err := s.client()
	if err != nil {
		return "", &Error{Permanent: true, Err: err}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return "", classify(err)
	}
	return msg.ServerResponse(), nil
}

func (s *Sender) client() (*gomail.Client, error) {
	st := s.cfg.Settings
	opts := []gomail.Option{gomail.WithPort(st.Port), gomail.WithTimeout(s.cfg.Timeout)}
	helo := s.cfg.HeloName
	if helo == "" {
		helo = "localhost"
	}
	opts = append(opts, gomail.WithHELO(helo))
	tc := s.cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: st.Host, MinVersion: tls.VersionTLS12}
	}
	switch st.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(tc))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(tc))
	}
	if st.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if st.TLS == TLSNone {
			// Without TLS the library refuses PLAIN (it would send the password in the clear), unless the
			// operator asked for no encryption explicitly, as here.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(st.Username), gomail.WithPassword(st.Password))
	}
	return gomail.NewClient(st.Host, opts...)
}

func (s *Sender) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(s.from.Name, s.from.Address); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("recipient %q is not an email address", m.To)
	}
	if err := msg.To(to.Address); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetUserAgent("Parley")
	if m.Unsubscribe != "" {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+m.Unsubscribe+">")
		msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	if m.Language != "" {
		msg.SetGenHeader(gomail.Header("Content-Language"), m.Language)
	}
	for k, v := range m.Headers {
		if !strings.HasPrefix(k, "X-") {
			return nil, fmt.Errorf("header %q: only X- headers may be added", k)
		}
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// classify tells permanent failures from passing ones.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		return &Error{Permanent: !se.IsTemp(), Reply: se.Error(), Err: err}
	}
	return &Error{Permanent: false, Reply: err.Error(), Err: err}
}
