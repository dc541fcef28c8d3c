package main

import (
	"context"
	"fmt"
	"io"

	"github.com/parleyhq/parley/internal/buildinfo"
)

// versionJSON is what `parley version --json` prints. Every key is always there; commit and commit_time
// are "" for a build without version control information.
type versionJSON struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	Modified   bool   `json:"modified"`
	CommitTime string `json:"commit_time"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

// runVersion prints which Parley this is. It opens no database: it answers on a machine where Parley
// has never run, which is where people check a binary they have just downloaded.
func runVersion(_ context.Context, e env, args []string) error {
	var g global
	fs := newFlags("version", e, &g)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	i := buildinfo.Read()
	v := versionJSON{Version: i.Version, Commit: i.Commit, Modified: i.Modified, CommitTime: i.CommitTime,
		GoVersion: i.GoVersion, OS: i.OS, Arch: i.Arch}
	return output(e, &g, v, func(w io.Writer) { fmt.Fprintln(w, i.String()) })
}
