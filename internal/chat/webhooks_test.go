package chat_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/webhooks"
)

// receiver is a webhook receiver on loopback whose behaviour the test sets: fail (500), hang once
// (until the sender gives up), or accept (204).
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	mode     string // "fail", "hang", "ok"
	hung     bool
	attempts []hookRequest // every request, in order
}

type hookRequest struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Status                   int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{mode: "fail"}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		h := hookRequest{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), Body: body, Status: http.StatusInternalServerError}
		mode := r.mode
		hang := mode == "hang" && !r.hung
		if hang {
			r.hung, h.Status = true, 0
		} else if mode == "ok" {
			h.Status = http.StatusNoContent
		}
		r.attempts = append(r.attempts, h)
		r.mu.Unlock()
		if hang {
			<-req.Context().Done() // until Parley gives up (its 10 s timeout)
			return
		}
		w.WriteHeader(h.Status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) set(mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode = mode
}

func (r *receiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

// verifies reports whether one of the signatures in the header verifies the request under secret.
func (h hookRequest) verifies(t *testing.T, secret string) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.ID + "." + h.Timestamp + "." + string(h.Body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return slices.Contains(strings.Fields(h.Signature), want)
}

// newHookEnv is a service whose webhooks may reach loopback (the operator's flag, as tests need it).
func newHookEnv(t *testing.T, allowLoopback bool) *lifeEnv {
	t.Helper()
	st := dbtest.Open(t)
	clock := &lifeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	hub := realtime.NewHub()
	cfg := chat.Config{Store: st, Events: hub, Now: clock.Now, Passwords: password.NewHasher(2)}
	if allowLoopback {
		cfg.WebhookAllowNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	svc := chattest.Start(t, cfg, hub)
	w, err := svc.CreateWorkspace(t.Context(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	key, err := svc.CreateKey(t.Context(), w.ID, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	return &lifeEnv{svc: svc, st: st, count: &countingStore{Store: st}, hub: hub, clock: clock, ws: w.ID, key: key}
}

func runAll(t *testing.T, r *jobs.Runner) {
	t.Helper()
	for {
		n, err := r.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func createHook(t *testing.T, e *lifeEnv, url string, events []string, notes bool) chat.NewWebhook {
	t.Helper()
	nw, err := e.svc.CreateWebhook(t.Context(), e.ws, chat.WebhookInput{URL: &url, Events: events, IncludeNotes: &notes})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(nw.Secret, "whsec_") || nw.Endpoint.Secret != nil {
		t.Fatalf("created endpoint: secret %q, sealed secret returned: %v", nw.Secret, nw.Endpoint.Secret != nil)
	}
	return nw
}

// TestWebhooksFailTimeOutRecover: every event reaches a receiver that fails, then hangs once, then
// recovers — each exactly once with a 2xx, with the same webhook-id on every attempt, correctly signed;
// internal notes only to the endpoint that opted in.
func TestWebhooksFailTimeOutRecover(t *testing.T) {
	e := newHookEnv(t, true)
	ctx := t.Context()
	all, notes := newReceiver(t), newReceiver(t)
	hAll := createHook(t, e, all.srv.URL+"/all", nil, false)
	hNotes := createHook(t, e, notes.srv.URL+"/notes", []string{chat.WebhookMessageCreated}, true)
	runner := jobs.New(jobs.Config{Store: e.st, Now: e.clock.Now, Concurrency: 8})
	e.svc.RegisterJobs(runner)
	agent, err := e.svc.CreateAgent(ctx, e.ws, "ann@acme.example", "Ann", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}

	_, v := e.session(t)
	_, v, _, err = e.svc.Login(ctx, v, e.loginToken(t, "u1"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := e.svc.PostMessage(ctx, v, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(ctx, agent, m.ConversationID, "hi there", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PostNote(ctx, agent, m.ConversationID, "internal: VIP", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetStatus(ctx, e.ws, agent.ID, m.ConversationID, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetStatus(ctx, e.ws, agent.ID, m.ConversationID, store.StatusOpen); err != nil {
		t.Fatal(err)
	}
	wantAll := []string{"conversation.closed", "conversation.created", "conversation.reopened", "customer.verified", "message.created", "message.created"}
	wantNotes := []string{"message.created", "message.created", "message.created"}

	runAll(t, runner) // every attempt fails (500)
	all.set("hang")
	notes.set("hang")
	e.clock.Advance(10 * time.Minute)
	runAll(t, runner) // one request each hangs until the 10 s timeout, the others fail
	all.set("ok")
	notes.set("ok")
	e.clock.Advance(time.Hour)
	runAll(t, runner)
	e.clock.Advance(3 * time.Hour)
	runAll(t, runner) // nothing left: no second delivery

	for _, c := range []struct {
		name   string
		r      *receiver
		secret string
		want   []string
	}{{"all events", all, hAll.Secret, wantAll}, {"messages with notes", notes, hNotes.Secret, wantNotes}} {
		reqs := c.r.requests()
		delivered := map[string]string{} // webhook-id → type, for 2xx answers
		bodyOf := map[string]string{}    // webhook-id → body: the same on every attempt
		var types []string
		sawHang := false
		notesSeen := 0
		for _, h := range reqs {
			if !h.verifies(t, c.secret) {
				t.Errorf("%s: a request's signature does not verify: %+v", c.name, h)
			}
			if b, ok := bodyOf[h.ID]; ok && b != string(h.Body) {
				t.Errorf("%s: webhook-id %s carried two bodies", c.name, h.ID)
			}
			bodyOf[h.ID] = string(h.Body)
			if h.Status == 0 {
				sawHang = true
			}
			if h.Status/100 != 2 {
				continue
			}
			var env struct {
				Type string
				Data chat.WebhookMessage
			}
			var raw struct {
				Type string
				Data json.RawMessage
			}
			if err := json.Unmarshal(h.Body, &raw); err != nil {
				t.Fatal(err)
			}
			env.Type = raw.Type
			if raw.Type == chat.WebhookMessageCreated {
				if err := json.Unmarshal(raw.Data, &env.Data); err != nil {
					t.Fatal(err)
				}
			}
			if _, dup := delivered[h.ID]; dup {
				t.Errorf("%s: %s delivered twice after a 2xx", c.name, h.ID)
			}
			delivered[h.ID] = env.Type
			types = append(types, env.Type)
			if env.Data.Internal {
				notesSeen++
			}
			if env.Type == chat.WebhookMessageCreated && env.Data.Sender == store.SenderCustomer &&
				(!env.Data.Trusted || env.Data.IdentityLevel != store.LevelVerified) {
				t.Errorf("%s: the customer's message: %+v; want trusted and verified", c.name, env.Data)
			}
		}
		slices.Sort(types)
		if !slices.Equal(types, c.want) {
			t.Errorf("%s: delivered %v; want %v", c.name, types, c.want)
		}
		if len(bodyOf) != len(c.want) {
			t.Errorf("%s: %d distinct webhook-ids over %d requests; want %d (one per event, kept across retries)", c.name, len(bodyOf), len(reqs), len(c.want))
		}
		if len(reqs) < 3*len(c.want) || !sawHang {
			t.Errorf("%s: %d requests (hang seen: %v); want every event failed, one timed out, then delivered", c.name, len(reqs), sawHang)
		}
		if wantNotes := c.name == "messages with notes"; (notesSeen == 1) != wantNotes {
			t.Errorf("%s: %d internal notes delivered", c.name, notesSeen)
		}
	}

	// The delivery log and the endpoint's health.
	log, err := e.svc.WebhookDeliveries(ctx, e.ws, hAll.Endpoint.ID, 100)
	if err != nil || len(log) != len(all.requests()) {
		t.Fatalf("delivery log: %d rows, %v; want %d", len(log), err, len(all.requests()))
	}
	if log[0].Status != http.StatusNoContent || log[len(log)-1].Status != http.StatusInternalServerError || log[len(log)-1].Attempt != 1 {
		t.Errorf("delivery log newest %+v, oldest %+v", log[0], log[len(log)-1])
	}
	ep, _ := e.svc.Webhook(ctx, e.ws, hAll.Endpoint.ID)
	if !ep.FailingSince.IsZero() || !ep.DisabledAt.IsZero() {
		t.Errorf("after recovering: %+v", ep)
	}
}

// TestWebhookDisabledAfterADayOfFailure: an endpoint failing for 24 h is disabled, audited, and its
// deliveries stop.
func TestWebhookDisabledAfterADayOfFailure(t *testing.T) {
	e := newHookEnv(t, true)
	ctx := t.Context()
	r := newReceiver(t)
	h := createHook(t, e, r.srv.URL, []string{chat.WebhookConversationCreated}, false)
	runner := jobs.New(jobs.Config{Store: e.st, Now: e.clock.Now})
	e.svc.RegisterJobs(runner)
	_, v := e.session(t)
	if _, _, err := e.svc.PostMessage(ctx, v, "hello", ""); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		runAll(t, runner)
		e.clock.Advance(2*time.Hour + 30*time.Minute)
	}
	ep, err := e.svc.Webhook(ctx, e.ws, h.Endpoint.ID)
	if err != nil || ep.DisabledAt.IsZero() || ep.FailingSince.IsZero() {
		t.Fatalf("after 24 h of failure: %+v, %v; want disabled", ep, err)
	}
	if got := ep.DisabledAt.Sub(ep.FailingSince); got < chat.WebhookFailureWindow || got > chat.WebhookFailureWindow+3*time.Hour {
		t.Errorf("disabled %v after the first failure", got)
	}
	rows := auditRows(t, e.svc, e.ws, store.AuditFilter{})
	if !slices.ContainsFunc(rows, func(s string) bool { return strings.Contains(s, chat.AuditWebhookDisabled) }) {
		t.Errorf("no %s audit row: %v", chat.AuditWebhookDisabled, rows)
	}
	n := len(r.requests())
	if n < 5 {
		t.Errorf("only %d attempts in a day", n)
	}
	if _, _, err := e.svc.PostMessage(ctx, v, "again", ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	runAll(t, runner)
	if got := len(r.requests()); got != n {
		t.Errorf("a disabled endpoint got %d more requests", got-n)
	}
	// Enabled again, it forgets its failures.
	ep, err = e.svc.SetWebhookDisabled(ctx, e.ws, h.Endpoint.ID, false)
	if err != nil || !ep.DisabledAt.IsZero() || !ep.FailingSince.IsZero() {
		t.Errorf("enabled: %+v, %v", ep, err)
	}
}

// TestWebhookGuardRefusesLoopback: without the operator's flag, a receiver on 127.0.0.1 is never
// contacted, and the log says why.
func TestWebhookGuardRefusesLoopback(t *testing.T) {
	e := newHookEnv(t, false)
	ctx := t.Context()
	r := newReceiver(t)
	h := createHook(t, e, r.srv.URL, nil, false)
	runner := jobs.New(jobs.Config{Store: e.st, Now: e.clock.Now})
	e.svc.RegisterJobs(runner)
	_, v := e.session(t)
	if _, _, err := e.svc.PostMessage(ctx, v, "hello", ""); err != nil {
		t.Fatal(err)
	}
	runAll(t, runner)
	if n := len(r.requests()); n != 0 {
		t.Fatalf("the guard let %d requests reach loopback", n)
	}
	log, err := e.svc.WebhookDeliveries(ctx, e.ws, h.Endpoint.ID, 10)
	if err != nil || len(log) == 0 || log[0].Status != 0 || !strings.Contains(log[0].Error, "127.0.0.1") {
		t.Errorf("delivery log: %+v, %v; want a refused attempt naming the address", log, err)
	}
}

// TestWebhookRotation: after a rotation both secrets' signatures are sent, for a day; then only the new.
func TestWebhookRotation(t *testing.T) {
	e := newHookEnv(t, true)
	ctx := t.Context()
	r := newReceiver(t)
	r.set("ok")
	h := createHook(t, e, r.srv.URL, nil, false)
	runner := jobs.New(jobs.Config{Store: e.st, Now: e.clock.Now})
	e.svc.RegisterJobs(runner)
	rot, err := e.svc.RotateWebhookSecret(ctx, e.ws, h.Endpoint.ID)
	if err != nil || rot.Secret == h.Secret || !strings.HasPrefix(rot.Secret, webhooks.SecretPrefix) {
		t.Fatalf("rotate: %+v, %v", rot, err)
	}
	if _, err := e.svc.SendTestWebhook(ctx, e.ws, h.Endpoint.ID); err != nil {
		t.Fatal(err)
	}
	runAll(t, runner)
	reqs := r.requests()
	if len(reqs) != 1 || !reqs[0].verifies(t, h.Secret) || !reqs[0].verifies(t, rot.Secret) || len(strings.Fields(reqs[0].Signature)) != 2 {
		t.Fatalf("during the overlap: %+v; want both signatures", reqs)
	}
	e.clock.Advance(chat.WebhookPreviousSecretTTL + time.Minute)
	if _, err := e.svc.SendTestWebhook(ctx, e.ws, h.Endpoint.ID); err != nil {
		t.Fatal(err)
	}
	runAll(t, runner)
	reqs = r.requests()
	if len(reqs) != 2 || reqs[1].verifies(t, h.Secret) || !reqs[1].verifies(t, rot.Secret) {
		t.Fatalf("after the overlap: %+v; want the new signature only", reqs[1:])
	}
	rows := auditRows(t, e.svc, e.ws, store.AuditFilter{})
	for _, row := range rows {
		if strings.Contains(row, rot.Secret) || strings.Contains(row, h.Secret) {
			t.Errorf("the audit trail shows a secret: %s", row)
		}
	}
}

// TestWebhookCustomerErased: erasing a customer tells the endpoints, with the internal id only.
func TestWebhookCustomerErased(t *testing.T) {
	e := newHookEnv(t, true)
	ctx := t.Context()
	r := newReceiver(t)
	r.set("ok")
	createHook(t, e, r.srv.URL, []string{chat.WebhookCustomerErased}, false)
	runner := jobs.New(jobs.Config{Store: e.st, Now: e.clock.Now})
	e.svc.RegisterJobs(runner)
	_, v := e.session(t)
	_, v, _, err := e.svc.Login(ctx, v, e.loginToken(t, "erase-me"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.EraseCustomer(ctx, e.ws, v.Session.CustomerID); err != nil {
		t.Fatal(err)
	}
	runAll(t, runner)
	reqs := r.requests()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"customer.erased"`) || !strings.Contains(string(reqs[0].Body), v.Session.CustomerID) ||
		strings.Contains(string(reqs[0].Body), "erase-me") {
		t.Fatalf("requests: %+v; want one customer.erased with the internal id and nothing else about them", reqs)
	}
}

// TestWebhookManagement: the rules of the management calls — URL and event checks, updates, the
// endpoint limit, other workspaces, and an audit trail without secrets.
func TestWebhookManagement(t *testing.T) {
	e := newHookEnv(t, false)
	ctx := chat.WithActor(t.Context(), "cli")
	for _, bad := range []string{"ftp://crm.example/", "https://user:pw@crm.example/", "crm.example/hook", ""} {
		if _, err := e.svc.CreateWebhook(ctx, e.ws, chat.WebhookInput{URL: &bad}); problemCode(err) != "invalid_field" {
			t.Errorf("URL %q: %v; want invalid_field", bad, err)
		}
	}
	u := "https://crm.example/hook"
	if _, err := e.svc.CreateWebhook(ctx, e.ws, chat.WebhookInput{URL: &u, Events: []string{"message.deleted"}}); problemCode(err) != "invalid_field" {
		t.Errorf("an unknown event type: %v", err)
	}
	h := createHook(t, e, u, []string{chat.WebhookMessageCreated, chat.WebhookMessageCreated}, false)
	if !slices.Equal(h.Endpoint.Events, []string{chat.WebhookMessageCreated}) {
		t.Errorf("events %v; want one of each", h.Endpoint.Events)
	}
	u2, yes := "https://crm.example/v2", true
	got, err := e.svc.UpdateWebhook(ctx, e.ws, h.Endpoint.ID, chat.WebhookInput{URL: &u2, IncludeNotes: &yes})
	if err != nil || got.URL != u2 || !got.IncludeNotes || !slices.Equal(got.Events, []string{chat.WebhookMessageCreated}) || got.Secret != nil {
		t.Fatalf("update: %+v, %v", got, err)
	}
	if got, _ = e.svc.UpdateWebhook(ctx, e.ws, h.Endpoint.ID, chat.WebhookInput{Events: []string{}}); got.Events != nil {
		t.Errorf("events after clearing: %v; want all (nil)", got.Events)
	}
	other, err := e.svc.CreateWorkspace(ctx, "Globex")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateWebhook(ctx, other.ID, h.Endpoint.ID, chat.WebhookInput{URL: &u}); problemCode(err) != "webhook_not_found" {
		t.Errorf("through another workspace: %v", err)
	}
	if err := e.svc.DeleteWebhook(ctx, other.ID, h.Endpoint.ID); problemCode(err) != "webhook_not_found" {
		t.Errorf("delete through another workspace: %v", err)
	}
	for range chat.MaxWebhookEndpoints - 1 {
		createHook(t, e, u, nil, false)
	}
	if _, err := e.svc.CreateWebhook(ctx, e.ws, chat.WebhookInput{URL: &u}); problemCode(err) != "too_many_webhooks" {
		t.Errorf("endpoint %d: %v; want too_many_webhooks", chat.MaxWebhookEndpoints+1, err)
	}
	rows := auditRows(t, e.svc, e.ws, store.AuditFilter{})
	if !slices.ContainsFunc(rows, func(r string) bool {
		return strings.HasPrefix(r, chat.AuditWebhookUpdated+" "+h.Endpoint.ID+": "+u2) && strings.Contains(r, "with internal notes") && strings.Contains(r, "[cli")
	}) {
		t.Errorf("no update in the audit trail: %v", rows)
	}
	for _, r := range rows {
		if strings.Contains(r, h.Secret) {
			t.Errorf("a secret in the audit trail: %s", r)
		}
	}
}

// problemCode is the stable code of a *problem.Error, "" for anything else.
func problemCode(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Code
	}
	return ""
}

// TestCustomerVerifiedOnFirstLogin: customer.verified announces a customer's first verified login once,
// whether the login created the customer or the customers API had created them before (which itself
// announces nothing); later logins announce nothing.
func TestCustomerVerifiedOnFirstLogin(t *testing.T) {
	e := newHookEnv(t, true)
	ctx := t.Context()
	rec := newReceiver(t)
	rec.set("ok")
	h := createHook(t, e, rec.srv.URL+"/customers", []string{chat.WebhookCustomerVerified}, false)
	runner := jobs.New(jobs.Config{Store: e.st, Now: e.clock.Now, Concurrency: 4})
	e.svc.RegisterJobs(runner)
	key, err := e.svc.CreateAPIKey(ctx, e.ws, "crm", nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := e.svc.AuthenticateAPIKey(ctx, key.Key)
	if err != nil {
		t.Fatal(err)
	}
	name := "Grace Hopper"
	if _, created, err := e.svc.PutCustomer(ctx, client, "crm-1", chat.CustomerInput{Name: &name}); err != nil || !created {
		t.Fatalf("PutCustomer: created %v, %v", created, err)
	}
	runAll(t, runner)
	if got := rec.requests(); len(got) != 0 {
		t.Fatalf("the customers API creating a customer announced %d events, want none", len(got))
	}

	type announced struct {
		Type string `json:"type"`
		Data struct {
			ID         string    `json:"id"`
			ExternalID string    `json:"external_id"`
			At         time.Time `json:"at"`
		} `json:"data"`
	}
	events := func() []announced {
		t.Helper()
		var out []announced
		for _, r := range rec.requests() {
			if !r.verifies(t, h.Secret) {
				t.Errorf("signature does not verify: %+v", r)
			}
			var a announced
			if err := json.Unmarshal(r.Body, &a); err != nil {
				t.Fatalf("body %s: %v", r.Body, err)
			}
			out = append(out, a)
		}
		return out
	}

	// The API's customer logs in for the first time (twice, on two devices), then a customer nobody
	// created before logs in.
	e.clock.Advance(time.Minute)
	firstLogin := e.clock.Now()
	for range 2 {
		_, v := e.session(t)
		if _, _, _, err := e.svc.Login(ctx, v, e.loginToken(t, "crm-1")); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	_, v := e.session(t)
	if _, _, _, err := e.svc.Login(ctx, v, e.loginToken(t, "web-2")); err != nil {
		t.Fatal(err)
	}
	runAll(t, runner)
	got := events()
	if len(got) != 2 {
		t.Fatalf("got %d customer.verified events, want 2 (one per customer): %+v", len(got), got)
	}
	byExternal := map[string]announced{}
	for _, a := range got {
		if a.Type != chat.WebhookCustomerVerified {
			t.Errorf("event type %q", a.Type)
		}
		byExternal[a.Data.ExternalID] = a
	}
	if a, ok := byExternal["crm-1"]; !ok || !a.Data.At.Equal(firstLogin) {
		t.Errorf("crm-1: announced %v at %v, want at its first login %v", ok, a.Data.At, firstLogin)
	}
	if _, ok := byExternal["web-2"]; !ok {
		t.Errorf("web-2, created by its login, was not announced: %+v", got)
	}
	cu, err := e.svc.LookupCustomer(ctx, client, "crm-1")
	if err != nil || !cu.FirstVerifiedAt.Equal(firstLogin) {
		t.Errorf("crm-1 first verified at %v (%v), want %v", cu.FirstVerifiedAt, err, firstLogin)
	}
}
