package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The session lifetime settings round-trip through `workspace update` and `workspace show`, and are
// validated before anything is stored.
func TestCLISessionLifetimes(t *testing.T) {
	env := map[string]string{"PARLEY_DATA": t.TempDir()}
	out, _, err := runCLI(t, env, "workspace", "create", "--name", "Acme", "--json")
	if err != nil {
		t.Fatal(err)
	}
	ws := decodeOne(t, out)["id"].(string)

	settings := func(args ...string) map[string]any {
		t.Helper()
		out, _, err := runCLI(t, env, args...)
		if err != nil {
			t.Fatalf("%v: %v (%s)", args, err, out)
		}
		return decodeOne(t, out)["settings"].(map[string]any)
	}
	check := func(what string, s map[string]any, idle, life, visitor string) {
		t.Helper()
		if s["verified_idle_timeout"] != idle || s["verified_lifetime"] != life || s["visitor_idle_timeout"] != visitor {
			t.Errorf("%s: settings %v; want verified idle %s, lifetime %s, visitor idle %s", what, s, idle, life, visitor)
		}
	}
	check("defaults", settings("workspace", "show", "--workspace", ws, "--json"), "12h0m0s", "168h0m0s", "720h0m0s")
	check("update", settings("workspace", "update", "--workspace", ws, "--json",
		"--verified-idle-timeout", "2h", "--verified-lifetime", "48h", "--visitor-idle-timeout", "240h"), "2h0m0s", "48h0m0s", "240h0m0s")
	check("show after update", settings("workspace", "show", "--workspace", ws, "--json"), "2h0m0s", "48h0m0s", "240h0m0s")
	check("another setting leaves them alone", settings("workspace", "update", "--workspace", ws, "--json", "--onboarding", "on"),
		"2h0m0s", "48h0m0s", "240h0m0s")
	check("0 restores a default", settings("workspace", "update", "--workspace", ws, "--json", "--visitor-idle-timeout", "0"),
		"2h0m0s", "48h0m0s", "720h0m0s")

	// People read them too.
	text, _, err := runCLI(t, env, "workspace", "show", "--workspace", ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verified idle timeout  2h0m0s", "verified lifetime      48h0m0s", "visitor idle timeout   720h0m0s"} {
		if !strings.Contains(text, want) {
			t.Errorf("workspace show prints %q; want a line %q", text, want)
		}
	}

	for _, bad := range [][]string{
		{"--verified-idle-timeout", "30s"},
		{"--verified-idle-timeout", "721h"},
		{"--verified-idle-timeout", "49h"}, // beyond the 48h lifetime
		{"--verified-lifetime", "1h"},      // below the 2h idle timeout
		{"--verified-lifetime", "8761h"},
		{"--visitor-idle-timeout", "30m"},
	} {
		out, _, err := runCLI(t, env, append([]string{"workspace", "update", "--workspace", ws, "--json"}, bad...)...)
		if err == nil || decodeOne(t, out)["error"].(map[string]any)["code"] != "invalid_field" {
			t.Errorf("%v was accepted: %s", bad, out)
		}
	}
	check("after refused updates", settings("workspace", "show", "--workspace", ws, "--json"), "2h0m0s", "48h0m0s", "720h0m0s")

	if out, _, err := runCLI(t, env, "workspace", "show", "--workspace", "ws_missing", "--json"); exitCode(err) != 1 ||
		decodeOne(t, out)["error"].(map[string]any)["code"] != "workspace_not_found" {
		t.Errorf("show of a missing workspace: %v %s", err, out)
	}
	if _, _, err := runCLI(t, env, "workspace", "show"); exitCode(err) != 2 {
		t.Errorf("show without --workspace: %v; want a usage error", err)
	}
}

// The test clock follows its file: a duration, re-read when the file changes; missing or empty is 0.
func TestOffsetClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offset")
	real := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var changes []string
	c := newOffsetClock(path, func(d time.Duration, err error) {
		if err != nil {
			changes = append(changes, "error")
			return
		}
		changes = append(changes, d.String())
	})
	c.now = func() time.Time { return real }
	at := func(what string, want time.Duration) {
		t.Helper()
		real = real.Add(statEvery) // the next read looks at the file again
		if got := c.Now().Sub(real); got != want {
			t.Errorf("%s: offset %s; want %s", what, got, want)
		}
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	at("no file", 0)
	write("36h\n")
	at("36h", 36*time.Hour)
	write("-5m")
	at("-5m", -5*time.Minute)
	write("48h") // the same size as an earlier value, within the same second
	at("48h", 48*time.Hour)
	write("soon")
	at("an invalid file keeps the offset", 48*time.Hour)
	write("")
	at("empty", 0)
	write("1h")
	at("1h", time.Hour)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	at("removed", 0)

	// Between stats the file is not read: the offset changes at the next look.
	write("2h")
	real = real.Add(statEvery)
	c.Now()
	write("3h")
	real = real.Add(statEvery / 2)
	if got := c.Now().Sub(real); got != 2*time.Hour {
		t.Errorf("within %s of the last look: offset %s; want still 2h", statEvery, got)
	}
	at("after the interval", 3*time.Hour)

	if strings.Join(changes, ",") != "36h0m0s,-5m0s,48h0m0s,error,0s,1h0m0s,0s,2h0m0s,3h0m0s" {
		t.Errorf("changes logged: %v", changes)
	}
}
