package join

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/connectplus/connectplus/block"
)

var (
	parseDelimiter     = block.ParseDelimiter
	fixDocNameTemplate = block.FixDocNameTemplate
	safeFileName       = block.SafeFileName
)

// templateRegex turns a common-name template such as TktDocument_<common>.dat
// into a whole-name regex whose group 1 is the common part.
func templateRegex(t string) (*regexp.Regexp, error) {
	i := strings.Index(t, "<common>")
	if i < 0 {
		return nil, fmt.Errorf("template %q has no <common> tag", t)
	}
	return regexp.Compile("^" + regexp.QuoteMeta(t[:i]) + "(.+?)" + regexp.QuoteMeta(t[i+len("<common>"):]) + "$")
}
