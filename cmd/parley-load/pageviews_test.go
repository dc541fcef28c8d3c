package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store/dbtest"
)

// -pageviews against the real handler: every mode's page views succeed and are reported beside the floor,
// and today's page views write no session while the old sequence writes one per new visitor.
func TestLoadToolPageViews(t *testing.T) {
	svc, srv, ws := loadTarget(t, dbtest.Open(t))
	sessions := func() int { return dbtest.Count(t, svc.Store(), "SELECT COUNT(*) FROM sessions") }
	o := options{workspace: ws.ID, post: []string{srv.URL}, visitors: 3, duration: 300 * time.Millisecond}

	var out strings.Builder
	if err := runPageviews(context.Background(), o, "new,returning,returning-open", &out); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"new", "returning", "returning-open"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(mode) + ` +[1-9]\d* page views/s .* errors 0  floor /healthz [1-9]\d* /s`).MatchString(out.String()) {
			t.Fatalf("no %s figure without errors in the report:\n%s", mode, out.String())
		}
	}
	if n := sessions(); n != 2*o.visitors {
		t.Fatalf("%d sessions after browsing; want only the returning visitors' stored ones (%d)", n, 2*o.visitors)
	}

	out.Reset()
	if err := runPageviews(context.Background(), o, "new-old,returning-old", &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^new-old +[1-9]\d* page views/s .* errors 0 `).MatchString(out.String()) ||
		!regexp.MustCompile(`(?m)^returning-old +[1-9]\d* page views/s .* errors 0 `).MatchString(out.String()) {
		t.Fatalf("report:\n%s", out.String())
	}
	if n := sessions(); n <= 3*o.visitors {
		t.Fatalf("%d sessions: the old sequence writes one per new visitor's page view", n)
	}
	if err := runPageviews(context.Background(), o, "bogus", &out); err == nil {
		t.Fatal("an unknown mode was accepted")
	}
	t.Log(out.String())
}
