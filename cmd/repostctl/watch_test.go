package main

import (
	"strings"
	"testing"
)

// A frame is cut to what a terminal shows without scrolling: lines wrap
// onto rows of cols characters, the last row stays free for the cursor,
// and a cut is said on the last row kept.
func TestFitFrame(t *testing.T) {
	five := "h1\nh2\n\nROW a\nROW b\n"
	long := strings.Repeat("x", 130) + "\n" // 3 rows at 64 columns
	for _, tt := range []struct {
		name       string
		frame      string
		rows, cols int
		want       string
	}{
		{"size unknown", five, 0, 0, five},
		{"fits with the cursor row free", five, 6, 80, five},
		{"one row short", five, 5, 80, "h1\nh2\n\n… 2 more lines: enlarge the terminal, or name subscriptions\n"},
		{"lines cut", "a\nb\nc\nd\n", 4, 80, "a\nb\n… 2 more lines: enlarge the terminal, or name subscriptions\n"},
		{"wrapped lines count their rows", "a\n" + long + long, 6, 64, "a\n" + long + "… 1 more line: enlarge the terminal, or name subscriptions\n"},
		{"the notice is cut to the width", "a\nb\nc\n", 3, 10, "a\n… 2 more\n"},
		{"an exact width is one row", strings.Repeat("y", 10) + "\n" + "b\n", 3, 10, strings.Repeat("y", 10) + "\nb\n"},
		{"one row only", five, 1, 80, five},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(fitFrame([]byte(tt.frame), tt.rows, tt.cols)); got != tt.want {
				t.Errorf("fitFrame(%dx%d) =\n%q\nwant\n%q", tt.cols, tt.rows, got, tt.want)
			}
		})
	}
}
