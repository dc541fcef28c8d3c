package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// releaseTargets are the targets scripts/release builds by default, read from the script.
func releaseTargets(t *testing.T) []string {
	t.Helper()
	script, err := os.ReadFile("../../scripts/release")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^all_targets=\(([^)]*)\)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/release has no all_targets=(…) line")
	}
	return strings.Fields(string(m[1]))
}

// release runs scripts/release with args and returns its combined output.
func release(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"../../scripts/release"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestReleaseIsReproducible builds one release target twice into two folders and compares the bytes:
// the same commit must give the same binary, whoever builds it. The second build (and the first, on a
// machine that built before) takes its compiled packages from the Go build cache, so this proves that
// nothing of the build's place or moment reaches the binary (paths, build id, the clone's location),
// not that the compiler is deterministic, which is the Go project's promise. Then the binary must say
// which commit it is.
func TestReleaseIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("release test builds the binary twice")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("scripts/release needs bash")
	}
	// The host's target, so that the binary can run; linux/amd64 elsewhere (then only compared).
	target := runtime.GOOS + "/" + runtime.GOARCH
	targets := releaseTargets(t)
	if !slices.Contains(targets, "linux/amd64") || len(targets) != 6 {
		t.Fatalf("scripts/release builds %v by default, want Linux, macOS and Windows on amd64 and arm64", targets)
	}
	runnable := slices.Contains(targets, target)
	if !runnable {
		target = "linux/amd64"
	}
	dirs := []string{t.TempDir(), t.TempDir()}
	var sums [][]byte
	for _, dir := range dirs {
		if out, err := release(t, "--target", target, "--out", dir); err != nil {
			t.Fatalf("scripts/release --target %s: %v\n%s", target, err, out)
		}
		s, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s)
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Fatalf("two builds of one commit differ:\n%s\n%s", sums[0], sums[1])
	}
	// One line in sha256sum's format, naming the one binary, whose bytes it describes.
	m := regexp.MustCompile(`^([0-9a-f]{64})  (parley_(.+)_` + strings.ReplaceAll(target, "/", "_") + `(\.exe)?)\n$`).FindStringSubmatch(string(sums[0]))
	if m == nil {
		t.Fatalf("SHA256SUMS is not one line for %s:\n%s", target, sums[0])
	}
	name, fileVersion := m[2], m[3]
	var bins [][]byte
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != m[1] {
			t.Fatalf("%s/%s does not match SHA256SUMS", dir, name)
		}
		bins = append(bins, b)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatal("the two binaries differ") // unreachable when the sums agree; said for the reader
	}
	bin := filepath.Join(dirs[0], name)
	if strings.HasPrefix(target, "linux/") {
		// Static: no program interpreter (dynamic loader) and nothing to load.
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked (program header %v)", name, p.Type)
			}
		}
	}
	if !runnable {
		t.Logf("built for %s, which this %s/%s machine cannot run: version not checked", target, runtime.GOOS, runtime.GOARCH)
		return
	}

	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("%s version --json: %v", name, err)
	}
	var v versionJSON
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s version --json printed %q: %v", name, out, err)
	}
	// Without version control the binary is "(devel)" and its name says "devel".
	if (v.Version != fileVersion && (v.Version != "(devel)" || fileVersion != "devel")) || v.GoVersion != runtime.Version() || v.OS+"/"+v.Arch != target {
		t.Errorf("%s version --json = %+v: want version %s (as in its name), %s, %s", name, v, fileVersion, runtime.Version(), target)
	}
	text, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", name, err)
	}
	head, err := exec.Command("git", "-C", "../..", "rev-parse", "HEAD").Output()
	if err != nil {
		// A source tarball: nothing to compare with, and the binary rightly names no commit.
		t.Logf("not a git checkout (git rev-parse HEAD: %v): the binary's commit is not checked; it says %q", err, text)
		return
	}
	commit := strings.TrimSpace(string(head))
	if v.Commit != commit || v.Modified || v.CommitTime == "" {
		t.Errorf("%s version --json = %+v: want commit %s (HEAD), unmodified, with its time", name, v, commit)
	}
	if want := "commit " + commit[:12] + ","; !strings.Contains(string(text), want) {
		t.Errorf("%s --version = %q, want it to name %q", name, text, want)
	}
}

func TestReleaseRefusesUnknownTargets(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("scripts/release needs bash")
	}
	dir := t.TempDir()
	out, err := release(t, "--target", "plan9/amd64", "--out", dir)
	if err == nil || !strings.Contains(out, "unknown target plan9/amd64") {
		t.Fatalf("scripts/release --target plan9/amd64: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused release wrote %d files", len(entries))
	}
}
