package httpapi_test

import (
	"context"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// setClock is a clock the test sets by hand.
type setClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *setClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *setClock) set(rfc3339 string) {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// newClockEnv is newEnv with the domain's clock under the test's control.
func newClockEnv(t *testing.T, clock *setClock) *env {
	t.Helper()
	ctx := context.Background()
	st := dbtest.Open(t)
	hub := realtime.NewHub()
	svc := chattest.Start(t, chat.Config{Store: st, Events: hub, Now: clock.Now}, hub)
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		api.Shutdown(ctx)
		srv.Close()
	})
	e := &env{t: t, srv: srv, svc: svc, hub: hub, api: api, st: st, client: srv.Client()}
	var err error
	if e.ws, err = svc.CreateWorkspace(ctx, "Acme Bank"); err != nil {
		t.Fatal(err)
	}
	return e
}

// The widget's config says whether the workspace is open and when that changes, by the server's clock
// and the workspace's zone. Out of hours, even in "hide" mode, a message is taken (docs/api.md,
// Business hours): it waits for the team, unassigned.
func TestWidgetConfigBusinessHours(t *testing.T) {
	clock := &setClock{}
	clock.set("2026-06-06T10:00:00Z") // Saturday, 12:00 in Berlin
	e := newClockEnv(t, clock)
	hoursOf := func(r response) map[string]any {
		t.Helper()
		if r.status/100 != 2 {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		h, ok := r.body["config"].(map[string]any)["hours"].(map[string]any)
		if !ok {
			t.Fatalf("config has no hours object: %s", r.raw)
		}
		return h
	}

	// Never set: always open, and every member present.
	token := e.session()
	want := map[string]any{"enabled": false, "open": true, "next_open": "", "closes_at": "", "mode": "away", "time_zone": ""}
	if got := hoursOf(e.request("GET", "/v1/widget/session", token, nil)); !reflect.DeepEqual(got, want) {
		t.Errorf("hours by default = %v; want %v", got, want)
	}

	agent, err := e.svc.CreateAgent(context.Background(), e.ws.ID, "agent@acme.example", "Agent", store.RoleAgent, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	on, zone, hide := true, "Europe/Berlin", "hide"
	week, _ := chat.ParseWeek("mon-fri 09:00-17:00")
	e.update(chat.SettingsPatch{HoursEnabled: &on, TimeZone: &zone, HoursWeek: &week, OutOfHours: &hide})

	want = map[string]any{"enabled": true, "open": false, "next_open": "2026-06-08T07:00:00.000Z", "closes_at": "", "mode": "hide", "time_zone": "Europe/Berlin"}
	for _, r := range []response{
		e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": e.ws.ID}),
		e.request("GET", "/v1/widget/session", token, nil),
	} {
		if got := hoursOf(r); !reflect.DeepEqual(got, want) {
			t.Errorf("Saturday: hours = %v; want %v", got, want)
		}
	}
	if _, err := time.Parse(time.RFC3339, want["next_open"].(string)); err != nil {
		t.Errorf("next_open is not RFC 3339: %v", err)
	}

	// Hidden, yet a message sent anyway is kept; nobody is assigned while the team is away.
	r := e.send(token, "are you there?", "c1")
	expect(t, r, 201, "")
	conv := r.str("message", "conversation_id")
	c, err := e.st.Conversation(context.Background(), conv)
	if err != nil || c.AssigneeID != "" {
		t.Errorf("out of hours the conversation went to %q (%v); want nobody", c.AssigneeID, err)
	}
	var sawAway bool
	for _, ev := range e.events(conv) {
		sawAway = sawAway || ev.Type == "out_of_hours" && ev.Data["next_open"] == "2026-06-08T07:00:00Z"
	}
	if !sawAway {
		t.Errorf("timeline %v lacks out_of_hours with the next opening", e.events(conv))
	}

	// Monday 10:00 in Berlin: open until 17:00 (15:00Z), and routing assigns again.
	clock.set("2026-06-08T08:00:00Z")
	want = map[string]any{"enabled": true, "open": true, "next_open": "", "closes_at": "2026-06-08T15:00:00.000Z", "mode": "hide", "time_zone": "Europe/Berlin"}
	if got := hoursOf(e.request("GET", "/v1/widget/session", token, nil)); !reflect.DeepEqual(got, want) {
		t.Errorf("Monday: hours = %v; want %v", got, want)
	}
	other := e.session()
	r = e.send(other, "good morning", "c2")
	expect(t, r, 201, "")
	if c, _ := e.st.Conversation(context.Background(), r.str("message", "conversation_id")); c.AssigneeID != agent.ID {
		t.Errorf("in hours the conversation went to %q; want the available agent", c.AssigneeID)
	}
}
