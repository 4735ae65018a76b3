package cron

import (
	"context"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
)

func TestCronTriggerSpec(t *testing.T) {
	c, probs := Spec.ParseConfig(map[string]any{}, nil)
	if len(probs) > 0 || c.String("CronTrigger") != DefaultCron {
		t.Fatalf("default: %v %q", probs, c.String("CronTrigger"))
	}
	for expr, want := range map[string]string{
		"0 0/1 * * * ?": "minimum interval",
		"0 61 * * * ?":  "out of range",
		"* * *":         "6 or 7 fields",
	} {
		_, probs := Spec.ParseConfig(map[string]any{"CronTrigger": expr}, nil)
		if len(probs) == 0 || !strings.Contains(probs[0].Message, want) {
			t.Errorf("%q: %v, want %q", expr, probs, want)
		}
	}
	b, err := Spec.New(c, &block.Env{})
	if err != nil {
		t.Fatal(err)
	}
	items, err := b.(block.Source).List(context.Background())
	if err != nil || len(items) != 0 {
		t.Fatalf("a trigger has no inputs: %v %v", items, err)
	}
}
