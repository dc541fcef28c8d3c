//go:build unix

package main

import (
	"log/slog"
	"syscall"
)

// fdReserve is what a server needs besides its sockets: the database, listeners, logs, outbound
// connections (SMTP, webhooks, JWKS, the relay).
const fdReserve = 256

// warnOpenFiles says at start when the open-file limit cannot hold the sockets --max-sockets allows:
// past it, accepting connections fails for everyone (console and API too), not only new widgets.
// (Go raises the soft limit to the hard one at start, so the soft limit read here is what the process
// has.)
func warnOpenFiles(log *slog.Logger, maxSockets int) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	if uint64(maxSockets)+fdReserve > l.Cur {
		log.Warn("the open-file limit is below what --max-sockets needs; raise it (ulimit -n, LimitNOFILE) or lower --max-sockets",
			"open_files", l.Cur, "max_sockets", maxSockets, "needed", uint64(maxSockets)+fdReserve)
	}
}
