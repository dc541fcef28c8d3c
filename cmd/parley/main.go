// Command parley is a self-hosted live-chat server for customer support built around trusted customer
// identity. Run `parley serve` to start it; `parley help` lists every command.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	// The time zone database inside the binary: business hours name IANA zones, and a server without
	// /usr/share/zoneinfo (a scratch or distroless image) must still know them. The system's copy is
	// preferred when present; this one is the fallback.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(exitCode(err))
	}
}
