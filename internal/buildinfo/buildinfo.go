// Package buildinfo says which Parley this is: the version, commit and Go version the binary was built
// with, read from the build information the Go toolchain embeds (so a release needs no linker flags,
// and two builds of one commit stay byte for byte the same).
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes one build.
type Info struct {
	// Version is the module version: a release tag (v1.2.3), a pseudo-version for an untagged commit,
	// or "(devel)" for `go run` outside version control.
	Version string
	// Commit is the VCS revision ("" when built without version control information), and Modified
	// says the work tree had uncommitted changes.
	Commit   string
	Modified bool
	// CommitTime is the commit's time in RFC 3339 ("" when unknown).
	CommitTime string
	GoVersion  string
	OS, Arch   string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return fromBuildInfo(bi)
}

// fromBuildInfo reads what Read needs from bi (nil when the binary carries none), apart so that tests can
// feed it the build information of builds other than their own.
func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi == nil {
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "vcs.time":
			info.CommitTime = s.Value
		case "GOOS":
			info.OS = s.Value
		case "GOARCH":
			info.Arch = s.Value
		}
	}
	return info
}

// Short is the commit's first 12 hex digits, with "+dirty" for a modified work tree ("" without one).
func (i Info) Short() string {
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c != "" && i.Modified && !strings.HasSuffix(c, "+dirty") {
		c += "+dirty"
	}
	return c
}

// String is the one line `parley version` prints: "parley v1.2.3 (commit 0123456789ab, go1.26.8 linux/amd64)".
func (i Info) String() string {
	s := "parley " + i.Version + " ("
	if c := i.Short(); c != "" {
		s += "commit " + c + ", "
	}
	return s + i.GoVersion + " " + i.OS + "/" + i.Arch + ")"
}
