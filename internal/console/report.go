package console

import (
	"html/template"
	"net/http"
	"strconv"

	"github.com/parleyhq/parley/internal/chat"
)

type reportPage struct {
	Days    int
	Periods []tab
	Report  chat.Report
	Chart   template.HTML // ReportChart's SVG: counts and dates only, no customer text
	Total   int
	Rows    []reportRow // newest day first
}

type reportRow struct {
	Day                                       string
	Anonymous, Identified, Verified           int
	Total                                     int
	CustomerMessages, TrustedCustomerMessages int
	Share                                     string
}

// ReportPage serves GET /console/report (?days=7, 30 or 90).
func (c *Console) ReportPage(w http.ResponseWriter, r *http.Request) {
	s := signedIn(r)
	days := 30
	if d, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && (d == 7 || d == 30 || d == 90) {
		days = d
	}
	rep, err := c.chat.Report(r.Context(), s.agent, days)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := reportPage{Days: days, Report: rep, Chart: ReportChart(rep), Total: rep.Anonymous + rep.Identified + rep.Verified}
	for _, d := range []int{7, 30, 90} {
		p.Periods = append(p.Periods, tab{Label: "Last " + strconv.Itoa(d) + " days", URL: "/console/report?days=" + strconv.Itoa(d), Current: d == days})
	}
	for i := len(rep.Days) - 1; i >= 0; i-- {
		d := rep.Days[i]
		row := reportRow{Day: d.Day.Format("Mon, Jan 2"), Anonymous: d.Anonymous, Identified: d.Identified, Verified: d.Verified,
			Total: d.Anonymous + d.Identified + d.Verified, CustomerMessages: d.CustomerMessages, TrustedCustomerMessages: d.TrustedCustomerMessages, Share: "—"}
		if d.CustomerMessages > 0 {
			row.Share = percent(float64(d.TrustedCustomerMessages) / float64(d.CustomerMessages))
		}
		p.Rows = append(p.Rows, row)
	}
	c.render(w, r, http.StatusOK, "report", c.page(w, r, "Report", "report", p))
}
