package main

import (
	"fmt"
	"io"
	"strings"
)

// maxDiffLines bounds the quadratic line diff; bigger bodies are shown whole.
const maxDiffLines = 2000

// unifiedDiff writes a unified-style diff of two texts with three lines of
// context, under --- and +++ headers.
func unifiedDiff(w io.Writer, nameA, nameB, a, b string) {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	fmt.Fprintf(w, "--- %s\n+++ %s\n", nameA, nameB)
	if len(la) > maxDiffLines || len(lb) > maxDiffLines {
		for _, l := range la {
			fmt.Fprintln(w, "-"+l)
		}
		for _, l := range lb {
			fmt.Fprintln(w, "+"+l)
		}
		return
	}
	ops := diffLines(la, lb)
	if len(ops) == 0 || allEqual(ops) {
		fmt.Fprintln(w, " (no change)")
		return
	}
	for _, h := range hunks(ops, 3) {
		fmt.Fprintf(w, "@@ -%d,%d +%d,%d @@\n", h.aStart+1, h.aLen, h.bStart+1, h.bLen)
		for _, op := range h.ops {
			fmt.Fprintf(w, "%c%s\n", op.kind, op.text)
		}
	}
}

// diffOp is one line of a diff: ' ' kept, '-' removed, '+' added.
type diffOp struct {
	kind byte
	text string
}

// diffLines is a longest-common-subsequence line diff.
func diffLines(a, b []string) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}

func allEqual(ops []diffOp) bool {
	for _, op := range ops {
		if op.kind != ' ' {
			return false
		}
	}
	return true
}

type hunk struct {
	aStart, aLen, bStart, bLen int
	ops                        []diffOp
}

// hunks groups changes with ctx lines of context around each.
func hunks(ops []diffOp, ctx int) []hunk {
	keep := make([]bool, len(ops))
	for i, op := range ops {
		if op.kind == ' ' {
			continue
		}
		for k := max(0, i-ctx); k <= min(len(ops)-1, i+ctx); k++ {
			keep[k] = true
		}
	}
	var out []hunk
	ai, bi := 0, 0
	var cur *hunk
	for i, op := range ops {
		if keep[i] {
			if cur == nil {
				out = append(out, hunk{aStart: ai, bStart: bi})
				cur = &out[len(out)-1]
			}
			cur.ops = append(cur.ops, op)
			if op.kind != '+' {
				cur.aLen++
			}
			if op.kind != '-' {
				cur.bLen++
			}
		} else {
			cur = nil
		}
		if op.kind != '+' {
			ai++
		}
		if op.kind != '-' {
			bi++
		}
	}
	return out
}
