package block

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseDelimiter reads a delimiter field: one ASCII character that is not a
// letter, digit, quote or line break; "\t", "tab" and "TAB" mean a tab.
func ParseDelimiter(s string) (byte, error) {
	switch s {
	case `\t`, "tab", "TAB":
		return '\t', nil
	}
	if utf8.RuneCountInString(s) != 1 {
		return 0, fmt.Errorf("delimiter must be one character, got %q", s)
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch {
	case r >= utf8.RuneSelf:
		return 0, fmt.Errorf("delimiter must be an ASCII character, got %q", s)
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return 0, fmt.Errorf("letters and digits cannot be delimiters, got %q", s)
	case r == '"' || r == '\r' || r == '\n':
		return 0, fmt.Errorf("delimiter cannot be a quote or a line break, got %q", s)
	}
	return byte(r), nil
}

// bareNow matches the doc form of a date-stamped name whose ${ } the
// Connect+ doc renderer stripped: merge_now():format('yyyy-MM-dd').csv.
var bareNow = regexp.MustCompile(`now\(\)(:[A-Za-z]+\('[^']*'\))+`)

// FixDocNameTemplate turns the doc form merge_now():format('yyyy-MM-dd').csv
// into the NiFi form merge_${now():format('yyyy-MM-dd')}.csv (spec §4.2);
// values already using ${…} are returned unchanged.
func FixDocNameTemplate(s string) string {
	if strings.Contains(s, "${") {
		return s
	}
	return bareNow.ReplaceAllStringFunc(s, func(m string) string { return "${" + m + "}" })
}

// SafeFileName checks that name is a plain file name: no directory part and
// no traversal, because it becomes a path on a destination server.
func SafeFileName(name string) (string, error) {
	n := strings.TrimSpace(name)
	switch {
	case n == "" || n == "." || n == "..":
		return "", fmt.Errorf("output file name %q is empty or a directory reference", name)
	case strings.ContainsAny(n, `/\`):
		return "", fmt.Errorf("output file name %q must be a file name without directories", name)
	case strings.ContainsRune(n, 0):
		return "", fmt.Errorf("output file name %q contains a NUL character", name)
	}
	return n, nil
}
