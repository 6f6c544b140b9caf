package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/handler"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Defaults. The poll interval trades API calls against the lag between the
// last task stopping and the instance being released. The max drain is an
// hour: long enough for the default 300 s load balancer deregistration delay
// plus service replacement and a stop timeout, short enough that a drain that
// can never finish (no room for replacements, a standalone task that never
// ends) does not hold an instance for the hook's 48 h cap.
const (
	defaultPollInterval = 30 * time.Second
	minPollInterval     = time.Second
	maxPollInterval     = 15 * time.Minute // SQS's 900 s message timer
	defaultMaxDrain     = time.Hour
	maxMaxDrain         = 48 * time.Hour // Auto Scaling's global timeout cap
	// The stop grace covers a container's stop timeout (ECS's default is
	// 30 s, a task definition may set up to 120 s) with room to spare.
	defaultStopGrace = 2 * time.Minute
	maxStopGrace     = 15 * time.Minute
	// A chain's message is redelivered after the queue's visibility
	// timeout (six function timeouts) when a hop fails; the reconciler
	// waits longer than a few of those before it takes a drain over.
	defaultStaleAfter = 15 * time.Minute
	minStaleAfter     = time.Minute
	maxStaleAfter     = 24 * time.Hour
	// An ECS agent reconnects several times an hour in normal operation;
	// five minutes disconnected in the middle of a drain is a dead host.
	defaultDisconnectedAfter = 5 * time.Minute
)

type config struct {
	queueURL string
	handler  handler.Config
	policy   drain.Policy
}

// loadConfig reads the environment. Each error names its variable.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		queueURL: strings.TrimSpace(getenv("DRAINER_QUEUE_URL")),
		handler:  handler.Config{Cluster: strings.TrimSpace(getenv("DRAINER_CLUSTER"))},
	}
	if c.queueURL == "" {
		return config{}, fmt.Errorf("DRAINER_QUEUE_URL is required: the URL of the queue the drainer re-queues itself through")
	}
	if u, err := url.Parse(c.queueURL); err != nil || u.Host == "" || strings.Count(strings.Trim(u.Path, "/"), "/") != 1 {
		return config{}, fmt.Errorf("DRAINER_QUEUE_URL %q is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", c.queueURL)
	}
	c.handler.ASGs = names(getenv("DRAINER_ASGS"))
	c.handler.Hooks = names(getenv("DRAINER_HOOKS"))
	var err error
	if c.policy.PollInterval, err = duration(getenv, "DRAINER_POLL_INTERVAL", defaultPollInterval, minPollInterval, maxPollInterval); err != nil {
		return config{}, err
	}
	if c.policy.MaxDrain, err = duration(getenv, "DRAINER_MAX_DRAIN", defaultMaxDrain, time.Nanosecond, maxMaxDrain); err != nil {
		return config{}, err
	}
	if c.policy.StopGrace, err = duration(getenv, "DRAINER_STOP_GRACE", defaultStopGrace, time.Second, maxStopGrace); err != nil {
		return config{}, err
	}
	if c.policy.StaleAfter, err = duration(getenv, "DRAINER_STALE_AFTER", defaultStaleAfter, minStaleAfter, maxStaleAfter); err != nil {
		return config{}, err
	}
	if c.policy.DisconnectedAfter, err = duration(getenv, "DRAINER_DISCONNECTED_AFTER", defaultDisconnectedAfter, 0, maxMaxDrain); err != nil {
		return config{}, err
	}
	c.policy.OnTimeout = strings.TrimSpace(getenv("DRAINER_ON_TIMEOUT"))
	if c.policy.OnTimeout == "" {
		c.policy.OnTimeout = lifecycle.OnTimeoutContinue
	}
	if !lifecycle.ValidOnTimeout(c.policy.OnTimeout) {
		return config{}, fmt.Errorf("DRAINER_ON_TIMEOUT %q is not a timeout policy: want %s, %s or %s",
			c.policy.OnTimeout, lifecycle.OnTimeoutContinue, lifecycle.OnTimeoutStopTasks, lifecycle.OnTimeoutAbandon)
	}
	return c, nil
}

// names reads a comma-separated list, blanks dropped.
func names(v string) []string {
	var out []string
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func duration(getenv func(string) string, name string, def, lo, hi time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a Go duration such as 30s or 2h", name, v)
	}
	if d < lo || d > hi {
		if lo == time.Nanosecond {
			return 0, fmt.Errorf("%s %s is out of range: want more than 0 and at most %s", name, v, hi)
		}
		return 0, fmt.Errorf("%s %s is out of range: want %s to %s", name, v, lo, hi)
	}
	return d, nil
}
