package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// --max-sockets bounds the widget sockets one process holds (each is a file descriptor): beyond it a
// new socket closes with 1013 and the widget retries later, while the ones already open stay.
func TestServeMaxSockets(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Full", "--json")["id"].(string)
	srv := startServer(t, data, "127.0.0.1:0", "--max-sockets", "2")
	tokens := make([]string, 3)
	for i := range tokens {
		tokens[i] = mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	}
	first := dialWidget(t, srv, tokens[0])
	dialWidget(t, srv, tokens[1])
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	third, _, err := websocket.Dial(ctx, "ws://"+srv.addr+"/v1/widget/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer third.CloseNow()
	_ = third.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","session_token":"`+tokens[2]+`"}`))
	if f := readFrame(t, third, 10*time.Second); f["closed"] != float64(1013) {
		t.Fatalf("the third socket got %v; want it closed with 1013", f)
	}
	// The open ones keep working.
	mustCall(t, "POST", srv.url()+"/v1/widget/messages", tokens[0], map[string]string{"body": "still here", "client_id": "c1"}, 201)
	first.nextMessage("still here")
	if strings.Contains(srv.log(), "open-file limit") {
		t.Errorf("warned about the open-file limit for 2 sockets:\n%s", srv.log())
	}
}

// A limit the process's open files cannot hold is said at start; a limit below one, or not a number,
// is a usage error.
func TestServeMaxSocketsChecked(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, data, "127.0.0.1:0", "--max-sockets", "1000000000")
	if !strings.Contains(srv.log(), "open-file limit") {
		t.Errorf("no warning about the open-file limit for 10⁹ sockets:\n%s", srv.log())
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"serve", "--max-sockets", "0"}},
		{nil, []string{"serve", "--max-sockets", "-5"}},
		{map[string]string{"PARLEY_MAX_SOCKETS": "lots"}, []string{"serve"}},
	} {
		env := map[string]string{"PARLEY_DATA": t.TempDir()}
		for k, v := range c.env {
			env[k] = v
		}
		_, stderr, err := runCLI(t, env, c.args...)
		if exitCode(err) != 2 {
			t.Errorf("%v %v: exit %d (%v), want 2 (usage)\n%s", c.env, c.args, exitCode(err), err, stderr)
		}
	}
}
