package main

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ANSI sequences of a redraw in place: the first frame clears the screen;
// every frame starts at the top left, clears the rest of each line it
// writes and what is left below it, so that nothing scrolls or flickers.
const (
	clearScreen = "\x1b[H\x1b[2J"
	cursorHome  = "\x1b[H"
	clearEOL    = "\x1b[K"
	clearBelow  = "\x1b[J"
)

// inPlace makes a frame that overwrites the previous one.
func inPlace(frame []byte, first bool) []byte {
	var b bytes.Buffer
	if first {
		b.WriteString(clearScreen)
	} else {
		b.WriteString(cursorHome)
	}
	b.Write(bytes.ReplaceAll(frame, []byte("\n"), []byte(clearEOL+"\n")))
	b.WriteString(clearBelow)
	return b.Bytes()
}

// fitFrame cuts a frame to what a rows x cols terminal shows without
// scrolling (0: size unknown, nothing cut). A frame taller than the
// screen would scroll on every redraw: its top lines (the header) would
// leave the screen and pile up above it, so a redraw from the top would
// no longer be in place. A line longer than cols wraps onto more rows
// (lines are not cut to the width: the HOLD column at the end matters
// most), and the last row stays free for the cursor. What is cut is said
// on the last row kept.
func fitFrame(frame []byte, rows, cols int) []byte {
	if rows <= 1 || cols <= 0 {
		return frame
	}
	lines := strings.SplitAfter(string(frame), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	budget, total := rows-1, 0
	for _, l := range lines {
		total += rowsOf(l, cols)
	}
	if total <= budget {
		return frame
	}
	var b strings.Builder
	used, kept := 0, 0
	for _, l := range lines {
		r := rowsOf(l, cols)
		if used+r > budget-1 { // one row for the notice
			break
		}
		b.WriteString(l)
		used += r
		kept++
	}
	cut := len(lines) - kept
	notice := fmt.Sprintf("… %d more %s: enlarge the terminal, or name subscriptions", cut, plural(cut, "line"))
	if utf8.RuneCountInString(notice) > cols-1 {
		notice = strings.TrimRight(string([]rune(notice)[:cols-1]), " ")
	}
	b.WriteString(notice + "\n")
	return []byte(b.String())
}

// rowsOf is how many rows of cols characters a line takes on a terminal.
func rowsOf(line string, cols int) int {
	n := utf8.RuneCountInString(strings.TrimSuffix(line, "\n"))
	return max(1, (n+cols-1)/cols)
}
