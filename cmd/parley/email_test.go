package main

import (
	"fmt"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/mail/mailtest"
)

// `parley email test` sends through a real SMTP server (STARTTLS, AUTH) and prints what it answered.
// The process trusts the test server's certificate through SSL_CERT_FILE, as an operator with a
// private CA would.
func TestCLIEmailTest(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: "parley", Password: "p@ss word"})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := cliEnv(t, []string{"SSL_CERT_FILE=" + ca, "PARLEY_SMTP_URL=" + srv.URL(), "PARLEY_MAIL_FROM=Acme Support <support@acme.example>"},
		t.TempDir(), "email", "test", "--to", "ops@acme.example")
	if out["to"] != "ops@acme.example" || out["server_reply"] == "" {
		t.Errorf("output %v; want the recipient and the server's reply", out)
	}
	got := srv.Wait(t, 1, 10*time.Second)[0]
	if !got.TLS || got.Auth != "parley" || got.To[0] != "ops@acme.example" || !strings.Contains(string(got.Data), "Parley test message") {
		t.Errorf("arrived: %+v\n%s", got, got.Data)
	}
}

func TestCLIEmailTestUsage(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"email", "test", "--to", "a@b.example"}, "no SMTP server configured"},
		{map[string]string{"PARLEY_SMTP_URL": "smtp://h"}, []string{"email", "test", "--to", "a@b.example"}, "--mail-from"},
		{map[string]string{"PARLEY_SMTP_URL": "http://h", "PARLEY_MAIL_FROM": "a@b.example"}, []string{"email", "test", "--to", "a@b.example"}, "smtp://"},
		{nil, []string{"email", "test"}, "--to is required"},
		{nil, []string{"email"}, "usage"},
	} {
		_, _, err := runCLI(t, tc.env, tc.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v with %v: %v; want a usage error mentioning %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// serve checks its email settings before it starts.
func TestServeEmailFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-url", "smtp://h", "--mail-from", "a@b.example"}, "--public-url"},
		{[]string{"--smtp-url", "smtp://h", "--mail-from", "a@b.example", "--public-url", "chat.acme.example"}, "--public-url"},
		{[]string{"--smtp-url", "smtp://h", "--mail-from", "a@b.example", "--public-url", "https://chat.acme.example/path"}, "--public-url"},
		{[]string{"--smtp-url", "smtp://h"}, "--mail-from"},
		{[]string{"--mail-from", "a@b.example"}, "--smtp-url"},
		{[]string{"--smtp-url", "ftp://h", "--mail-from", "a@b.example"}, "smtp://"},
	} {
		args := append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, tc.args...)
		_, _, err := runCLI(t, nil, args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v; want a usage error mentioning %s", tc.args, err, tc.want)
		}
	}
}

// The whole path on a running server: a verified customer writes, leaves; an agent answers in the
// console; ten minutes later (the test clock) the answer arrives by email at the customer's verified
// address through a real SMTP server, and the unsubscribe link works.
func TestServeEmailsUnseenReply(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "pw"})
	data := t.TempDir()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	offset := filepath.Join(t.TempDir(), "offset")
	for path, content := range map[string][]byte{ca: srv.CAPEM(), offset: nil} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ws := cli(t, data, "workspace", "create", "--name", "Acme Bank", "--json")["id"].(string)
	key := cli(t, data, "key", "create", "--workspace", ws, "--json")
	if _, _, err := runCLIStdin(t, map[string]string{"PARLEY_DATA": data}, "correct horse battery staple\n",
		"agent", "create", "--workspace", ws, "--email", "ann@acme.example", "--name", "Ann", "--json"); err != nil {
		t.Fatal(err)
	}
	s := startServerEnv(t, []string{"SSL_CERT_FILE=" + ca, "PARLEY_SMTP_URL=" + srv.URL(), "PARLEY_MAIL_FROM=Acme Bank <support@acme.example>",
		"PARLEY_PUBLIC_URL=https://chat.acme.example", clockOffsetEnv + "=" + offset}, data, "127.0.0.1:0")

	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u-ada", "email": "ada@example.com", "name": "Ada Lovelace",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	tok.Header["kid"] = key["kid"].(string)
	signed, err := tok.SignedString([]byte(key["secret"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	session := mustCall(t, "POST", s.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	session = mustCall(t, "POST", s.url()+"/v1/widget/login", session, map[string]string{"token": signed}, 200)["session_token"].(string)
	msg := mustCall(t, "POST", s.url()+"/v1/widget/messages", session, map[string]string{"body": "Is my transfer through?"}, 201)["message"].(map[string]any)

	agent := consoleSignIn(t, s, "ann@acme.example", "correct horse battery staple")
	agent.reply(msg["conversation_id"].(string), "Yes, it arrived this morning.")
	time.Sleep(1500 * time.Millisecond) // the runner polls every second: nothing is due yet
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d emails before the reply's ten minutes passed", n)
	}
	if err := os.WriteFile(offset, []byte("11m"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 20*time.Second)[0]
	body := string(got.Data)
	if got.To[0] != "ada@example.com" || !strings.Contains(body, "Yes, it arrived this morning.") || !strings.Contains(body, "https://chat.acme.example/chat/"+ws) {
		t.Fatalf("email to %v:\n%s", got.To, body)
	}
	parsed, err := netmail.ReadMessage(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^<https://chat\.acme\.example(/email/unsubscribe\?t=[A-Za-z0-9_-]+)>$`).FindStringSubmatch(parsed.Header.Get("List-Unsubscribe"))
	if m == nil {
		t.Fatalf("List-Unsubscribe = %q", parsed.Header.Get("List-Unsubscribe"))
	}
	resp, err := http.Post(s.url()+m[1], "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("one-click unsubscribe: %d", resp.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.log())
	}
}

// Three instances sharing PostgreSQL each run the job runner: every reply email is sent exactly once.
func TestClusterMailsEachReplyOnce(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "pw"})
	c := newCluster(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	offset := filepath.Join(t.TempDir(), "offset")
	for path, content := range map[string][]byte{ca: srv.CAPEM(), offset: nil} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.env = append(c.env, "SSL_CERT_FILE="+ca, "PARLEY_SMTP_URL="+srv.URL(), "PARLEY_MAIL_FROM=support@acme.example",
		"PARLEY_PUBLIC_URL=https://chat.acme.example", clockOffsetEnv+"="+offset)
	ws := c.cli(t, "workspace", "create", "--name", "Acme")["id"].(string)
	key := c.cli(t, "key", "create", "--workspace", ws)
	email, pw := c.agentCreate(t, ws)
	instances := []*server{c.start(t), c.start(t), c.start(t)}
	agent := consoleSignIn(t, instances[0], email, pw)

	const customers = 6
	for i := range customers {
		s := instances[i%len(instances)]
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": fmt.Sprint("u", i), "email": fmt.Sprintf("c%d@example.com", i),
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
		tok.Header["kid"] = key["kid"].(string)
		signed, _ := tok.SignedString([]byte(key["secret"].(string)))
		session := mustCall(t, "POST", s.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
		session = mustCall(t, "POST", s.url()+"/v1/widget/login", session, map[string]string{"token": signed}, 200)["session_token"].(string)
		msg := mustCall(t, "POST", s.url()+"/v1/widget/messages", session, map[string]string{"body": "question"}, 201)["message"].(map[string]any)
		agent.reply(msg["conversation_id"].(string), fmt.Sprint("answer ", i))
	}
	if err := os.WriteFile(offset, []byte("11m"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Wait(t, customers, 30*time.Second)
	time.Sleep(3 * time.Second) // every instance polls each second: a second send would show by now
	got := srv.Messages()
	to := map[string]int{}
	for _, m := range got {
		to[m.To[0]]++
	}
	if len(got) != customers || len(to) != customers {
		t.Errorf("%d emails to %d addresses; want %d, one each: %v", len(got), len(to), customers, to)
	}
}
