// Package storetest is the contract every store.Store implementation passes. It checks only what the
// store package promises, never one database's specifics, so that the SQLite and PostgreSQL stores are
// held to the very same behaviour.
//
// An implementation's test runs it with a function returning a fresh, empty, migrated store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTemporaryStore(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/store"
)

// Run runs the contract against stores made by open. Each subtest gets its own store; open registers
// whatever cleanup the store needs, and Close may therefore be called twice on the store of the closing
// tests.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"Workspaces", testWorkspaces},
		{"SigningKeys", testSigningKeys},
		{"Sessions", testSessions},
		{"Customers", testCustomers},
		{"Conversations", testConversations},
		{"AdoptConversations", testAdoptConversations},
		{"Messages", testMessages},
		{"Notes", testNotes},
		{"Mentions", testMentions},
		{"UnreadMentions", testUnreadMentions},
		{"MessageClientIDs", testMessageClientIDs},
		{"AppendToOpenConversation", testAppendToOpenConversation},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Events", testEvents},
		{"TimelinePages", testTimelinePages},
		{"MessagesAndNotesInSeqOrder", testMessagesAndNotesInSeqOrder},
		{"UseJTI", testUseJTI},
		{"Agents", testAgents},
		{"AgentEmailRace", testAgentEmailRace},
		{"AgentSessions", testAgentSessions},
		{"AgentSessionAndAgent", testAgentSessionAndAgent},
		{"AgentSessionList", testAgentSessionList},
		{"AgentLinks", testAgentLinks},
		{"ConversationInbox", testConversationInbox},
		{"ConversationsOfCustomer", testConversationsOfCustomer},
		{"ListConversations", testListConversations},
		{"ListConversationsSearch", testListConversationsSearch},
		{"OpenAssignedCounts", testOpenAssignedCounts},
		{"ReadMarks", testReadMarks},
		{"Inboxes", testInboxes},
		{"DeleteInbox", testDeleteInbox},
		{"RoutingRules", testRoutingRules},
		{"LoginFailures", testLoginFailures},
		{"DailyStats", testDailyStats},
		{"SigningKeyKinds", testSigningKeyKinds},
		{"APIKeys", testAPIKeys},
		{"AuditEvents", testAuditEvents},
		{"AuditFilter", testAuditFilter},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"RevokeSessions", testRevokeSessions},
		{"CustomerLoggedOutAt", testCustomerLoggedOutAt},
		{"TouchSession", testTouchSession},
		{"AuthEpoch", testAuthEpoch},
		{"RevokeExpiredSessions", testRevokeExpiredSessions},
		{"DeleteEndedSessions", testDeleteEndedSessions},
		{"DeleteUsedJTIs", testDeleteUsedJTIs},
		{"DeleteAgentSessions", testDeleteAgentSessions},
		{"CleanupConcurrent", testCleanupConcurrent},
		{"DeleteEndedBlocks", testDeleteEndedBlocks},
		{"Blocks", testBlocks},
		{"SessionClientAddr", testSessionClientAddr},
		{"CustomerAttributes", testCustomerAttributes},
		{"ClaimedAttributes", testClaimedAttributes},
		{"RoutingRuleAttributes", testRoutingRuleAttributes},
		{"CustomerSeen", testCustomerSeen},
		{"AgentsReadUpTo", testAgentsReadUpTo},
		{"AgentPrefs", testAgentPrefs},
		{"OIDCFlows", testOIDCFlows},
		{"TOTPSteps", testTOTPSteps},
		{"RecoveryCodes", testRecoveryCodes},
		{"CannedResponses", testCannedResponses},
		{"Attachments", testAttachments},
		{"AttachmentCrash", testAttachmentCrash},
		{"AttachmentRace", testAttachmentRace},
		{"BlobChunks", testBlobChunks},
		{"Jobs", testJobs},
		{"JobsConcurrentClaims", testJobsConcurrentClaims},
		{"EmailState", testEmailState},
		{"EraseCustomer", testEraseCustomer},
		{"DeleteClosedConversations", testDeleteClosedConversations},
		{"Webhooks", testWebhooks},
		{"WebhookEndpointsBesideAppend", testWebhookEndpointsBesideAppend},
		{"UpdateRollsBackOnError", testUpdateRollsBack},
		{"UpdateReadsOwnWrites", testUpdateReadsOwnWrites},
		{"UpdateConcurrentIsolation", testUpdateConcurrentIsolation},
		{"UpdateConcurrentConflicts", testUpdateConcurrentConflicts},
		{"UpdateCancelledCallers", testUpdateCancelledCallers},
		// Closing goes last, each on a store of its own.
		{"UpdateAfterClose", testUpdateAfterClose},
		{"UpdateDuringClose", testUpdateDuringClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// at returns a fixed instant plus d, so that tests never depend on the clock.
func at(d time.Duration) time.Time {
	return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).Add(d)
}

// sameTime compares instants at the microsecond precision stores keep.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// Updates

func mustUpdate(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func tryUpdate(t *testing.T, s store.Store, fn func(tx store.Tx) error) error {
	t.Helper()
	return s.Update(t.Context(), fn)
}

// wantErr fails unless err is (or wraps) want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v; want %v", what, err, want)
	}
}

// Fixtures

func newWorkspace(t *testing.T, s store.Store, id string) store.Workspace {
	t.Helper()
	w := store.Workspace{ID: id, Name: "Workspace " + id, CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateWorkspace(t.Context(), &w) })
	return w
}

func newCustomer(t *testing.T, s store.Store, workspaceID, id, externalID, email string) store.Customer {
	t.Helper()
	c := store.Customer{
		ID: id, WorkspaceID: workspaceID, ExternalID: externalID, Email: email,
		Name: "Customer " + id, CreatedAt: at(0), UpdatedAt: at(0),
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateCustomer(t.Context(), &c) })
	return c
}

// tokenHash stands in for the hash of a session's bearer token.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newSession creates an anonymous session, or a verified one when customerID is set.
func newSession(t *testing.T, s store.Store, workspaceID, id, customerID string) store.Session {
	t.Helper()
	x := store.Session{
		ID: id, WorkspaceID: workspaceID, TokenHash: tokenHash("token of " + id), Level: store.LevelAnonymous,
		CreatedAt: at(0), UpdatedAt: at(0),
	}
	if customerID != "" {
		x.Level, x.CustomerID, x.KeyID, x.VerifiedAt = store.LevelVerified, customerID, "k1", at(0)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateSession(t.Context(), &x) })
	return x
}

func newConversation(t *testing.T, s store.Store, workspaceID, id, sessionID, customerID string, created time.Time) store.Conversation {
	t.Helper()
	c := store.Conversation{
		ID: id, WorkspaceID: workspaceID, SessionID: sessionID, CustomerID: customerID,
		Status: store.StatusOpen, CreatedAt: created, UpdatedAt: created,
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(t.Context(), &c) })
	return c
}

func appendMessage(t *testing.T, s store.Store, m store.Message) store.Message {
	t.Helper()
	mustUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(t.Context(), &m) })
	return m
}

// Comparisons

// checkEqual reports every field in which got differs from want. Times compare at microsecond precision,
// and empty slices and maps equal nil ones: neither difference is observable through the contract.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	var diffs []string
	diff("", reflect.ValueOf(got), reflect.ValueOf(want), &diffs)
	if len(diffs) > 0 {
		t.Errorf("%s differs from what was stored:\n\t%s", what, strings.Join(diffs, "\n\t"))
	}
}

func diff(path string, got, want reflect.Value, out *[]string) {
	if got.Type() == reflect.TypeFor[time.Time]() {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !sameTime(g, w) {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
		}
		return
	}
	switch got.Kind() {
	case reflect.Struct:
		if opaque(got.Type()) {
			break // compared whole, below
		}
		for i := range got.NumField() {
			name := got.Type().Field(i).Name
			if path != "" {
				name = path + "." + name
			}
			diff(name, got.Field(i), want.Field(i), out)
		}
		return
	case reflect.Slice, reflect.Map:
		if got.Len() == 0 && want.Len() == 0 {
			return
		}
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, got.Interface(), want.Interface()))
	}
}

// checkList compares two lists element by element, after checking they hold the same records in the
// same order (named by key).
func checkList[T any](t *testing.T, what string, got, want []T, key func(T) string) {
	t.Helper()
	gotKeys, wantKeys := keys(got, key), keys(want, key)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("%s = %v; want %v", what, gotKeys, wantKeys)
		return
	}
	for i := range got {
		checkEqual(t, fmt.Sprintf("%s[%d] (%s)", what, i, gotKeys[i]), got[i], want[i])
	}
}

func keys[T any](list []T, key func(T) string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = key(v)
	}
	return out
}

func workspaceKey(w store.Workspace) string         { return w.ID }
func signingKeyKey(k store.SigningKey) string       { return k.WorkspaceID + "/" + k.ID }
func sessionKey(s store.Session) string             { return s.ID }
func conversationKey(c store.Conversation) string   { return c.ID }
func messageKey(m store.Message) string             { return fmt.Sprintf("%d:%s", m.Seq, m.Body) }
func eventKey(e store.Event) string                 { return fmt.Sprintf("%d:%s", e.Seq, e.Type) }
func agentKey(a store.Agent) string                 { return a.ID }
func summaryKey(c store.ConversationSummary) string { return c.ID }
func inboxKey(in store.Inbox) string                { return in.ID }
func ruleKey(r store.RoutingRule) string            { return r.ID }
func failureKey(f store.LoginFailure) string        { return fmt.Sprintf("%d:%s", f.Seq, f.Code) }
func apiKeyKey(k store.APIKey) string               { return k.ID }
func auditKey(e store.AuditEvent) string            { return fmt.Sprintf("%d:%s", e.Seq, e.Action) }

// Workspaces

func testWorkspaces(t *testing.T, s store.Store) {
	ctx := t.Context()
	if ws, err := s.Workspaces(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("Workspaces of an empty store = %v, %v; want none", ws, err)
	}

	full := store.Workspace{
		ID:   "ws-full",
		Name: "Acme Support — Ünïcode",
		Settings: store.Settings{
			AllowedOrigins:      []string{"https://acme.example", "https://www.acme.example:8443"},
			Onboarding:          true,
			FirstMessage:        "Hi! <b>Log in</b> at https://acme.example/login so we know it's you.",
			LoginURL:            "https://acme.example/login?next=%2Fsupport",
			HideUntilLogin:      true,
			AllowedEmailDomains: []string{"acme.example", "example.org"},
			RequireVerified:     true,
			MaxTokenLifetime:    7*time.Minute + 30*time.Second + 250*time.Millisecond,
			VerifiedIdleTimeout: 90 * time.Minute,
			VerifiedLifetime:    36 * time.Hour,
			VisitorIdleTimeout:  14 * 24 * time.Hour,
			BlocksUntil:         at(42 * time.Hour),
			HideReadReceipts:    true,
			AttachmentMaxBytes:  2_500_000,
			AttachmentKinds:     []string{"png", "pdf"},
			AttachmentsOff:      true,
			EmailRepliesOff:     true,
			EmailReplyDelay:     7 * time.Minute,
			EmailInterval:       2 * time.Hour,
			UnreadAlertDelay:    3 * time.Minute,
			RetentionDays:       90,
			DefaultLocale:       "pt-BR",
			Require2FA:          true,
			ConsoleIdleTimeout:  45 * time.Minute,
			SSO: store.SSOSettings{Enabled: true, Issuer: "https://login.acme.example", ClientID: "parley",
				ClientSecret: []byte{0, 1, 0xfe, 0xff}, AllowedDomains: []string{"acme.example"}, SelfProvision: true,
				PasswordsOff: true, TrustMFA: true},
			Hours: store.BusinessHours{Enabled: true, TimeZone: "Europe/Berlin",
				Week:     [7][]string{1: {"09:00-12:30", "13:30-17:00"}, 6: {"10:00-14:00"}},
				Holidays: []string{"2026-12-24", "2026-12-25"}, OutOfHours: "hide"},
			Appearance: store.Appearance{BrandColor: "#fde047", Position: "left", LauncherLabel: "Fragen? <Chat>",
				Theme: "auto", LogoURL: "https://acme.example/logo.png?v=2"},
			Greeting:        "Hello & welcome",
			AwayNotice:      "We're out — back soon.",
			OnboardingIntro: "Who are you?",
			Texts: map[string]store.WidgetTexts{
				"de":    {Greeting: "Hallo!", FirstMessage: "Wie können wir helfen?", AwayNotice: "Wir sind weg.", OnboardingIntro: "Wer sind Sie?"},
				"pt-BR": {Greeting: "Olá!"},
			},
		},
		// A sub-second part shows the store keeps microseconds, not seconds or milliseconds.
		CreatedAt: at(123456 * time.Microsecond),
		UpdatedAt: at(654321 * time.Microsecond),
	}
	settings := reflect.ValueOf(full.Settings)
	for i := range settings.NumField() {
		if settings.Field(i).IsZero() {
			t.Fatalf("the fixture leaves Settings.%s unset; set every setting so the round trip covers it",
				settings.Type().Field(i).Name)
		}
	}
	// Insertion order, id order and creation order all differ, so only one of them can pass.
	late := store.Workspace{ID: "ws-a", Name: "Late", CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	early := store.Workspace{ID: "ws-z", Name: "Early", CreatedAt: at(-time.Hour), UpdatedAt: at(-time.Hour)}
	for _, w := range []store.Workspace{full, late, early} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateWorkspace(ctx, &w) })
	}

	got, err := s.Workspace(ctx, full.ID)
	if err != nil {
		t.Fatalf("Workspace(%q): %v", full.ID, err)
	}
	checkEqual(t, "created workspace", got, full)

	all, err := s.Workspaces(ctx)
	if err != nil {
		t.Fatalf("Workspaces: %v", err)
	}
	checkList(t, "Workspaces (oldest first)", all, []store.Workspace{early, full, late}, workspaceKey)

	// Every setting changes, including true → false and a list → nothing, which must not leave the old
	// value behind.
	updated := full
	updated.Name = "Acme Help"
	updated.Settings = store.Settings{
		AllowedOrigins:   []string{"https://help.acme.example"},
		LoginURL:         "https://acme.example/signin",
		MaxTokenLifetime: 2 * time.Minute,
	}
	updated.UpdatedAt = at(time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateWorkspace(ctx, &updated) })
	got, err = s.Workspace(ctx, full.ID)
	if err != nil {
		t.Fatalf("Workspace(%q) after update: %v", full.ID, err)
	}
	checkEqual(t, "updated workspace", got, updated)
	if got, _ := s.Workspace(ctx, late.ID); got.Name != late.Name {
		t.Errorf("updating %s changed %s: name %q", full.ID, late.ID, got.Name)
	}

	_, err = s.Workspace(ctx, "ws-missing")
	wantErr(t, "Workspace(missing)", err, store.ErrNotFound)

	dup := store.Workspace{ID: full.ID, Name: "Impostor", CreatedAt: at(2 * time.Hour), UpdatedAt: at(2 * time.Hour)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateWorkspace(ctx, &dup) })
	wantErr(t, "CreateWorkspace(duplicate id)", err, store.ErrConflict)
	if got, _ := s.Workspace(ctx, full.ID); got.Name != updated.Name {
		t.Errorf("a rejected duplicate changed the workspace: name %q, want %q", got.Name, updated.Name)
	}

	missing := store.Workspace{ID: "ws-missing", Name: "Nobody", CreatedAt: at(0), UpdatedAt: at(0)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateWorkspace(ctx, &missing) })
	wantErr(t, "UpdateWorkspace(missing)", err, store.ErrNotFound)
	_, err = s.Workspace(ctx, "ws-missing")
	wantErr(t, "Workspace after UpdateWorkspace(missing)", err, store.ErrNotFound)

	if all, err := s.Workspaces(ctx); err != nil || len(all) != 3 {
		t.Errorf("Workspaces at the end = %v, %v; want the 3 created", keys(all, workspaceKey), err)
	}
}

// Signing keys

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	wa, wb := newWorkspace(t, s, "ws-a"), newWorkspace(t, s, "ws-b")

	if keys, err := s.SigningKeys(ctx, wa.ID); err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys of a new workspace = %v, %v; want none", keys, err)
	}

	// Secrets are arbitrary bytes: NULs, invalid UTF-8, every byte value.
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(255 - i)
	}
	k1 := store.SigningKey{WorkspaceID: wa.ID, ID: "k1", Kind: store.KeyHMAC, Alg: "HS256", Secret: every, CreatedAt: at(time.Second)}
	k2 := store.SigningKey{WorkspaceID: wa.ID, ID: "k0-newer", Kind: store.KeyHMAC, Alg: "HS512", CreatedAt: at(time.Hour),
		Secret: []byte{0, 0, 0, 1, 0xc3, 0x28, 0xff, 0}}
	k3 := store.SigningKey{WorkspaceID: wa.ID, ID: "k2-oldest", Kind: store.KeyHMAC, Alg: "HS384", CreatedAt: at(0),
		Secret: bytes.Repeat([]byte{0x5a}, 64)}
	// The same kid in another workspace is another key.
	kb := store.SigningKey{WorkspaceID: wb.ID, ID: "k1", Kind: store.KeyHMAC, Alg: "HS256", Secret: []byte("workspace b's secret"), CreatedAt: at(0)}
	for _, k := range []store.SigningKey{k2, k1, k3, kb} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateSigningKey(ctx, &k) })
	}

	list := func(ws string) []store.SigningKey {
		t.Helper()
		keys, err := s.SigningKeys(ctx, ws)
		if err != nil {
			t.Fatalf("SigningKeys(%s): %v", ws, err)
		}
		return keys
	}
	checkList(t, "SigningKeys(a) (oldest first)", list(wa.ID), []store.SigningKey{k3, k1, k2}, signingKeyKey)
	checkList(t, "SigningKeys(b)", list(wb.ID), []store.SigningKey{kb}, signingKeyKey)
	if got := list(wa.ID); len(got) == 3 && !bytes.Equal(got[1].Secret, every) {
		t.Errorf("secret bytes changed on the way through the store:\n got %x\nwant %x", got[1].Secret, every)
	}

	dup := store.SigningKey{WorkspaceID: wa.ID, ID: "k1", Alg: "HS512", Secret: []byte("other"), CreatedAt: at(2 * time.Hour)}
	err := tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateSigningKey(ctx, &dup) })
	wantErr(t, "CreateSigningKey(duplicate kid)", err, store.ErrConflict)

	// Revoking.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.RevokeSigningKey(ctx, wa.ID, "k1", at(5*time.Minute)) })
	k1.RevokedAt = at(5 * time.Minute)
	checkList(t, "SigningKeys(a) after revoking k1", list(wa.ID), []store.SigningKey{k3, k1, k2}, signingKeyKey)
	checkList(t, "SigningKeys(b) after revoking a's k1", list(wb.ID), []store.SigningKey{kb}, signingKeyKey)

	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeSigningKey(ctx, wa.ID, "k1", at(6*time.Minute)) })
	wantErr(t, "RevokeSigningKey(already revoked)", err, store.ErrNotFound)
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeSigningKey(ctx, wa.ID, "k-missing", at(6*time.Minute)) })
	wantErr(t, "RevokeSigningKey(missing kid)", err, store.ErrNotFound)
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeSigningKey(ctx, "ws-missing", "k1", at(6*time.Minute)) })
	wantErr(t, "RevokeSigningKey(missing workspace)", err, store.ErrNotFound)
	checkList(t, "SigningKeys(a) after failed revocations", list(wa.ID), []store.SigningKey{k3, k1, k2}, signingKeyKey)

	// Touching records a use, but a use within a minute of the recorded one need not be written.
	touch := func(ws, kid string, when time.Time) {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error { return tx.TouchSigningKey(ctx, ws, kid, when) })
	}
	used := at(10 * time.Minute)
	touch(wb.ID, "k1", used)
	kb.LastUsedAt = used
	checkList(t, "SigningKeys(b) after a use", list(wb.ID), []store.SigningKey{kb}, signingKeyKey)
	checkList(t, "SigningKeys(a) after a use of b's k1", list(wa.ID), []store.SigningKey{k3, k1, k2}, signingKeyKey)

	touch(wb.ID, "k1", used.Add(10*time.Second))
	if got := list(wb.ID); len(got) == 1 && !sameTime(got[0].LastUsedAt, used) {
		t.Errorf("a use 10s after the recorded one rewrote LastUsedAt: %v, want %v", got[0].LastUsedAt, used)
	}
	touch(wb.ID, "k1", used.Add(2*time.Minute))
	kb.LastUsedAt = used.Add(2 * time.Minute)
	checkList(t, "SigningKeys(b) after a use 2m later", list(wb.ID), []store.SigningKey{kb}, signingKeyKey)
}

// Sessions

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := store.Workspace{ID: "ws", Name: "Acme", CreatedAt: at(time.Second), UpdatedAt: at(time.Minute),
		Settings: store.Settings{AllowedOrigins: []string{"https://acme.example"}, RequireVerified: true, MaxTokenLifetime: 5 * time.Minute}}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateWorkspace(ctx, &w) })
	newWorkspace(t, s, "ws-other") // a second workspace the join must not pick
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "ada@example.com")

	anon := store.Session{
		ID: "sess-anon", WorkspaceID: w.ID, TokenHash: tokenHash("anon token"), Level: store.LevelAnonymous,
		CreatedAt: at(0), UpdatedAt: at(0), LastSeenAt: at(5 * time.Second),
	}
	identified := store.Session{
		ID: "sess-identified", WorkspaceID: w.ID, TokenHash: tokenHash("identified token"), Level: store.LevelIdentified,
		ClaimedName: "Ada L.", ClaimedEmail: "ada@example.com", ClaimedPhone: "+44 20 7946 0000",
		CreatedAt: at(time.Second), UpdatedAt: at(2 * time.Second), LastSeenAt: at(time.Second),
	}
	verified := store.Session{
		ID: "sess-verified", WorkspaceID: w.ID, TokenHash: tokenHash("verified token"), Level: store.LevelVerified,
		CustomerID: ada.ID, ClaimedName: "Ada", ClaimedEmail: "ada@example.com", ClaimedPhone: "+44",
		KeyID: "k1", VerifiedAt: at(3 * time.Second), CreatedAt: at(3 * time.Second), UpdatedAt: at(4 * time.Second),
		LastSeenAt: at(4 * time.Second),
	}
	for _, x := range []store.Session{anon, identified, verified} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, &x) })
	}

	for _, want := range []store.Session{anon, identified, verified} {
		got, err := s.Session(ctx, want.ID)
		if err != nil {
			t.Fatalf("Session(%s): %v", want.ID, err)
		}
		checkEqual(t, "Session("+want.ID+")", got, want)
		got, err = s.SessionByTokenHash(ctx, want.TokenHash)
		if err != nil {
			t.Fatalf("SessionByTokenHash(%s): %v", want.ID, err)
		}
		checkEqual(t, "SessionByTokenHash("+want.ID+")", got, want)
		got, gotW, err := s.SessionAndWorkspace(ctx, want.TokenHash)
		if err != nil {
			t.Fatalf("SessionAndWorkspace(%s): %v", want.ID, err)
		}
		checkEqual(t, "SessionAndWorkspace("+want.ID+") session", got, want)
		checkEqual(t, "SessionAndWorkspace("+want.ID+") workspace", gotW, w)
	}
	_, err := s.Session(ctx, "sess-missing")
	wantErr(t, "Session(missing)", err, store.ErrNotFound)
	_, err = s.SessionByTokenHash(ctx, tokenHash("never issued"))
	wantErr(t, "SessionByTokenHash(unknown)", err, store.ErrNotFound)
	_, _, err = s.SessionAndWorkspace(ctx, tokenHash("never issued"))
	wantErr(t, "SessionAndWorkspace(unknown)", err, store.ErrNotFound)

	// Rotation on a change of level: the old token stops working at once. CreatedAt is not stored by
	// UpdateSession, so a stale value must not overwrite it.
	oldHash := anon.TokenHash
	rotated := anon
	rotated.TokenHash = tokenHash("rotated anon token")
	rotated.Level = store.LevelIdentified
	rotated.ClaimedName, rotated.ClaimedEmail, rotated.ClaimedPhone = "Grace", "grace@example.com", "+1 555"
	rotated.UpdatedAt = at(time.Minute)
	rotated.CreatedAt = at(99 * time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &rotated) })
	rotated.CreatedAt = anon.CreatedAt
	_, err = s.SessionByTokenHash(ctx, oldHash)
	wantErr(t, "SessionByTokenHash(old hash after rotation)", err, store.ErrNotFound)
	_, _, err = s.SessionAndWorkspace(ctx, oldHash)
	wantErr(t, "SessionAndWorkspace(old hash after rotation)", err, store.ErrNotFound)
	got, err := s.SessionByTokenHash(ctx, rotated.TokenHash)
	if err != nil {
		t.Fatalf("SessionByTokenHash(new hash after rotation): %v", err)
	}
	checkEqual(t, "rotated session", got, rotated)

	// Upgrade to verified, rotating again.
	upgraded := identified
	upgraded.TokenHash = tokenHash("identified token, now verified")
	upgraded.Level, upgraded.CustomerID, upgraded.KeyID = store.LevelVerified, ada.ID, "k2"
	upgraded.VerifiedAt, upgraded.UpdatedAt = at(2*time.Minute), at(2*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &upgraded) })
	got, err = s.Session(ctx, upgraded.ID)
	if err != nil {
		t.Fatalf("Session(upgraded): %v", err)
	}
	checkEqual(t, "upgraded session", got, upgraded)

	live := func() []store.Session {
		t.Helper()
		list, err := s.LiveSessionsOfCustomer(ctx, ada.ID)
		if err != nil {
			t.Fatalf("LiveSessionsOfCustomer: %v", err)
		}
		slices.SortFunc(list, func(a, b store.Session) int { return strings.Compare(a.ID, b.ID) })
		return list
	}
	checkList(t, "LiveSessionsOfCustomer", live(), []store.Session{upgraded, verified}, sessionKey)

	// Revocation: the token no longer finds the session, but the session itself remains readable.
	revoked := verified
	revoked.RevokedAt, revoked.UpdatedAt = at(3*time.Minute), at(3*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &revoked) })
	_, err = s.SessionByTokenHash(ctx, verified.TokenHash)
	wantErr(t, "SessionByTokenHash(revoked)", err, store.ErrNotFound)
	_, _, err = s.SessionAndWorkspace(ctx, verified.TokenHash)
	wantErr(t, "SessionAndWorkspace(revoked)", err, store.ErrNotFound)
	got, err = s.Session(ctx, verified.ID)
	if err != nil {
		t.Fatalf("Session(revoked): %v", err)
	}
	checkEqual(t, "revoked session", got, revoked)
	checkList(t, "LiveSessionsOfCustomer after revoking one", live(), []store.Session{upgraded}, sessionKey)

	if list, err := s.LiveSessionsOfCustomer(ctx, "cust-missing"); err != nil || len(list) != 0 {
		t.Errorf("LiveSessionsOfCustomer(unknown customer) = %v, %v; want none", keys(list, sessionKey), err)
	}

	// Uniqueness.
	dupHash := store.Session{ID: "sess-dup-hash", WorkspaceID: w.ID, TokenHash: rotated.TokenHash,
		Level: store.LevelAnonymous, CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, &dupHash) })
	wantErr(t, "CreateSession(duplicate token hash)", err, store.ErrConflict)
	_, err = s.Session(ctx, dupHash.ID)
	wantErr(t, "Session(rejected duplicate)", err, store.ErrNotFound)

	dupID := store.Session{ID: rotated.ID, WorkspaceID: w.ID, TokenHash: tokenHash("fresh"),
		Level: store.LevelAnonymous, CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, &dupID) })
	wantErr(t, "CreateSession(duplicate id)", err, store.ErrConflict)

	clash := upgraded
	clash.TokenHash = rotated.TokenHash
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &clash) })
	wantErr(t, "UpdateSession(to another session's token hash)", err, store.ErrConflict)
	if got, err := s.SessionByTokenHash(ctx, rotated.TokenHash); err != nil || got.ID != rotated.ID {
		t.Errorf("after a rejected clash, SessionByTokenHash = %q, %v; want %q", got.ID, err, rotated.ID)
	}

	ghost := store.Session{ID: "sess-missing", WorkspaceID: w.ID, TokenHash: tokenHash("ghost"),
		Level: store.LevelAnonymous, CreatedAt: at(0), UpdatedAt: at(0)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &ghost) })
	wantErr(t, "UpdateSession(missing)", err, store.ErrNotFound)
}

// Customers

func testCustomers(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")

	byExternal := store.Customer{ID: "cust-ext", WorkspaceID: w.ID, ExternalID: "user-1", Email: "ada@example.com",
		Name: "Ada Lovelace", FirstName: "Ada", Phone: "+44 20 7946 0000", Locale: "de-AT", CreatedAt: at(time.Second), UpdatedAt: at(2 * time.Second)}
	byEmail := store.Customer{ID: "cust-email", WorkspaceID: w.ID, Email: "ada@example.com",
		Name: "A. Lovelace", CreatedAt: at(3 * time.Second), UpdatedAt: at(3 * time.Second)}
	// Another external id with the same email is yet another customer.
	byExternal2 := store.Customer{ID: "cust-ext2", WorkspaceID: w.ID, ExternalID: "user-2", Email: "ada@example.com",
		Name: "Ada (work)", CreatedAt: at(4 * time.Second), UpdatedAt: at(4 * time.Second)}
	externalOnly := store.Customer{ID: "cust-ext-only", WorkspaceID: w.ID, ExternalID: "user-3",
		CreatedAt: at(5 * time.Second), UpdatedAt: at(5 * time.Second)}
	for _, c := range []store.Customer{byExternal, byEmail, byExternal2, externalOnly} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateCustomer(ctx, &c) })
	}

	for _, want := range []store.Customer{byExternal, byEmail, byExternal2, externalOnly} {
		got, err := s.Customer(ctx, want.ID)
		if err != nil {
			t.Fatalf("Customer(%s): %v", want.ID, err)
		}
		checkEqual(t, "Customer("+want.ID+")", got, want)
	}
	got, err := s.CustomerByExternalID(ctx, w.ID, "user-1")
	if err != nil {
		t.Fatalf("CustomerByExternalID: %v", err)
	}
	checkEqual(t, "CustomerByExternalID(user-1)", got, byExternal)
	got, err = s.CustomerByEmail(ctx, w.ID, "ada@example.com")
	if err != nil {
		t.Fatalf("CustomerByEmail: %v", err)
	}
	checkEqual(t, "CustomerByEmail (the one keyed by email)", got, byEmail)
	if n, err := s.CountCustomersWithEmail(ctx, w.ID, "ada@example.com"); err != nil || n != 3 {
		t.Errorf("CountCustomersWithEmail = %d, %v; want 3 (however keyed)", n, err)
	}

	_, err = s.Customer(ctx, "cust-missing")
	wantErr(t, "Customer(missing)", err, store.ErrNotFound)
	_, err = s.CustomerByExternalID(ctx, w.ID, "user-missing")
	wantErr(t, "CustomerByExternalID(missing)", err, store.ErrNotFound)
	_, err = s.CustomerByExternalID(ctx, other.ID, "user-1")
	wantErr(t, "CustomerByExternalID(other workspace)", err, store.ErrNotFound)
	_, err = s.CustomerByEmail(ctx, other.ID, "ada@example.com")
	wantErr(t, "CustomerByEmail(other workspace)", err, store.ErrNotFound)
	_, err = s.CustomerByEmail(ctx, w.ID, "grace@example.com")
	wantErr(t, "CustomerByEmail(missing)", err, store.ErrNotFound)
	if n, err := s.CountCustomersWithEmail(ctx, other.ID, "ada@example.com"); err != nil || n != 0 {
		t.Errorf("CountCustomersWithEmail(other workspace) = %d, %v; want 0", n, err)
	}

	// Only an email-keyed customer answers CustomerByEmail.
	grace := store.Customer{ID: "cust-grace", WorkspaceID: w.ID, ExternalID: "user-4", Email: "grace@example.com",
		CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateCustomer(ctx, &grace) })
	_, err = s.CustomerByEmail(ctx, w.ID, "grace@example.com")
	wantErr(t, "CustomerByEmail(email of an externally keyed customer only)", err, store.ErrNotFound)
	if n, err := s.CountCustomersWithEmail(ctx, w.ID, "grace@example.com"); err != nil || n != 1 {
		t.Errorf("CountCustomersWithEmail(grace) = %d, %v; want 1", n, err)
	}

	// Keys are unique per workspace.
	conflicts := []store.Customer{
		{ID: "cust-dup-ext", WorkspaceID: w.ID, ExternalID: "user-1", Email: "someone@example.com"},
		{ID: "cust-dup-ext-no-email", WorkspaceID: w.ID, ExternalID: "user-1"},
		{ID: "cust-dup-email", WorkspaceID: w.ID, Email: "ada@example.com"},
		{ID: byEmail.ID, WorkspaceID: w.ID, ExternalID: "user-fresh"},
	}
	for _, c := range conflicts {
		c.CreatedAt, c.UpdatedAt = at(time.Hour), at(time.Hour)
		err := tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateCustomer(ctx, &c) })
		wantErr(t, fmt.Sprintf("CreateCustomer(%s, external %q, email %q)", c.ID, c.ExternalID, c.Email), err, store.ErrConflict)
	}
	if n, err := s.CountCustomersWithEmail(ctx, w.ID, "ada@example.com"); err != nil || n != 3 {
		t.Errorf("CountCustomersWithEmail after rejected duplicates = %d, %v; want 3", n, err)
	}
	elsewhere := []store.Customer{
		{ID: "cust-other-ext", WorkspaceID: other.ID, ExternalID: "user-1", Email: "ada@example.com"},
		{ID: "cust-other-email", WorkspaceID: other.ID, Email: "ada@example.com"},
	}
	for _, c := range elsewhere {
		c.CreatedAt, c.UpdatedAt = at(time.Hour), at(time.Hour)
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateCustomer(ctx, &c) })
	}
	if got, err := s.CustomerByExternalID(ctx, other.ID, "user-1"); err != nil || got.ID != "cust-other-ext" {
		t.Errorf("CustomerByExternalID(other workspace, user-1) = %q, %v; want cust-other-ext", got.ID, err)
	}
	if got, err := s.CustomerByExternalID(ctx, w.ID, "user-1"); err != nil || got.ID != byExternal.ID {
		t.Errorf("CustomerByExternalID(user-1) after another workspace's = %q, %v; want %s", got.ID, err, byExternal.ID)
	}

	// Updating every field, including giving the email-keyed customer an external id: it stops being
	// the customer keyed by that email, which frees the email key.
	updated := byEmail
	updated.ExternalID, updated.Email = "user-5", "ada.lovelace@example.com"
	updated.Name, updated.FirstName, updated.Phone, updated.Locale = "Ada King", "Augusta", "+44 1", "pt-BR"
	updated.UpdatedAt = at(time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &updated) })
	got, err = s.Customer(ctx, byEmail.ID)
	if err != nil {
		t.Fatalf("Customer after update: %v", err)
	}
	checkEqual(t, "updated customer", got, updated)
	if got, err := s.CustomerByExternalID(ctx, w.ID, "user-5"); err != nil || got.ID != byEmail.ID {
		t.Errorf("CustomerByExternalID(new external id) = %q, %v; want %s", got.ID, err, byEmail.ID)
	}
	_, err = s.CustomerByEmail(ctx, w.ID, "ada@example.com")
	wantErr(t, "CustomerByEmail(email the updated customer no longer has)", err, store.ErrNotFound)
	fresh := store.Customer{ID: "cust-email-again", WorkspaceID: w.ID, Email: "ada@example.com", CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateCustomer(ctx, &fresh) })
	if got, err := s.CustomerByEmail(ctx, w.ID, "ada@example.com"); err != nil || got.ID != fresh.ID {
		t.Errorf("CustomerByEmail after re-keying = %q, %v; want %s", got.ID, err, fresh.ID)
	}

	clash := updated
	clash.ExternalID = "user-1"
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &clash) })
	wantErr(t, "UpdateCustomer(to a taken external id)", err, store.ErrConflict)

	ghost := store.Customer{ID: "cust-missing", WorkspaceID: w.ID, ExternalID: "user-9", CreatedAt: at(0), UpdatedAt: at(0)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &ghost) })
	wantErr(t, "UpdateCustomer(missing)", err, store.ErrNotFound)
}

// Conversations

func testConversations(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "")
	anon := newSession(t, s, w.ID, "sess-anon", "")
	verified := newSession(t, s, w.ID, "sess-verified", ada.ID)

	full := store.Conversation{
		ID: "conv-full", WorkspaceID: w.ID, SessionID: anon.ID, Status: store.StatusOpen,
		ClaimedName: "Ada?", ClaimedEmail: "ada@example.com", AssigneeID: "agent-7",
		CreatedAt: at(0), UpdatedAt: at(time.Second),
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &full) })
	got, err := s.Conversation(ctx, full.ID)
	if err != nil {
		t.Fatalf("Conversation: %v", err)
	}
	checkEqual(t, "created conversation", got, full)
	_, err = s.Conversation(ctx, "conv-missing")
	wantErr(t, "Conversation(missing)", err, store.ErrNotFound)

	dup := full
	dup.CreatedAt = at(time.Hour)
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &dup) })
	wantErr(t, "CreateConversation(duplicate id)", err, store.ErrConflict)

	// Creation order differs from insertion order and id order.
	anon2 := newConversation(t, s, w.ID, "conv-a-anon", anon.ID, "", at(time.Minute))
	cust1 := newConversation(t, s, w.ID, "conv-z-cust", verified.ID, ada.ID, at(30*time.Second))
	cust2 := newConversation(t, s, w.ID, "conv-b-cust", verified.ID, ada.ID, at(2*time.Minute))
	// Started by the anonymous session but owned by a customer: the session no longer sees it.
	owned := newConversation(t, s, w.ID, "conv-owned", anon.ID, ada.ID, at(3*time.Minute))

	byCustomer := store.Owner{CustomerID: ada.ID}
	bySession := store.Owner{SessionID: anon.ID}
	list := func(owner store.Owner) []store.Conversation {
		t.Helper()
		cs, err := s.Conversations(ctx, owner)
		if err != nil {
			t.Fatalf("Conversations(%+v): %v", owner, err)
		}
		return cs
	}
	checkList(t, "Conversations(customer) (newest first)", list(byCustomer), []store.Conversation{owned, cust2, cust1}, conversationKey)
	checkList(t, "Conversations(session) (newest first, customer-less only)", list(bySession), []store.Conversation{anon2, full}, conversationKey)
	checkList(t, "Conversations(session that started none)", list(store.Owner{SessionID: verified.ID}), nil, conversationKey)
	checkList(t, "Conversations(unknown customer)", list(store.Owner{CustomerID: "cust-missing"}), nil, conversationKey)

	open := func(owner store.Owner) string {
		t.Helper()
		c, err := s.OpenConversation(ctx, owner)
		if errors.Is(err, store.ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatalf("OpenConversation(%+v): %v", owner, err)
		}
		return c.ID
	}
	if id := open(byCustomer); id != owned.ID {
		t.Errorf("OpenConversation(customer) = %q; want the newest open, %s", id, owned.ID)
	}
	if id := open(bySession); id != anon2.ID {
		t.Errorf("OpenConversation(session) = %q; want the newest open customer-less one, %s", id, anon2.ID)
	}

	// Close: every stored field changes. A stale copy's LastMessage, SessionID and CreatedAt are not
	// fields UpdateConversation stores, so they must not overwrite the record.
	appendMessage(t, s, store.Message{ConversationID: anon2.ID, Sender: store.SenderCustomer, SessionID: anon.ID,
		Body: "hello", CreatedAt: at(90 * time.Second)})
	closed := anon2
	closed.Status, closed.ClosedAt, closed.UpdatedAt = store.StatusClosed, at(4*time.Minute), at(4*time.Minute)
	closed.ClaimedName, closed.ClaimedEmail, closed.AssigneeID = "Grace", "grace@example.com", "agent-1"
	stale := closed
	stale.SessionID, stale.CreatedAt = verified.ID, at(99*time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &stale) })
	closed.LastMessage = at(90 * time.Second)
	got, err = s.Conversation(ctx, anon2.ID)
	if err != nil {
		t.Fatalf("Conversation after closing: %v", err)
	}
	checkEqual(t, "closed conversation", got, closed)
	if id := open(bySession); id != full.ID {
		t.Errorf("OpenConversation(session) after closing the newest = %q; want %s", id, full.ID)
	}

	// Reopen.
	reopened := closed
	reopened.Status, reopened.ClosedAt, reopened.UpdatedAt = store.StatusOpen, time.Time{}, at(5*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &reopened) })
	got, err = s.Conversation(ctx, anon2.ID)
	if err != nil {
		t.Fatalf("Conversation after reopening: %v", err)
	}
	checkEqual(t, "reopened conversation", got, reopened)
	if id := open(bySession); id != anon2.ID {
		t.Errorf("OpenConversation(session) after reopening = %q; want %s", id, anon2.ID)
	}

	// Nothing open left.
	for _, c := range []store.Conversation{reopened, full, owned, cust2, cust1} {
		c.Status, c.ClosedAt, c.UpdatedAt = store.StatusClosed, at(6*time.Minute), at(6*time.Minute)
		mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &c) })
	}
	_, err = s.OpenConversation(ctx, bySession)
	wantErr(t, "OpenConversation(session with only closed ones)", err, store.ErrNotFound)
	_, err = s.OpenConversation(ctx, byCustomer)
	wantErr(t, "OpenConversation(customer with only closed ones)", err, store.ErrNotFound)
	if n := len(list(byCustomer)); n != 3 {
		t.Errorf("Conversations(customer) after closing lists %d; want 3 (closed ones included)", n)
	}

	ghost := store.Conversation{ID: "conv-missing", WorkspaceID: w.ID, SessionID: anon.ID, Status: store.StatusOpen,
		CreatedAt: at(0), UpdatedAt: at(0)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &ghost) })
	wantErr(t, "UpdateConversation(missing)", err, store.ErrNotFound)
}

func testAdoptConversations(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "")
	bob := newCustomer(t, s, w.ID, "cust-bob", "user-2", "")
	anon := newSession(t, s, w.ID, "sess-anon", "")
	bystander := newSession(t, s, w.ID, "sess-bystander", "")
	verified := newSession(t, s, w.ID, "sess-verified", ada.ID)

	first := newConversation(t, s, w.ID, "conv-1", anon.ID, "", at(0))
	second := newConversation(t, s, w.ID, "conv-2", anon.ID, "", at(time.Minute))
	// Already a customer's: adoption must not steal it.
	bobs := newConversation(t, s, w.ID, "conv-bob", anon.ID, bob.ID, at(2*time.Minute))
	// Another session's: untouched.
	theirs := newConversation(t, s, w.ID, "conv-bystander", bystander.ID, "", at(3*time.Minute))
	adas := newConversation(t, s, w.ID, "conv-ada", verified.ID, ada.ID, at(30*time.Second))

	var ids []string
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		ids, err = tx.AdoptConversations(ctx, anon.ID, ada.ID, at(time.Hour))
		return err
	})
	slices.Sort(ids)
	if want := []string{first.ID, second.ID}; !slices.Equal(ids, want) {
		t.Errorf("AdoptConversations returned %v; want %v", ids, want)
	}

	for _, c := range []store.Conversation{first, second} {
		c.CustomerID, c.UpdatedAt = ada.ID, at(time.Hour) // SessionID stays: the visitor remains a participant
		got, err := s.Conversation(ctx, c.ID)
		if err != nil {
			t.Fatalf("Conversation(%s): %v", c.ID, err)
		}
		checkEqual(t, "adopted "+c.ID, got, c)
	}
	for _, c := range []store.Conversation{bobs, theirs, adas} {
		got, err := s.Conversation(ctx, c.ID)
		if err != nil {
			t.Fatalf("Conversation(%s): %v", c.ID, err)
		}
		checkEqual(t, "not adopted "+c.ID, got, c)
	}

	cs, err := s.Conversations(ctx, store.Owner{CustomerID: ada.ID})
	if err != nil {
		t.Fatalf("Conversations(customer): %v", err)
	}
	if got, want := keys(cs, conversationKey), []string{second.ID, adas.ID, first.ID}; !slices.Equal(got, want) {
		t.Errorf("Conversations(customer) after adoption = %v; want %v", got, want)
	}
	cs, err = s.Conversations(ctx, store.Owner{SessionID: anon.ID})
	if err != nil || len(cs) != 0 {
		t.Errorf("Conversations(session) after adoption = %v, %v; want none", keys(cs, conversationKey), err)
	}
	_, err = s.OpenConversation(ctx, store.Owner{SessionID: anon.ID})
	wantErr(t, "OpenConversation(session) after adoption", err, store.ErrNotFound)
	if c, err := s.OpenConversation(ctx, store.Owner{CustomerID: ada.ID}); err != nil || c.ID != second.ID {
		t.Errorf("OpenConversation(customer) after adoption = %q, %v; want %s", c.ID, err, second.ID)
	}
	cs, err = s.Conversations(ctx, store.Owner{SessionID: bystander.ID})
	if got := keys(cs, conversationKey); err != nil || !slices.Equal(got, []string{theirs.ID}) {
		t.Errorf("Conversations(bystander) = %v, %v; want [%s]", got, err, theirs.ID)
	}

	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		ids, err = tx.AdoptConversations(ctx, anon.ID, bob.ID, at(2*time.Hour))
		return err
	})
	if len(ids) != 0 {
		t.Errorf("a second AdoptConversations returned %v; want none left to adopt", ids)
	}
	if c, _ := s.Conversation(ctx, first.ID); c.CustomerID != ada.ID {
		t.Errorf("a second adoption moved %s to %q", first.ID, c.CustomerID)
	}
}

// Messages

func testMessages(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "")
	sess := newSession(t, s, w.ID, "sess-verified", ada.ID)
	conv := newConversation(t, s, w.ID, "conv", sess.ID, ada.ID, at(0))
	otherConv := newConversation(t, s, w.ID, "conv-other", sess.ID, ada.ID, at(0))

	if msgs, err := s.Messages(ctx, conv.ID, 0, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("Messages of a new conversation = %v, %v; want none", msgs, err)
	}

	fromCustomer := appendMessage(t, s, store.Message{
		ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID,
		Body: "Hello <script>alert(1)</script> — ünïcödé 🙂\nsecond line", Trusted: true, ClientID: "client-1",
		CreatedAt: at(time.Second + 123456*time.Microsecond),
	})
	c, err := s.Conversation(ctx, conv.ID)
	if err != nil {
		t.Fatalf("Conversation: %v", err)
	}
	if !sameTime(c.LastMessage, fromCustomer.CreatedAt) {
		t.Errorf("LastMessage after the first message = %v; want %v", c.LastMessage, fromCustomer.CreatedAt)
	}
	fromAgent := appendMessage(t, s, store.Message{
		ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: "agent-1", Body: "Hi Ada", ClientID: "agent-client-1",
		CreatedAt: at(2 * time.Second),
	})
	elsewhere := appendMessage(t, s, store.Message{
		ConversationID: otherConv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "elsewhere",
		Trusted: true, CreatedAt: at(3 * time.Second),
	})
	fromSystem := appendMessage(t, s, store.Message{
		ConversationID: conv.ID, Sender: store.SenderSystem, Body: "Conversation assigned", CreatedAt: at(4 * time.Second),
	})
	untrusted := appendMessage(t, s, store.Message{
		ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "", Trusted: false,
		ClientID: "client-2", CreatedAt: at(5 * time.Second),
	})
	want := []store.Message{fromCustomer, fromAgent, fromSystem, untrusted}
	for i, m := range want {
		if i > 0 && m.Seq <= want[i-1].Seq {
			t.Errorf("Seq %d of message %d is not above the previous message's %d", m.Seq, i, want[i-1].Seq)
		}
	}
	c, err = s.Conversation(ctx, conv.ID)
	if err != nil {
		t.Fatalf("Conversation: %v", err)
	}
	if !sameTime(c.LastMessage, untrusted.CreatedAt) {
		t.Errorf("LastMessage = %v; want the latest message's %v", c.LastMessage, untrusted.CreatedAt)
	}

	got, err := s.Messages(ctx, conv.ID, 0, 100)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	checkList(t, "Messages", got, want, messageKey)
	got, err = s.Messages(ctx, otherConv.ID, 0, 100)
	if err != nil {
		t.Fatalf("Messages(other conversation): %v", err)
	}
	checkList(t, "Messages(other conversation)", got, []store.Message{elsewhere}, messageKey)
	got, err = s.Messages(ctx, conv.ID, fromAgent.Seq, 100)
	if err != nil {
		t.Fatalf("Messages(after): %v", err)
	}
	checkList(t, "Messages(after the agent's)", got, want[2:], messageKey)

	// Paging from any point, oldest first.
	for i := range 9 {
		m := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: "agent-1",
			Body: fmt.Sprintf("page message %d", i), CreatedAt: at(time.Minute + time.Duration(i)*time.Second)})
		want = append(want, m)
	}
	var paged []store.Message
	var sizes []int
	after := int64(0)
	for range len(want) + 2 {
		page, err := s.Messages(ctx, conv.ID, after, 4)
		if err != nil {
			t.Fatalf("Messages(after %d, 4): %v", after, err)
		}
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if wantSizes := []int{4, 4, 4, 1, 0}; !slices.Equal(sizes, wantSizes) {
		t.Errorf("pages of 4 over %d messages had sizes %v; want %v", len(want), sizes, wantSizes)
	}
	checkList(t, "paged Messages", paged, want, messageKey)

	got, err = s.Messages(ctx, "conv-missing", 0, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("Messages(missing conversation) = %v, %v; want none", got, err)
	}

	// Appending to a missing conversation fails and writes nothing.
	ghost := store.Message{ConversationID: "conv-missing", Sender: store.SenderCustomer, SessionID: sess.ID,
		Body: "into the void", ClientID: "client-void", CreatedAt: at(time.Hour)}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &ghost) }); err == nil {
		t.Errorf("AppendMessage(missing conversation) succeeded")
	}
	_, err = s.MessageByClientID(ctx, sess.ID, "client-void")
	wantErr(t, "MessageByClientID after appending to a missing conversation", err, store.ErrNotFound)

	checkMessageNumbers(t, s, conv.ID, want, elsewhere)
}

// checkMessageNumbers checks the numbers of want, a conversation's messages in order: 1, 2, 3… whatever
// other conversations hold (elsewhere is the first of another one), and MessagesAfterNumber pages them
// like Messages; a failed append takes no number.
func checkMessageNumbers(t *testing.T, s store.Store, convID string, want []store.Message, elsewhere store.Message) {
	t.Helper()
	ctx := t.Context()
	for i, m := range want {
		if m.N != int64(i+1) {
			t.Errorf("message %d of the conversation (%q) has number %d; want %d", i, m.Body, m.N, i+1)
		}
	}
	if elsewhere.N != 1 {
		t.Errorf("the first message of another conversation has number %d; want 1: numbers count per conversation", elsewhere.N)
	}
	var paged []store.Message
	var sizes []int
	after := int64(0)
	for range len(want) + 2 {
		page, err := s.MessagesAfterNumber(ctx, convID, after, 4)
		if err != nil {
			t.Fatalf("MessagesAfterNumber(after %d, 4): %v", after, err)
		}
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].N
	}
	if wantSizes := []int{4, 4, 4, 1, 0}; !slices.Equal(sizes, wantSizes) {
		t.Errorf("MessagesAfterNumber pages of 4 over %d messages had sizes %v; want %v", len(want), sizes, wantSizes)
	}
	checkList(t, "MessagesAfterNumber pages", paged, want, messageKey)
	got, err := s.MessagesAfterNumber(ctx, convID, 2, 100)
	if err != nil {
		t.Fatalf("MessagesAfterNumber(2): %v", err)
	}
	checkList(t, "MessagesAfterNumber(after the second)", got, want[2:], messageKey)
	got, err = s.MessagesAfterNumber(ctx, elsewhere.ConversationID, 0, 100)
	if err != nil {
		t.Fatalf("MessagesAfterNumber(other conversation): %v", err)
	}
	checkList(t, "MessagesAfterNumber(other conversation)", got, []store.Message{elsewhere}, messageKey)
	if got, err := s.MessagesAfterNumber(ctx, "conv-missing", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("MessagesAfterNumber(missing conversation) = %v, %v; want none", got, err)
	}

	// An append that fails (a client id used before) takes no number: the next one is dense.
	first := want[0]
	dup := store.Message{ConversationID: convID, Sender: first.Sender, SessionID: first.SessionID, AgentID: first.AgentID,
		Body: "again", ClientID: first.ClientID, CreatedAt: at(2 * time.Hour)}
	if first.ClientID == "" {
		t.Fatalf("the first message needs a client id")
	}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &dup) })
	wantErr(t, "AppendMessage(a client id used before)", err, store.ErrConflict)
	next := appendMessage(t, s, store.Message{ConversationID: convID, Sender: store.SenderSystem, Body: "next", CreatedAt: at(3 * time.Hour)})
	if next.N != int64(len(want)+1) {
		t.Errorf("the message after a failed append has number %d; want %d", next.N, len(want)+1)
	}
}

func testMessageClientIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	one, two := newSession(t, s, w.ID, "sess-1", ""), newSession(t, s, w.ID, "sess-2", "")
	conv := newConversation(t, s, w.ID, "conv-1", one.ID, "", at(0))
	otherConv := newConversation(t, s, w.ID, "conv-2", two.ID, "", at(0))

	first := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: one.ID,
		Body: "first", ClientID: "retry-me", CreatedAt: at(time.Second)})
	got, err := s.MessageByClientID(ctx, one.ID, "retry-me")
	if err != nil {
		t.Fatalf("MessageByClientID: %v", err)
	}
	checkEqual(t, "MessageByClientID", got, first)
	_, err = s.MessageByClientID(ctx, one.ID, "never-sent")
	wantErr(t, "MessageByClientID(unknown client id)", err, store.ErrNotFound)
	_, err = s.MessageByClientID(ctx, two.ID, "retry-me")
	wantErr(t, "MessageByClientID(another session's client id)", err, store.ErrNotFound)

	// A retry, even into another conversation, conflicts and leaves no trace: no message, and the
	// conversation's LastMessage does not move.
	for _, target := range []string{conv.ID, otherConv.ID} {
		retry := store.Message{ConversationID: target, Sender: store.SenderCustomer, SessionID: one.ID,
			Body: "first, again", ClientID: "retry-me", CreatedAt: at(time.Hour)}
		err := tryUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &retry) })
		wantErr(t, "AppendMessage(client id the session already used, "+target+")", err, store.ErrConflict)
	}
	msgs, err := s.Messages(ctx, conv.ID, 0, 10)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	checkList(t, "Messages after rejected retries", msgs, []store.Message{first}, messageKey)
	if c, err := s.Conversation(ctx, conv.ID); err != nil || !sameTime(c.LastMessage, first.CreatedAt) {
		t.Errorf("LastMessage after a rejected retry = %v, %v; want %v", c.LastMessage, err, first.CreatedAt)
	}
	if c, err := s.Conversation(ctx, otherConv.ID); err != nil || !c.LastMessage.IsZero() {
		t.Errorf("LastMessage of the other conversation after a rejected retry = %v, %v; want none", c.LastMessage, err)
	}

	// Another session may use the same client id; so may the session, for a different one.
	theirs := appendMessage(t, s, store.Message{ConversationID: otherConv.ID, Sender: store.SenderCustomer, SessionID: two.ID,
		Body: "theirs", ClientID: "retry-me", CreatedAt: at(2 * time.Second)})
	got, err = s.MessageByClientID(ctx, two.ID, "retry-me")
	if err != nil {
		t.Fatalf("MessageByClientID(second session): %v", err)
	}
	checkEqual(t, "MessageByClientID(second session)", got, theirs)
	if got, err := s.MessageByClientID(ctx, one.ID, "retry-me"); err != nil || got.Seq != first.Seq {
		t.Errorf("MessageByClientID(first session) = seq %d, %v; want %d", got.Seq, err, first.Seq)
	}
	appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: one.ID,
		Body: "second", ClientID: "another", CreatedAt: at(3 * time.Second)})

	// Messages without a client id never conflict with each other.
	for i := range 3 {
		appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: one.ID,
			Body: fmt.Sprintf("no client id %d", i), CreatedAt: at(4 * time.Second)})
	}
	if msgs, err := s.Messages(ctx, conv.ID, 0, 100); err != nil || len(msgs) != 5 {
		t.Errorf("Messages = %d, %v; want 5", len(msgs), err)
	}

	// Agents' client ids: unique per agent, found per agent, never confused with a session's.
	reply := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: "agent-1",
		Body: "reply", ClientID: "retry-me", CreatedAt: at(5 * time.Second)})
	if got, err := s.MessageByAgentClientID(ctx, "agent-1", "retry-me"); err != nil {
		t.Fatalf("MessageByAgentClientID: %v", err)
	} else {
		checkEqual(t, "MessageByAgentClientID", got, reply)
	}
	_, err = s.MessageByAgentClientID(ctx, "agent-2", "retry-me")
	wantErr(t, "MessageByAgentClientID(another agent)", err, store.ErrNotFound)
	_, err = s.MessageByAgentClientID(ctx, one.ID, "another")
	wantErr(t, "MessageByAgentClientID(a session id)", err, store.ErrNotFound)
	again := store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: "agent-1", Body: "reply, again", ClientID: "retry-me", CreatedAt: at(6 * time.Second)}
	wantErr(t, "AppendMessage(client id the agent already used)", tryUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &again) }), store.ErrConflict)
	appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: "agent-2", Body: "colleague", ClientID: "retry-me", CreatedAt: at(7 * time.Second)})
}

func testAppendToOpenConversation(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "")
	anon := newSession(t, s, w.ID, "sess-anon", "")
	verified := newSession(t, s, w.ID, "sess-verified", ada.ID)
	byCustomer, bySession := store.Owner{CustomerID: ada.ID}, store.Owner{SessionID: anon.ID}

	appendTo := func(owner store.Owner, m *store.Message) (store.Conversation, error) {
		t.Helper()
		var c store.Conversation
		err := tryUpdate(t, s, func(tx store.Tx) error {
			var err error
			c, err = tx.AppendToOpenConversation(ctx, owner, m)
			return err
		})
		return c, err
	}

	// No open conversation: ErrNotFound, and nothing written.
	lost := store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: "anyone?", ClientID: "c-lost", CreatedAt: at(time.Second)}
	_, err := appendTo(bySession, &lost)
	wantErr(t, "AppendToOpenConversation(no conversation)", err, store.ErrNotFound)
	_, err = s.MessageByClientID(ctx, anon.ID, "c-lost")
	wantErr(t, "MessageByClientID after appending to no conversation", err, store.ErrNotFound)

	older := newConversation(t, s, w.ID, "conv-older", anon.ID, "", at(0))
	newer := newConversation(t, s, w.ID, "conv-newer", anon.ID, "", at(time.Minute))
	owned := newConversation(t, s, w.ID, "conv-owned", anon.ID, ada.ID, at(2*time.Minute)) // not the session's any more
	adas := newConversation(t, s, w.ID, "conv-ada", verified.ID, ada.ID, at(30*time.Second))

	m1 := store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: "first", ClientID: "c-1", CreatedAt: at(3 * time.Minute)}
	c, err := appendTo(bySession, &m1)
	if err != nil {
		t.Fatalf("AppendToOpenConversation(session): %v", err)
	}
	if c.ID != newer.ID || m1.ConversationID != newer.ID {
		t.Errorf("AppendToOpenConversation(session) used %q (message says %q); want the newest open customer-less one, %s",
			c.ID, m1.ConversationID, newer.ID)
	}
	if c.SessionID != anon.ID || c.CustomerID != "" || c.Status != store.StatusOpen || !sameTime(c.CreatedAt, newer.CreatedAt) {
		t.Errorf("AppendToOpenConversation returned %+v; want conversation %s as stored", c, newer.ID)
	}
	got, err := s.Messages(ctx, newer.ID, 0, 10)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	checkList(t, "Messages after AppendToOpenConversation", got, []store.Message{m1}, messageKey)
	if m1.Seq == 0 || m1.N != 1 {
		t.Errorf("AppendToOpenConversation assigned Seq %d, number %d; want a Seq and number 1", m1.Seq, m1.N)
	}
	if c, err := s.Conversation(ctx, newer.ID); err != nil || !sameTime(c.LastMessage, m1.CreatedAt) {
		t.Errorf("LastMessage after AppendToOpenConversation = %v, %v; want %v", c.LastMessage, err, m1.CreatedAt)
	}

	// The customer's newest open conversation, from any of its sessions.
	m2 := store.Message{Sender: store.SenderCustomer, SessionID: verified.ID, Body: "second", Trusted: true, ClientID: "c-2", CreatedAt: at(4 * time.Minute)}
	c, err = appendTo(byCustomer, &m2)
	if err != nil {
		t.Fatalf("AppendToOpenConversation(customer): %v", err)
	}
	if c.ID != owned.ID || m2.ConversationID != owned.ID {
		t.Errorf("AppendToOpenConversation(customer) used %q; want the newest open one, %s", c.ID, owned.ID)
	}
	if m2.Seq <= m1.Seq {
		t.Errorf("Seq %d not above the previous message's %d", m2.Seq, m1.Seq)
	}

	// Closing the newest moves appends to the next newest open one.
	closed := owned
	closed.Status, closed.ClosedAt, closed.UpdatedAt = store.StatusClosed, at(5*time.Minute), at(5*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &closed) })
	m3 := store.Message{Sender: store.SenderAgent, AgentID: "agent-1", Body: "third", CreatedAt: at(6 * time.Minute)}
	if c, err := appendTo(byCustomer, &m3); err != nil || c.ID != adas.ID {
		t.Errorf("AppendToOpenConversation(customer) after closing the newest = %q, %v; want %s", c.ID, err, adas.ID)
	}
	// Numbers count per conversation, whichever way the messages came.
	m3b := appendMessage(t, s, store.Message{ConversationID: adas.ID, Sender: store.SenderSystem, Body: "3b", CreatedAt: at(6 * time.Minute)})
	m3c := store.Message{Sender: store.SenderAgent, AgentID: "agent-1", Body: "3c", CreatedAt: at(6 * time.Minute)}
	if _, err := appendTo(byCustomer, &m3c); err != nil {
		t.Fatalf("AppendToOpenConversation(customer): %v", err)
	}
	if m2.N != 1 || m3.N != 1 || m3b.N != 2 || m3c.N != 3 {
		t.Errorf("numbers %d (first of one conversation), %d, %d, %d (another's first three); want 1, 1, 2, 3", m2.N, m3.N, m3b.N, m3c.N)
	}

	// A client id the session already used conflicts, and nothing is written.
	dup := store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: "first, again", ClientID: "c-1", CreatedAt: at(time.Hour)}
	_, err = appendTo(bySession, &dup)
	wantErr(t, "AppendToOpenConversation(used client id)", err, store.ErrConflict)
	if c, err := s.Conversation(ctx, newer.ID); err != nil || !sameTime(c.LastMessage, m1.CreatedAt) {
		t.Errorf("LastMessage after a rejected duplicate = %v, %v; want %v", c.LastMessage, err, m1.CreatedAt)
	}
	if got, err := s.Messages(ctx, older.ID, 0, 10); err != nil || len(got) != 0 {
		t.Errorf("the older conversation received %d messages, %v; want none", len(got), err)
	}

	// Likewise for a session: closing its newest moves appends to its older open one.
	closedNewer := newer
	closedNewer.Status, closedNewer.ClosedAt, closedNewer.UpdatedAt = store.StatusClosed, at(7*time.Minute), at(7*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &closedNewer) })
	m4 := store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: "fourth", ClientID: "c-4", CreatedAt: at(8 * time.Minute)}
	if c, err := appendTo(bySession, &m4); err != nil || c.ID != older.ID {
		t.Errorf("AppendToOpenConversation(session) after closing the newest = %q, %v; want %s", c.ID, err, older.ID)
	}
	closedOlder := older
	closedOlder.Status, closedOlder.ClosedAt, closedOlder.UpdatedAt = store.StatusClosed, at(9*time.Minute), at(9*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &closedOlder) })
	m5 := store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: "fifth", ClientID: "c-5", CreatedAt: at(10 * time.Minute)}
	_, err = appendTo(bySession, &m5)
	wantErr(t, "AppendToOpenConversation(session with only closed ones)", err, store.ErrNotFound)
}

// testConcurrentAppends appends to one conversation from many goroutines, reading as it goes: Seq must be
// unique and follow each writer's own order, and readers must never see a gap close behind them.
func testConcurrentAppends(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	conv := newConversation(t, s, w.ID, "conv", newSession(t, s, w.ID, "sess", "").ID, "", at(0))

	const writers, perWriter = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+2)
	seqs := make([][]int64, writers)
	numbers := make([]map[int64]int64, writers) // each writer's messages' numbers by Seq
	for g := range writers {
		numbers[g] = make(map[int64]int64)
		wg.Go(func() {
			for i := range perWriter {
				m := store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: fmt.Sprintf("agent-%d", g),
					Body: fmt.Sprintf("%d/%d", g, i), CreatedAt: at(time.Duration(i) * time.Second)}
				if err := s.Update(ctx, func(tx store.Tx) error { return tx.AppendMessage(ctx, &m) }); err != nil {
					errs <- err
					return
				}
				seqs[g] = append(seqs[g], m.Seq)
				numbers[g][m.Seq] = m.N
			}
		})
	}
	stop := make(chan struct{})
	var readerDone sync.WaitGroup
	// A reader that resumes from the last Seq it saw — as a client does with ?after= — must end up with
	// every message: one committed with a lower Seq after the reader moved past it would be lost to it.
	var seen []int64
	readerDone.Go(func() {
		var after int64
		for final := false; ; {
			select {
			case <-stop:
				final = true // one more read after the last commit
			default:
			}
			page, err := s.Messages(ctx, conv.ID, after, 1000)
			if err != nil {
				errs <- err
				return
			}
			for _, m := range page {
				if m.Seq <= after {
					errs <- fmt.Errorf("reader saw seq %d after %d", m.Seq, after)
					return
				}
				after = m.Seq
				seen = append(seen, m.Seq)
			}
			if final && len(page) == 0 {
				return
			}
		}
	})
	// The same, resuming from the last number seen, as ?after= with a public id does.
	var seenNumbers []int64
	readerDone.Go(func() {
		var after int64
		for final := false; ; {
			select {
			case <-stop:
				final = true
			default:
			}
			page, err := s.MessagesAfterNumber(ctx, conv.ID, after, 1000)
			if err != nil {
				errs <- err
				return
			}
			for _, m := range page {
				if m.N != after+1 {
					errs <- fmt.Errorf("reader by number saw number %d after %d", m.N, after)
					return
				}
				after = m.N
				seenNumbers = append(seenNumbers, m.N)
			}
			if final && len(page) == 0 {
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	readerDone.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent appends: %v", err)
	}
	if len(seen) != writers*perWriter {
		t.Fatalf("a reader resuming from the last Seq it saw got %d of %d messages: some committed below a Seq it had already passed",
			len(seen), writers*perWriter)
	}

	msgs, err := s.Messages(ctx, conv.ID, 0, 1000)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if len(msgs) != writers*perWriter {
		t.Fatalf("Messages lists %d; want %d", len(msgs), writers*perWriter)
	}
	listed := make(map[int64]bool)
	for i, m := range msgs {
		if i > 0 && m.Seq <= msgs[i-1].Seq {
			t.Errorf("Messages not in increasing Seq order at %d: %d after %d", i, m.Seq, msgs[i-1].Seq)
		}
		if m.N != int64(i+1) {
			t.Errorf("message %d in Seq order has number %d; want %d: numbers must be dense and follow Seq", i, m.N, i+1)
		}
		listed[m.Seq] = true
		for g := range numbers {
			if n, ok := numbers[g][m.Seq]; ok && n != m.N {
				t.Errorf("writer %d's message (seq %d) was told number %d; it is stored as %d", g, m.Seq, n, m.N)
			}
		}
	}
	if len(seenNumbers) != writers*perWriter {
		t.Errorf("a reader resuming from the last number it saw got %d of %d messages", len(seenNumbers), writers*perWriter)
	}
	for g, own := range seqs {
		for i, seq := range own {
			if !listed[seq] {
				t.Errorf("writer %d's message %d (seq %d) is not listed", g, i, seq)
			}
			if i > 0 && seq <= own[i-1] {
				t.Errorf("writer %d's message %d got seq %d, not above its previous %d", g, i, seq, own[i-1])
			}
		}
	}
}

// Events

func testEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	otherConv := newConversation(t, s, w.ID, "conv-other", sess.ID, "", at(0))

	if evs, err := s.Events(ctx, conv.ID); err != nil || len(evs) != 0 {
		t.Fatalf("Events of a new conversation = %v, %v; want none", evs, err)
	}

	add := func(e store.Event) store.Event {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, &e) })
		return e
	}
	started := add(store.Event{ConversationID: conv.ID, Type: "started", CreatedAt: at(time.Second)})
	authenticated := add(store.Event{ConversationID: conv.ID, Type: "authenticated", CreatedAt: at(2 * time.Second),
		Data: map[string]string{"key_id": "k1", "name": "Ada — ünïcödé", "quote": `"<b>"`, "empty": ""}})
	other := add(store.Event{ConversationID: otherConv.ID, Type: "started", CreatedAt: at(3 * time.Second),
		Data: map[string]string{}})
	// Same instant: Seq, not time, orders the timeline.
	closed := add(store.Event{ConversationID: conv.ID, Type: "closed", CreatedAt: at(2 * time.Second),
		Data: map[string]string{"by": "agent-1"}})

	if !(started.Seq < authenticated.Seq && authenticated.Seq < other.Seq && other.Seq < closed.Seq) {
		t.Errorf("event Seqs %d, %d, %d, %d are not increasing", started.Seq, authenticated.Seq, other.Seq, closed.Seq)
	}
	got, err := s.Events(ctx, conv.ID)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	checkList(t, "Events (oldest first)", got, []store.Event{started, authenticated, closed}, eventKey)
	got, err = s.Events(ctx, otherConv.ID)
	if err != nil {
		t.Fatalf("Events(other): %v", err)
	}
	checkList(t, "Events(other conversation)", got, []store.Event{other}, eventKey)
	if got, err := s.Events(ctx, "conv-missing"); err != nil || len(got) != 0 {
		t.Errorf("Events(missing conversation) = %v, %v; want none", got, err)
	}

	ghost := store.Event{ConversationID: "conv-missing", Type: "started", CreatedAt: at(0)}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, &ghost) }); err == nil {
		t.Errorf("AppendEvent(missing conversation) succeeded")
	}
}

// Token ids

func testUseJTI(t *testing.T, s store.Store) {
	a, b := newWorkspace(t, s, "ws-a"), newWorkspace(t, s, "ws-b")
	use := func(ws, jti string, until, now time.Time) error {
		t.Helper()
		return tryUpdate(t, s, func(tx store.Tx) error { return tx.UseJTI(t.Context(), ws, jti, until, now) })
	}
	if err := use(a.ID, "jti-1", at(10*time.Minute), at(0)); err != nil {
		t.Fatalf("first UseJTI: %v", err)
	}
	wantErr(t, "UseJTI(replay before until)", use(a.ID, "jti-1", at(10*time.Minute), at(5*time.Minute)), store.ErrConflict)
	wantErr(t, "UseJTI(replay before until, asking for a later until)", use(a.ID, "jti-1", at(time.Hour), at(9*time.Minute)), store.ErrConflict)
	if err := use(b.ID, "jti-1", at(10*time.Minute), at(5*time.Minute)); err != nil {
		t.Errorf("UseJTI(same jti, other workspace): %v", err)
	}
	if err := use(a.ID, "jti-1", at(21*time.Minute), at(11*time.Minute)); err != nil {
		t.Errorf("UseJTI(after until passed): %v", err)
	}
	// The reuse recorded its own until.
	wantErr(t, "UseJTI(replay of the reused jti)", use(a.ID, "jti-1", at(21*time.Minute), at(15*time.Minute)), store.ErrConflict)

	for _, u := range []struct {
		jti   string
		until time.Time
	}{{"jti-2", at(time.Minute)}, {"jti-3", at(2 * time.Minute)}, {"jti-4", at(30 * time.Minute)}} {
		if err := use(a.ID, u.jti, u.until, at(0)); err != nil {
			t.Fatalf("UseJTI(%s): %v", u.jti, err)
		}
	}
	// Recorded now: a/jti-1 until 21m, b/jti-1 until 10m, jti-2 1m, jti-3 2m, jti-4 30m.
	purge := func(before time.Time) int {
		t.Helper()
		var n int
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.PurgeJTIs(t.Context(), before)
			return err
		})
		return n
	}
	if n := purge(at(25 * time.Minute)); n != 4 {
		t.Errorf("PurgeJTIs(25m) = %d; want 4", n)
	}
	if n := purge(at(25 * time.Minute)); n != 0 {
		t.Errorf("a second PurgeJTIs(25m) = %d; want 0", n)
	}
	wantErr(t, "UseJTI(jti-4, kept by the purge)", use(a.ID, "jti-4", at(30*time.Minute), at(26*time.Minute)), store.ErrConflict)
	// Purged records are gone: even with a clock from before their until, they can be recorded again.
	if err := use(a.ID, "jti-3", at(2*time.Minute), at(90*time.Second)); err != nil {
		t.Errorf("UseJTI(purged jti): %v", err)
	}
}

// Update semantics

func testUpdateRollsBack(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	errBoom := errors.New("boom")

	err := s.Update(ctx, func(tx store.Tx) error {
		for _, step := range []func() error{
			func() error {
				return tx.CreateWorkspace(ctx, &store.Workspace{ID: "ws-rolled-back", Name: "x", CreatedAt: at(0), UpdatedAt: at(0)})
			},
			func() error {
				return tx.CreateCustomer(ctx, &store.Customer{ID: "cust-rolled-back", WorkspaceID: w.ID, ExternalID: "user-1", CreatedAt: at(0), UpdatedAt: at(0)})
			},
			func() error {
				return tx.AppendMessage(ctx, &store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer,
					SessionID: sess.ID, Body: "never", ClientID: "client-1", CreatedAt: at(time.Hour)})
			},
			func() error {
				return tx.AppendEvent(ctx, &store.Event{ConversationID: conv.ID, Type: "never", CreatedAt: at(time.Hour)})
			},
			func() error {
				c := conv
				c.Status, c.ClosedAt, c.UpdatedAt = store.StatusClosed, at(time.Hour), at(time.Hour)
				return tx.UpdateConversation(ctx, &c)
			},
			func() error { return tx.UseJTI(ctx, w.ID, "jti-1", at(time.Hour), at(0)) },
		} {
			if err := step(); err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
		}
		return errBoom
	})
	if err != errBoom {
		t.Errorf("Update returned %v; want fn's error unchanged", err)
	}

	_, err = s.Workspace(ctx, "ws-rolled-back")
	wantErr(t, "Workspace written by a failed fn", err, store.ErrNotFound)
	_, err = s.Customer(ctx, "cust-rolled-back")
	wantErr(t, "Customer written by a failed fn", err, store.ErrNotFound)
	_, err = s.MessageByClientID(ctx, sess.ID, "client-1")
	wantErr(t, "Message written by a failed fn", err, store.ErrNotFound)
	if msgs, err := s.Messages(ctx, conv.ID, 0, 10); err != nil || len(msgs) != 0 {
		t.Errorf("Messages after a failed fn = %v, %v; want none", msgs, err)
	}
	if evs, err := s.Events(ctx, conv.ID); err != nil || len(evs) != 0 {
		t.Errorf("Events after a failed fn = %v, %v; want none", evs, err)
	}
	got, err := s.Conversation(ctx, conv.ID)
	if err != nil {
		t.Fatalf("Conversation: %v", err)
	}
	checkEqual(t, "conversation after a failed fn", got, conv)
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.UseJTI(ctx, w.ID, "jti-1", at(time.Hour), at(0)) }); err != nil {
		t.Errorf("UseJTI of a jti only a failed fn used: %v", err)
	}

	// A wrapped error stays recognisable.
	err = s.Update(ctx, func(tx store.Tx) error { return fmt.Errorf("while doing x: %w", errBoom) })
	if !errors.Is(err, errBoom) {
		t.Errorf("Update returned %v; want it to wrap %v", err, errBoom)
	}
	// A store error fn passes on stays recognisable too.
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateWorkspace(ctx, &store.Workspace{ID: w.ID, Name: "dup", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	wantErr(t, "Update passing on a conflict", err, store.ErrConflict)
}

func testUpdateReadsOwnWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Each check returns an error rather than failing the test, because fn may run on another goroutine.
	check := func(ok bool, format string, args ...any) error {
		if ok {
			return nil
		}
		return fmt.Errorf(format, args...)
	}
	for _, commit := range []bool{true, false} {
		errRollback := errors.New("roll back")
		suffix := fmt.Sprintf("-%t", commit)
		err := s.Update(ctx, func(tx store.Tx) error {
			w := store.Workspace{ID: "ws" + suffix, Name: "Own writes", CreatedAt: at(0), UpdatedAt: at(0)}
			if err := tx.CreateWorkspace(ctx, &w); err != nil {
				return err
			}
			got, err := tx.Workspace(ctx, w.ID)
			if err := check(err == nil && got.Name == w.Name, "Workspace in the tx = %+v, %v", got, err); err != nil {
				return err
			}
			c := store.Customer{ID: "cust" + suffix, WorkspaceID: w.ID, Email: "ada@example.com", CreatedAt: at(0), UpdatedAt: at(0)}
			if err := tx.CreateCustomer(ctx, &c); err != nil {
				return err
			}
			byEmail, err := tx.CustomerByEmail(ctx, w.ID, c.Email)
			if err := check(err == nil && byEmail.ID == c.ID, "CustomerByEmail in the tx = %q, %v", byEmail.ID, err); err != nil {
				return err
			}
			x := store.Session{ID: "sess" + suffix, WorkspaceID: w.ID, TokenHash: tokenHash("t" + suffix),
				Level: store.LevelVerified, CustomerID: c.ID, VerifiedAt: at(0), CreatedAt: at(0), UpdatedAt: at(0)}
			if err := tx.CreateSession(ctx, &x); err != nil {
				return err
			}
			sess, err := tx.SessionByTokenHash(ctx, x.TokenHash)
			if err := check(err == nil && sess.ID == x.ID, "SessionByTokenHash in the tx = %q, %v", sess.ID, err); err != nil {
				return err
			}
			conv := store.Conversation{ID: "conv" + suffix, WorkspaceID: w.ID, SessionID: x.ID, CustomerID: c.ID,
				Status: store.StatusOpen, CreatedAt: at(0), UpdatedAt: at(0)}
			if err := tx.CreateConversation(ctx, &conv); err != nil {
				return err
			}
			open, err := tx.OpenConversation(ctx, store.Owner{CustomerID: c.ID})
			if err := check(err == nil && open.ID == conv.ID, "OpenConversation in the tx = %q, %v", open.ID, err); err != nil {
				return err
			}
			m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: x.ID, Body: "hi",
				Trusted: true, ClientID: "c1", CreatedAt: at(time.Minute)}
			if err := tx.AppendMessage(ctx, &m); err != nil {
				return err
			}
			msgs, err := tx.Messages(ctx, conv.ID, 0, 10)
			if err := check(err == nil && len(msgs) == 1 && msgs[0].Seq == m.Seq, "Messages in the tx = %v, %v", msgs, err); err != nil {
				return err
			}
			again, err := tx.MessageByClientID(ctx, x.ID, "c1")
			if err := check(err == nil && again.Seq == m.Seq, "MessageByClientID in the tx = %d, %v", again.Seq, err); err != nil {
				return err
			}
			after, err := tx.Conversation(ctx, conv.ID)
			if err := check(err == nil && sameTime(after.LastMessage, m.CreatedAt), "LastMessage in the tx = %v, %v", after.LastMessage, err); err != nil {
				return err
			}
			if !commit {
				return errRollback
			}
			return nil
		})
		if commit && err != nil {
			t.Fatalf("Update reading its own writes: %v", err)
		}
		if !commit && err != errRollback {
			t.Fatalf("Update reading its own writes, then rolling back: %v", err)
		}
		_, err = s.Workspace(ctx, "ws"+suffix)
		if commit && err != nil {
			t.Errorf("Workspace after commit: %v", err)
		}
		if !commit {
			wantErr(t, "Workspace after rollback", err, store.ErrNotFound)
		}
	}
}

// testUpdateConcurrentIsolation starts many Updates at once, so that an implementation that commits
// several callers' functions together does so, and checks that every failing fn left nothing behind while
// every successful one is wholly committed.
func testUpdateConcurrentIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	errBoom := errors.New("boom")

	const n = 50
	fails := func(i int) bool { return i%5 == 4 }
	// Failing writers use later times, so a failed write to the conversation would show in LastMessage.
	createdAt := func(i int) time.Time {
		if fails(i) {
			return at(time.Hour + time.Duration(i)*time.Second)
		}
		return at(time.Duration(i) * time.Second)
	}
	for round := range 3 {
		prefix := fmt.Sprintf("r%d-", round)
		results := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i] = s.Update(ctx, func(tx store.Tx) error {
					c := store.Customer{ID: fmt.Sprintf("%scust-%02d", prefix, i), WorkspaceID: w.ID,
						ExternalID: fmt.Sprintf("%suser-%02d", prefix, i), CreatedAt: at(0), UpdatedAt: at(0)}
					if err := tx.CreateCustomer(ctx, &c); err != nil {
						return err
					}
					m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID,
						Body: c.ID, ClientID: fmt.Sprintf("%sclient-%02d", prefix, i), CreatedAt: createdAt(i)}
					if err := tx.AppendMessage(ctx, &m); err != nil {
						return err
					}
					if err := tx.AppendEvent(ctx, &store.Event{ConversationID: conv.ID, Type: c.ID, CreatedAt: createdAt(i)}); err != nil {
						return err
					}
					if err := tx.UseJTI(ctx, w.ID, fmt.Sprintf("%sjti-%02d", prefix, i), at(time.Hour), at(0)); err != nil {
						return err
					}
					if fails(i) {
						return fmt.Errorf("writer %d: %w", i, errBoom)
					}
					return nil
				})
			})
		}
		close(start)
		wg.Wait()

		for i, err := range results {
			if fails(i) && !errors.Is(err, errBoom) {
				t.Errorf("round %d: failing writer %d: Update returned %v; want %v", round, i, err, errBoom)
			}
			if !fails(i) && err != nil {
				t.Errorf("round %d: writer %d: Update returned %v; want success", round, i, err)
			}
		}
		for i := range n {
			_, errCustomer := s.Customer(ctx, fmt.Sprintf("%scust-%02d", prefix, i))
			_, errMessage := s.MessageByClientID(ctx, sess.ID, fmt.Sprintf("%sclient-%02d", prefix, i))
			errJTI := tryUpdate(t, s, func(tx store.Tx) error {
				return tx.UseJTI(ctx, w.ID, fmt.Sprintf("%sjti-%02d", prefix, i), at(time.Hour), at(time.Minute))
			})
			if fails(i) {
				if !errors.Is(errCustomer, store.ErrNotFound) || !errors.Is(errMessage, store.ErrNotFound) || errJTI != nil {
					t.Errorf("round %d: failing writer %d left a trace: customer %v, message %v, jti reuse %v",
						round, i, errCustomer, errMessage, errJTI)
				}
			} else if errCustomer != nil || errMessage != nil || !errors.Is(errJTI, store.ErrConflict) {
				t.Errorf("round %d: writer %d not wholly committed: customer %v, message %v, jti reuse %v",
					round, i, errCustomer, errMessage, errJTI)
			}
		}
	}

	msgs, err := s.Messages(ctx, conv.ID, 0, 1000)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if want := 3 * n * 4 / 5; len(msgs) != want {
		t.Errorf("Messages lists %d; want %d from the successful writers", len(msgs), want)
	}
	var lastTimes []time.Time
	for i, m := range msgs {
		if i > 0 && m.Seq <= msgs[i-1].Seq {
			t.Errorf("Messages not in increasing Seq order at %d: %d after %d", i, m.Seq, msgs[i-1].Seq)
		}
		lastTimes = append(lastTimes, m.CreatedAt)
	}
	if evs, err := s.Events(ctx, conv.ID); err != nil || len(evs) != len(msgs) {
		t.Errorf("Events lists %d, %v; want %d from the successful writers", len(evs), err, len(msgs))
	}
	c, err := s.Conversation(ctx, conv.ID)
	if err != nil {
		t.Fatalf("Conversation: %v", err)
	}
	if !c.LastMessage.Before(at(time.Hour)) || !slices.ContainsFunc(lastTimes, func(t time.Time) bool { return sameTime(t, c.LastMessage) }) {
		t.Errorf("LastMessage = %v; want the time of a committed message, none of a failed writer's", c.LastMessage)
	}
}

// testUpdateConcurrentConflicts races many Updates for the same unique key: exactly one wins and every
// other sees ErrConflict, whether or not they are committed together.
func testUpdateConcurrentConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	const n = 50
	var wins, conflicts atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			<-start
			err := s.Update(ctx, func(tx store.Tx) error { return tx.UseJTI(ctx, w.ID, "contended", at(time.Hour), at(0)) })
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrConflict):
				conflicts.Add(1)
			default:
				errs <- fmt.Errorf("UseJTI %d: %w", i, err)
			}
			c := store.Customer{ID: fmt.Sprintf("cust-%02d", i), WorkspaceID: w.ID, Email: "same@example.com", CreatedAt: at(0), UpdatedAt: at(0)}
			err = s.Update(ctx, func(tx store.Tx) error { return tx.CreateCustomer(ctx, &c) })
			if err != nil && !errors.Is(err, store.ErrConflict) {
				errs <- fmt.Errorf("CreateCustomer %d: %w", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("%d racing UseJTI calls: %d succeeded and %d conflicted; want 1 and %d", n, wins.Load(), conflicts.Load(), n-1)
	}
	if count, err := s.CountCustomersWithEmail(ctx, w.ID, "same@example.com"); err != nil || count != 1 {
		t.Errorf("%d racing CreateCustomer calls for one email left %d customers, %v; want 1", n, count, err)
	}
}

// testUpdateCancelledCallers runs Updates whose callers give up while their fn is writing, next to
// Updates whose callers do not: a cancelled caller's work is rolled back, and never anyone else's.
func testUpdateCancelledCallers(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	// Purging many records is a long write, so callers' contexts end in the middle of it.
	const stale = 2000
	mustUpdate(t, s, func(tx store.Tx) error {
		for i := range stale {
			if err := tx.UseJTI(ctx, w.ID, fmt.Sprintf("stale-%d", i), at(time.Minute), at(0)); err != nil {
				return err
			}
		}
		return nil
	})
	errAbandoned := errors.New("abandoned")
	purgeAndFail := func(ctx context.Context) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			if _, err := tx.PurgeJTIs(ctx, at(2*time.Minute)); err != nil {
				return err
			}
			return errAbandoned
		}
	}
	// Callers give up at moments spread from before fn starts to after it ends, scaled to this store's
	// speed.
	began := time.Now()
	if err := s.Update(ctx, purgeAndFail(ctx)); !errors.Is(err, errAbandoned) {
		t.Fatalf("Update = %v; want %v", err, errAbandoned)
	}
	took := time.Since(began)
	const rounds, innocents = 25, 15
	giveUpAfter := func(round int) time.Duration { return took * time.Duration(round) * 3 / (2 * rounds) }
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	for round := range rounds {
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			cctx, cancel := context.WithTimeout(ctx, giveUpAfter(round))
			defer cancel()
			if err := s.Update(cctx, purgeAndFail(cctx)); err == nil {
				fail("round %d: a fn that always fails returned nil", round)
			}
		})
		for i := range innocents {
			wg.Go(func() {
				<-start
				err := s.Update(ctx, func(tx store.Tx) error {
					return tx.UseJTI(ctx, w.ID, fmt.Sprintf("jti-%d-%d", round, i), at(time.Hour), at(0))
				})
				if err != nil {
					fail("round %d: writer %d failed beside a cancelled caller: %v", round, i, err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	for _, f := range failures {
		t.Error(f)
	}

	// A fn that shrugs off the error of a write its caller's cancellation cut short, writes on and then
	// fails must leave nothing behind either: the cut must not have ended its transaction early.
	for round := range rounds {
		cctx, cancel := context.WithTimeout(ctx, giveUpAfter(round))
		jti := fmt.Sprintf("after-cut-%d", round)
		err := s.Update(cctx, func(tx store.Tx) error {
			_, _ = tx.PurgeJTIs(cctx, at(2*time.Minute)) // best effort
			if err := tx.UseJTI(ctx, w.ID, jti, at(time.Hour), at(0)); err != nil {
				return err
			}
			return errAbandoned
		})
		cancel()
		if err == nil {
			t.Fatalf("round %d: a fn that always fails returned nil", round)
		}
		if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.UseJTI(ctx, w.ID, jti, at(time.Hour), at(0)) }); err != nil {
			t.Errorf("round %d: a failed fn's write persisted (UseJTI again = %v)", round, err)
		}
	}

	var purged int
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		purged, err = tx.PurgeJTIs(ctx, at(2*time.Minute))
		return err
	})
	if purged != stale {
		t.Errorf("final PurgeJTIs removed %d; want all %d stale records, none purged by a failed fn", purged, stale)
	}
}

// Agents

// agentHash stands in for a PHC password hash; the store treats it as opaque text.
func agentHash(password string) string {
	h := sha256.Sum256([]byte(password))
	return fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$%x", h)
}

func newAgent(t *testing.T, s store.Store, workspaceID, id, email string, created time.Time) store.Agent {
	t.Helper()
	a := store.Agent{
		ID: id, WorkspaceID: workspaceID, Email: email, Name: "Agent " + id, Role: store.RoleAgent,
		PasswordHash: agentHash("password of " + id), Available: true, CreatedAt: created, UpdatedAt: created,
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgent(t.Context(), &a) })
	return a
}

func testAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	list := func(ws string) []store.Agent {
		t.Helper()
		agents, err := s.Agents(ctx, ws)
		if err != nil {
			t.Fatalf("Agents(%s): %v", ws, err)
		}
		return agents
	}
	if got := list(w.ID); len(got) != 0 {
		t.Fatalf("Agents of a new workspace = %v; want none", keys(got, agentKey))
	}

	// Every field set, with values a naive store would mangle: microseconds, Unicode, an unavailable
	// agent (the column's default is available) and a disabled one.
	full := store.Agent{
		ID: "ag-full", WorkspaceID: w.ID, Email: "grace.hopper+support@acme.example", Name: "Grace Hopper — Ünïcode",
		Role: store.RoleAdmin, PasswordHash: agentHash("full"), Available: false,
		CreatedAt: at(123456 * time.Microsecond), UpdatedAt: at(654321 * time.Microsecond), DisabledAt: at(time.Second + 7*time.Microsecond),
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgent(ctx, &full) })
	// Insertion order, id order and creation order all differ; two share a creation time, which the id
	// then orders.
	late := newAgent(t, s, w.ID, "ag-a-late", "late@acme.example", at(time.Hour))
	early := newAgent(t, s, w.ID, "ag-z-early", "early@acme.example", at(-time.Hour))
	tieB := newAgent(t, s, w.ID, "ag-tie-b", "tie-b@acme.example", at(time.Minute))
	tieA := newAgent(t, s, w.ID, "ag-tie-a", "tie-a@acme.example", at(time.Minute))
	elsewhere := newAgent(t, s, other.ID, "ag-other", "other@example.org", at(0))

	for _, want := range []store.Agent{full, late, early, elsewhere} {
		got, err := s.Agent(ctx, want.ID)
		if err != nil {
			t.Fatalf("Agent(%s): %v", want.ID, err)
		}
		checkEqual(t, "Agent("+want.ID+")", got, want)
		got, err = s.AgentByEmail(ctx, want.Email)
		if err != nil {
			t.Fatalf("AgentByEmail(%s): %v", want.Email, err)
		}
		checkEqual(t, "AgentByEmail("+want.Email+")", got, want)
	}
	checkList(t, "Agents(ws) (oldest first, then by id)", list(w.ID), []store.Agent{early, full, tieA, tieB, late}, agentKey)
	checkList(t, "Agents(ws-other)", list(other.ID), []store.Agent{elsewhere}, agentKey)
	if got := list("ws-missing"); len(got) != 0 {
		t.Errorf("Agents(missing workspace) = %v; want none", keys(got, agentKey))
	}

	_, err := s.Agent(ctx, "ag-missing")
	wantErr(t, "Agent(missing)", err, store.ErrNotFound)
	_, err = s.AgentByEmail(ctx, "nobody@acme.example")
	wantErr(t, "AgentByEmail(missing)", err, store.ErrNotFound)
	// Emails arrive canonical; the store compares them exactly and folds nothing itself.
	_, err = s.AgentByEmail(ctx, "LATE@acme.example")
	wantErr(t, "AgentByEmail(differently cased)", err, store.ErrNotFound)

	// An email names one agent in the whole installation, whichever workspace asks.
	conflicts := []store.Agent{
		{ID: "ag-dup-email", WorkspaceID: w.ID, Email: late.Email},
		{ID: "ag-dup-email-elsewhere", WorkspaceID: other.ID, Email: late.Email},
		{ID: late.ID, WorkspaceID: w.ID, Email: "fresh@acme.example"},
	}
	for _, a := range conflicts {
		a.Name, a.Role, a.PasswordHash, a.CreatedAt, a.UpdatedAt = "Impostor", store.RoleAdmin, agentHash("impostor"), at(2*time.Hour), at(2*time.Hour)
		err := tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgent(ctx, &a) })
		wantErr(t, fmt.Sprintf("CreateAgent(%s, %s in %s)", a.ID, a.Email, a.WorkspaceID), err, store.ErrConflict)
	}
	if got, err := s.AgentByEmail(ctx, late.Email); err != nil {
		t.Errorf("AgentByEmail after rejected duplicates: %v", err)
	} else {
		checkEqual(t, "agent after rejected duplicates", got, late)
	}
	orphan := store.Agent{ID: "ag-orphan", WorkspaceID: "ws-missing", Email: "orphan@acme.example", Name: "Orphan",
		Role: store.RoleAgent, PasswordHash: agentHash("orphan"), CreatedAt: at(0), UpdatedAt: at(0)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgent(ctx, &orphan) })
	wantErr(t, "CreateAgent(missing workspace)", err, store.ErrNotFound)
	_, err = s.AgentByEmail(ctx, orphan.Email)
	wantErr(t, "AgentByEmail(rejected orphan)", err, store.ErrNotFound)

	// UpdateAgent stores what it promises and nothing else: a stale workspace, email or creation time
	// in the record must not overwrite the stored ones.
	updated := late
	updated.Name, updated.Role, updated.PasswordHash = "Ada (lead)", store.RoleAdmin, agentHash("new password")
	updated.Available, updated.DisabledAt, updated.UpdatedAt = false, at(3*time.Hour), at(3*time.Hour)
	stale := updated
	stale.WorkspaceID, stale.Email, stale.CreatedAt = other.ID, "hijack@example.org", at(99*time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateAgent(ctx, &stale) })
	got, err := s.Agent(ctx, late.ID)
	if err != nil {
		t.Fatalf("Agent after update: %v", err)
	}
	checkEqual(t, "updated agent", got, updated)
	_, err = s.AgentByEmail(ctx, stale.Email)
	wantErr(t, "AgentByEmail(email UpdateAgent must not store)", err, store.ErrNotFound)
	if got, err := s.Agent(ctx, early.ID); err != nil {
		t.Errorf("Agent(%s) after updating another: %v", early.ID, err)
	} else {
		checkEqual(t, "agent next to an updated one", got, early)
	}

	// Enabling again: a disabled time and unavailability go back to zero and true.
	enabled := updated
	enabled.Available, enabled.DisabledAt, enabled.UpdatedAt = true, time.Time{}, at(4*time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateAgent(ctx, &enabled) })
	if got, err := s.Agent(ctx, late.ID); err != nil {
		t.Fatalf("Agent after enabling: %v", err)
	} else {
		checkEqual(t, "re-enabled agent", got, enabled)
	}
	checkList(t, "Agents(ws) after updates", list(w.ID), []store.Agent{early, full, tieA, tieB, enabled}, agentKey)

	ghost := store.Agent{ID: "ag-missing", WorkspaceID: w.ID, Email: "ghost@acme.example", Name: "Ghost", Role: store.RoleAgent,
		PasswordHash: agentHash("ghost"), CreatedAt: at(0), UpdatedAt: at(0)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateAgent(ctx, &ghost) })
	wantErr(t, "UpdateAgent(missing)", err, store.ErrNotFound)
	_, err = s.Agent(ctx, ghost.ID)
	wantErr(t, "Agent after UpdateAgent(missing)", err, store.ErrNotFound)

	// A transaction reads the agent it created; a rolled-back one leaves no agent and frees the email.
	errRollback := errors.New("roll back")
	fresh := store.Agent{ID: "ag-fresh", WorkspaceID: w.ID, Email: "fresh@acme.example", Name: "Fresh", Role: store.RoleAgent,
		PasswordHash: agentHash("fresh"), Available: true, CreatedAt: at(5 * time.Hour), UpdatedAt: at(5 * time.Hour)}
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateAgent(ctx, &fresh); err != nil {
			return err
		}
		if got, err := tx.AgentByEmail(ctx, fresh.Email); err != nil || got.ID != fresh.ID {
			return fmt.Errorf("AgentByEmail in the tx = %q, %v", got.ID, err)
		}
		if got, err := tx.Agents(ctx, w.ID); err != nil || len(got) != 6 {
			return fmt.Errorf("Agents in the tx = %v, %v; want 6", keys(got, agentKey), err)
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("Update creating an agent, then rolling back: %v", err)
	}
	_, err = s.AgentByEmail(ctx, fresh.Email)
	wantErr(t, "AgentByEmail(rolled back)", err, store.ErrNotFound)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgent(ctx, &fresh) })
	checkList(t, "Agents(ws) at the end", list(w.ID), []store.Agent{early, full, tieA, tieB, enabled, fresh}, agentKey)
}

// testAgentEmailRace races agents of different workspaces for one email: exactly one is created.
func testAgentEmailRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 20
	for i := range n {
		newWorkspace(t, s, fmt.Sprintf("ws-%02d", i))
	}
	var wins, conflicts atomic.Int32
	errs := make(chan error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			a := store.Agent{ID: fmt.Sprintf("ag-%02d", i), WorkspaceID: fmt.Sprintf("ws-%02d", i), Email: "contended@acme.example",
				Name: "Racer", Role: store.RoleAgent, PasswordHash: agentHash("race"), CreatedAt: at(0), UpdatedAt: at(0)}
			switch err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateAgent(ctx, &a) }); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrConflict):
				conflicts.Add(1)
			default:
				errs <- fmt.Errorf("CreateAgent %d: %w", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("%d racing CreateAgent calls for one email: %d succeeded and %d conflicted; want 1 and %d", n, wins.Load(), conflicts.Load(), n-1)
	}
	winner, err := s.AgentByEmail(ctx, "contended@acme.example")
	if err != nil {
		t.Fatalf("AgentByEmail(contended): %v", err)
	}
	for i := range n {
		ws := fmt.Sprintf("ws-%02d", i)
		agents, err := s.Agents(ctx, ws)
		want := 0
		if ws == winner.WorkspaceID {
			want = 1
		}
		if err != nil || len(agents) != want {
			t.Errorf("Agents(%s) = %v, %v; want %d", ws, keys(agents, agentKey), err, want)
		}
	}
}

func testAgentSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))

	// Token hashes are arbitrary bytes.
	first := store.AgentSession{ID: "as_fixture1", Method: store.AgentMethodPassword, TokenHash: []byte{0, 0xff, 0, 0xc3, 0x28}, AgentID: ada.ID, CSRFToken: "csrf-first",
		CreatedAt: at(123456 * time.Microsecond), ExpiresAt: at(12 * time.Hour)}
	second := store.AgentSession{ID: "as_fixture2", Method: store.AgentMethodPassword, TokenHash: tokenHash("ada's second browser"), AgentID: ada.ID, CSRFToken: "csrf-second",
		CreatedAt: at(time.Minute), ExpiresAt: at(12*time.Hour + time.Minute)}
	// Expired long ago: the store still returns it, for the caller to refuse.
	expired := store.AgentSession{ID: "as_fixture3", Method: store.AgentMethodPassword, TokenHash: tokenHash("ada's old browser"), AgentID: ada.ID, CSRFToken: "csrf-expired",
		CreatedAt: at(-48 * time.Hour), ExpiresAt: at(-36 * time.Hour)}
	bobs := store.AgentSession{ID: "as_fixture4", Method: store.AgentMethodPassword, TokenHash: tokenHash("bob's browser"), AgentID: bob.ID, CSRFToken: "csrf-bob",
		CreatedAt: at(0), ExpiresAt: at(12 * time.Hour)}
	sessions := []store.AgentSession{first, second, expired, bobs}
	for _, x := range sessions {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentSession(ctx, &x) })
	}
	lookup := func(x store.AgentSession) (store.AgentSession, error) {
		t.Helper()
		return s.AgentSessionByTokenHash(ctx, x.TokenHash)
	}
	for _, want := range sessions {
		got, err := lookup(want)
		if err != nil {
			t.Fatalf("AgentSessionByTokenHash(%s): %v", want.CSRFToken, err)
		}
		checkEqual(t, "AgentSessionByTokenHash("+want.CSRFToken+")", got, want)
	}
	_, err := s.AgentSessionByTokenHash(ctx, tokenHash("never issued"))
	wantErr(t, "AgentSessionByTokenHash(unknown)", err, store.ErrNotFound)
	// A widget session's token is not an agent's.
	newSession(t, s, w.ID, "sess-widget", "")
	_, err = s.AgentSessionByTokenHash(ctx, tokenHash("token of sess-widget"))
	wantErr(t, "AgentSessionByTokenHash(a widget session's hash)", err, store.ErrNotFound)

	dup := store.AgentSession{ID: "as_fixture5", Method: store.AgentMethodPassword, TokenHash: first.TokenHash, AgentID: bob.ID, CSRFToken: "csrf-dup", CreatedAt: at(time.Hour), ExpiresAt: at(2 * time.Hour)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentSession(ctx, &dup) })
	wantErr(t, "CreateAgentSession(duplicate token hash)", err, store.ErrConflict)
	if got, err := lookup(first); err != nil || got.AgentID != ada.ID {
		t.Errorf("after a rejected duplicate, the session belongs to %q, %v; want %s", got.AgentID, err, ada.ID)
	}
	orphan := store.AgentSession{ID: "as_fixture6", Method: store.AgentMethodPassword, TokenHash: tokenHash("orphan"), AgentID: "ag-missing", CSRFToken: "csrf-orphan", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentSession(ctx, &orphan) })
	wantErr(t, "CreateAgentSession(missing agent)", err, store.ErrNotFound)
	_, err = lookup(orphan)
	wantErr(t, "AgentSessionByTokenHash(rejected orphan)", err, store.ErrNotFound)

	// Signing out one browser.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSession(ctx, first.TokenHash, at(time.Hour)) })
	_, err = lookup(first)
	wantErr(t, "AgentSessionByTokenHash(revoked)", err, store.ErrNotFound)
	for _, want := range []store.AgentSession{second, expired, bobs} {
		if got, err := lookup(want); err != nil {
			t.Errorf("revoking one session ended %s: %v", want.CSRFToken, err)
		} else {
			checkEqual(t, "session beside a revoked one", got, want)
		}
	}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSession(ctx, first.TokenHash, at(2*time.Hour)) })
	wantErr(t, "RevokeAgentSession(already revoked)", err, store.ErrNotFound)
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSession(ctx, tokenHash("never issued"), at(2*time.Hour)) })
	wantErr(t, "RevokeAgentSession(unknown)", err, store.ErrNotFound)

	// Signing out everywhere: every live session of the agent, none of another's.
	revokeAll := func(agentID string) int {
		t.Helper()
		var n int
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.RevokeAgentSessions(ctx, agentID, at(3*time.Hour))
			return err
		})
		return n
	}
	if n := revokeAll(ada.ID); n != 2 {
		t.Errorf("RevokeAgentSessions(ada) = %d; want 2 (the live ones, expired or not)", n)
	}
	for _, x := range []store.AgentSession{first, second, expired} {
		_, err := lookup(x)
		wantErr(t, "AgentSessionByTokenHash("+x.CSRFToken+") after revoking all", err, store.ErrNotFound)
	}
	if got, err := lookup(bobs); err != nil {
		t.Errorf("revoking ada's sessions ended bob's: %v", err)
	} else {
		checkEqual(t, "another agent's session", got, bobs)
	}
	if n := revokeAll(ada.ID); n != 0 {
		t.Errorf("RevokeAgentSessions(ada) again = %d; want 0", n)
	}
	if n := revokeAll("ag-missing"); n != 0 {
		t.Errorf("RevokeAgentSessions(missing agent) = %d; want 0", n)
	}

	// A transaction reads the session it created.
	fresh := store.AgentSession{ID: "as_fixture7", Method: store.AgentMethodPassword, TokenHash: tokenHash("fresh"), AgentID: ada.ID, CSRFToken: "csrf-fresh", CreatedAt: at(4 * time.Hour), ExpiresAt: at(16 * time.Hour)}
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.CreateAgentSession(ctx, &fresh); err != nil {
			return err
		}
		if got, err := tx.AgentSessionByTokenHash(ctx, fresh.TokenHash); err != nil || got.CSRFToken != fresh.CSRFToken {
			return fmt.Errorf("AgentSessionByTokenHash in the tx = %+v, %v", got, err)
		}
		return nil
	})
	if got, err := lookup(fresh); err != nil {
		t.Errorf("AgentSessionByTokenHash(fresh): %v", err)
	} else {
		checkEqual(t, "fresh session", got, fresh)
	}
}

func testAgentSessionAndAgent(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(time.Minute))
	// A disabled agent's session is still found, as is an expired one: refusing them is the caller's job.
	bob.Available, bob.DisabledAt, bob.UpdatedAt = false, at(time.Hour), at(time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateAgent(ctx, &bob) })

	adas := store.AgentSession{ID: "as_fixture8", Method: store.AgentMethodPassword, TokenHash: []byte{0, 0xff, 0, 0xc3, 0x28}, AgentID: ada.ID, CSRFToken: "csrf-ada",
		CreatedAt: at(123456 * time.Microsecond), ExpiresAt: at(12 * time.Hour)}
	bobs := store.AgentSession{ID: "as_fixture9", Method: store.AgentMethodPassword, TokenHash: tokenHash("bob's browser"), AgentID: bob.ID, CSRFToken: "csrf-bob",
		CreatedAt: at(-13 * time.Hour), ExpiresAt: at(-time.Hour)}
	for _, x := range []store.AgentSession{adas, bobs} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAgentSession(ctx, &x) })
	}
	for _, want := range []struct {
		session store.AgentSession
		agent   store.Agent
	}{{adas, ada}, {bobs, bob}} {
		x, a, err := s.AgentSessionAndAgent(ctx, want.session.TokenHash)
		if err != nil {
			t.Fatalf("AgentSessionAndAgent(%s): %v", want.session.CSRFToken, err)
		}
		checkEqual(t, "AgentSessionAndAgent("+want.session.CSRFToken+") session", x, want.session)
		checkEqual(t, "AgentSessionAndAgent("+want.session.CSRFToken+") agent", a, want.agent)
	}
	_, _, err := s.AgentSessionAndAgent(ctx, tokenHash("never issued"))
	wantErr(t, "AgentSessionAndAgent(unknown)", err, store.ErrNotFound)
	newSession(t, s, w.ID, "sess-widget", "")
	_, _, err = s.AgentSessionAndAgent(ctx, tokenHash("token of sess-widget"))
	wantErr(t, "AgentSessionAndAgent(a widget session's hash)", err, store.ErrNotFound)

	mustUpdate(t, s, func(tx store.Tx) error { return tx.RevokeAgentSession(ctx, adas.TokenHash, at(time.Hour)) })
	_, _, err = s.AgentSessionAndAgent(ctx, adas.TokenHash)
	wantErr(t, "AgentSessionAndAgent(revoked)", err, store.ErrNotFound)
	if x, a, err := s.AgentSessionAndAgent(ctx, bobs.TokenHash); err != nil || x.CSRFToken != bobs.CSRFToken || a.ID != bob.ID {
		t.Errorf("revoking ada's session: bob's now reads %q of %q, %v", x.CSRFToken, a.ID, err)
	}

	// A transaction reads the session it created.
	fresh := store.AgentSession{ID: "as_fixture10", Method: store.AgentMethodPassword, TokenHash: tokenHash("fresh"), AgentID: ada.ID, CSRFToken: "csrf-fresh", CreatedAt: at(2 * time.Hour), ExpiresAt: at(14 * time.Hour)}
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.CreateAgentSession(ctx, &fresh); err != nil {
			return err
		}
		if x, a, err := tx.AgentSessionAndAgent(ctx, fresh.TokenHash); err != nil || x.CSRFToken != fresh.CSRFToken || a.ID != ada.ID {
			return fmt.Errorf("AgentSessionAndAgent in the tx = %q of %q, %v", x.CSRFToken, a.ID, err)
		}
		return nil
	})
}

// Inboxes

func newInbox(t *testing.T, s store.Store, workspaceID, id, name string, created time.Time, members ...string) store.Inbox {
	t.Helper()
	in := store.Inbox{ID: id, WorkspaceID: workspaceID, Name: name, Members: members, CreatedAt: created}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateInbox(t.Context(), &in) })
	return in
}

// sortMembers puts an inbox's members in order: the store keeps them in none.
func sortMembers(in store.Inbox) store.Inbox {
	in.Members = slices.Sorted(slices.Values(in.Members))
	return in
}

func sortAllMembers(list []store.Inbox) []store.Inbox {
	out := make([]store.Inbox, len(list))
	for i, in := range list {
		out[i] = sortMembers(in)
	}
	return out
}

func testConversationInbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	sales := newInbox(t, s, w.ID, "in-sales", "Sales", at(0))
	vip := newInbox(t, s, w.ID, "in-vip", "VIP", at(0))
	get := func(id string) store.Conversation {
		t.Helper()
		c, err := s.Conversation(ctx, id)
		if err != nil {
			t.Fatalf("Conversation(%s): %v", id, err)
		}
		return c
	}

	routed := store.Conversation{ID: "conv-routed", WorkspaceID: w.ID, SessionID: sess.ID, Status: store.StatusOpen,
		InboxID: sales.ID, CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &routed) })
	checkEqual(t, "conversation created in an inbox", get(routed.ID), routed)

	plain := newConversation(t, s, w.ID, "conv-plain", sess.ID, "", at(time.Minute))
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetConversationInbox(ctx, plain.ID, vip.ID, at(2*time.Minute)) })
	plain.InboxID, plain.UpdatedAt = vip.ID, at(2*time.Minute)
	checkEqual(t, "conversation after SetConversationInbox", get(plain.ID), plain)
	checkEqual(t, "conversation beside it", get(routed.ID), routed)

	// The open conversation a visitor appends to carries its inbox too.
	var appended store.Conversation
	mustUpdate(t, s, func(tx store.Tx) error {
		m := store.Message{Sender: store.SenderCustomer, SessionID: sess.ID, Body: "hi", CreatedAt: at(3 * time.Minute)}
		var err error
		appended, err = tx.AppendToOpenConversation(ctx, store.Owner{SessionID: sess.ID}, &m)
		return err
	})
	if appended.ID != plain.ID || appended.InboxID != vip.ID {
		t.Errorf("AppendToOpenConversation returned %s in inbox %q; want %s in %s", appended.ID, appended.InboxID, plain.ID, vip.ID)
	}
	plain.LastMessage = at(3 * time.Minute)

	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetConversationInbox(ctx, plain.ID, "", at(4*time.Minute)) })
	plain.InboxID, plain.UpdatedAt = "", at(4*time.Minute)
	checkEqual(t, "conversation taken out of its inbox", get(plain.ID), plain)

	// UpdateConversation stores InboxID as well.
	moved := routed
	moved.InboxID, moved.AssigneeID, moved.UpdatedAt = vip.ID, "agent-1", at(5*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &moved) })
	checkEqual(t, "conversation moved by UpdateConversation", get(routed.ID), moved)

	err := tryUpdate(t, s, func(tx store.Tx) error { return tx.SetConversationInbox(ctx, "conv-missing", vip.ID, at(time.Hour)) })
	wantErr(t, "SetConversationInbox(missing conversation)", err, store.ErrNotFound)
}

func testConversationsOfCustomer(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "")
	bob := newCustomer(t, s, w.ID, "cust-bob", "user-2", "")
	anon := newSession(t, s, w.ID, "sess-anon", "")
	adaSess := newSession(t, s, w.ID, "sess-ada", ada.ID)
	bobSess := newSession(t, s, w.ID, "sess-bob", bob.ID)

	first := newConversation(t, s, w.ID, "conv-z-first", adaSess.ID, ada.ID, at(0))
	latest := newConversation(t, s, w.ID, "conv-a-latest", adaSess.ID, ada.ID, at(2*time.Minute))
	// Started anonymously and adopted: the customer's too.
	adopted := newConversation(t, s, w.ID, "conv-adopted", anon.ID, "", at(time.Minute))
	mustUpdate(t, s, func(tx store.Tx) error {
		_, err := tx.AdoptConversations(ctx, anon.ID, ada.ID, at(3*time.Minute))
		return err
	})
	adopted.CustomerID, adopted.UpdatedAt = ada.ID, at(3*time.Minute)
	closed := latest
	closed.Status, closed.ClosedAt, closed.UpdatedAt = store.StatusClosed, at(4*time.Minute), at(4*time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &closed) })
	bobs := newConversation(t, s, w.ID, "conv-bob", bobSess.ID, bob.ID, at(5*time.Minute))
	newConversation(t, s, w.ID, "conv-anon", anon.ID, "", at(6*time.Minute))

	list := func(customerID string) []store.Conversation {
		t.Helper()
		cs, err := s.ConversationsOfCustomer(ctx, customerID)
		if err != nil {
			t.Fatalf("ConversationsOfCustomer(%s): %v", customerID, err)
		}
		return cs
	}
	checkList(t, "ConversationsOfCustomer(ada) (newest first, closed included)", list(ada.ID), []store.Conversation{closed, adopted, first}, conversationKey)
	checkList(t, "ConversationsOfCustomer(bob)", list(bob.ID), []store.Conversation{bobs}, conversationKey)
	checkList(t, "ConversationsOfCustomer(unknown)", list("cust-missing"), nil, conversationKey)
}

// Inbox lists

func testListConversations(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))
	sales := newInbox(t, s, w.ID, "in-sales", "Sales", at(0), ada.ID)
	support := newInbox(t, s, w.ID, "in-support", "Support", at(0), ada.ID, bob.ID)
	grace := newCustomer(t, s, w.ID, "cust-grace", "user-1", "grace@navy.example")
	anon := newSession(t, s, w.ID, "sess-anon", "")
	verified := newSession(t, s, w.ID, "sess-grace", grace.ID)
	otherSess := newSession(t, s, other.ID, "sess-other", "")

	create := func(c store.Conversation) store.ConversationSummary {
		t.Helper()
		if c.Status == "" {
			c.Status = store.StatusOpen
		}
		c.UpdatedAt = c.CreatedAt
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &c) })
		return store.ConversationSummary{Conversation: c}
	}
	// say appends a message and records it as the summary's newest.
	say := func(sum *store.ConversationSummary, m store.Message) store.Message {
		t.Helper()
		m.ConversationID = sum.ID
		m = appendMessage(t, s, m)
		sum.LastMessage, sum.LastSeq, sum.LastSender, sum.LastBody = m.CreatedAt, m.Seq, m.Sender, m.Body
		return m
	}

	quiet := create(store.Conversation{ID: "conv-quiet", WorkspaceID: w.ID, SessionID: anon.ID, CreatedAt: at(0)})
	graces := create(store.Conversation{ID: "conv-grace", WorkspaceID: w.ID, SessionID: verified.ID, CustomerID: grace.ID,
		ClaimedName: "G.", AssigneeID: ada.ID, InboxID: sales.ID, CreatedAt: at(time.Minute)})
	graces.CustomerName, graces.CustomerEmail = grace.Name, grace.Email
	firstOfGrace := say(&graces, store.Message{Sender: store.SenderCustomer, SessionID: verified.ID, Body: "Hello", Trusted: true, CreatedAt: at(2 * time.Minute)})
	say(&graces, store.Message{Sender: store.SenderAgent, AgentID: ada.ID, Body: "Hi Grace, how can I help?", CreatedAt: at(10 * time.Minute)})
	claimed := create(store.Conversation{ID: "conv-claimed", WorkspaceID: w.ID, SessionID: anon.ID, ClaimedName: "Linus",
		ClaimedEmail: "linus@kernel.example", InboxID: support.ID, CreatedAt: at(3 * time.Minute)})
	say(&claimed, store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: "My build fails", CreatedAt: at(5 * time.Minute)})
	closed := create(store.Conversation{ID: "conv-closed", WorkspaceID: w.ID, SessionID: anon.ID, Status: store.StatusClosed,
		AssigneeID: bob.ID, ClosedAt: at(6 * time.Minute), CreatedAt: at(4 * time.Minute)})
	recent := create(store.Conversation{ID: "conv-recent", WorkspaceID: w.ID, SessionID: anon.ID, AssigneeID: bob.ID,
		InboxID: support.ID, CreatedAt: at(9 * time.Minute)})
	// Equal activity: the id breaks the tie.
	tieB := create(store.Conversation{ID: "conv-tie-b", WorkspaceID: w.ID, SessionID: anon.ID, CreatedAt: at(7 * time.Minute)})
	tieA := create(store.Conversation{ID: "conv-tie-a", WorkspaceID: w.ID, SessionID: anon.ID, CreatedAt: at(6 * time.Minute)})
	say(&tieA, store.Message{Sender: store.SenderSystem, Body: "Conversation started", CreatedAt: at(7 * time.Minute)})
	// Another workspace's conversation, the newest of all and matching every filter but the workspace.
	theirs := create(store.Conversation{ID: "conv-theirs", WorkspaceID: other.ID, SessionID: otherSess.ID, AssigneeID: ada.ID,
		InboxID: sales.ID, ClaimedName: "Linus", CreatedAt: at(20 * time.Minute)})
	say(&theirs, store.Message{Sender: store.SenderCustomer, SessionID: otherSess.ID, Body: "theirs", CreatedAt: at(21 * time.Minute)})

	list := func(f store.ConversationFilter, reader string) []store.ConversationSummary {
		t.Helper()
		got, err := s.ListConversations(ctx, f, reader)
		if err != nil {
			t.Fatalf("ListConversations(%+v, %q): %v", f, reader, err)
		}
		return got
	}
	type S = []store.ConversationSummary
	all := S{graces, recent, tieA, tieB, claimed, closed, quiet}
	for _, tc := range []struct {
		name string
		f    store.ConversationFilter
		want S
	}{
		{"any", store.ConversationFilter{}, all},
		{"open", store.ConversationFilter{Status: store.StatusOpen}, S{graces, recent, tieA, tieB, claimed, quiet}},
		{"closed", store.ConversationFilter{Status: store.StatusClosed}, S{closed}},
		{"ada's", store.ConversationFilter{AssigneeID: ada.ID}, S{graces}},
		{"bob's", store.ConversationFilter{AssigneeID: bob.ID}, S{recent, closed}},
		{"bob's open", store.ConversationFilter{AssigneeID: bob.ID, Status: store.StatusOpen}, S{recent}},
		{"unassigned", store.ConversationFilter{Unassigned: true}, S{tieA, tieB, claimed, quiet}},
		{"unassigned open in support", store.ConversationFilter{Unassigned: true, Status: store.StatusOpen, InboxID: support.ID}, S{claimed}},
		{"in sales", store.ConversationFilter{InboxID: sales.ID}, S{graces}},
		{"in support", store.ConversationFilter{InboxID: support.ID}, S{recent, claimed}},
		{"in a missing inbox", store.ConversationFilter{InboxID: "in-missing"}, nil},
		{"of a missing assignee", store.ConversationFilter{AssigneeID: "ag-missing"}, nil},
		{"limit 2", store.ConversationFilter{Limit: 2}, S{graces, recent}},
		{"limit 1, closed", store.ConversationFilter{Limit: 1, Status: store.StatusClosed}, S{closed}},
	} {
		tc.f.WorkspaceID = w.ID
		checkList(t, "ListConversations("+tc.name+")", list(tc.f, ""), tc.want, summaryKey)
	}
	checkList(t, "ListConversations(other workspace)", list(store.ConversationFilter{WorkspaceID: other.ID}, ""), S{theirs}, summaryKey)
	checkList(t, "ListConversations(missing workspace)", list(store.ConversationFilter{WorkspaceID: "ws-missing"}, ""), nil, summaryKey)

	// Read marks are the reader's own.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkRead(ctx, ada.ID, graces.ID, firstOfGrace.Seq) })
	mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkRead(ctx, bob.ID, claimed.ID, claimed.LastSeq) })
	adaView := slices.Clone(all)
	adaView[0].ReadSeq = firstOfGrace.Seq
	checkList(t, "ListConversations(read by ada)", list(store.ConversationFilter{WorkspaceID: w.ID}, ada.ID), adaView, summaryKey)
	bobView := slices.Clone(all)
	bobView[4].ReadSeq = claimed.LastSeq
	checkList(t, "ListConversations(read by bob)", list(store.ConversationFilter{WorkspaceID: w.ID}, bob.ID), bobView, summaryKey)
	checkList(t, "ListConversations(no reader)", list(store.ConversationFilter{WorkspaceID: w.ID}, ""), all, summaryKey)

	// A new message moves a conversation to the top.
	say(&quiet, store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: "anyone there?", CreatedAt: at(11 * time.Minute)})
	checkList(t, "ListConversations(after a message)", list(store.ConversationFilter{WorkspaceID: w.ID, Limit: 2}, ""), S{quiet, graces}, summaryKey)

	// A long body is cut for the preview, on a character boundary.
	long := strings.Repeat("é🙂x", 200)
	say(&quiet, store.Message{Sender: store.SenderCustomer, SessionID: anon.ID, Body: long, CreatedAt: at(12 * time.Minute)})
	got := list(store.ConversationFilter{WorkspaceID: w.ID, Limit: 1}, "")
	if len(got) != 1 || got[0].ID != quiet.ID {
		t.Fatalf("ListConversations(limit 1) after a long message = %v; want [%s]", keys(got, summaryKey), quiet.ID)
	}
	preview := got[0].LastBody
	if n := utf8.RuneCountInString(preview); !utf8.ValidString(preview) || !strings.HasPrefix(long, preview) || n == 0 || n > 140 {
		t.Errorf("LastBody of a %d-character message = %q (%d characters); want a valid prefix of at most 140",
			utf8.RuneCountInString(long), preview, n)
	}
	if got[0].LastSeq != quiet.LastSeq || got[0].LastSender != store.SenderCustomer {
		t.Errorf("summary after a long message: LastSeq %d, LastSender %q; want %d, customer", got[0].LastSeq, got[0].LastSender, quiet.LastSeq)
	}

	// Many conversations: the default limit and the cap keep the list short, and newest come first.
	for i := range 250 {
		create(store.Conversation{ID: fmt.Sprintf("conv-bulk-%03d", i), WorkspaceID: w.ID, SessionID: anon.ID,
			CreatedAt: at(time.Hour + time.Duration(i)*time.Second)})
	}
	if got := list(store.ConversationFilter{WorkspaceID: w.ID}, ""); len(got) == 0 || len(got) >= 250 || got[0].ID != "conv-bulk-249" {
		t.Errorf("ListConversations without a limit over 257 conversations = %d, starting with %v; want a default page, newest first",
			len(got), keys(got[:min(1, len(got))], summaryKey))
	}
	if got := list(store.ConversationFilter{WorkspaceID: w.ID, Limit: 1000}, ""); len(got) == 0 || len(got) >= 257 {
		t.Errorf("ListConversations(limit 1000) over 257 conversations = %d; want the implementation's cap", len(got))
	}
	if got := list(store.ConversationFilter{WorkspaceID: w.ID, Limit: 3}, ""); len(got) != 3 || got[2].ID != "conv-bulk-247" {
		t.Errorf("ListConversations(limit 3) = %v; want the 3 newest", keys(got, summaryKey))
	}
}

func testListConversationsSearch(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "ada@example.com")
	ada.Name = "Ada Lovelace"
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &ada) })
	otherAda := newCustomer(t, s, other.ID, "cust-other-ada", "user-1", "ada@example.com")
	otherAda.Name = "Ada Lovelace"
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &otherAda) })
	anon := newSession(t, s, w.ID, "sess-anon", "")
	adaSess := newSession(t, s, w.ID, "sess-ada", ada.ID)
	otherAnon := newSession(t, s, other.ID, "sess-other-anon", "")
	otherAdaSess := newSession(t, s, other.ID, "sess-other-ada", otherAda.ID)

	n := 0
	create := func(c store.Conversation) string {
		t.Helper()
		n++
		c.Status, c.CreatedAt, c.UpdatedAt = store.StatusOpen, at(time.Duration(n)*time.Minute), at(time.Duration(n)*time.Minute)
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &c) })
		return c.ID
	}
	customer := create(store.Conversation{ID: "conv-customer", WorkspaceID: w.ID, SessionID: adaSess.ID, CustomerID: ada.ID})
	sale := create(store.Conversation{ID: "conv-sale", WorkspaceID: w.ID, SessionID: anon.ID, ClaimedName: "50% off_sale",
		ClaimedEmail: "linus@kernel.example"})
	// Bait for unescaped wildcards: "%" and "_" would match these too.
	bait := create(store.Conversation{ID: "conv-bait", WorkspaceID: w.ID, SessionID: anon.ID, ClaimedName: "50 percent offXsale",
		ClaimedEmail: "bait@example.org"})
	path := create(store.Conversation{ID: "conv-path", WorkspaceID: w.ID, SessionID: anon.ID, ClaimedName: `C:\Users\Zoë Ünal`})
	appendMessage(t, s, store.Message{ConversationID: bait, Sender: store.SenderCustomer, SessionID: anon.ID,
		Body: "Lovelace 50% off_sale", CreatedAt: at(time.Hour)}) // bodies are not searched
	create(store.Conversation{ID: "conv-anon", WorkspaceID: w.ID, SessionID: anon.ID})
	// The other workspace holds lookalikes of everything.
	create(store.Conversation{ID: "conv-other-customer", WorkspaceID: other.ID, SessionID: otherAdaSess.ID, CustomerID: otherAda.ID})
	create(store.Conversation{ID: "conv-other-sale", WorkspaceID: other.ID, SessionID: otherAnon.ID, ClaimedName: "50% off_sale",
		ClaimedEmail: "linus@kernel.example"})

	search := func(q string, f store.ConversationFilter) []string {
		t.Helper()
		f.WorkspaceID, f.Search = w.ID, q
		got, err := s.ListConversations(ctx, f, "")
		if err != nil {
			t.Fatalf("ListConversations(search %q): %v", q, err)
		}
		return keys(got, summaryKey)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"Lovelace", []string{customer}},        // the customer's name
		{"lOVELACE", []string{customer}},        // in any case
		{"ADA@EXAMPLE.COM", []string{customer}}, // the customer's email
		{"off_sale", []string{sale}},            // a claimed name
		{"KERNEL.example", []string{sale}},      // a claimed email
		{"%", []string{sale}},
		{"_", []string{sale}},
		{"0%", []string{sale}},
		{"f_s", []string{sale}},
		{"%%", nil},
		{`\`, []string{path}},
		{`\U`, []string{path}},
		{`\%`, nil},
		{"zoë", []string{path}},
		{"example", []string{bait, sale, customer}},
		{"50", []string{bait, sale}},
		{"nobody", nil},
	} {
		if got := search(tc.q, store.ConversationFilter{}); !slices.Equal(got, tc.want) {
			t.Errorf("ListConversations(search %q) = %v; want %v", tc.q, got, tc.want)
		}
	}
	if got := search("sale", store.ConversationFilter{Status: store.StatusClosed}); len(got) != 0 {
		t.Errorf("ListConversations(search, closed) = %v; want none", got)
	}
	if got := search("sale", store.ConversationFilter{Limit: 1}); !slices.Equal(got, []string{bait}) {
		t.Errorf("ListConversations(search, limit 1) = %v; want [%s]", got, bait)
	}
}

func testOpenAssignedCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))
	newAgent(t, s, w.ID, "ag-cy", "cy@acme.example", at(0)) // assigned nothing
	sess, otherSess := newSession(t, s, w.ID, "sess", ""), newSession(t, s, other.ID, "sess-other", "")

	counts := func(ws string) map[string]int {
		t.Helper()
		got, err := s.OpenAssignedCounts(ctx, ws)
		if err != nil {
			t.Fatalf("OpenAssignedCounts(%s): %v", ws, err)
		}
		return got
	}
	if got := counts(w.ID); len(got) != 0 {
		t.Errorf("OpenAssignedCounts with no conversations = %v; want none", got)
	}
	for i, c := range []struct {
		ws, sess, assignee, status string
	}{
		{w.ID, sess.ID, ada.ID, store.StatusOpen},
		{w.ID, sess.ID, ada.ID, store.StatusOpen},
		{w.ID, sess.ID, ada.ID, store.StatusClosed},
		{w.ID, sess.ID, bob.ID, store.StatusOpen},
		{w.ID, sess.ID, "", store.StatusOpen},
		{other.ID, otherSess.ID, ada.ID, store.StatusOpen},
	} {
		conv := store.Conversation{ID: fmt.Sprintf("conv-%d", i), WorkspaceID: c.ws, SessionID: c.sess, Status: c.status,
			AssigneeID: c.assignee, CreatedAt: at(0), UpdatedAt: at(0)}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &conv) })
	}
	if got, want := counts(w.ID), map[string]int{ada.ID: 2, bob.ID: 1}; !maps.Equal(got, want) {
		t.Errorf("OpenAssignedCounts(ws) = %v; want %v", got, want)
	}
	if got, want := counts(other.ID), map[string]int{ada.ID: 1}; !maps.Equal(got, want) {
		t.Errorf("OpenAssignedCounts(ws-other) = %v; want %v", got, want)
	}

	// Closing and reassigning move the counts, and a transaction counts its own writes.
	mustUpdate(t, s, func(tx store.Tx) error {
		c, err := tx.Conversation(ctx, "conv-0")
		if err != nil {
			return err
		}
		c.AssigneeID, c.UpdatedAt = bob.ID, at(time.Minute)
		if err := tx.UpdateConversation(ctx, &c); err != nil {
			return err
		}
		if got, err := tx.OpenAssignedCounts(ctx, w.ID); err != nil || got[ada.ID] != 1 || got[bob.ID] != 2 {
			return fmt.Errorf("OpenAssignedCounts in the tx = %v, %v; want ada 1, bob 2", got, err)
		}
		return nil
	})
	mustUpdate(t, s, func(tx store.Tx) error {
		c, err := tx.Conversation(ctx, "conv-1")
		if err != nil {
			return err
		}
		c.Status, c.ClosedAt, c.UpdatedAt = store.StatusClosed, at(2*time.Minute), at(2*time.Minute)
		return tx.UpdateConversation(ctx, &c)
	})
	if got, want := counts(w.ID), map[string]int{bob.ID: 2}; !maps.Equal(got, want) {
		t.Errorf("OpenAssignedCounts(ws) after reassigning and closing = %v; want %v", got, want)
	}
}

func testReadMarks(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))
	sess := newSession(t, s, w.ID, "sess", "")
	one := newConversation(t, s, w.ID, "conv-1", sess.ID, "", at(0))
	two := newConversation(t, s, w.ID, "conv-2", sess.ID, "", at(0))

	mark := func(agentID, convID string) int64 {
		t.Helper()
		seq, err := s.ReadMark(ctx, agentID, convID)
		if err != nil {
			t.Fatalf("ReadMark(%s, %s): %v", agentID, convID, err)
		}
		return seq
	}
	markRead := func(agentID, convID string, seq int64) {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkRead(ctx, agentID, convID, seq) })
	}
	if seq := mark(ada.ID, one.ID); seq != 0 {
		t.Errorf("ReadMark before any = %d; want 0", seq)
	}
	if seq := mark("ag-missing", "conv-missing"); seq != 0 {
		t.Errorf("ReadMark(unknown agent and conversation) = %d; want 0", seq)
	}
	for _, step := range []struct {
		seq, want int64
	}{{5, 5}, {3, 5}, {5, 5}, {9, 9}, {0, 9}, {8, 9}} {
		markRead(ada.ID, one.ID, step.seq)
		if seq := mark(ada.ID, one.ID); seq != step.want {
			t.Errorf("ReadMark after MarkRead(%d) = %d; want %d (marks never go down)", step.seq, seq, step.want)
		}
	}
	if seq := mark(bob.ID, one.ID); seq != 0 {
		t.Errorf("ReadMark of another agent = %d; want 0", seq)
	}
	if seq := mark(ada.ID, two.ID); seq != 0 {
		t.Errorf("ReadMark of another conversation = %d; want 0", seq)
	}
	markRead(bob.ID, one.ID, 2)
	if a, b := mark(ada.ID, one.ID), mark(bob.ID, one.ID); a != 9 || b != 2 {
		t.Errorf("ReadMarks of two agents = %d, %d; want 9, 2", a, b)
	}

	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.MarkRead(ctx, ada.ID, two.ID, 4); err != nil {
			return err
		}
		if seq, err := tx.ReadMark(ctx, ada.ID, two.ID); err != nil || seq != 4 {
			return fmt.Errorf("ReadMark in the tx = %d, %v; want 4", seq, err)
		}
		return nil
	})
}

func testInboxes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))
	cy := newAgent(t, s, w.ID, "ag-cy", "cy@acme.example", at(0))
	list := func(ws string) []store.Inbox {
		t.Helper()
		got, err := s.Inboxes(ctx, ws)
		if err != nil {
			t.Fatalf("Inboxes(%s): %v", ws, err)
		}
		return sortAllMembers(got)
	}
	get := func(id string) store.Inbox {
		t.Helper()
		got, err := s.Inbox(ctx, id)
		if err != nil {
			t.Fatalf("Inbox(%s): %v", id, err)
		}
		return sortMembers(got)
	}
	if got := list(w.ID); len(got) != 0 {
		t.Fatalf("Inboxes of a new workspace = %v; want none", keys(got, inboxKey))
	}

	// Insertion order, id order and creation order all differ.
	sales := newInbox(t, s, w.ID, "in-sales", "Sales", at(time.Hour), bob.ID, ada.ID)
	support := newInbox(t, s, w.ID, "in-a-support", "Support — Ünïcode", at(123456*time.Microsecond))
	vip := newInbox(t, s, w.ID, "in-z-vip", "VIP", at(time.Minute), cy.ID)
	elsewhere := newInbox(t, s, other.ID, "in-other-sales", "Sales", at(0)) // a name is unique per workspace only
	for _, want := range []store.Inbox{sales, support, vip, elsewhere} {
		checkEqual(t, "Inbox("+want.ID+")", get(want.ID), sortMembers(want))
	}
	checkList(t, "Inboxes(ws) (oldest first)", list(w.ID), sortAllMembers([]store.Inbox{support, vip, sales}), inboxKey)
	checkList(t, "Inboxes(ws-other)", list(other.ID), []store.Inbox{elsewhere}, inboxKey)
	_, err := s.Inbox(ctx, "in-missing")
	wantErr(t, "Inbox(missing)", err, store.ErrNotFound)

	for _, dup := range []store.Inbox{
		{ID: "in-dup-name", WorkspaceID: w.ID, Name: "Sales", Members: []string{cy.ID}},
		{ID: sales.ID, WorkspaceID: w.ID, Name: "Fresh"},
	} {
		dup.CreatedAt = at(2 * time.Hour)
		err := tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateInbox(ctx, &dup) })
		wantErr(t, fmt.Sprintf("CreateInbox(%s, %q)", dup.ID, dup.Name), err, store.ErrConflict)
	}
	_, err = s.Inbox(ctx, "in-dup-name")
	wantErr(t, "Inbox(rejected duplicate)", err, store.ErrNotFound)
	checkEqual(t, "inbox after rejected duplicates", get(sales.ID), sortMembers(sales))

	// UpdateInbox replaces the name and the whole member list, and stores nothing else.
	renamed := sales
	renamed.Name, renamed.Members = "Sales EU", []string{cy.ID}
	stale := renamed
	stale.CreatedAt = at(99 * time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateInbox(ctx, &stale) })
	checkEqual(t, "renamed inbox", get(sales.ID), renamed)
	emptied := vip
	emptied.Members = nil
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateInbox(ctx, &emptied) })
	checkEqual(t, "inbox without members", get(vip.ID), emptied)
	checkList(t, "Inboxes(ws) after updates", list(w.ID), sortAllMembers([]store.Inbox{support, emptied, renamed}), inboxKey)

	clash := emptied
	clash.Name, clash.Members = renamed.Name, []string{ada.ID}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateInbox(ctx, &clash) })
	wantErr(t, "UpdateInbox(to a taken name)", err, store.ErrConflict)
	checkEqual(t, "inbox after a rejected rename", get(vip.ID), emptied)

	// The old name is free again.
	again := newInbox(t, s, w.ID, "in-sales-again", "Sales", at(3*time.Hour), ada.ID)
	checkEqual(t, "inbox reusing a freed name", get(again.ID), again)

	ghost := store.Inbox{ID: "in-missing", WorkspaceID: w.ID, Name: "Ghost", CreatedAt: at(0)}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateInbox(ctx, &ghost) })
	wantErr(t, "UpdateInbox(missing)", err, store.ErrNotFound)

	// A transaction reads the inbox it created; a rolled-back one leaves none and frees its name.
	errRollback := errors.New("roll back")
	fresh := store.Inbox{ID: "in-fresh", WorkspaceID: w.ID, Name: "Fresh", Members: []string{ada.ID, bob.ID}, CreatedAt: at(4 * time.Hour)}
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateInbox(ctx, &fresh); err != nil {
			return err
		}
		if got, err := tx.Inbox(ctx, fresh.ID); err != nil || len(got.Members) != 2 {
			return fmt.Errorf("Inbox in the tx = %+v, %v", got, err)
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("Update creating an inbox, then rolling back: %v", err)
	}
	_, err = s.Inbox(ctx, fresh.ID)
	wantErr(t, "Inbox(rolled back)", err, store.ErrNotFound)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateInbox(ctx, &fresh) })
	checkEqual(t, "inbox created after a rollback", get(fresh.ID), fresh)
}

func testDeleteInbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	sales := newInbox(t, s, w.ID, "in-sales", "Sales", at(0), ada.ID)
	support := newInbox(t, s, w.ID, "in-support", "Support", at(time.Second), ada.ID)
	elsewhere := newInbox(t, s, other.ID, "in-other", "Sales", at(0))
	sess, otherSess := newSession(t, s, w.ID, "sess", ""), newSession(t, s, other.ID, "sess-other", "")

	conv := func(ws, sessID, id, inbox, status string) store.Conversation {
		t.Helper()
		c := store.Conversation{ID: id, WorkspaceID: ws, SessionID: sessID, Status: status, InboxID: inbox, CreatedAt: at(0), UpdatedAt: at(0)}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &c) })
		return c
	}
	inSales := conv(w.ID, sess.ID, "conv-sales", sales.ID, store.StatusOpen)
	closedInSales := conv(w.ID, sess.ID, "conv-sales-closed", sales.ID, store.StatusClosed)
	inSupport := conv(w.ID, sess.ID, "conv-support", support.ID, store.StatusOpen)
	nowhere := conv(w.ID, sess.ID, "conv-nowhere", "", store.StatusOpen)
	theirs := conv(other.ID, otherSess.ID, "conv-other", elsewhere.ID, store.StatusOpen)
	rules := []store.RoutingRule{
		{ID: "rr-1", WorkspaceID: w.ID, Level: store.LevelVerified, InboxID: sales.ID, CreatedAt: at(0)},
		{ID: "rr-2", WorkspaceID: w.ID, InboxID: support.ID, CreatedAt: at(0)},
		{ID: "rr-3", WorkspaceID: w.ID, EmailDomain: "acme.example", InboxID: sales.ID, CreatedAt: at(0)},
	}
	theirRules := []store.RoutingRule{{ID: "rr-other", WorkspaceID: other.ID, InboxID: elsewhere.ID, CreatedAt: at(0)}}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.ReplaceRoutingRules(ctx, w.ID, rules) })
	mustUpdate(t, s, func(tx store.Tx) error { return tx.ReplaceRoutingRules(ctx, other.ID, theirRules) })

	// Only the named workspace's inbox can be deleted.
	err := tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteInbox(ctx, w.ID, elsewhere.ID) })
	wantErr(t, "DeleteInbox(another workspace's inbox)", err, store.ErrNotFound)
	if _, err := s.Inbox(ctx, elsewhere.ID); err != nil {
		t.Errorf("Inbox(%s) after a refused deletion: %v", elsewhere.ID, err)
	}

	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteInbox(ctx, w.ID, sales.ID) })
	_, err = s.Inbox(ctx, sales.ID)
	wantErr(t, "Inbox(deleted)", err, store.ErrNotFound)
	if got, err := s.Inboxes(ctx, w.ID); err != nil || !slices.Equal(keys(got, inboxKey), []string{support.ID}) {
		t.Errorf("Inboxes after deleting one = %v, %v; want [%s]", keys(got, inboxKey), err, support.ID)
	}
	// Its conversations stay, in no inbox; the others keep theirs.
	inSales.InboxID, closedInSales.InboxID = "", ""
	for _, want := range []store.Conversation{inSales, closedInSales, inSupport, nowhere, theirs} {
		got, err := s.Conversation(ctx, want.ID)
		if err != nil {
			t.Fatalf("Conversation(%s): %v", want.ID, err)
		}
		checkEqual(t, "conversation after deleting an inbox", got, want)
	}
	if got, err := s.ListConversations(ctx, store.ConversationFilter{WorkspaceID: w.ID, InboxID: sales.ID}, ""); err != nil || len(got) != 0 {
		t.Errorf("ListConversations(deleted inbox) = %v, %v; want none", keys(got, summaryKey), err)
	}
	// Its rules go; the others stay in order.
	if got, err := s.RoutingRules(ctx, w.ID); err != nil || !slices.Equal(keys(got, ruleKey), []string{"rr-2"}) {
		t.Errorf("RoutingRules after deleting an inbox = %v, %v; want [rr-2]", keys(got, ruleKey), err)
	}
	if got, err := s.RoutingRules(ctx, other.ID); err != nil || !slices.Equal(keys(got, ruleKey), []string{"rr-other"}) {
		t.Errorf("RoutingRules(other workspace) = %v, %v; want [rr-other]", keys(got, ruleKey), err)
	}

	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteInbox(ctx, w.ID, sales.ID) })
	wantErr(t, "DeleteInbox(already deleted)", err, store.ErrNotFound)
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteInbox(ctx, "ws-missing", support.ID) })
	wantErr(t, "DeleteInbox(missing workspace)", err, store.ErrNotFound)

	// Its members went with it: an inbox created again under its id starts empty.
	mustUpdate(t, s, func(tx store.Tx) error {
		return tx.CreateInbox(ctx, &store.Inbox{ID: sales.ID, WorkspaceID: w.ID, Name: "Sales", CreatedAt: at(time.Hour)})
	})
	if got, err := s.Inbox(ctx, sales.ID); err != nil || len(got.Members) != 0 {
		t.Errorf("Inbox re-created under a deleted one's id = %+v, %v; want no members", got, err)
	}
}

func testRoutingRules(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	sales := newInbox(t, s, w.ID, "in-sales", "Sales", at(0))
	support := newInbox(t, s, w.ID, "in-support", "Support", at(0))
	elsewhere := newInbox(t, s, other.ID, "in-other", "Other", at(0))
	list := func(ws string) []store.RoutingRule {
		t.Helper()
		got, err := s.RoutingRules(ctx, ws)
		if err != nil {
			t.Fatalf("RoutingRules(%s): %v", ws, err)
		}
		return got
	}
	replace := func(ws string, rules []store.RoutingRule) error {
		t.Helper()
		return tryUpdate(t, s, func(tx store.Tx) error { return tx.ReplaceRoutingRules(ctx, ws, rules) })
	}
	// positioned is what the store keeps of a list: each rule's Position is its index.
	positioned := func(rules []store.RoutingRule) []store.RoutingRule {
		out := slices.Clone(rules)
		for i := range out {
			out[i].Position = i
		}
		return out
	}
	if got := list(w.ID); len(got) != 0 {
		t.Fatalf("RoutingRules of a new workspace = %v; want none", keys(got, ruleKey))
	}

	// Ids and Positions (which the store ignores) run against the list order.
	first := []store.RoutingRule{
		{ID: "rr-z", WorkspaceID: w.ID, Position: 7, Level: store.LevelVerified, EmailDomain: "acme.example", InboxID: sales.ID, CreatedAt: at(123456 * time.Microsecond)},
		{ID: "rr-m", WorkspaceID: w.ID, Position: 3, Level: store.LevelIdentified, InboxID: support.ID, CreatedAt: at(time.Second)},
		{ID: "rr-a", WorkspaceID: w.ID, Position: 0, Level: store.LevelAnonymous, EmailDomain: "example.org", InboxID: sales.ID, CreatedAt: at(0)},
		{ID: "rr-any", WorkspaceID: w.ID, Position: 1, InboxID: support.ID, CreatedAt: at(time.Minute)},
	}
	if err := replace(w.ID, first); err != nil {
		t.Fatalf("ReplaceRoutingRules: %v", err)
	}
	checkList(t, "RoutingRules (in list order)", list(w.ID), positioned(first), ruleKey)

	theirs := []store.RoutingRule{{ID: "rr-other", WorkspaceID: other.ID, InboxID: elsewhere.ID, CreatedAt: at(0)}}
	if err := replace(other.ID, theirs); err != nil {
		t.Fatalf("ReplaceRoutingRules(other workspace): %v", err)
	}
	checkList(t, "RoutingRules(ws) after another workspace's replacement", list(w.ID), positioned(first), ruleKey)

	// A replacement drops what it does not list and may keep an id it does.
	second := []store.RoutingRule{
		{ID: "rr-new", WorkspaceID: w.ID, Level: store.LevelVerified, InboxID: support.ID, CreatedAt: at(time.Hour)},
		first[2],
	}
	if err := replace(w.ID, second); err != nil {
		t.Fatalf("ReplaceRoutingRules (second list): %v", err)
	}
	checkList(t, "RoutingRules after a replacement", list(w.ID), positioned(second), ruleKey)

	// A rule leading to another workspace's inbox, or to none, is refused and changes nothing.
	for _, inbox := range []string{elsewhere.ID, "in-missing"} {
		bad := []store.RoutingRule{
			{ID: "rr-fine", WorkspaceID: w.ID, InboxID: sales.ID, CreatedAt: at(2 * time.Hour)},
			{ID: "rr-bad", WorkspaceID: w.ID, InboxID: inbox, CreatedAt: at(2 * time.Hour)},
		}
		wantErr(t, "ReplaceRoutingRules(inbox "+inbox+")", replace(w.ID, bad), store.ErrNotFound)
		checkList(t, "RoutingRules after a refused replacement", list(w.ID), positioned(second), ruleKey)
	}
	checkList(t, "RoutingRules(ws-other)", list(other.ID), positioned(theirs), ruleKey)

	if err := replace(w.ID, nil); err != nil {
		t.Fatalf("ReplaceRoutingRules(none): %v", err)
	}
	if got := list(w.ID); len(got) != 0 {
		t.Errorf("RoutingRules after replacing with none = %v; want none", keys(got, ruleKey))
	}
	checkList(t, "RoutingRules(ws-other) after emptying ws", list(other.ID), positioned(theirs), ruleKey)

	// A transaction reads the rules it wrote.
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.ReplaceRoutingRules(ctx, w.ID, first[:1]); err != nil {
			return err
		}
		if got, err := tx.RoutingRules(ctx, w.ID); err != nil || len(got) != 1 || got[0].ID != first[0].ID {
			return fmt.Errorf("RoutingRules in the tx = %v, %v", keys(got, ruleKey), err)
		}
		return nil
	})
}

// Identity log

func testLoginFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	add := func(f store.LoginFailure, keep int) store.LoginFailure {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error { return tx.AddLoginFailure(ctx, &f, keep) })
		return f
	}
	list := func(ws string, limit int) []store.LoginFailure {
		t.Helper()
		got, err := s.LoginFailures(ctx, ws, limit)
		if err != nil {
			t.Fatalf("LoginFailures(%s, %d): %v", ws, limit, err)
		}
		return got
	}
	if got := list(w.ID, 10); len(got) != 0 {
		t.Fatalf("LoginFailures of a new workspace = %v; want none", keys(got, failureKey))
	}

	var added []store.LoginFailure
	for i := range 5 {
		f := store.LoginFailure{WorkspaceID: w.ID, Code: fmt.Sprintf("code_%d", i), Message: "the token's signature — ünïcode — is invalid",
			KeyID: "k1", Alg: "HS256", At: at(time.Duration(i)*time.Minute + 123456*time.Microsecond)}
		if i == 2 {
			f.KeyID, f.Alg = "", "" // a token whose header could not be read
		}
		f = add(f, 3)
		if f.Seq == 0 || (i > 0 && f.Seq <= added[i-1].Seq) {
			t.Errorf("AddLoginFailure %d assigned Seq %d; want one above the previous", i, f.Seq)
		}
		added = append(added, f)
	}
	newest := []store.LoginFailure{added[4], added[3], added[2]}
	checkList(t, "LoginFailures (the newest 3 kept, newest first)", list(w.ID, 10), newest, failureKey)
	checkList(t, "LoginFailures(limit 2)", list(w.ID, 2), newest[:2], failureKey)

	// Each workspace keeps its own.
	theirs := add(store.LoginFailure{WorkspaceID: other.ID, Code: "token_expired", Message: "expired", At: at(time.Hour)}, 3)
	checkList(t, "LoginFailures(ws-other)", list(other.ID, 10), []store.LoginFailure{theirs}, failureKey)
	checkList(t, "LoginFailures(ws) after another workspace's", list(w.ID, 10), newest, failureKey)
	latest := add(store.LoginFailure{WorkspaceID: w.ID, Code: "token_replayed", Message: "replayed", At: at(2 * time.Hour)}, 1)
	checkList(t, "LoginFailures(ws) kept to 1", list(w.ID, 10), []store.LoginFailure{latest}, failureKey)
	checkList(t, "LoginFailures(ws-other) after ws was trimmed", list(other.ID, 10), []store.LoginFailure{theirs}, failureKey)
	if latest.Seq <= theirs.Seq {
		t.Errorf("Seq %d of the latest failure is not above an earlier one's %d", latest.Seq, theirs.Seq)
	}
}

// Report

func testDailyStats(t *testing.T, s store.Store) {
	ctx := t.Context()
	w, other := newWorkspace(t, s, "ws"), newWorkspace(t, s, "ws-other")
	ada := newCustomer(t, s, w.ID, "cust-ada", "user-1", "")
	anon := newSession(t, s, w.ID, "sess-anon", "")
	verified := newSession(t, s, w.ID, "sess-ada", ada.ID)
	otherSess := newSession(t, s, other.ID, "sess-other", "")
	const day = 24 * time.Hour
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	from, to := day0, day0.Add(4*day)

	n := 0
	conv := func(ws, sessID, customerID, name, email string, created time.Time) string {
		t.Helper()
		n++
		c := store.Conversation{ID: fmt.Sprintf("conv-%02d", n), WorkspaceID: ws, SessionID: sessID, CustomerID: customerID,
			Status: store.StatusOpen, ClaimedName: name, ClaimedEmail: email, CreatedAt: created, UpdatedAt: created}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateConversation(ctx, &c) })
		return c.ID
	}
	msg := func(convID, sender string, trusted bool, created time.Time) {
		t.Helper()
		m := store.Message{ConversationID: convID, Sender: sender, Body: "x", Trusted: trusted, CreatedAt: created}
		switch sender {
		case store.SenderCustomer:
			m.SessionID = anon.ID
		case store.SenderAgent:
			m.AgentID = "ag-1"
		}
		appendMessage(t, s, m)
	}

	before := conv(w.ID, anon.ID, "", "", "", day0.Add(-time.Microsecond)) // the day before: not counted
	msg(before, store.SenderCustomer, false, day0.Add(-time.Microsecond))  // nor this
	msg(before, store.SenderCustomer, false, day0.Add(10*time.Minute))     // but this is, on day 0
	a1 := conv(w.ID, anon.ID, "", "", "", day0)                            // day 0, from its first instant
	conv(w.ID, anon.ID, "", "Ada?", "", day0.Add(day-time.Microsecond))    // identified, day 0 to its last instant
	msg(a1, store.SenderCustomer, true, day0.Add(day-time.Microsecond))
	msg(a1, store.SenderAgent, false, day0.Add(time.Hour))
	msg(a1, store.SenderSystem, false, day0.Add(time.Hour))
	conv(w.ID, anon.ID, "", "", "ada@example.com", day0.Add(day)) // identified by email alone, day 1
	v1 := conv(w.ID, verified.ID, ada.ID, "Ada", "ada@example.com", day0.Add(day+2*time.Hour))
	msg(v1, store.SenderCustomer, true, day0.Add(day+3*time.Hour))
	msg(v1, store.SenderCustomer, false, day0.Add(day+4*time.Hour))
	// Day 2 has nothing. Day 3: an anonymous conversation, and one adopted since, which now counts as verified.
	a2 := conv(w.ID, anon.ID, "", "", "", day0.Add(3*day))
	msg(a2, store.SenderCustomer, false, to) // the first instant past the range
	adoptee := newSession(t, s, w.ID, "sess-adoptee", "")
	conv(w.ID, adoptee.ID, "", "", "", day0.Add(3*day+time.Hour))
	mustUpdate(t, s, func(tx store.Tx) error {
		_, err := tx.AdoptConversations(ctx, adoptee.ID, ada.ID, day0.Add(3*day+2*time.Hour))
		return err
	})
	conv(w.ID, anon.ID, "", "", "", to) // past the range
	theirs := conv(other.ID, otherSess.ID, "", "", "", day0.Add(time.Hour))
	appendMessage(t, s, store.Message{ConversationID: theirs, Sender: store.SenderCustomer, SessionID: otherSess.ID, Body: "x",
		Trusted: true, CreatedAt: day0.Add(2 * time.Hour)})

	stats := func(ws string, from, to time.Time) []store.DayStats {
		t.Helper()
		got, err := s.DailyStats(ctx, ws, from, to)
		if err != nil {
			t.Fatalf("DailyStats(%s, %v, %v): %v", ws, from, to, err)
		}
		return got
	}
	dayKey := func(d store.DayStats) string { return d.Day.UTC().Format(time.DateOnly) }
	want := []store.DayStats{
		{Day: day0, Anonymous: 1, Identified: 1, CustomerMessages: 2, TrustedCustomerMessages: 1},
		{Day: day0.Add(day), Identified: 1, Verified: 1, CustomerMessages: 2, TrustedCustomerMessages: 1},
		{Day: day0.Add(2 * day)},
		{Day: day0.Add(3 * day), Anonymous: 1, Verified: 1},
	}
	checkList(t, "DailyStats", stats(w.ID, from, to), want, dayKey)
	checkList(t, "DailyStats(one day)", stats(w.ID, day0.Add(day), day0.Add(2*day)), want[1:2], dayKey)
	checkList(t, "DailyStats(an empty day)", stats(w.ID, day0.Add(2*day), day0.Add(3*day)), want[2:3], dayKey)
	if got := stats(w.ID, from, from); len(got) != 0 {
		t.Errorf("DailyStats(empty range) = %v; want none", keys(got, dayKey))
	}
	checkList(t, "DailyStats(ws-other)", stats(other.ID, from, to), []store.DayStats{
		{Day: day0, Anonymous: 1, CustomerMessages: 1, TrustedCustomerMessages: 1},
		{Day: day0.Add(day)}, {Day: day0.Add(2 * day)}, {Day: day0.Add(3 * day)},
	}, dayKey)
	checkList(t, "DailyStats(missing workspace)", stats("ws-missing", from, from.Add(2*day)), []store.DayStats{
		{Day: day0}, {Day: day0.Add(day)},
	}, dayKey)
}

// Closing

func testUpdateAfterClose(t *testing.T, s store.Store) {
	newWorkspace(t, s, "ws")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ran := false
	err := s.Update(t.Context(), func(tx store.Tx) error {
		ran = true
		return tx.CreateWorkspace(t.Context(), &store.Workspace{ID: "ws-late", Name: "late", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	wantErr(t, "Update after Close", err, store.ErrClosed)
	if ran {
		t.Errorf("Update ran fn after Close")
	}
}

// testUpdateDuringClose closes the store while writers are busy: every Update must return, each either
// committed (nil) or refused with ErrClosed.
func testUpdateDuringClose(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	const writers = 16
	var committed atomic.Int32
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := s.Update(ctx, func(tx store.Tx) error {
					return tx.UseJTI(ctx, w.ID, fmt.Sprintf("jti-%d-%d", g, i), at(time.Hour), at(0))
				})
				if err != nil {
					errs <- err
					return
				}
				committed.Add(1)
			}
		})
	}
	for committed.Load() < 2*writers {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Updates still blocked 10s after Close returned")
	}
	close(errs)
	for err := range errs {
		wantErr(t, "Update racing Close", err, store.ErrClosed)
	}
}
