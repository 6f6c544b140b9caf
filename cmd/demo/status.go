package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-drainer/ecs-drainer/cmd/ecs-drainer/operator"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// statusEvery is how often the demo looks for a drain in the middle of its
// wait, to show the operator's view of it.
const statusEvery = 500 * time.Millisecond

// statusAfter is how long a drain has waited, its chain marked and tasks
// left, when the demo shows the status: a few polls in, mid-drain.
const statusAfter = 5 * time.Second

// midDrainStatus runs `ecs-drainer status` in-process against the demo's
// world once a drain has waited statusAfter on its tasks, and returns the
// table with when it was taken; "" if none did before ctx ended. It runs
// beside the drains and prints nothing itself, so the live view stays
// whole. The command does not read the function's settings: the demo
// passes its max drain, as an operator passes the function's.
func midDrainStatus(ctx context.Context, w *localdeploy.World, maxDrain time.Duration) (table string, at time.Time) {
	o := operator.Options{
		Config: func(ctx context.Context, _, _ string) (aws.Config, error) { return w.AWS.Config(ctx) },
		Now:    w.AWS.Clock.Now,
	}
	status := func(args ...string) (string, bool) {
		var out bytes.Buffer
		code := operator.Run(ctx, append([]string{"status", "--group", group, "--max-drain", maxDrain.String()}, args...), operator.IO{In: strings.NewReader(""), Out: &out, Err: io.Discard}, o)
		return out.String(), code == operator.ExitOK
	}
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", time.Time{}
		case <-t.C:
		}
		js, ok := status("-o", "json")
		var s struct {
			Drains []operator.Drain `json:"drains"`
		}
		if !ok || json.Unmarshal([]byte(js), &s) != nil {
			continue
		}
		for _, d := range s.Drains {
			if d.State == operator.StateDraining && d.TasksLeft > 0 && d.WaitedSeconds != nil && time.Duration(*d.WaitedSeconds)*time.Second >= statusAfter {
				at := w.AWS.Clock.Now()
				if table, ok := status(); ok {
					return table, at
				}
			}
		}
	}
}
