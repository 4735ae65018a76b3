package blockdoc

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
)

func TestText(t *testing.T) {
	s := &block.Spec{Type: "x_read", Label: "X", Class: block.ClassSource, Category: "Source", Input: block.KindNone, Output: block.KindFile,
		Description: "Reads X.", Relations: []string{"empty"},
		Fields: []block.Field{
			{Key: "adv", Label: "Advanced one", Type: block.TypeInt, Advanced: true, Description: "Tuning."},
			{Key: "host", Label: "Host", Type: block.TypeString, Required: true, FromConfigs: true},
			{Key: "mode", Label: "Mode", Type: block.TypeEnum, Enum: []string{"a", "b"}, Default: "a"},
		}}
	got := Text(s)
	for _, want := range []string{"x_read — X\n", "Reads X.", "Relations: success, failure, empty", "from Extension Configurations", "one of a|b", "adv (Advanced one): Tuning."} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// Basic fields come before advanced ones.
	if strings.Index(got, "  host") > strings.Index(got, "  adv ") {
		t.Errorf("advanced field listed first:\n%s", got)
	}
}
