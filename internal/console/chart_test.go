package console

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

func TestReportChart(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	r := chat.Report{Days: []store.DayStats{
		{Day: day, Anonymous: 2, Identified: 1, Verified: 3, CustomerMessages: 10, TrustedCustomerMessages: 4},
		{Day: day.AddDate(0, 0, 1)},
		{Day: day.AddDate(0, 0, 2), Verified: 7, CustomerMessages: 5, TrustedCustomerMessages: 5},
	}, Anonymous: 2, Identified: 1, Verified: 10, CustomerMessages: 15, TrustedCustomerMessages: 9}
	svg := string(ReportChart(r))

	// Well-formed XML, one bar segment per non-zero level and day, one point per day with messages.
	var doc struct {
		XMLName xml.Name
		Rects   []struct {
			Level string `xml:"data-level,attr"`
			Day   string `xml:"data-day,attr"`
		} `xml:"rect"`
		Circles []struct {
			Share string `xml:"data-share,attr"`
		} `xml:"circle"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, svg)
	}
	var bars []string
	for _, r := range doc.Rects {
		if r.Level != "" {
			bars = append(bars, r.Day+"/"+r.Level)
		}
	}
	want := "2026-11-20/anonymous 2026-11-20/identified 2026-11-20/verified 2026-11-22/verified"
	if got := strings.Join(bars, " "); got != want {
		t.Errorf("bars %s, want %s", got, want)
	}
	if len(doc.Circles) != 2 || doc.Circles[0].Share != "0.400" || doc.Circles[1].Share != "1.000" {
		t.Errorf("trusted-share points %+v, want 0.400 and 1.000", doc.Circles)
	}
	if !strings.Contains(svg, "60% of 15 customer messages trusted") {
		t.Errorf("the description does not state the trusted share:\n%s", svg)
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "style=") {
		t.Error("the chart must carry no script and no inline style (CSP)")
	}
	if ReportChart(chat.Report{}) != "" {
		t.Error("an empty report draws nothing")
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[int]int{0: 4, 1: 4, 4: 4, 5: 8, 7: 8, 9: 20, 30: 40, 41: 80, 199: 200, 1001: 2000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", v, got, want)
		}
	}
}
