package console_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestLongConversationFigures reports what an agent's browser fetches for a conversation of 10,000
// messages — the page when it opens it, and on each live message what the script asks for — in bytes
// and in server time (the median of several requests over loopback). It runs with PARLEY_PERF=1;
// docs/performance.md has the figures.
func TestLongConversationFigures(t *testing.T) {
	if os.Getenv("PARLEY_PERF") == "" {
		t.Skip("set PARLEY_PERF=1 to measure")
	}
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	first := tn.say(tn.visitor(), "The first words")
	conv := e.conversation(first.ConversationID)
	msgs := appendMessages(t, e.st, conv, 9999, time.Now().Add(time.Minute))
	path := "/console/conversations/" + conv.ID
	newest := msgs[len(msgs)-1].Seq

	measure := func(what, url string) {
		const runs = 7
		var times []time.Duration
		var size int
		for range runs {
			start := time.Now()
			p := b.mustGet(url)
			times = append(times, time.Since(start))
			size = len(p.body)
		}
		slices.Sort(times)
		t.Logf("%-44s %12d bytes  %10v", what, size, times[runs/2].Round(10*time.Microsecond))
	}
	measure("page (10,000 messages)", path)
	measure("live regions (…/live)", path+"/live")
	measure("live: one new message (…/timeline?after=)", path+"/timeline?after="+itoa(newest-1)+"&after_event=999999999")
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
