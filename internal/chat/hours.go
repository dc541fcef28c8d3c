package chat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// Business hours: a workspace may say when its team answers — a weekly schedule of open intervals in
// one time zone, minus holiday dates. Out of hours the widget shows an away notice with the next opening
// (or hides, as the workspace chooses), and routing assigns a new conversation to nobody: it waits in
// its inbox for whoever opens up, instead of landing on an agent who left "available" on overnight.
//
// Times are wall-clock times in the workspace's zone, resolved date by date, so 09:00 stays 09:00 on
// both sides of a daylight-saving change. A wall time the clock skips (02:30 on a spring-forward night)
// means the moment it skips to; one it shows twice (02:30 on a fall-back night) means the first.

// Business hours limits and modes.
const (
	MaxHoursIntervals = 4   // open intervals per weekday
	MaxHolidays       = 100 // holiday dates per workspace
	// HoursHorizon is how far ahead the next opening is looked for; past it, a workspace counts as not
	// opening again (say, closed for a long holiday).
	HoursHorizon = 14 * 24 * time.Hour

	HoursAway = "away" // out of hours the widget keeps taking messages, with an away notice
	HoursHide = "hide" // out of hours the widget hides from visitors without an open conversation
)

const minutesPerDay = 24 * 60

// dayNames are the weekdays' short names, three letters each, Sunday first as time.Weekday counts.
const dayNames = "sunmontuewedthufrisat"

func dayName(d time.Weekday) string { return dayNames[3*d : 3*d+3] }

// weekday returns the i-th day of the week as people write it, Monday first.
func weekday(i int) time.Weekday { return time.Weekday((i + 1) % 7) }

// HoursState is whether a workspace is open at some moment, and what its widget needs to say so.
type HoursState struct {
	Enabled bool // false: no business hours, always open
	Open    bool
	// NextOpen is when it opens next, while closed and only within HoursHorizon; zero otherwise.
	NextOpen time.Time
	// ClosesAt is when it closes next, while open with hours enabled and only within HoursHorizon
	// (back-to-back intervals, such as Friday 22:00-24:00 and Saturday 00:00-02:00, count as one).
	ClosesAt time.Time
	Mode     string // HoursAway or HoursHide
	TimeZone string
}

// OpenAt reports whether the workspace is open at t and, when it is not, when it opens next (zero when
// not within HoursHorizon). Without business hours it is always open.
func OpenAt(st store.Settings, t time.Time) (open bool, nextOpen time.Time) {
	h := HoursAt(st, t)
	return h.Open, h.NextOpen
}

// Hours is the workspace's business-hours state now, by the service's clock.
func (s *Service) Hours(st store.Settings) HoursState { return HoursAt(st, s.clock()) }

// HoursAt is the workspace's business-hours state at t.
func HoursAt(st store.Settings, t time.Time) HoursState {
	h := st.Hours
	state := HoursState{Enabled: h.Enabled, Open: true, Mode: HoursMode(st), TimeZone: h.TimeZone}
	if !h.Enabled {
		return state
	}
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil || h.TimeZone == "" {
		// Validated when saved, so only a server whose time zone database lacks the name gets here.
		// Open is the safer mistake: hiding the widget or leaving every conversation unassigned would
		// turn customers away for a configuration problem they cannot see.
		return state
	}
	spans := openSpans(h, loc, t)
	state.Open = false
	horizon := t.Add(HoursHorizon)
	for i, sp := range spans {
		if !t.Before(sp.start) && t.Before(sp.end) {
			state.Open = true
			end := sp.end
			for _, next := range spans[i+1:] {
				if next.start.After(end) {
					break
				}
				end = later(end, next.end)
			}
			if !end.After(horizon) {
				state.ClosesAt = end.UTC()
			}
			return state
		}
		if sp.start.After(t) {
			if !sp.start.After(horizon) {
				state.NextOpen = sp.start.UTC()
			}
			return state
		}
	}
	return state
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// HoursMode is what the workspace's widget does out of hours: HoursAway or HoursHide.
func HoursMode(st store.Settings) string {
	if st.Hours.OutOfHours == HoursHide {
		return HoursHide
	}
	return HoursAway
}

// span is one open interval as instants.
type span struct{ start, end time.Time }

// openSpans lists the open intervals from the day before t's local date to past HoursHorizon, in order.
// The day before is there for safety only: an interval ends at its date's 24:00 at the latest.
func openSpans(h store.BusinessHours, loc *time.Location, t time.Time) []span {
	y, m, d := t.In(loc).Date()
	holidays := make(map[string]bool, len(h.Holidays))
	for _, day := range h.Holidays {
		holidays[day] = true
	}
	var spans []span
	for i := -1; i <= int(HoursHorizon/(24*time.Hour))+1; i++ {
		// Noon UTC is only a calendar: adding days to it never meets a daylight-saving change.
		date := time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC)
		if holidays[date.Format(time.DateOnly)] {
			continue
		}
		for _, iv := range h.Week[date.Weekday()] {
			from, to, err := parseInterval(iv)
			if err != nil {
				continue // validated when saved; a bad stored interval opens nothing
			}
			sp := span{wallTime(loc, date, from), wallTime(loc, date, to)}
			if sp.start.Before(sp.end) { // both ends in one skipped hour: that interval does not happen
				spans = append(spans, sp)
			}
		}
	}
	return spans
}

// wallTime is the instant a clock in loc shows the given minutes past midnight of date (a calendar date;
// 1440 is the next midnight). A time the clock skips is the instant it skips to; a time it shows twice
// is the first. time.Date leaves both cases unspecified, hence the candidates: the wall time read with
// each UTC offset the zone has around it, kept when the zone really has that offset at that instant.
func wallTime(loc *time.Location, date time.Time, minutes int) time.Time {
	naive := time.Date(date.Year(), date.Month(), date.Day(), 0, minutes, 0, 0, time.UTC)
	var first, last time.Time
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := naive.Add(probe).In(loc).Zone()
		cand := naive.Add(-time.Duration(off) * time.Second)
		if last.IsZero() || cand.After(last) {
			last = cand
		}
		if _, real := cand.In(loc).Zone(); real == off && (first.IsZero() || cand.Before(first)) {
			first = cand
		}
	}
	if !first.IsZero() {
		return first
	}
	// Skipped: read with the offset from before the jump, the wall time lands past it, in the period
	// that starts at the jump.
	start, _ := last.In(loc).ZoneBounds()
	return start
}

// ---------------------------------------------------------------- validation

// applyHours applies a patch's business-hours fields. Hours already stored are checked again only when
// the patch touches them, so a zone the server stopped knowing does not block unrelated settings.
func applyHours(st *store.Settings, p SettingsPatch) error {
	if p.HoursEnabled == nil && p.HoursWeek == nil && p.TimeZone == nil && p.Holidays == nil && p.OutOfHours == nil {
		return nil
	}
	h := st.Hours
	if p.HoursEnabled != nil {
		h.Enabled = *p.HoursEnabled
	}
	if p.HoursWeek != nil {
		h.Week = *p.HoursWeek
	}
	if p.TimeZone != nil {
		h.TimeZone = *p.TimeZone
	}
	if p.Holidays != nil {
		h.Holidays = *p.Holidays
	}
	if p.OutOfHours != nil {
		h.OutOfHours = strings.ToLower(strings.TrimSpace(*p.OutOfHours))
	}
	h, err := checkHours(h)
	if err != nil {
		return err
	}
	st.Hours = h
	return nil
}

// checkHours validates business hours and returns them canonical: intervals sorted and formatted
// HH:MM-HH:MM, holidays sorted and unique.
func checkHours(h store.BusinessHours) (store.BusinessHours, error) {
	h.TimeZone = strings.TrimSpace(h.TimeZone)
	if h.TimeZone != "" {
		if err := checkTimeZone(h.TimeZone); err != nil {
			return h, problem.InvalidField("time_zone", "%s", err)
		}
	}
	if h.Enabled && h.TimeZone == "" {
		return h, problem.InvalidField("time_zone", "business hours need a time zone, such as Europe/Berlin or America/New_York")
	}
	for day := range h.Week {
		list, err := checkDay(h.Week[day])
		if err != nil {
			return h, problem.InvalidField("hours", "%s: %s", dayName(time.Weekday(day)), err)
		}
		h.Week[day] = list
	}
	holidays, err := checkHolidays(h.Holidays)
	if err != nil {
		return h, problem.InvalidField("holidays", "%s", err)
	}
	h.Holidays = holidays
	switch h.OutOfHours {
	case "", HoursAway:
		h.OutOfHours = ""
	case HoursHide:
	default:
		return h, problem.InvalidField("out_of_hours", "must be %s or %s, not %q", HoursAway, HoursHide, h.OutOfHours)
	}
	return h, nil
}

// checkTimeZone accepts an IANA time zone name the server knows.
func checkTimeZone(name string) error {
	if name == "Local" {
		// The server's own zone is not the business's, and would move with the server.
		return errors.New(`must name a zone such as Europe/Berlin, not "Local"`)
	}
	if len(name) > 64 {
		return errors.New("is not a time zone name (too long)")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("%q is not a time zone this server knows; use an IANA name such as Europe/Berlin or America/New_York", name)
	}
	return nil
}

// checkDay validates one weekday's intervals and returns them sorted, in canonical form.
func checkDay(list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	if len(list) > MaxHoursIntervals {
		return nil, fmt.Errorf("at most %d open intervals a day (got %d)", MaxHoursIntervals, len(list))
	}
	type iv struct{ from, to int }
	ivs := make([]iv, len(list))
	for i, s := range list {
		from, to, err := parseInterval(s)
		if err != nil {
			return nil, err
		}
		ivs[i] = iv{from, to}
	}
	slices.SortFunc(ivs, func(a, b iv) int { return a.from - b.from })
	out := make([]string, len(ivs))
	for i, x := range ivs {
		if i > 0 && x.from < ivs[i-1].to {
			return nil, fmt.Errorf("%s overlaps %s", formatInterval(x.from, x.to), formatInterval(ivs[i-1].from, ivs[i-1].to))
		}
		out[i] = formatInterval(x.from, x.to)
	}
	return out, nil
}

// parseInterval reads "HH:MM-HH:MM" (the end may be 24:00) as minutes past midnight.
func parseInterval(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not an interval; write it as HH:MM-HH:MM, e.g. 09:00-17:30", s)
	}
	if from, err = parseClock(strings.TrimSpace(a)); err != nil {
		return 0, 0, fmt.Errorf("%q: %w", s, err)
	}
	if to, err = parseClock(strings.TrimSpace(b)); err != nil {
		return 0, 0, fmt.Errorf("%q: %w", s, err)
	}
	if from == minutesPerDay {
		return 0, 0, fmt.Errorf("%q: an interval cannot start at 24:00; start the next day at 00:00", s)
	}
	if from >= to {
		return 0, 0, fmt.Errorf("%q: the start must be before the end (an interval past midnight is two: 22:00-24:00 one day, 00:00-02:00 the next)", s)
	}
	return from, to, nil
}

// parseClock reads a strict HH:MM, 00:00 to 24:00, as minutes past midnight.
func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, fmt.Errorf("%q is not a time; write HH:MM, e.g. 09:00", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func formatInterval(from, to int) string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", from/60, from%60, to/60, to%60)
}

// checkHolidays validates YYYY-MM-DD dates and returns them sorted and unique.
func checkHolidays(list []string) ([]string, error) {
	var out []string
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil || d.Format(time.DateOnly) != s {
			return nil, fmt.Errorf("%q is not a date; write YYYY-MM-DD, e.g. 2026-12-24", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > MaxHolidays {
		return nil, fmt.Errorf("at most %d holiday dates (got %d); remove past ones first", MaxHolidays, len(out))
	}
	slices.Sort(out)
	return out, nil
}

// ---------------------------------------------------------------- the written form

// ParseWeek reads a weekly schedule as people write it: groups separated by ";", each the days (a day,
// a range such as mon-fri, or a comma-separated list of both) and then the open intervals,
// comma-separated — "mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00". Days not named are closed;
// a day named twice gets both groups' intervals. "" is a week closed every day.
func ParseWeek(s string) ([7][]string, error) {
	var week [7][]string
	for _, group := range strings.Split(s, ";") {
		group = strings.TrimSpace(group)
		if group == "" {
			continue
		}
		daysPart, rest := group, ""
		if i := strings.IndexFunc(group, unicode.IsSpace); i >= 0 {
			daysPart, rest = group[:i], group[i:]
		}
		days, err := parseDays(daysPart)
		if err != nil {
			return week, err
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return week, fmt.Errorf("%q: give the open hours after the days, e.g. %s 09:00-17:00 (days left out are closed)", group, daysPart)
		}
		for _, iv := range strings.Split(rest, ",") {
			iv = strings.TrimSpace(iv)
			if strings.IndexFunc(iv, unicode.IsSpace) >= 0 && !strings.Contains(iv, " - ") {
				return week, fmt.Errorf("%s: %q: separate intervals with commas, e.g. 09:00-12:00, 13:00-17:00", daysPart, iv)
			}
			from, to, err := parseInterval(iv)
			if err != nil {
				return week, fmt.Errorf("%s: %w", daysPart, err)
			}
			for _, d := range days {
				week[d] = append(week[d], formatInterval(from, to))
			}
		}
	}
	for day := range week {
		list, err := checkDay(week[day])
		if err != nil {
			return week, fmt.Errorf("%s: %w", dayName(time.Weekday(day)), err)
		}
		week[day] = list
	}
	return week, nil
}

// parseDays reads "mon", "mon-fri", "sat,sun" or "mon,wed-fri"; a range may wrap (fri-mon).
func parseDays(s string) ([]time.Weekday, error) {
	var days []time.Weekday
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, err := parseDay(a)
		if err != nil {
			return nil, err
		}
		to := from
		if isRange {
			if to, err = parseDay(b); err != nil {
				return nil, err
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			if !slices.Contains(days, d) {
				days = append(days, d)
			}
			if d == to {
				break
			}
		}
	}
	return days, nil
}

func parseDay(s string) (time.Weekday, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		if name == dayName(d) || name == strings.ToLower(d.String()) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%q is not a day; use mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri", s)
}

// FormatWeek writes a weekly schedule the way ParseWeek reads it, Monday first, with runs of days that
// share their hours joined into ranges: "mon-fri 09:00-17:00; sat 10:00-14:00". A week closed every day
// is "".
func FormatWeek(week [7][]string) string {
	var groups []string
	for i := 0; i < 7; {
		day := weekday(i)
		j := i + 1
		for j < 7 && slices.Equal(week[weekday(j)], week[day]) {
			j++
		}
		if len(week[day]) > 0 {
			days := dayName(day)
			if j-i > 1 {
				days += "-" + dayName(weekday(j-1))
			}
			groups = append(groups, days+" "+strings.Join(week[day], ", "))
		}
		i = j
	}
	return strings.Join(groups, "; ")
}
