package main

import (
	"reflect"
	"strings"
	"testing"
)

// `workspace update` sets business hours from flags, `workspace show` prints them, and every mistake is
// refused with a message that names it before anything is stored.
func TestCLIBusinessHours(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	ws := newCLIWorkspace(t, env)
	hoursOf := func(out string) map[string]any {
		t.Helper()
		return decodeOne(t, out)["settings"].(map[string]any)["business_hours"].(map[string]any)
	}

	out, _, err := runCLI(t, env, "workspace", "show", "--workspace", ws, "--json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"enabled": "off", "time_zone": "", "schedule": "", "holidays": []any{}, "out_of_hours": "away"}
	if got := hoursOf(out); !reflect.DeepEqual(got, want) {
		t.Errorf("a new workspace's hours = %v; want %v", got, want)
	}

	out, _, err = runCLI(t, env, "workspace", "update", "--workspace", ws, "--json",
		"--hours", "sat 10:00-14:00; Mon-Fri 13:30-17:00, 09:00-12:30", "--time-zone", "Europe/Berlin",
		"--holidays", "2026-12-25, 2026-12-24", "--out-of-hours", "hide", "--hours-enabled", "on")
	if err != nil {
		t.Fatalf("update: %v (%s)", err, out)
	}
	want = map[string]any{"enabled": "on", "time_zone": "Europe/Berlin", "schedule": "mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00",
		"holidays": []any{"2026-12-24", "2026-12-25"}, "out_of_hours": "hide"}
	if got := hoursOf(out); !reflect.DeepEqual(got, want) {
		t.Errorf("after update: %v; want %v", got, want)
	}

	// The human form, and flags not given leave the hours alone.
	out, _, err = runCLI(t, env, "workspace", "update", "--workspace", ws, "--read-receipts", "off")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"business hours         on, mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00, time zone Europe/Berlin",
		"holidays               2026-12-24, 2026-12-25",
		"out of hours           hide",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("workspace update prints\n%s\nwithout %q", out, line)
		}
	}
	// An empty --hours closes every day; an empty --holidays clears them.
	out, _, err = runCLI(t, env, "workspace", "update", "--workspace", ws, "--json", "--hours", "", "--holidays", "", "--out-of-hours", "away")
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]any{"enabled": "on", "time_zone": "Europe/Berlin", "schedule": "", "holidays": []any{}, "out_of_hours": "away"}
	if got := hoursOf(out); !reflect.DeepEqual(got, want) {
		t.Errorf("after clearing: %v; want %v", got, want)
	}
	out, _, err = runCLI(t, env, "workspace", "show", "--workspace", ws)
	if err != nil || !strings.Contains(out, "business hours         on, closed every day, time zone Europe/Berlin") {
		t.Errorf("show: %v\n%s", err, out)
	}

	fresh := newCLIWorkspace(t, env)
	cases := []struct {
		args []string
		code string
		exit int
		says string
	}{
		{[]string{"--hours", "mon-fri 9:00-17:00"}, "usage", 2, `--hours: mon-fri: "9:00-17:00": "9:00" is not a time`},
		{[]string{"--hours", "weekdays 09:00-17:00"}, "usage", 2, `"weekdays" is not a day`},
		{[]string{"--hours", "mon 09:00-12:00, 11:00-13:00"}, "usage", 2, "mon: 11:00-13:00 overlaps 09:00-12:00"},
		{[]string{"--hours", "fri 22:00-02:00"}, "usage", 2, "two: 22:00-24:00 one day, 00:00-02:00 the next"},
		{[]string{"--hours-enabled", "yes"}, "usage", 2, "--hours-enabled must be on or off"},
		{[]string{"--hours-enabled", "on"}, "invalid_field", 1, "business hours need a time zone"},
		{[]string{"--time-zone", "Berlin"}, "invalid_field", 1, `"Berlin" is not a time zone`},
		{[]string{"--holidays", "2026-12-24,24/12/2026"}, "invalid_field", 1, `"24/12/2026" is not a date`},
		{[]string{"--out-of-hours", "closed"}, "invalid_field", 1, `must be away or hide, not "closed"`},
	}
	for _, c := range cases {
		out, _, err := runCLI(t, env, append([]string{"workspace", "update", "--workspace", fresh, "--json"}, c.args...)...)
		if err == nil {
			t.Errorf("%v was accepted", c.args)
			continue
		}
		if exitCode(err) != c.exit {
			t.Errorf("%v: exit %d, want %d", c.args, exitCode(err), c.exit)
		}
		e := decodeOne(t, out)["error"].(map[string]any)
		if e["code"] != c.code || !strings.Contains(e["message"].(string), c.says) {
			t.Errorf("%v: %v; want %s saying %q", c.args, e, c.code, c.says)
		}
	}
	out, _, _ = runCLI(t, env, "workspace", "show", "--workspace", fresh, "--json")
	if got := hoursOf(out); got["enabled"] != "off" || got["time_zone"] != "" || got["schedule"] != "" {
		t.Errorf("refused updates changed the hours: %v", got)
	}
}
