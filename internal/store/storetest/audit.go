package storetest

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// The audit trail is append-only: the stores enforce it in the database (their own tests run raw
// UPDATE and DELETE statements against it), and the contract offers no way to change or remove an
// event. A method added to store.Tx that touches audit events fails here.
func testAuditAppendOnly(t *testing.T, _ store.Store) {
	tx, reader := reflect.TypeFor[store.Tx](), reflect.TypeFor[store.Reader]()
	audit := regexp.MustCompile(`(?i)audit`)
	for i := range tx.NumMethod() {
		name := tx.Method(i).Name
		if _, read := reader.MethodByName(name); read || !audit.MatchString(name) {
			continue // a transaction reads like the store; reads cannot change the trail
		}
		if name != "AddAuditEvent" {
			t.Errorf("store.Tx has %s: the audit trail is append-only, AddAuditEvent is its only write", name)
		}
	}
	if _, ok := tx.MethodByName("AddAuditEvent"); !ok {
		t.Error("store.Tx has no AddAuditEvent: this test checks the wrong interface")
	}
}

func testAuditFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	events := []store.AuditEvent{
		{At: at(0), Actor: "cli", Action: "agent.created", Target: "ag_1"},
		{At: at(time.Hour), Actor: "agent ag_1 (Admin@Example.com)", Action: "signin.succeeded", Target: "ag_1"},
		{At: at(2 * time.Hour), Actor: "agent ag_1 (Admin@Example.com)", Action: "settings.changed", Detail: "name: A → B"},
		{At: at(25 * time.Hour), Actor: "agent ag_2 (ädmin_2@example.com)", Action: "signin.failed", Target: "ag_2"},
		{At: at(26 * time.Hour), Actor: "agent ag_2 (ädmin_2@example.com)", Action: "signinx", Target: "ag_2"},
		{At: at(27 * time.Hour), Actor: "agent ag_3 (a%b@example.com)", Action: "signin.succeeded", Target: "ag_3"},
	}
	for i := range events {
		events[i].WorkspaceID = w.ID
		mustUpdate(t, s, func(tx store.Tx) error { return tx.AddAuditEvent(ctx, &events[i]) })
	}
	theirs := store.AuditEvent{WorkspaceID: other.ID, At: at(time.Hour), Actor: "cli", Action: "signin.succeeded"}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.AddAuditEvent(ctx, &theirs) })
	e := events
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want []store.AuditEvent
	}{
		{"everything", store.AuditFilter{}, []store.AuditEvent{e[5], e[4], e[3], e[2], e[1], e[0]}},
		{"limit", store.AuditFilter{Limit: 2}, []store.AuditEvent{e[5], e[4]}},
		{"next page", store.AuditFilter{Limit: 2, BeforeSeq: e[4].Seq}, []store.AuditEvent{e[3], e[2]}},
		{"last page", store.AuditFilter{Limit: 2, BeforeSeq: e[1].Seq}, []store.AuditEvent{e[0]}},
		{"one action", store.AuditFilter{Action: "signin.succeeded"}, []store.AuditEvent{e[5], e[1]}},
		{"action prefix", store.AuditFilter{Action: "signin."}, []store.AuditEvent{e[5], e[3], e[1]}},
		{"action prefix, paged", store.AuditFilter{Action: "signin.", BeforeSeq: e[5].Seq, Limit: 1}, []store.AuditEvent{e[3]}},
		{"action prefix is exact", store.AuditFilter{Action: "SIGNIN."}, nil},
		{"no such action", store.AuditFilter{Action: "signin"}, nil},
		{"actor substring, any ASCII case", store.AuditFilter{Actor: "admin@example"}, []store.AuditEvent{e[2], e[1]}},
		{"actor non-ASCII", store.AuditFilter{Actor: "ädmin"}, []store.AuditEvent{e[4], e[3]}},
		{"actor underscore is literal", store.AuditFilter{Actor: "n_2"}, []store.AuditEvent{e[4], e[3]}},
		{"actor percent is literal", store.AuditFilter{Actor: "a%b"}, []store.AuditEvent{e[5]}},
		{"actor wildcard matches nothing else", store.AuditFilter{Actor: "%"}, []store.AuditEvent{e[5]}},
		{"from", store.AuditFilter{From: at(25 * time.Hour)}, []store.AuditEvent{e[5], e[4], e[3]}},
		{"to (exclusive)", store.AuditFilter{To: at(2 * time.Hour)}, []store.AuditEvent{e[1], e[0]}},
		{"from and to", store.AuditFilter{From: at(time.Hour), To: at(26 * time.Hour)}, []store.AuditEvent{e[3], e[2], e[1]}},
		{"everything at once", store.AuditFilter{Actor: "AG_1", Action: "signin.", From: at(time.Minute), To: at(48 * time.Hour)}, []store.AuditEvent{e[1]}},
	} {
		got, err := s.AuditEventsFiltered(ctx, w.ID, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkList(t, "AuditEventsFiltered("+tc.name+")", got, tc.want, auditKey)
		for i := range min(len(got), len(tc.want)) {
			g, x := got[i], tc.want[i]
			if !g.At.Equal(x.At) || g.Actor != x.Actor || g.Action != x.Action || g.Target != x.Target || g.Detail != x.Detail {
				t.Errorf("%s: event %d = %+v; want %+v", tc.name, i, g, x)
			}
		}
	}
	got, err := s.AuditEventsFiltered(ctx, other.ID, store.AuditFilter{Action: "signin."})
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "AuditEventsFiltered(other)", got, []store.AuditEvent{theirs}, auditKey)
}
