package main

import (
	"fmt"
	"strings"
)

// plotSVG draws calls in the trailing window over time against the limit.
func plotSVG(d drainResult) []byte {
	const w, h, left, bottom, top, right = 760.0, 360.0, 60.0, 40.0, 30.0, 20.0
	maxT := 1.0
	if n := len(d.Series); n > 0 {
		maxT = max(d.Series[n-1].T, 1)
	}
	maxY := float64(d.Limit) * 1.2
	x := func(t float64) float64 { return left + (w-left-right)*t/maxT }
	y := func(v float64) float64 { return h - bottom - (h-bottom-top)*v/maxY }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&sb, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&sb, `<text x="%.0f" y="18" font-size="14">Marketo calls in the trailing %s window, three replicas draining %d events</text>`+"\n", left, d.Window, d.Events)
	// axes and grid
	fmt.Fprintf(&sb, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", left, y(0), w-right, y(0))
	fmt.Fprintf(&sb, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", left, y(0), left, y(maxY))
	for v := 0.0; v <= maxY; v += 20 {
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-6, y(v)+4, v)
		fmt.Fprintf(&sb, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", left, y(v), w-right, y(v))
	}
	step := niceStep(maxT)
	for t := 0.0; t <= maxT; t += step {
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0fs</text>`+"\n", x(t), h-bottom+16, t)
	}
	// the limit
	fmt.Fprintf(&sb, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d33" stroke-dasharray="6 4" stroke-width="2"/>`+"\n", left, y(float64(d.Limit)), w-right, y(float64(d.Limit)))
	fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" fill="#d33">limit %d per %s</text>`+"\n", w-right-130, y(float64(d.Limit))-6, d.Limit, d.Window)
	// the series
	var pts []string
	for _, p := range d.Series {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), y(float64(p.Calls))))
	}
	fmt.Fprintf(&sb, `<polyline fill="none" stroke="#36c" stroke-width="2" points="%s"/>`+"\n", strings.Join(pts, " "))
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" fill="#36c">calls in window (max %d)</text>`+"\n", left+10, top+14, d.MaxInWindow)
	sb.WriteString("</svg>\n")
	return []byte(sb.String())
}

func niceStep(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 20, 30, 60, 120, 300} {
		if span/s <= 10 {
			return s
		}
	}
	return 600
}
