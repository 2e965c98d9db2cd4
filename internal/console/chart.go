package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH        = 720, 220
	chartLeft, chartRight = 44, 10
	chartTop, chartBottom = 12, 26
)

// callsChart draws calls in window over the span ending at now, with the
// limit as a dashed line, as inline SVG. Presentation attributes only (no
// style attributes), so the page's Content-Security-Policy allows it.
func callsChart(samples []Sample, limit int, span time.Duration, now time.Time) template.HTML {
	top := limit
	for _, s := range samples {
		top = max(top, s.Calls)
	}
	yMax := float64(max(1, top)) * 1.15
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	x := func(t time.Time) float64 {
		f := 1 - float64(now.Sub(t))/float64(span)
		return float64(chartLeft) + plotW*min(1, max(0, f))
	}
	y := func(v int) float64 { return float64(chartTop) + plotH*(1-float64(v)/yMax) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="calls per window, last %s">`,
		chartW, chartH, chartW, chartH, span)
	base := y(0)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-width="1"/>`, chartLeft, base, chartW-chartRight, base)
	for _, m := range []time.Duration{span, span / 2, 0} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#555" text-anchor="middle">%s</text>`,
			x(now.Add(-m)), chartH-8, tickLabel(m))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" fill="#555" text-anchor="end">0</text>`, chartLeft-6, base+4)
	for _, seg := range segments(samples, now.Add(-span)) {
		var pts strings.Builder
		for _, s := range seg {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(s.At), y(s.Calls))
		}
		first, last := x(seg[0].At), x(seg[len(seg)-1].At)
		fmt.Fprintf(&b, `<polygon class="area" points="%.1f,%.1f %s%.1f,%.1f" fill="#cfe3f7" stroke="none"/>`, first, base, pts.String(), last, base)
		fmt.Fprintf(&b, `<polyline class="calls" points="%s" fill="none" stroke="#1f6fb5" stroke-width="2"/>`, strings.TrimSpace(pts.String()))
	}
	ly := y(limit)
	fmt.Fprintf(&b, `<line class="limit" data-limit="%d" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>`,
		limit, chartLeft, ly, chartW-chartRight, ly)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" fill="#c0392b" text-anchor="end">%d</text>`, chartLeft-6, ly+4, limit)
	if len(samples) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" fill="#555" text-anchor="middle">no samples yet</text>`, chartW/2, chartH/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and fixed text only
}

// segments splits the samples after from into runs without a gap (a
// sample the store did not answer).
func segments(samples []Sample, from time.Time) [][]Sample {
	var out [][]Sample
	var cur []Sample
	for _, s := range samples {
		if s.At.Before(from) {
			continue
		}
		if !s.OK {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, s)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func tickLabel(ago time.Duration) string {
	if ago == 0 {
		return "now"
	}
	return "-" + strings.TrimSuffix(ago.Round(time.Second).String(), "0s")
}

// quotaBar draws the day's quota used as a bar, as inline SVG.
func quotaBar(used, limit int) template.HTML {
	const w, h = 720, 22
	frac := 0.0
	if limit > 0 {
		frac = min(1, float64(used)/float64(limit))
	}
	color := "#2e8b57"
	switch {
	case frac >= 0.95:
		color = "#c0392b"
	case frac >= 0.8:
		color = "#d68910"
	}
	return template.HTML(fmt.Sprintf(`<svg class="quota" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="quota used %d of %d">`+
		`<rect x="0" y="0" width="%d" height="%d" rx="4" fill="#e6e6e6"/>`+
		`<rect class="used" data-used="%d" data-limit="%d" x="0" y="0" width="%.1f" height="%d" rx="4" fill="%s"/></svg>`,
		w, h, w, h, used, limit, w, h, used, limit, float64(w)*frac, h, color))
}
