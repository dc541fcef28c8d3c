package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/mail"
	"github.com/parleyhq/parley/internal/mail/mailtest"
)

func sender(t *testing.T, srv *mailtest.Server) *mail.Sender {
	t.Helper()
	st, err := mail.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s, err := mail.NewSender(mail.Config{Settings: st, From: "Acme Support <support@acme.example>", TLSConfig: srv.ClientTLS(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Parsed is a received message: its headers and its text and HTML parts, decoded.
type parsed struct {
	Header     netmail.Header
	Text, HTML string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the message does not parse: %v\n%s", err, data)
	}
	p := parsed{Header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mt != "multipart/alternative" {
		body, _ := io.ReadAll(m.Body)
		p.Text = string(body)
		return p
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(part) // multipart decodes quoted-printable itself
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		}
	}
	return p
}

// A message goes over STARTTLS with AUTH, multipart text + HTML, with the headers mail clients rely on.
func TestSendStartTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: "parley", Password: "s3cret pass"})
	s := sender(t, srv)
	reply, err := s.Send(t.Context(), mail.Message{
		To: "Ada <ada@example.com>", Subject: "Your conversation with Acme — Grüße",
		Text: "Hello Ada,\nwe answered.", HTML: "<p>Hello Ada,</p><p>we answered.</p>",
		MessageID: "reply-42@parley.test", Unsubscribe: "https://chat.acme.example/unsubscribe/tok",
		Headers: map[string]string{"X-Parley-Kind": "reply"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if reply == "" {
		t.Error("no server answer reported")
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	if !got.TLS || got.Auth != "parley" || got.From != "support@acme.example" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
		t.Fatalf("envelope %+v", got)
	}
	p := parse(t, got.Data)
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(p.Header.Get("Subject"))
	for name, want := range map[string]string{
		"Message-Id":            "<reply-42@parley.test>",
		"List-Unsubscribe":      "<https://chat.acme.example/unsubscribe/tok>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Parley-Kind":         "reply",
		"Mime-Version":          "1.0",
	} {
		if v := p.Header.Get(name); v != want {
			t.Errorf("%s = %q; want %q", name, v, want)
		}
	}
	if subject != "Your conversation with Acme — Grüße" {
		t.Errorf("Subject decodes to %q", subject)
	}
	if from, _ := p.Header.AddressList("From"); len(from) != 1 || from[0].Address != "support@acme.example" || from[0].Name != "Acme Support" {
		t.Errorf("From = %v", from)
	}
	if _, err := p.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if strings.TrimSpace(p.Text) != "Hello Ada,\nwe answered." && strings.TrimSpace(strings.ReplaceAll(p.Text, "\r\n", "\n")) != "Hello Ada,\nwe answered." {
		t.Errorf("text part %q", p.Text)
	}
	if !strings.Contains(p.HTML, "<p>we answered.</p>") {
		t.Errorf("HTML part %q", p.HTML)
	}
}

func TestSendImplicitTLSAndPlain(t *testing.T) {
	for _, mode := range []string{mailtest.Implicit, mailtest.None} {
		t.Run(mode, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{TLS: mode, Username: "u", Password: "p"})
			if _, err := sender(t, srv).Send(t.Context(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "plain"}); err != nil {
				t.Fatal(err)
			}
			got := srv.Wait(t, 1, 5*time.Second)[0]
			if got.TLS != (mode == mailtest.Implicit) {
				t.Errorf("TLS = %t", got.TLS)
			}
			if p := parse(t, got.Data); strings.TrimSpace(p.Text) != "plain" {
				t.Errorf("text %q", p.Text)
			}
		})
	}
}

// smtp:// requires STARTTLS: a server that does not offer it gets nothing, not the password in clear.
func TestNoDowngrade(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.None, Username: "u", Password: "p"})
	url := strings.TrimSuffix(srv.URL(), "?tls=none")
	st, err := mail.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := mail.NewSender(mail.Config{Settings: st, From: "a@b.example", Timeout: 5 * time.Second})
	if _, err := s.Send(t.Context(), mail.Message{To: "bob@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Fatal("sent without STARTTLS")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages arrived unencrypted", n)
	}
}

// A refused recipient (5xx) is permanent; a 4xx or a wrong password passes later perhaps: not permanent.
func TestFailures(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "u", Password: "p", Reject: func(rcpt string) int {
		switch {
		case strings.HasPrefix(rcpt, "gone@"):
			return 550
		case strings.HasPrefix(rcpt, "busy@"):
			return 451
		}
		return 0
	}})
	s := sender(t, srv)
	for _, c := range []struct {
		to        string
		permanent bool
	}{{"gone@example.com", true}, {"busy@example.com", false}} {
		_, err := s.Send(t.Context(), mail.Message{To: c.to, Subject: "x", Text: "x"})
		var me *mail.Error
		if !errors.As(err, &me) || me.Permanent != c.permanent || me.Reply == "" {
			t.Errorf("%s: %v (%+v); want permanent=%t with the server's reply", c.to, err, me, c.permanent)
		}
	}
	if _, err := s.Send(t.Context(), mail.Message{To: "not an address", Subject: "x", Text: "x"}); err == nil {
		t.Error("a malformed recipient was accepted")
	}
	bad, _ := mail.ParseURL(strings.Replace(srv.URL(), "u:p@", "u:wrong@", 1))
	wrong, _ := mail.NewSender(mail.Config{Settings: bad, From: "a@b.example", TLSConfig: srv.ClientTLS(), Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := wrong.Send(ctx, mail.Message{To: "bob@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Error("a wrong password sent mail")
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    mail.Settings
		wantErr bool
	}{
		{in: "smtp://user:p%40ss@smtp.example.com:587", want: mail.Settings{Host: "smtp.example.com", Port: 587, Username: "user", Password: "p@ss", TLS: mail.TLSStartTLS}},
		{in: "smtp://smtp.example.com", want: mail.Settings{Host: "smtp.example.com", Port: 587, TLS: mail.TLSStartTLS}},
		{in: "smtps://u:p@smtp.example.com", want: mail.Settings{Host: "smtp.example.com", Port: 465, Username: "u", Password: "p", TLS: mail.TLSImplicit}},
		{in: "smtp://localhost:25?tls=none", want: mail.Settings{Host: "localhost", Port: 25, TLS: mail.TLSNone}},
		{in: "smtps://h?tls=none", wantErr: true},
		{in: "smtp://h?starttls=off", wantErr: true},
		{in: "http://h", wantErr: true},
		{in: "smtp://:25", wantErr: true},
		{in: "smtp://h:99999", wantErr: true},
		{in: "smtp://h/path", wantErr: true},
	} {
		got, err := mail.ParseURL(c.in)
		if (err != nil) != c.wantErr || (!c.wantErr && got != c.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v (error %t)", c.in, got, err, c.want, c.wantErr)
		}
	}
	st, _ := mail.ParseURL("smtp://user:topsecret@h:2525")
	if r := st.Redacted(); strings.Contains(r, "topsecret") || !strings.Contains(r, "user") {
		t.Errorf("Redacted = %q", r)
	}
}
