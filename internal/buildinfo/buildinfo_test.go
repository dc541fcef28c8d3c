package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/parleyhq/parley", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "GOOS", Value: "darwin"},
			{Key: "GOARCH", Value: "arm64"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-06T03:55:55Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := fromBuildInfo(bi)
	want := Info{Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", Modified: true,
		CommitTime: "2026-12-06T03:55:55Z", GoVersion: "go1.26.8", OS: "darwin", Arch: "arm64"}
	if got != want {
		t.Errorf("fromBuildInfo = %+v\nwant %+v", got, want)
	}

	// No build information at all (or none from version control): the running toolchain and platform.
	for _, bi := range []*debug.BuildInfo{nil, {Main: debug.Module{Version: ""}}} {
		got := fromBuildInfo(bi)
		want := Info{Version: "(devel)", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
		if got != want {
			t.Errorf("fromBuildInfo(%v) = %+v, want %+v", bi, got, want)
		}
	}
}

func TestShortAndString(t *testing.T) {
	base := Info{Version: "v1.2.3", GoVersion: "go1.26.8", OS: "linux", Arch: "amd64"}
	commit := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		name        string
		info        Info
		short, line string
	}{
		{"release", with(base, commit, false), "0123456789ab",
			"parley v1.2.3 (commit 0123456789ab, go1.26.8 linux/amd64)"},
		{"modified work tree", with(base, commit, true), "0123456789ab+dirty",
			"parley v1.2.3 (commit 0123456789ab+dirty, go1.26.8 linux/amd64)"},
		{"short commit kept whole", with(base, "abc123", false), "abc123",
			"parley v1.2.3 (commit abc123, go1.26.8 linux/amd64)"},
		{"no version control", Info{Version: "(devel)", GoVersion: "go1.26.8", OS: "windows", Arch: "arm64"}, "",
			"parley (devel) (go1.26.8 windows/arm64)"},
		{"modified without a commit says nothing", Info{Version: "(devel)", Modified: true, GoVersion: "go1.26.8", OS: "linux", Arch: "amd64"}, "",
			"parley (devel) (go1.26.8 linux/amd64)"},
	} {
		if got := c.info.Short(); got != c.short {
			t.Errorf("%s: Short() = %q, want %q", c.name, got, c.short)
		}
		if got := c.info.String(); got != c.line {
			t.Errorf("%s: String() = %q, want %q", c.name, got, c.line)
		}
	}
}

func with(i Info, commit string, modified bool) Info {
	i.Commit, i.Modified = commit, modified
	return i
}
