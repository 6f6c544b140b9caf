package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/handler"
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
	for _, name := range strings.Split(getenv("DRAINER_ASGS"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			c.handler.ASGs = append(c.handler.ASGs, name)
		}
	}
	var err error
	if c.policy.PollInterval, err = duration(getenv, "DRAINER_POLL_INTERVAL", defaultPollInterval, minPollInterval, maxPollInterval); err != nil {
		return config{}, err
	}
	if c.policy.MaxDrain, err = duration(getenv, "DRAINER_MAX_DRAIN", defaultMaxDrain, time.Nanosecond, maxMaxDrain); err != nil {
		return config{}, err
	}
	return c, nil
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
