// Package cron holds the cron_trigger block: the dataflow's schedule on the
// canvas. The runtime reads its CronTrigger to schedule the dataflow; as a
// block it finds no inputs of its own (the file sources do).
package cron

import (
	"context"
	"errors"
	"fmt"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/quartz"
)

// DefaultCron runs every five minutes, Connect+'s default.
const DefaultCron = "0 0/5 * * * ?"

// Spec is cron_trigger.
var Spec = &block.Spec{
	Type: "cron_trigger", Label: "Cron", Class: block.ClassSource, Category: "Trigger",
	LegacyTypes: []string{"cron_base_trigger"},
	Description: "Schedules the dataflow with a Quartz cron expression (seconds minutes hours day-of-month month day-of-week [year]), evaluated in the organisation's time zone. The minimum interval between runs is 5 minutes. The block stands alone on the canvas: the dataflow's file sources poll on this schedule. A run never overlaps the previous one; ticks that arrive while a run is busy are coalesced.",
	Input:       block.KindNone, Output: block.KindNone,
	Fields: []block.Field{{
		Key: "CronTrigger", Label: "Cron expression", Type: block.TypeCron, Required: true, Default: DefaultCron,
		Example:     "0 0 2 * * ?",
		Description: "Quartz cron, e.g. 0 0/15 * * * ? (every 15 minutes) or 0 30 9 ? * MON-FRI (weekdays 09:30).",
	}},
	Check: func(c *block.Config) []block.Problem {
		if err := quartz.Check(c.String("CronTrigger")); err != nil {
			return []block.Problem{{Path: "CronTrigger", Message: err.Error()}}
		}
		return nil
	},
	New: func(c *block.Config, _ *block.Env) (block.Block, error) {
		if _, err := quartz.Parse(c.String("CronTrigger")); err != nil {
			return nil, fmt.Errorf("CronTrigger: %w", err)
		}
		return trigger{}, nil
	},
}

// Register adds cron_trigger to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

type trigger struct{}

func (trigger) List(context.Context) ([]block.Item, error) { return nil, nil }

func (trigger) Open(context.Context, block.Item) (*block.Unit, error) {
	return nil, errors.New("cron_trigger has no inputs of its own")
}

func (trigger) Finish(context.Context, block.Item, *block.Completion) error { return nil }
