package console

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/parleyhq/parley/internal/chat"
)

// ReportChart draws the report as an inline SVG, on the server: a stacked bar per day of conversations by
// identity level, and a line for the share of customer messages that were trusted. The SVG carries no
// script and no customer text (only counts and dates), and it is styled by attributes, so the console's
// CSP needs nothing extra. It is accessible as an image with a title and a description; the report page
// also shows the same figures as a table.
func ReportChart(r chat.Report) template.HTML {
	const (
		width, height          = 760, 280
		left, right, top, foot = 44, 48, 16, 40
	)
	plotW, plotH := float64(width-left-right), float64(height-top-foot)
	n := len(r.Days)
	if n == 0 {
		return ""
	}
	max := 0
	for _, d := range r.Days {
		if t := d.Anonymous + d.Identified + d.Verified; t > max {
			max = t
		}
	}
	scale := niceCeil(max)
	slot := plotW / float64(n)
	barW := slot * 0.7
	if barW > 28 {
		barW = 28
	}
	y := func(v int) float64 { return float64(top) + plotH - plotH*float64(v)/float64(scale) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="chart-title chart-desc" class="chart">`, width, height)
	fmt.Fprintf(&b, `<title id="chart-title">Conversations per day by identity level, and share of trusted messages</title>`)
	fmt.Fprintf(&b, `<desc id="chart-desc">%s</desc>`, html.EscapeString(fmt.Sprintf("%d days: %d verified, %d identified, %d anonymous conversations; %.0f%% of %d customer messages trusted.",
		n, r.Verified, r.Identified, r.Anonymous, 100*r.TrustedShare(), r.CustomerMessages)))

	// Grid and left axis (conversations).
	for i := 0; i <= 4; i++ {
		v := scale * i / 4
		yy := y(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e7eb" stroke-width="1"/>`, left, width-right, yy, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" fill="#4b5563" text-anchor="end">%d</text>`, left-6, yy+4, v)
	}
	// Right axis (trusted share).
	for _, p := range []int{0, 50, 100} {
		yy := float64(top) + plotH - plotH*float64(p)/100
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" fill="#047857">%d%%</text>`, width-right+6, yy+4, p)
	}

	// Bars.
	colors := [3]string{"#9ca3af", "#f59e0b", "#15803d"} // anonymous, identified, verified
	labelEvery := (n + 9) / 10
	for i, d := range r.Days {
		x := float64(left) + slot*float64(i) + (slot-barW)/2
		base := 0
		day := d.Day.Format("Jan 2")
		for k, v := range [3]int{d.Anonymous, d.Identified, d.Verified} {
			if v == 0 {
				continue
			}
			y0, y1 := y(base+v), y(base)
			name := [3]string{"anonymous", "identified", "verified"}[k]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-level="%s" data-day="%s"><title>%s: %d %s</title></rect>`,
				x, y0, barW, y1-y0, colors[k], name, d.Day.Format("2006-01-02"), day, v, name)
			base += v
		}
		if i%labelEvery == 0 || i == n-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#4b5563" text-anchor="middle">%s</text>`, x+barW/2, height-foot+16, day)
		}
	}

	// Trusted share line, over the days that had customer messages.
	var pts []string
	for i, d := range r.Days {
		if d.CustomerMessages == 0 {
			continue
		}
		share := float64(d.TrustedCustomerMessages) / float64(d.CustomerMessages)
		x := float64(left) + slot*float64(i) + slot/2
		yy := float64(top) + plotH - plotH*share
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, yy))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#047857" data-share="%.3f"><title>%s: %.0f%% of %d customer messages trusted</title></circle>`,
			x, yy, share, d.Day.Format("Jan 2"), 100*share, d.CustomerMessages)
	}
	if len(pts) > 1 {
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#047857" stroke-width="2"/>`, strings.Join(pts, " "))
	}

	// Legend.
	lx := left
	for k, name := range []string{"Anonymous", "Identified (unverified)", "Verified"} {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11" fill="#111827">%s</text>`,
			lx, height-14, colors[k], lx+14, height-5, name)
		lx += 14 + 7*len(name) + 18
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#047857" stroke-width="2"/><text x="%d" y="%d" font-size="11" fill="#111827">Trusted messages (%%)</text>`,
		lx, lx+14, height-9, height-9, lx+18, height-5)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // numbers and dates only; the one sentence is escaped above
}

// niceCeil returns the axis maximum: four grid steps of 1, 2 or 5 times a power of ten, covering v.
func niceCeil(v int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if 4*m*p >= v {
				return 4 * m * p
			}
		}
	}
}
