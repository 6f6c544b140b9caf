package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/handler"
)

type config struct {
	queueURL string
	handler  handler.Config
	policy   drain.Policy
}

// loadConfig reads the environment: the variables, defaults and ranges of
// the contract, which the construct sets and checks the same way. Each error
// names its variable.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		queueURL: strings.TrimSpace(getenv(contract.EnvQueueURL)),
		handler:  handler.Config{Cluster: strings.TrimSpace(getenv(contract.EnvCluster))},
	}
	if c.queueURL == "" {
		return config{}, fmt.Errorf("%s is required: the URL of the queue the drainer re-queues itself through", contract.EnvQueueURL)
	}
	if u, err := url.Parse(c.queueURL); err != nil || u.Host == "" || strings.Count(strings.Trim(u.Path, "/"), "/") != 1 {
		return config{}, fmt.Errorf("%s %q is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", contract.EnvQueueURL, c.queueURL)
	}
	c.handler.ASGs = names(getenv(contract.EnvASGs))
	c.handler.Hooks = names(getenv(contract.EnvHooks))
	var err error
	if c.policy.PollInterval, err = duration(getenv, contract.PollInterval); err != nil {
		return config{}, err
	}
	if c.policy.MaxDrain, err = duration(getenv, contract.MaxDrain); err != nil {
		return config{}, err
	}
	if c.policy.StopGrace, err = duration(getenv, contract.StopGrace); err != nil {
		return config{}, err
	}
	if c.policy.StaleAfter, err = duration(getenv, contract.StaleAfter); err != nil {
		return config{}, err
	}
	if c.policy.DisconnectedAfter, err = duration(getenv, contract.DisconnectedAfter); err != nil {
		return config{}, err
	}
	if c.policy.MaxLaunch, err = duration(getenv, contract.MaxLaunch); err != nil {
		return config{}, err
	}
	if c.policy.StuckAfter, err = duration(getenv, contract.StuckAfter); err != nil {
		return config{}, err
	}
	switch v := strings.TrimSpace(getenv(contract.EnvLaunchDaemons)); v {
	case "", "false":
	case "true":
		c.policy.LaunchDaemons = true
	default:
		return config{}, fmt.Errorf("%s %q is not true or false", contract.EnvLaunchDaemons, v)
	}
	c.policy.OnTimeout = strings.TrimSpace(getenv(contract.EnvOnTimeout))
	if c.policy.OnTimeout == "" {
		c.policy.OnTimeout = contract.DefaultOnTimeout
	}
	if err := contract.CheckOnTimeout(contract.EnvOnTimeout, c.policy.OnTimeout); err != nil {
		return config{}, err
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

// duration reads v, or its default when unset.
func duration(getenv func(string) string, v contract.DurationVar) (time.Duration, error) {
	s := strings.TrimSpace(getenv(v.Env))
	if s == "" {
		return v.Default, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a Go duration such as 30s or 2h", v.Env, s)
	}
	return d, v.Check(v.Env, d)
}
