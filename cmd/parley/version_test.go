package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os/exec"
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

// TestServeLogsItsVersion: the server's first log line names the build, as `parley version` does.
func TestServeLogsItsVersion(t *testing.T) {
	bin := parleyBinary(t)
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("parley version --json: %v", err)
	}
	var v versionJSON
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	short := buildinfo.Info{Commit: v.Commit, Modified: v.Modified}.Short()
	// The line as slog writes it, quoting included, without the time and level that lead it.
	var want bytes.Buffer
	slog.New(slog.NewTextHandler(&want, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}})).Info("starting parley", "version", v.Version, "commit", short, "go", v.GoVersion, "platform", v.OS+"/"+v.Arch)

	s := startServer(t, t.TempDir(), "127.0.0.1:0", "--cleanup-interval", "0")
	first, _, _ := strings.Cut(s.log(), "\n")
	if !strings.HasPrefix(first, "time=") || !strings.HasSuffix(first+"\n", " level=INFO "+want.String()) {
		t.Errorf("first log line of parley serve:\n%s\nwant it to end with:\n%s", first, want.String())
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.log())
	}
}
