package console

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// The settings page's open/closed line, at fixed moments in a Berlin workspace (CET, UTC+1 in December),
// across a holiday and a weekend.
func TestHoursStatus(t *testing.T) {
	week, err := chat.ParseWeek("mon-fri 09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	st := store.Settings{Hours: store.BusinessHours{Enabled: true, TimeZone: "Europe/Berlin", Week: week, Holidays: []string{"2026-12-24"}}}
	for _, c := range []struct {
		at   string // UTC
		want string
	}{
		{"2026-12-04T10:00:00Z", "Open now, closes Fri 17:00 (Europe/Berlin)."}, // Friday 11:00 in Berlin
		{"2026-12-04T15:59:59Z", "Open now, closes Fri 17:00 (Europe/Berlin)."}, // a second before closing
		{"2026-12-04T16:00:00Z", "Closed, opens Mon 09:00 (Europe/Berlin)."},    // closing time
		{"2026-12-06T12:00:00Z", "Closed, opens Mon 09:00 (Europe/Berlin)."},    // Sunday
		{"2026-12-07T07:59:00Z", "Closed, opens Mon 09:00 (Europe/Berlin)."},    // Monday 08:59
		{"2026-12-07T08:00:00Z", "Open now, closes Mon 17:00 (Europe/Berlin)."}, // Monday 09:00
		{"2026-12-07T16:00:00Z", "Closed, opens Tue 09:00 (Europe/Berlin)."},    // Monday 17:00
		{"2026-12-23T17:00:00Z", "Closed, opens Fri 09:00 (Europe/Berlin)."},    // the evening before the holiday
		{"2026-12-24T12:00:00Z", "Closed, opens Fri 09:00 (Europe/Berlin)."},    // the holiday
		{"2026-03-27T16:30:00Z", "Closed, opens Mon 09:00 (Europe/Berlin)."},    // Friday before the spring change
		{"2026-03-30T07:00:00Z", "Open now, closes Mon 17:00 (Europe/Berlin)."}, // Monday 09:00 CEST
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		if got := hoursStatus(chat.HoursAt(st, at), at); got != c.want {
			t.Errorf("at %s: %q, want %q", c.at, got, c.want)
		}
	}

	// Always open, closed for good, off, and a long holiday (the date joins the weekday).
	always, _ := chat.ParseWeek("mon-sun 00:00-24:00")
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    store.BusinessHours
		want string
	}{
		{store.BusinessHours{Enabled: true, TimeZone: "Asia/Tokyo", Week: always}, "Open now (Asia/Tokyo)."},
		{store.BusinessHours{Enabled: true, TimeZone: "Asia/Tokyo"}, "Closed, and not opening in the next 14 days (Asia/Tokyo)."},
		{store.BusinessHours{TimeZone: "Asia/Tokyo", Week: week}, "Business hours are off: the team counts as always open."},
		{store.BusinessHours{Enabled: true, TimeZone: "Europe/Berlin", Week: week, Holidays: []string{"2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11"}},
			"Closed, opens Mon Dec 14 09:00 (Europe/Berlin)."},
	} {
		if c.want == "Closed, opens Mon Dec 14 09:00 (Europe/Berlin)." {
			at = time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
		}
		if got := hoursStatus(chat.HoursAt(store.Settings{Hours: c.h}, at), at); got != c.want {
			t.Errorf("%+v: %q, want %q", c.h, got, c.want)
		}
	}
}

// The timeline's out_of_hours event, in the workspace's zone or else UTC.
func TestDescribeOutOfHours(t *testing.T) {
	at := time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC) // Saturday
	ev := func(next string) store.Event {
		return store.Event{Type: "out_of_hours", Data: map[string]string{"next_open": next}, CreatedAt: at}
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	none := func(string) string { return "" }
	for _, c := range []struct {
		e    store.Event
		zone *time.Location
		want string
	}{
		{ev("2026-12-07T08:00:00Z"), berlin, "Arrived out of hours; the team is back Mon 09:00 (Europe/Berlin)"},
		{ev("2026-12-07T08:00:00Z"), nil, "Arrived out of hours; the team is back Mon 08:00 (UTC)"},
		{ev("2026-12-14T08:00:00Z"), berlin, "Arrived out of hours; the team is back Mon Dec 14 09:00 (Europe/Berlin)"},
		{ev(""), berlin, "Arrived out of hours"},
		{ev("soon"), berlin, "Arrived out of hours"},
	} {
		if got := describeEvent(c.e, none, c.zone); got != c.want {
			t.Errorf("%v in %v: %q, want %q", c.e.Data, c.zone, got, c.want)
		}
	}
	if z := hoursZone(store.Settings{Hours: store.BusinessHours{TimeZone: "Nowhere/Land"}}); z != nil {
		t.Errorf("unknown zone: %v", z)
	}
}
