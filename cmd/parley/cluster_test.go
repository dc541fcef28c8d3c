package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// Several `parley serve` processes sharing one PostgreSQL database, as behind a load balancer: live
// chat across instances, sessions valid everywhere, and an instance killed mid-conversation.

// cluster is the configuration the instances of one test share: a schema of its own in the test
// database (through the URL's search_path) and one master key.
type cluster struct {
	env  []string
	data string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	schema := dbtest.SchemaName(t)
	dbtest.Exec(t, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	u, err := url.Parse(dbtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	key := seal.Encode(bytes.Repeat([]byte{0x42}, seal.KeySize))
	return &cluster{env: []string{"PARLEY_DATABASE_URL=" + u.String(), seal.EnvVar + "=" + key}, data: t.TempDir()}
}

func (c *cluster) cli(t *testing.T, args ...string) map[string]any {
	t.Helper()
	return cliEnv(t, c.env, c.data, args...)
}

func (c *cluster) start(t *testing.T) *server {
	t.Helper()
	// Each instance gets a data folder of its own: nothing may depend on a shared disk.
	return startServerEnv(t, c.env, t.TempDir(), "127.0.0.1:0", "--no-rate-limits")
}

// agentCreate creates an admin through the CLI (the password on stdin) and returns email and password.
func (c *cluster) agentCreate(t *testing.T, ws string) (string, string) {
	t.Helper()
	env := map[string]string{}
	for _, kv := range c.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	const email, pw = "sam@cluster.example", "correct horse battery staple"
	if _, stderr, err := runCLIStdin(t, env, pw+"\n", "agent", "create", "--workspace", ws, "--email", email, "--name", "Sam", "--role", "admin", "--data", c.data); err != nil {
		t.Fatalf("agent create: %v\n%s", err, stderr)
	}
	return email, pw
}

// widgetSocket is a widget's live connection.
type widgetSocket struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWidget(t *testing.T, srv *server, token string) *widgetSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+srv.addr+"/v1/widget/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","session_token":"`+token+`"}`)); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, conn, 10*time.Second); f["type"] != "ready" {
		t.Fatalf("first frame %v, want ready", f)
	}
	return &widgetSocket{t: t, conn: conn}
}

// readFrame reads one JSON frame; a closed socket gives a frame {"closed": status}.
func readFrame(t *testing.T, conn *websocket.Conn, within time.Duration) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, data, err := conn.Read(ctx)
	if err != nil {
		if status := websocket.CloseStatus(err); status != -1 {
			return map[string]any{"closed": float64(status)}
		}
		t.Fatalf("no frame within %v: %v", within, err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return f
}

// nextMessage waits for the message event whose body is body.
func (w *widgetSocket) nextMessage(body string) map[string]any {
	w.t.Helper()
	for {
		f := readFrame(w.t, w.conn, 10*time.Second)
		if _, closed := f["closed"]; closed {
			w.t.Fatalf("socket closed waiting for %q: %v", body, f)
		}
		if m, ok := f["message"].(map[string]any); ok && f["type"] == "message" && m["body"] == body {
			return m
		}
	}
}

// agentConsole is an agent signed in to one instance's console.
type agentConsole struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func consoleSignIn(t *testing.T, srv *server, email, pw string) *agentConsole {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &agentConsole{t: t, base: srv.url(), http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	page := c.get("/console/login")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field on the sign-in page")
	}
	c.post("/console/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {pw}})
	inbox := c.get("/console/")
	m = csrfField.FindStringSubmatch(inbox)
	if m == nil || strings.Contains(inbox, `name="password"`) {
		t.Fatalf("not signed in to the console of %s", srv.url())
	}
	c.csrf = m[1]
	return c
}

func (c *agentConsole) get(path string) string {
	c.t.Helper()
	res, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		c.t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	return string(body)
}

func (c *agentConsole) post(path string, form url.Values) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 { // after the redirect that answers a successful form
		c.t.Fatalf("POST %s: %d\n%.500s", path, res.StatusCode, body)
	}
}

func (c *agentConsole) reply(conversationID, body string) {
	c.t.Helper()
	c.post("/console/conversations/"+conversationID+"/reply", url.Values{"csrf": {c.csrf}, "body": {body}, "client_id": {fmt.Sprintf("agent-%d", time.Now().UnixNano())}})
}

// socket opens the console's live connection.
func (c *agentConsole) socket() *websocket.Conn {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, _ := url.Parse(c.base)
	h := http.Header{"Origin": {c.base}}
	for _, ck := range c.http.Jar.Cookies(&url.URL{Scheme: "http", Host: u.Host, Path: "/console/"}) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/console/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { conn.CloseNow() })
	if f := readFrame(c.t, conn, 10*time.Second); f["type"] != "ready" {
		c.t.Fatalf("console socket: first frame %v", f)
	}
	return conn
}

// TestTwoInstancesShareOneDatabase: a widget on instance A and an agent on instance B talk live; a
// login on A is valid on B; logging out on B ends the socket on A.
func TestTwoInstancesShareOneDatabase(t *testing.T) {
	c := newCluster(t)
	ws := c.cli(t, "workspace", "create", "--name", "Cluster")["id"].(string)
	key := c.cli(t, "key", "create", "--workspace", ws)
	email, pw := c.agentCreate(t, ws)
	a, b := c.start(t), c.start(t)

	// Log in on A; the session token works on B.
	sess := mustCall(t, "POST", a.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	login := mustCall(t, "POST", a.url()+"/v1/widget/login", sess, map[string]string{"token": signHS256(t, key["kid"].(string), key["secret"].(string))}, 200)
	token := login["session_token"].(string)
	if id := mustCall(t, "GET", b.url()+"/v1/widget/session", token, nil, 200)["identity"].(map[string]any); id["level"] != "verified" {
		t.Fatalf("the session logged in on A is %v on B", id)
	}

	widget := dialWidget(t, a, token)
	agent := consoleSignIn(t, b, email, pw)
	agentLive := agent.socket()

	// The customer writes on A: the agent's console on B hears of it live, and the widget on A sees it.
	msg := mustCall(t, "POST", a.url()+"/v1/widget/messages", token, map[string]string{"body": "hello from A's customer", "client_id": "m1"}, 201)["message"].(map[string]any)
	conv := msg["conversation_id"].(string)
	for {
		f := readFrame(t, agentLive, 10*time.Second)
		if f["type"] == "message" && f["conversation_id"] == conv {
			break
		}
		if _, closed := f["closed"]; closed {
			t.Fatalf("console socket on B closed: %v", f)
		}
	}
	widget.nextMessage("hello from A's customer")

	// The agent answers on B: the widget on A gets it live.
	agent.reply(conv, "hello from B's agent")
	if m := widget.nextMessage("hello from B's agent"); m["sender"] != "agent" {
		t.Fatalf("agent's reply arrived as %v", m)
	}

	// How long a message posted on A takes to reach a socket on B (logged, not asserted).
	onB := dialWidget(t, b, token)
	var lat []time.Duration
	for i := range 100 {
		body := fmt.Sprintf("latency %d", i)
		start := time.Now()
		mustCall(t, "POST", a.url()+"/v1/widget/messages", token, map[string]string{"body": body, "client_id": fmt.Sprintf("lat-%d", i)}, 201)
		onB.nextMessage(body)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("POST on A until the message event arrives on B's socket: p50 %v, p90 %v, p99 %v, max %v (100 messages)",
		lat[49], lat[89], lat[98], lat[99])

	// Logging out on B ends the socket on A.
	mustCall(t, "POST", b.url()+"/v1/widget/logout", token, nil, 200)
	for {
		f := readFrame(t, widget.conn, 10*time.Second)
		if status, closed := f["closed"]; closed {
			if status != float64(4401) {
				t.Fatalf("socket on A closed with %v, want 4401", status)
			}
			break
		}
	}
	mustCall(t, "GET", a.url()+"/v1/widget/session", token, nil, 401)
}

// TestFailoverMissesNothing: instance A is SIGKILLed mid-conversation; the customer's widget
// reconnects to B and resumes from the last message it saw, missing nothing, and every message the
// customer had acknowledged is stored exactly once.
func TestFailoverMissesNothing(t *testing.T) {
	c := newCluster(t)
	ws := c.cli(t, "workspace", "create", "--name", "Failover")["id"].(string)
	email, pw := c.agentCreate(t, ws)
	a, b := c.start(t), c.start(t)
	agent := consoleSignIn(t, b, email, pw)
	token := mustCall(t, "POST", a.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	first := mustCall(t, "POST", a.url()+"/v1/widget/messages", token, map[string]string{"body": "c-0", "client_id": "c-0"}, 201)["message"].(map[string]any)
	conv := first["conversation_id"].(string)

	// What the widget saw, by message id, from its socket and from resuming.
	var mu sync.Mutex
	seen := map[string]string{first["id"].(string): "c-0"}
	lastID := first["id"].(string)
	see := func(m map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		id := m["id"].(string)
		seen[id] = m["body"].(string)
		if id > lastID {
			lastID = id
		}
	}
	follow := func(srv *server) (stop func()) {
		w := dialWidget(t, srv, token)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, data, err := w.conn.Read(ctx)
				cancel()
				if err != nil {
					return
				}
				var f map[string]any
				if json.Unmarshal(data, &f) == nil && f["type"] == "message" {
					see(f["message"].(map[string]any))
				}
			}
		}()
		return func() { w.conn.CloseNow(); <-done }
	}
	stopA := follow(a)

	// The customer (on A, then on B after A dies) and the agent (on B) keep writing. The customer retries
	// an unanswered message with the same client_id on the other instance, as a load balancer would
	// route it.
	acked := map[string]bool{}
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(clientID string) {
		for _, srv := range []*server{a, b, b, b} {
			status, body, err := call(httpc, "POST", srv.url()+"/v1/widget/messages", token, map[string]string{"body": clientID, "client_id": clientID})
			if err == nil && (status == 201 || status == 200) {
				acked[clientID] = true
				see(body["message"].(map[string]any))
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("message %s was never acknowledged", clientID)
	}
	for i := 1; i <= 20; i++ {
		send(fmt.Sprintf("c-%d", i))
		if i%5 == 0 {
			agent.reply(conv, fmt.Sprintf("agent-%d", i))
		}
		if i == 10 {
			a.kill() // mid-conversation, no goodbye
			stopA()
			// The agent keeps answering while the widget is away.
			agent.reply(conv, "agent-while-reconnecting")
			// The widget reconnects to B, subscribes, then fills the gap from the last id it saw.
			stopB := follow(b)
			defer stopB()
			mu.Lock()
			after := lastID
			mu.Unlock()
			res := mustCall(t, "GET", b.url()+"/v1/widget/conversations/"+conv+"/messages?after="+after, token, nil, 200)
			for _, m := range res["messages"].([]any) {
				see(m.(map[string]any))
			}
		}
	}
	agent.reply(conv, "agent-last")

	// The database's view, read on B.
	res := mustCall(t, "GET", b.url()+"/v1/widget/conversations/"+conv+"/messages", token, nil, 200)
	var stored []string
	byClient := map[string]int{}
	for _, m := range res["messages"].([]any) {
		m := m.(map[string]any)
		stored = append(stored, m["id"].(string))
		if cid, _ := m["client_id"].(string); cid != "" {
			byClient[cid]++
		}
	}
	for cid := range acked {
		if byClient[cid] != 1 {
			t.Errorf("acknowledged message %s is stored %d times", cid, byClient[cid])
		}
	}
	// The widget ends up with every stored message (the last reply may still be in flight).
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		var missing []string
		for _, id := range stored {
			if _, ok := seen[id]; !ok {
				missing = append(missing, id)
			}
		}
		mu.Unlock()
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			t.Fatalf("the widget never saw %d stored messages: %v", len(missing), missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d messages stored, %d acknowledged customer messages, all seen by the widget across the failover", len(stored), len(acked))
}

// TestRelayReconnectResumesClients: the connection an instance listens on drops (as in a database
// restart). Events sent meanwhile are lost to it, so once it listens again it closes its sockets with
// 1013; the widget reconnects, resumes with ?after= and has every message, including those posted on
// the other instance during the outage.
func TestRelayReconnectResumesClients(t *testing.T) {
	c := newCluster(t)
	ws := c.cli(t, "workspace", "create", "--name", "Relay")["id"].(string)
	a, b := c.start(t), c.start(t)
	token := mustCall(t, "POST", a.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	first := mustCall(t, "POST", a.url()+"/v1/widget/messages", token, map[string]string{"body": "before", "client_id": "m0"}, 201)["message"].(map[string]any)
	conv, lastSeen := first["conversation_id"].(string), first["id"].(string)
	widget := dialWidget(t, a, token)

	// Cut every listening connection of this installation (its channel carries the schema name): each
	// instance listens on two, one for events and one for typing (the ephemeral channel).
	schema := strings.TrimPrefix(regexp.MustCompile(`search_path=([^&]+)`).FindString(c.env[0]), "search_path=")
	conn := dbtest.Connect(t)
	defer conn.Close(context.Background())
	var cut int
	err := conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'`, schema).Scan(&cut)
	if err != nil || cut != 4 {
		t.Fatalf("terminated %d listening connections (%v), want the two instances' two each", cut, err)
	}
	// Meanwhile the customer keeps writing through B.
	for i := 1; i <= 5; i++ {
		mustCall(t, "POST", b.url()+"/v1/widget/messages", token, map[string]string{"body": fmt.Sprintf("during %d", i), "client_id": fmt.Sprintf("m%d", i)}, 201)
	}
	// A's socket is told to resume (1013) once A listens again — possibly after delivering some events.
	seen := map[string]bool{}
	for {
		f := readFrame(t, widget.conn, 20*time.Second)
		if status, closed := f["closed"]; closed {
			if status != float64(websocket.StatusTryAgainLater) {
				t.Fatalf("socket closed with %v, want 1013 (resume)", status)
			}
			break
		}
		if m, ok := f["message"].(map[string]any); ok {
			seen[m["body"].(string)] = true
			if m["id"].(string) > lastSeen {
				lastSeen = m["id"].(string)
			}
		}
	}
	// The widget reconnects to A and fills the gap from the last id it saw.
	again := dialWidget(t, a, token)
	res := mustCall(t, "GET", a.url()+"/v1/widget/conversations/"+conv+"/messages?after="+lastSeen, token, nil, 200)
	for _, m := range res["messages"].([]any) {
		seen[m.(map[string]any)["body"].(string)] = true
	}
	for i := 1; i <= 5; i++ {
		if body := fmt.Sprintf("during %d", i); !seen[body] {
			t.Errorf("message %q never reached the widget, live or on resuming", body)
		}
	}
	all := mustCall(t, "GET", a.url()+"/v1/widget/conversations/"+conv+"/messages", token, nil, 200)["messages"].([]any)
	if len(all) != 6 {
		t.Fatalf("%d messages stored, want 6", len(all))
	}
	// And live delivery works again on A, for events from B.
	mustCall(t, "POST", b.url()+"/v1/widget/messages", token, map[string]string{"body": "after", "client_id": "m9"}, 201)
	again.nextMessage("after")
}

// TestMigrateCommand: `parley migrate` applies pending migrations once, on either database.
func TestMigrateCommand(t *testing.T) {
	data := t.TempDir()
	first := cli(t, data, "migrate")
	if first["applied"].(float64) < 1 || !strings.HasPrefix(first["database"].(string), "SQLite") {
		t.Fatalf("first migrate on SQLite: %v", first)
	}
	if again := cli(t, data, "migrate"); again["applied"].(float64) != 0 {
		t.Fatalf("second migrate on SQLite: %v", again)
	}
	c := newCluster(t)
	c.env[0] += "&pool_max_conns=6" // a URL serve accepts works for migrate too
	first = c.cli(t, "migrate")
	if first["applied"].(float64) < 1 || first["database"] != "PostgreSQL" {
		t.Fatalf("first migrate on PostgreSQL: %v", first)
	}
	if again := c.cli(t, "migrate"); again["applied"].(float64) != 0 {
		t.Fatalf("second migrate on PostgreSQL: %v", again)
	}
	// The instances find the schema ready.
	ws := c.cli(t, "workspace", "create", "--name", "Migrated")["id"].(string)
	srv := c.start(t)
	mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)
}
