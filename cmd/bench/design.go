package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// Time is scaled down so that the whole benchmark fits in minutes: one
// benchmark second stands for timeScale real seconds. Poll intervals, task
// stop delays, job lengths and the hook's heartbeat timeout are all divided
// by it; ECS's token-bucket refill rates are multiplied by it.
const timeScale = 10

// Scaled timings, each named with the real one it stands for.
const (
	drainerPoll   = 3 * time.Second // the drainer's default DRAINER_POLL_INTERVAL, 30 s
	sleepPollWait = 1 * time.Second // the CDK InstanceDrainHook's time.sleep(10)
	republishWait = 1               // seconds; the sample's 5 s sleep then re-publish (SQS delays are whole seconds: 1 s is 10 s real)
	hookHeartbeat = 90              // seconds; the sample's HeartbeatTimeout 900, the longest either baseline can hold an instance without heartbeats
	// baselineConcurrency caps the baselines' execution environments (the
	// local Lambda runs one process each): a reserved concurrency of 100.
	baselineConcurrency = 100
)

// The designs' names, as the table shows them.
const (
	nameDrainer    = "ecs-drainer"
	nameEventsLost = "ecs-drainer, ECS events lost"
	nameSleepPoll  = "sleep-poll (CDK)"
	nameRepublish  = "republish (AWS sample)"
)

// design is one way to drain, deployed into the same local AWS.
type design struct {
	Name string
	// BillsWaiting: the invocation is billed for the time it waits (it
	// sleeps inside), so its billed time grows with the real drain time;
	// the others' billed time grows with the number of looks, which time
	// scaling keeps.
	BillsWaiting bool
	binary       string
	deploy       func(d *localdeploy.Deployment, o *localdeploy.FunctionOptions)
}

// designs builds the three functions into dir.
func designs(ctx context.Context, dir string) ([]design, error) {
	drainer, err := localdeploy.BuildBootstrap(ctx, dir)
	if err != nil {
		return nil, err
	}
	sleepPoll, err := build(ctx, dir, "sleeppoll")
	if err != nil {
		return nil, err
	}
	republish, err := build(ctx, dir, "republish")
	if err != nil {
		return nil, err
	}
	return []design{
		{Name: nameDrainer, binary: drainer, deploy: func(_ *localdeploy.Deployment, o *localdeploy.FunctionOptions) {
			// Everything else as the template says: batch, concurrency,
			// timeout, visibility.
			o.PollInterval, o.MaxDrain = drainerPoll, 10*time.Minute
		}},
		{Name: nameEventsLost, binary: drainer, deploy: func(_ *localdeploy.Deployment, o *localdeploy.FunctionOptions) {
			// Only the lifecycle rule: every drain completes at a poll, the
			// safety net the event-driven completion falls back on.
			o.PollInterval, o.MaxDrain, o.NoECSEvents = drainerPoll, 10*time.Minute, true
		}},
		{Name: nameSleepPoll, BillsWaiting: true, binary: sleepPoll, deploy: func(d *localdeploy.Deployment, o *localdeploy.FunctionOptions) {
			// One event per invocation, as SNS gives it; Lambda's
			// 15-minute limit; a visibility timeout above it, as SQS
			// requires of an event source.
			d.BatchSize = 1
			o.NoECSEvents = true // its hook gets the lifecycle event only
			o.Timeout, o.VisibilityTimeout = 900*time.Second, 905*time.Second
			o.Concurrency = baselineConcurrency
			o.Env = append(o.Env, "BENCH_SLEEP="+sleepPollWait.String())
		}},
		{Name: nameRepublish, binary: republish, deploy: func(d *localdeploy.Deployment, o *localdeploy.FunctionOptions) {
			d.BatchSize = 1
			o.NoECSEvents = true
			o.Timeout, o.VisibilityTimeout = 30*time.Second, 30*time.Second
			o.Concurrency = baselineConcurrency
			o.Env = append(o.Env, "BENCH_DELAY_SECONDS="+strconv.Itoa(republishWait))
		}},
	}, nil
}

// build compiles a baseline function for this machine, as
// localdeploy.BuildBootstrap does the drainer.
func build(ctx context.Context, dir, name string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, "./cmd/bench/baselines/"+name) // #nosec G204 -- builds this module's own baseline into a directory of ours
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", name, err, b)
	}
	return out, nil
}
