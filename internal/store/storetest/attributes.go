package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/store"
)

// opaque reports whether a struct type hides its fields (attributes.Set): checkEqual compares such
// values whole instead of field by field.
func opaque(t reflect.Type) bool {
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

func mustAttributes(t *testing.T, text string) attributes.Set {
	t.Helper()
	a, err := attributes.Parse([]byte(text))
	if err != nil {
		t.Fatalf("attributes %s: %v", text, err)
	}
	return a
}

// largestAttributes is a set at every limit: 20 keys of 40 characters, each value 256 bytes of
// multi-byte UTF-8.
func largestAttributes(t *testing.T) attributes.Set {
	parts := make([]string, attributes.MaxCount)
	for i := range parts {
		key := fmt.Sprintf("k%02d", i) + strings.Repeat("_", attributes.MaxKeyLength-3)
		parts[i] = fmt.Sprintf("%q:%q", key, strings.Repeat("ü", attributes.MaxValueBytes/2))
	}
	return mustAttributes(t, "{"+strings.Join(parts, ",")+"}")
}

// CustomerAttributes: a customer's verified attributes are stored as given — typed, numbers exact — and
// replaced, or cleared, by UpdateCustomer.
func testCustomerAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	gold := mustAttributes(t, `{"plan":"gold","seats":10,"ratio":1.50,"vip":true,"trial":false,"account":12345678901234567890123,"note":"<img src=x onerror=alert(1)>","city":"Zürich ✓"}`)
	ada := store.Customer{ID: "cust-ada", WorkspaceID: w.ID, ExternalID: "user-1", Email: "ada@example.com", Name: "Ada",
		CreatedAt: at(0), UpdatedAt: at(0), Attributes: gold}
	byEmail := store.Customer{ID: "cust-email", WorkspaceID: w.ID, Email: "bob@example.com", CreatedAt: at(0), UpdatedAt: at(0),
		Attributes: mustAttributes(t, `{"plan":"silver"}`)}
	plain := store.Customer{ID: "cust-plain", WorkspaceID: w.ID, ExternalID: "user-3", CreatedAt: at(0), UpdatedAt: at(0)}
	for _, c := range []store.Customer{ada, byEmail, plain} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateCustomer(ctx, &c) })
	}

	read := func(what string, get func() (store.Customer, error), want store.Customer) {
		t.Helper()
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkEqual(t, what, got, want)
		if got.Attributes != want.Attributes {
			t.Errorf("%s: attributes %s; want %s", what, got.Attributes, want.Attributes)
		}
	}
	read("Customer", func() (store.Customer, error) { return s.Customer(ctx, ada.ID) }, ada)
	read("CustomerByExternalID", func() (store.Customer, error) { return s.CustomerByExternalID(ctx, w.ID, "user-1") }, ada)
	read("CustomerByEmail", func() (store.Customer, error) { return s.CustomerByEmail(ctx, w.ID, "bob@example.com") }, byEmail)
	read("a customer without attributes", func() (store.Customer, error) { return s.Customer(ctx, plain.ID) }, plain)

	got, _ := s.Customer(ctx, ada.ID)
	for key, want := range map[string]attributes.Value{
		"plan":    {Kind: attributes.String, Text: "gold"},
		"seats":   {Kind: attributes.Number, Text: "10"},
		"ratio":   {Kind: attributes.Number, Text: "1.50"},
		"account": {Kind: attributes.Number, Text: "12345678901234567890123"},
		"vip":     {Kind: attributes.Bool, Text: "true"},
		"trial":   {Kind: attributes.Bool, Text: "false"},
		"note":    {Kind: attributes.String, Text: "<img src=x onerror=alert(1)>"},
		"city":    {Kind: attributes.String, Text: "Zürich ✓"},
	} {
		if v, ok := got.Attributes.Get(key); !ok || v != want {
			t.Errorf("attribute %s = %#v, %v; want %#v", key, v, ok, want)
		}
	}

	// Replaced whole, not merged.
	ada.Attributes, ada.UpdatedAt = mustAttributes(t, `{"plan":"platinum"}`), at(time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &ada) })
	read("after UpdateCustomer", func() (store.Customer, error) { return s.Customer(ctx, ada.ID) }, ada)
	if _, ok := ada.Attributes.Get("seats"); ok {
		t.Fatal("test bug: the replacement kept seats")
	}
	read("another customer after UpdateCustomer", func() (store.Customer, error) { return s.Customer(ctx, byEmail.ID) }, byEmail)

	// At every limit at once.
	ada.Attributes = largestAttributes(t)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &ada) })
	read("the largest set", func() (store.Customer, error) { return s.Customer(ctx, ada.ID) }, ada)

	// Cleared.
	ada.Attributes = attributes.Set{}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &ada) })
	read("cleared", func() (store.Customer, error) { return s.Customer(ctx, ada.ID) }, ada)
}

// ClaimedAttributes: kept per session, apart from the session's other fields, which UpdateSession
// rewrites without touching them.
func testClaimedAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	one := newSession(t, s, w.ID, "sess-1", "")
	two := newSession(t, s, w.ID, "sess-2", "")

	claimed := func(id string) attributes.Set {
		t.Helper()
		a, err := s.ClaimedAttributes(ctx, id)
		if err != nil {
			t.Fatalf("ClaimedAttributes(%s): %v", id, err)
		}
		return a
	}
	if a := claimed(one.ID); !a.IsEmpty() {
		t.Fatalf("a new session claims %s", a)
	}
	gold := mustAttributes(t, `{"plan":"gold","seats":10,"vip":true,"note":"<b>hi</b>"}`)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetClaimedAttributes(ctx, one.ID, gold) })
	if a := claimed(one.ID); a != gold {
		t.Fatalf("ClaimedAttributes = %s; want %s", a, gold)
	}
	if a := claimed(two.ID); !a.IsEmpty() {
		t.Fatalf("another session claims %s", a)
	}
	got, err := s.Session(ctx, one.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "the session after SetClaimedAttributes", got, one)

	// UpdateSession (a rotation, a new level) leaves them.
	one.Level, one.ClaimedName, one.TokenHash, one.UpdatedAt = store.LevelIdentified, "Ada", tokenHash("rotated"), at(time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &one) })
	if a := claimed(one.ID); a != gold {
		t.Fatalf("after UpdateSession: ClaimedAttributes = %s; want %s", a, gold)
	}

	// Replaced whole, cleared, and the largest set.
	silver := mustAttributes(t, `{"plan":"silver"}`)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetClaimedAttributes(ctx, one.ID, silver) })
	if a := claimed(one.ID); a != silver {
		t.Fatalf("after a replacement: %s; want %s", a, silver)
	}
	largest := largestAttributes(t)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetClaimedAttributes(ctx, one.ID, largest) })
	if a := claimed(one.ID); a != largest {
		t.Fatalf("the largest set read back as %s", a)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetClaimedAttributes(ctx, one.ID, attributes.Set{}) })
	if a := claimed(one.ID); !a.IsEmpty() {
		t.Fatalf("after clearing: %s", a)
	}

	// Rolled back with the transaction.
	_ = tryUpdate(t, s, func(tx store.Tx) error {
		if err := tx.SetClaimedAttributes(ctx, two.ID, gold); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	if a := claimed(two.ID); !a.IsEmpty() {
		t.Fatalf("a rolled-back SetClaimedAttributes stored %s", a)
	}

	_, err = s.ClaimedAttributes(ctx, "sess-missing")
	wantErr(t, "ClaimedAttributes(missing)", err, store.ErrNotFound)
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.SetClaimedAttributes(ctx, "sess-missing", gold) })
	wantErr(t, "SetClaimedAttributes(missing)", err, store.ErrNotFound)
}

// RoutingRuleAttributes: a rule's attribute condition is stored as given.
func testRoutingRuleAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	vip := newInbox(t, s, w.ID, "in-vip", "VIP", at(0))
	rules := []store.RoutingRule{
		{ID: "rr-gold", WorkspaceID: w.ID, AttributeKey: "plan", AttributeValue: "gold", InboxID: vip.ID, CreatedAt: at(0)},
		{ID: "rr-ratio", WorkspaceID: w.ID, Position: 1, Level: store.LevelVerified, EmailDomain: "bank.example",
			AttributeKey: "ratio", AttributeValue: "1.50", InboxID: vip.ID, CreatedAt: at(time.Second)},
		{ID: "rr-empty-value", WorkspaceID: w.ID, Position: 2, AttributeKey: "note", AttributeValue: "", InboxID: vip.ID, CreatedAt: at(0)},
		{ID: "rr-plain", WorkspaceID: w.ID, Position: 3, InboxID: vip.ID, CreatedAt: at(0)},
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.ReplaceRoutingRules(ctx, w.ID, rules) })
	got, err := s.RoutingRules(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "RoutingRules", got, rules, ruleKey)
}
