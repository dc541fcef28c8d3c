package main

import (
	"os"
	"testing"
)

func TestRSSReadsThisProcess(t *testing.T) {
	kib, err := rssKiB(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A running Go test binary is resident in megabytes, not bytes: a misparsed unit would show.
	if kib < 1024 {
		t.Fatalf("VmRSS %d KiB", kib)
	}
	if _, err := rssKiB(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
