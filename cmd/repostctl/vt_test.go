package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// vtScreen is the part of a VT100/xterm screen that `status --watch`
// drives: printable text with auto-wrap, CR, LF, backspace, and the CSI
// sequences H (cursor position), J and K (erase), m (colours, ignored)
// and ?25h/?25l (cursor shown/hidden). A line feed on the last row
// scrolls, and scrolled counts the lines that left the top. Any other
// sequence is an error, so that a new one in the implementation is
// looked at rather than silently misread.
type vtScreen struct {
	rows, cols int
	cells      [][]rune
	row, col   int
	wrapNext   bool // the last column was written: the next rune wraps
	hidden     bool // the cursor is hidden (?25l)
	scrolled   int
}

func newVTScreen(rows, cols int) *vtScreen {
	s := &vtScreen{rows: rows, cols: cols, cells: make([][]rune, rows)}
	for i := range s.cells {
		s.cells[i] = blankLine(cols)
	}
	return s
}

func blankLine(cols int) []rune { return []rune(strings.Repeat(" ", cols)) }

// write interprets b; an unknown or cut escape sequence is an error.
func (s *vtScreen) write(b []byte) error {
	for len(b) > 0 {
		if b[0] == 0x1b {
			n, err := s.escape(b)
			if err != nil {
				return err
			}
			b = b[n:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch r {
		case '\r':
			s.col, s.wrapNext = 0, false
		case '\n':
			s.lineFeed()
		case '\b':
			if s.col > 0 {
				s.col--
			}
			s.wrapNext = false
		case '\a', 0:
		default:
			if r < 0x20 {
				return fmt.Errorf("control character %#x", r)
			}
			s.put(r)
		}
	}
	return nil
}

func (s *vtScreen) put(r rune) {
	if s.wrapNext {
		s.col, s.wrapNext = 0, false
		s.lineFeed()
	}
	s.cells[s.row][s.col] = r
	if s.col == s.cols-1 {
		s.wrapNext = true
	} else {
		s.col++
	}
}

func (s *vtScreen) lineFeed() {
	s.wrapNext = false
	if s.row < s.rows-1 {
		s.row++
		return
	}
	copy(s.cells, s.cells[1:])
	s.cells[s.rows-1] = blankLine(s.cols)
	s.scrolled++
}

// escape interprets the CSI sequence at the start of b and returns its length.
func (s *vtScreen) escape(b []byte) (int, error) {
	if len(b) < 2 || b[1] != '[' {
		return 0, fmt.Errorf("escape sequence %q is not a CSI", b[:min(len(b), 8)])
	}
	end := 2
	for end < len(b) && (b[end] >= '0' && b[end] <= '9' || b[end] == ';' || b[end] == '?') {
		end++
	}
	if end == len(b) {
		return 0, fmt.Errorf("escape sequence %q cut", b)
	}
	params, final := string(b[2:end]), b[end]
	arg := func(i, def int) int {
		f := strings.Split(params, ";")
		if i >= len(f) || f[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(f[i])
		return n
	}
	switch {
	case final == 'H' && !strings.HasPrefix(params, "?"):
		s.row, s.col, s.wrapNext = min(max(arg(0, 1), 1), s.rows)-1, min(max(arg(1, 1), 1), s.cols)-1, false
	case final == 'J' && (params == "" || params == "0"):
		s.clearEOL()
		for r := s.row + 1; r < s.rows; r++ {
			s.cells[r] = blankLine(s.cols)
		}
	case final == 'J' && params == "2":
		for r := range s.cells {
			s.cells[r] = blankLine(s.cols)
		}
	case final == 'K' && (params == "" || params == "0"):
		s.clearEOL()
	case final == 'm':
	case final == 'l' && params == "?25":
		s.hidden = true
	case final == 'h' && params == "?25":
		s.hidden = false
	default:
		return 0, fmt.Errorf("escape sequence %q not handled", b[:end+1])
	}
	return end + 1, nil
}

func (s *vtScreen) clearEOL() {
	for c := s.col; c < s.cols; c++ {
		s.cells[s.row][c] = ' '
	}
}

// lines is the screen's text, trailing blanks and blank last lines removed.
func (s *vtScreen) lines() []string {
	var out []string
	for _, l := range s.cells {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
