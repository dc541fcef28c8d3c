package chat_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// hours builds enabled business hours from the written schedule.
func hours(t *testing.T, zone, week string, holidays ...string) store.Settings {
	t.Helper()
	w, err := chat.ParseWeek(week)
	if err != nil {
		t.Fatalf("ParseWeek(%q): %v", week, err)
	}
	return store.Settings{Hours: store.BusinessHours{Enabled: true, TimeZone: zone, Week: w, Holidays: holidays}}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Europe/Berlin: CET (+01:00) until 2026-03-29 01:00Z, CEST (+02:00) until 2026-10-25 01:00Z.
// America/New_York: EST (-05:00) until 2026-03-08 07:00Z, EDT (-04:00) until 2026-11-01 06:00Z.
// Every time below is UTC, and every expectation was worked out by hand from these offsets: a schedule
// read with the wrong offset on either side of a change misses by an hour.
func TestOpenAt(t *testing.T) {
	const berlin, newYork = "Europe/Berlin", "America/New_York"
	daily := "mon-sun 09:00-17:00"
	weekdays := "mon-fri 09:00-17:00"
	cases := []struct {
		name     string
		zone     string
		week     string
		holidays []string
		at       string
		open     bool
		next     string // "" for zero
		closes   string // "" for zero (checked only while open)
	}{
		// Spring forward in Berlin (Sunday 2026-03-29, 02:00 CET → 03:00 CEST).
		{"Berlin Saturday evening before the change", berlin, daily, nil, "2026-03-28T16:30:00Z", false, "2026-03-29T07:00:00Z", ""},
		{"Berlin 08:59 CEST on the change day", berlin, daily, nil, "2026-03-29T06:59:00Z", false, "2026-03-29T07:00:00Z", ""},
		{"Berlin 09:00 CEST opens", berlin, daily, nil, "2026-03-29T07:00:00Z", true, "", "2026-03-29T15:00:00Z"},
		{"Berlin 16:59 CEST", berlin, daily, nil, "2026-03-29T14:59:00Z", true, "", "2026-03-29T15:00:00Z"},
		{"Berlin 17:00 CEST closes", berlin, daily, nil, "2026-03-29T15:00:00Z", false, "2026-03-30T07:00:00Z", ""},
		{"Berlin night interval across the jump, before", berlin, "sun 01:00-04:00", nil, "2026-03-29T00:30:00Z", true, "", "2026-03-29T02:00:00Z"},
		{"Berlin night interval across the jump, after", berlin, "sun 01:00-04:00", nil, "2026-03-29T01:30:00Z", true, "", "2026-03-29T02:00:00Z"},
		{"Berlin night interval over, next week's in CEST", berlin, "sun 01:00-04:00", nil, "2026-03-29T02:00:00Z", false, "2026-04-04T23:00:00Z", ""},
		{"Berlin interval inside the skipped hour never happens", berlin, "sun 02:00-03:00; mon 09:00-10:00", nil, "2026-03-29T00:30:00Z", false, "2026-03-30T07:00:00Z", ""},
		{"Berlin interval starting in the skipped hour starts at the jump", berlin, "sun 02:30-05:00", nil, "2026-03-29T00:45:00Z", false, "2026-03-29T01:00:00Z", ""},
		{"Berlin interval starting in the skipped hour, open after the jump", berlin, "sun 02:30-05:00", nil, "2026-03-29T01:00:00Z", true, "", "2026-03-29T03:00:00Z"},

		// Fall back in Berlin (Sunday 2026-10-25, 03:00 CEST → 02:00 CET).
		{"Berlin Saturday 17:00 CEST", berlin, daily, nil, "2026-10-24T15:00:00Z", false, "2026-10-25T08:00:00Z", ""},
		{"Berlin 08:30 CET is still closed", berlin, daily, nil, "2026-10-25T07:30:00Z", false, "2026-10-25T08:00:00Z", ""},
		{"Berlin 16:30 CET", berlin, daily, nil, "2026-10-25T15:30:00Z", true, "", "2026-10-25T16:00:00Z"},
		{"Berlin interval ending at a repeated time, first pass", berlin, "sun 01:00-02:30", nil, "2026-10-25T00:15:00Z", true, "", "2026-10-25T00:30:00Z"},
		{"Berlin interval ending at a repeated time ends at its first occurrence", berlin, "sun 01:00-02:30", nil, "2026-10-25T01:15:00Z", false, "2026-11-01T00:00:00Z", ""},
		{"Berlin interval starting at a repeated time starts at its first occurrence", berlin, "sun 02:30-04:00", nil, "2026-10-25T00:29:00Z", false, "2026-10-25T00:30:00Z", ""},

		// New York, both changes.
		{"New York Friday evening before spring forward", newYork, weekdays, nil, "2026-03-06T23:00:00Z", false, "2026-03-09T13:00:00Z", ""},
		{"New York Monday 09:30 EDT", newYork, weekdays, nil, "2026-03-09T13:30:00Z", true, "", "2026-03-09T21:00:00Z"},
		{"New York Monday 08:30 EDT", newYork, weekdays, nil, "2026-03-09T12:30:00Z", false, "2026-03-09T13:00:00Z", ""},
		{"New York Friday 17:00 EDT before fall back", newYork, weekdays, nil, "2026-10-30T21:00:00Z", false, "2026-11-02T14:00:00Z", ""},
		{"New York Monday 08:30 EST", newYork, weekdays, nil, "2026-11-02T13:30:00Z", false, "2026-11-02T14:00:00Z", ""},

		// Holidays are dates in the workspace's zone.
		{"Berlin the day before Christmas Eve", berlin, weekdays, []string{"2026-12-24", "2026-12-25"}, "2026-12-23T10:00:00Z", true, "", "2026-12-23T16:00:00Z"},
		{"Berlin evening before two holidays and a weekend", berlin, weekdays, []string{"2026-12-24", "2026-12-25"}, "2026-12-23T17:00:00Z", false, "2026-12-28T08:00:00Z", ""},
		{"Berlin on a holiday morning", berlin, weekdays, []string{"2026-12-24", "2026-12-25"}, "2026-12-24T09:00:00Z", false, "2026-12-28T08:00:00Z", ""},
		{"New York the evening before a holiday (local date)", newYork, "mon-sun 00:00-24:00", []string{"2026-07-03"}, "2026-07-03T03:00:00Z", true, "", "2026-07-03T04:00:00Z"},
		{"New York on the holiday", newYork, "mon-sun 00:00-24:00", []string{"2026-07-03"}, "2026-07-03T05:00:00Z", false, "2026-07-04T04:00:00Z", ""},

		// 24:00, overnight and always open.
		{"Berlin Friday night, continuing into Saturday", berlin, "fri 22:00-24:00; sat 00:00-02:00", nil, "2026-06-05T20:30:00Z", true, "", "2026-06-06T00:00:00Z"},
		{"Berlin after midnight", berlin, "fri 22:00-24:00; sat 00:00-02:00", nil, "2026-06-05T23:30:00Z", true, "", "2026-06-06T00:00:00Z"},
		{"Berlin Saturday 02:00", berlin, "fri 22:00-24:00; sat 00:00-02:00", nil, "2026-06-06T00:00:00Z", false, "2026-06-12T20:00:00Z", ""},
		{"always open: no closing in sight", berlin, "mon-sun 00:00-24:00", nil, "2026-03-29T01:30:00Z", true, "", ""},

		// Never opening, or not within two weeks.
		{"a schedule with no open day", berlin, "", nil, "2026-06-03T10:00:00Z", false, "", ""},
		{"a holiday skips a week: within 14 days", berlin, "mon 09:00-17:00", []string{"2026-06-08"}, "2026-06-01T15:00:00Z", false, "2026-06-15T07:00:00Z", ""},
		{"two holidays skip two weeks: past 14 days", berlin, "mon 09:00-17:00", []string{"2026-06-08", "2026-06-15"}, "2026-06-01T15:00:00Z", false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := hours(t, c.zone, c.week, c.holidays...)
			at := utc(c.at)
			open, next := chat.OpenAt(st, at)
			if open != c.open || !sameInstant(next, c.next) {
				t.Errorf("OpenAt(%s) = %t, %s; want %t, %q", c.at, open, fmtTime(next), c.open, c.next)
			}
			h := chat.HoursAt(st, at)
			if h.Open != open || !h.NextOpen.Equal(next) || !h.Enabled || h.TimeZone != c.zone || h.Mode != chat.HoursAway {
				t.Errorf("HoursAt = %+v; disagrees with OpenAt or the settings", h)
			}
			if c.open && !sameInstant(h.ClosesAt, c.closes) {
				t.Errorf("ClosesAt = %s; want %q", fmtTime(h.ClosesAt), c.closes)
			}
			if !c.open && !h.ClosesAt.IsZero() {
				t.Errorf("closed, but ClosesAt = %s", fmtTime(h.ClosesAt))
			}
			if !next.IsZero() && next.Location() != time.UTC {
				t.Errorf("nextOpen %v is not in UTC", next)
			}
		})
	}
}

func setClock(c *testClock, at string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = utc(at)
}

func sameInstant(got time.Time, want string) bool {
	if want == "" {
		return got.IsZero()
	}
	return got.Equal(utc(want))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Format(time.RFC3339)
}

// Without business hours, or with a zone the server does not know, a workspace is open: a setting must
// never turn customers away by accident.
func TestOpenAtDisabledAndUnknownZone(t *testing.T) {
	at := utc("2026-06-06T12:00:00Z") // a Saturday
	st := hours(t, "Europe/Berlin", "mon-fri 09:00-17:00")
	st.Hours.Enabled = false
	if open, next := chat.OpenAt(st, at); !open || !next.IsZero() {
		t.Errorf("disabled: %t, %v; want open", open, next)
	}
	if h := chat.HoursAt(st, at); h.Enabled || !h.ClosesAt.IsZero() {
		t.Errorf("disabled: %+v", h)
	}
	st = hours(t, "Mars/Olympus_Mons", "mon-fri 09:00-17:00")
	if open, _ := chat.OpenAt(st, at); !open {
		t.Error("an unknown stored zone closed the workspace")
	}
	st = hours(t, "Europe/Berlin", "mon-fri 09:00-17:00")
	st.Hours.OutOfHours = chat.HoursHide
	if h := chat.HoursAt(st, at); h.Open || h.Mode != chat.HoursHide {
		t.Errorf("hide mode: %+v", h)
	}
	if open, _ := chat.OpenAt(store.Settings{}, at); !open {
		t.Error("a workspace that never set hours is closed")
	}
}

func TestParseWeek(t *testing.T) {
	valid := []struct{ in, want string }{
		{"mon-fri 09:00-17:00; sat 10:00-14:00", "mon-fri 09:00-17:00; sat 10:00-14:00"},
		{"  MON-Fri   13:30-17:00,09:00-12:30 ;", "mon-fri 09:00-12:30, 13:30-17:00"},
		{"sat-sun 10:00-14:00", "sat-sun 10:00-14:00"},
		{"fri-mon 10:00-12:00", "mon 10:00-12:00; fri-sun 10:00-12:00"},
		{"mon,wed 09:00-10:00", "mon 09:00-10:00; wed 09:00-10:00"},
		{"monday-friday 09:00 - 17:00", "mon-fri 09:00-17:00"},
		{"mon-fri 09:00-17:00; wed 18:00-20:00", "mon-tue 09:00-17:00; wed 09:00-17:00, 18:00-20:00; thu-fri 09:00-17:00"},
		{"fri 22:00-24:00; sat 00:00-02:00", "fri 22:00-24:00; sat 00:00-02:00"},
		{"sun 00:00-24:00", "sun 00:00-24:00"},
		{"", ""},
	}
	for _, c := range valid {
		w, err := chat.ParseWeek(c.in)
		if err != nil {
			t.Errorf("ParseWeek(%q): %v", c.in, err)
			continue
		}
		if got := chat.FormatWeek(w); got != c.want {
			t.Errorf("ParseWeek(%q) formats as %q; want %q", c.in, got, c.want)
		}
		if again, err := chat.ParseWeek(chat.FormatWeek(w)); err != nil || !reflect.DeepEqual(again, w) {
			t.Errorf("%q does not read back: %v, %v", chat.FormatWeek(w), again, err)
		}
	}
	if w, _ := chat.ParseWeek("sun 10:00-12:00; mon 09:00-17:00"); len(w[time.Sunday]) != 1 || len(w[time.Monday]) != 1 || w[time.Monday][0] != "09:00-17:00" {
		t.Errorf("weekdays are indexed as time.Weekday: %v", w)
	}
	invalid := []struct{ in, says string }{
		{"mon", "give the open hours"},
		{"mo 09:00-17:00", `"mo" is not a day`},
		{"mon-xyz 09:00-17:00", `"xyz" is not a day`},
		{"mon 9:00-17:00", `"9:00" is not a time`},
		{"mon 09:00", "is not an interval"},
		{"mon 09:00-17:00 18:00-19:00", "separate intervals with commas"},
		{"mon 17:00-09:00", "start must be before the end"},
		{"mon 09:00-09:00", "start must be before the end"},
		{"mon 09:00-12:00, 11:00-13:00", "overlaps"},
		{"mon 09:00-17:00; mon 12:00-13:00", "overlaps"},
		{"mon 24:00-24:00", "cannot start at 24:00"},
		{"mon 09:00-24:30", "between 00:00 and 24:00"},
		{"mon 09:60-10:00", "between 00:00 and 24:00"},
		{"mon 01:00-02:00, 03:00-04:00, 05:00-06:00, 07:00-08:00, 09:00-10:00", "at most 4"},
		{"mon 09:00-17:00,", "is not an interval"},
	}
	for _, c := range invalid {
		_, err := chat.ParseWeek(c.in)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseWeek(%q) = %v; want an error saying %q", c.in, err, c.says)
		}
	}
}

// Business hours are saved through UpdateWorkspace: validated, canonical, and kept by the store.
func TestUpdateWorkspaceHours(t *testing.T) {
	ctx := t.Context()
	e := newAgentEnv(t, chat.Config{})
	on, off := true, false
	str := func(s string) *string { return &s }
	week := func(s string) *[7][]string {
		w, err := chat.ParseWeek(s)
		if err != nil {
			t.Fatal(err)
		}
		return &w
	}
	bad := []struct {
		name  string
		p     chat.SettingsPatch
		field string
	}{
		{"on without a zone", chat.SettingsPatch{HoursEnabled: &on}, "time_zone"},
		{"unknown zone", chat.SettingsPatch{TimeZone: str("Europe/Atlantis")}, "time_zone"},
		{"the server's zone", chat.SettingsPatch{TimeZone: str("Local")}, "time_zone"},
		{"a path for a zone", chat.SettingsPatch{TimeZone: str("../../etc/passwd")}, "time_zone"},
		{"overlap", chat.SettingsPatch{HoursWeek: &[7][]string{1: {"09:00-12:00", "11:00-13:00"}}}, "hours"},
		{"reversed", chat.SettingsPatch{HoursWeek: &[7][]string{2: {"17:00-09:00"}}}, "hours"},
		{"five intervals", chat.SettingsPatch{HoursWeek: &[7][]string{3: {"01:00-02:00", "03:00-04:00", "05:00-06:00", "07:00-08:00", "09:00-10:00"}}}, "hours"},
		{"not a time", chat.SettingsPatch{HoursWeek: &[7][]string{4: {"9am-5pm"}}}, "hours"},
		{"not a date", chat.SettingsPatch{Holidays: &[]string{"24.12.2026"}}, "holidays"},
		{"no such date", chat.SettingsPatch{Holidays: &[]string{"2026-02-30"}}, "holidays"},
		{"unknown mode", chat.SettingsPatch{OutOfHours: str("closed")}, "out_of_hours"},
	}
	for _, c := range bad {
		_, err := e.svc.UpdateWorkspace(ctx, e.ws, c.p)
		p := wantProblem(t, c.name, err, http.StatusUnprocessableEntity, "invalid_field")
		if p.Field != "" && p.Field != c.field {
			t.Errorf("%s: field %q; want %q", c.name, p.Field, c.field)
		}
		if !strings.Contains(p.Message, c.field) {
			t.Errorf("%s: message %q does not name %s", c.name, p.Message, c.field)
		}
	}
	many := make([]string, chat.MaxHolidays+1)
	for i := range many {
		many[i] = time.Date(2027, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	_, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Holidays: &many})
	wantProblem(t, "101 holidays", err, http.StatusUnprocessableEntity, "invalid_field")
	if w, _ := e.svc.Workspace(ctx, e.ws); w.Settings.Hours.Enabled || w.Settings.Hours.TimeZone != "" || len(w.Settings.Hours.Holidays) != 0 {
		t.Fatalf("refused patches changed the hours: %+v", w.Settings.Hours)
	}

	_, err = e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{
		HoursEnabled: &on, TimeZone: str(" Europe/Berlin "), HoursWeek: week("mon-fri 13:00-17:00, 09:00-12:00"),
		Holidays: &[]string{"2026-12-25", "2026-12-24", "2026-12-25", " "}, OutOfHours: str("Hide"),
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.st.Workspace(ctx, e.ws)
	if err != nil {
		t.Fatal(err)
	}
	h := stored.Settings.Hours
	if !h.Enabled || h.TimeZone != "Europe/Berlin" || h.OutOfHours != chat.HoursHide || strings.Join(h.Holidays, ",") != "2026-12-24,2026-12-25" ||
		chat.FormatWeek(h.Week) != "mon-fri 09:00-12:00, 13:00-17:00" {
		t.Errorf("stored hours %+v; want them canonical", h)
	}
	// Other patches leave the hours alone; off keeps the schedule for next time; away is the default.
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Name: str("Acme Ltd")}); err != nil {
		t.Fatal(err)
	}
	w, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{HoursEnabled: &off, OutOfHours: str("away")})
	if err != nil {
		t.Fatal(err)
	}
	if h := w.Settings.Hours; h.Enabled || h.TimeZone != "Europe/Berlin" || chat.FormatWeek(h.Week) == "" || chat.HoursMode(w.Settings) != chat.HoursAway {
		t.Errorf("after turning off: %+v", h)
	}
	// A zone may not be removed while hours are on.
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{HoursEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{TimeZone: str("")})
	wantProblem(t, "clearing the zone while on", err, http.StatusUnprocessableEntity, "invalid_field")
}

// Out of hours a new conversation goes to its inbox and waits there, unassigned, even when an agent is
// marked available; in hours the same visitor's next conversation is assigned as usual.
func TestRoutingOutOfHours(t *testing.T) {
	ctx := t.Context()
	e := newBlockEnv(t) // one available agent, a clock the test sets
	admin := e.createAgent(t, "admin@acme.example", store.RoleAdmin)
	if _, err := e.svc.SetAvailability(ctx, admin, false); err != nil {
		t.Fatal(err)
	}
	on, zone := true, "Europe/Berlin"
	week, _ := chat.ParseWeek("mon-fri 09:00-17:00")
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{HoursEnabled: &on, TimeZone: &zone, HoursWeek: &week}); err != nil {
		t.Fatal(err)
	}
	support, err := e.svc.SaveInbox(ctx, admin, "", "Support", []string{e.agent.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{{Level: store.LevelIdentified, InboxID: support.ID}}); err != nil {
		t.Fatal(err)
	}
	events := func(conversationID string) []store.Event {
		t.Helper()
		evs, err := e.st.Events(ctx, conversationID)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	types := func(evs []store.Event) string {
		var s []string
		for _, ev := range evs {
			s = append(s, ev.Type)
		}
		return strings.Join(s, " ")
	}

	// Saturday noon in Berlin: closed until Monday 09:00 CEST.
	setClock(e.clock, "2026-06-06T10:00:00Z")
	m := e.mustSend(t, e.visitor(t, e.ws, "203.0.113.1"), "anyone there on a Saturday?")
	c, err := e.st.Conversation(ctx, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if c.AssigneeID != "" || c.InboxID != "" {
		t.Errorf("out of hours: assignee %q inbox %q; want unassigned, no inbox", c.AssigneeID, c.InboxID)
	}
	evs := events(c.ID)
	if got := types(evs); got != "started out_of_hours" {
		t.Fatalf("timeline %q; want started out_of_hours", got)
	}
	if next := evs[1].Data["next_open"]; next != "2026-06-08T07:00:00Z" {
		t.Errorf("out_of_hours next_open %q; want Monday 09:00 Berlin, 2026-06-08T07:00:00Z", next)
	}
	// A rule still picks the inbox; nobody in it gets the conversation.
	token, claimed, err := e.svc.Identify(ctx, e.request(t, e.visitor(t, e.ws, "203.0.113.2")), chat.Claims{Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.tokens[claimed.Session.ID] = token
	m = e.mustSend(t, claimed, "hello?")
	if c, _ = e.st.Conversation(ctx, m.ConversationID); c.InboxID != support.ID || c.AssigneeID != "" {
		t.Errorf("out of hours with a rule: inbox %q assignee %q; want Support, unassigned", c.InboxID, c.AssigneeID)
	}
	if got := types(events(c.ID)); got != "started routed out_of_hours" {
		t.Errorf("timeline %q; want routed, then out_of_hours", got)
	}
	waiting, err := e.svc.Inbox(ctx, e.agent, chat.InboxQuery{View: chat.ViewUnassigned})
	if err != nil || len(waiting) != 2 {
		t.Errorf("the agent's unassigned view holds %d conversations (%v); want both", len(waiting), err)
	}

	// Monday 09:00 CEST: open, and routing assigns again.
	setClock(e.clock, "2026-06-08T07:00:00Z")
	m = e.mustSend(t, e.visitor(t, e.ws, "203.0.113.3"), "good morning")
	if c, _ = e.st.Conversation(ctx, m.ConversationID); c.AssigneeID != e.agent.ID {
		t.Errorf("in hours: assignee %q; want the available agent", c.AssigneeID)
	}
	if got := types(events(c.ID)); got != "started assigned" {
		t.Errorf("in hours: timeline %q; want started assigned", got)
	}
}
