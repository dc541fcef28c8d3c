package password

import (
	_ "embed"
	"strings"
)

// commonList is a list of passwords people commonly choose, lower-cased, one a line, sorted by byte, of
// 12 characters or more (shorter ones fail the length rule anyway). See README.md for where it comes from.
//
//go:embed common.txt
var commonList string

// Common reports whether pw, case folded, is on the list of commonly used passwords: the first ones
// tried by anyone guessing, whatever their length.
func Common(pw string) bool {
	return inSortedLines(commonList, strings.ToLower(pw))
}

// inSortedLines binary-searches the newline-terminated, sorted lines of list for s, without splitting it
// (no allocation, no table built at start-up).
func inSortedLines(list, s string) bool {
	lo, hi := 0, len(list) // the search window, always on line starts (or the end)
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Back up to the start of the line mid is in; it is at or after lo, which is a line start.
		start := strings.LastIndexByte(list[lo:mid], '\n') + 1 + lo
		end := strings.IndexByte(list[start:], '\n')
		if end < 0 {
			end = len(list) - start
		}
		line := list[start : start+end]
		switch {
		case line == s:
			return true
		case line < s:
			lo = start + end + 1
		default:
			hi = start
		}
	}
	return false
}
