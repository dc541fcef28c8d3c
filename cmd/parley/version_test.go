package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/buildinfo"
)

func TestCLIVersion(t *testing.T) {
	want := buildinfo.Read().String() + "\n"
	// Every spelling, with or without global flags around it; none needs a database.
	env := map[string]string{"PARLEY_DATA": t.TempDir() + "/never-created"}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}, {"--data", "x", "--version"}, {"version", "--log-level", "debug"}} {
		out, errOut, err := runCLI(t, env, args...)
		if err != nil || out != want || errOut != "" {
			t.Errorf("parley %s: out %q, stderr %q, err %v; want out %q", strings.Join(args, " "), out, errOut, err, want)
		}
	}

	for _, args := range [][]string{{"version", "--json"}, {"--json", "--version"}, {"--version", "--json"}} {
		out, _, err := runCLI(t, env, args...)
		if err != nil {
			t.Fatalf("parley %s: %v", strings.Join(args, " "), err)
		}
		got := decodeOne(t, out)
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if k := strings.Join(keys, ","); k != "arch,commit,commit_time,go_version,modified,os,version" {
			t.Errorf("parley %s: keys %s", strings.Join(args, " "), k)
		}
		i := buildinfo.Read()
		if got["version"] != i.Version || got["go_version"] != i.GoVersion || got["os"] != i.OS || got["arch"] != i.Arch ||
			got["commit"] != i.Commit || got["modified"] != i.Modified || got["commit_time"] != i.CommitTime {
			t.Errorf("parley %s = %v, want %+v", strings.Join(args, " "), got, i)
		}
	}

	if _, _, err := runCLI(t, env, "version", "extra"); err == nil || exitCode(err) != 2 {
		t.Errorf("parley version extra: err %v, want a usage error", err)
	}
	out, _, _ := runCLI(t, env, "help")
	if !strings.Contains(out, "\n  version ") {
		t.Errorf("help does not list the version command:\n%s", out)
	}
}
