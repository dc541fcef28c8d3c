//go:build !unix

package main

import "log/slog"

// warnOpenFiles checks the open-file limit where the platform has one (openfiles_unix.go).
func warnOpenFiles(*slog.Logger, int) {}
