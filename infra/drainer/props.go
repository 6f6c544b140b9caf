package drainer

import (
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
)

// Target is one Auto Scaling group whose instances belong to one ECS cluster.
// Both may be created in the same app or imported by name
// (awsecs.Cluster_FromClusterArn, awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName);
// they must live in the stack's account and region.
type Target struct {
	Cluster          awsecs.ICluster
	AutoScalingGroup awsautoscaling.IAutoScalingGroup
}

// Props configures a Drainer. Durations must be literal values (not tokens):
// the guardrails check them at synth time.
type Props struct {
	// Targets lists the (cluster, Auto Scaling group) pairs to drain; at least
	// one, and no group twice. Several groups may share a cluster.
	Targets []Target
	// PollInterval is how long the drainer waits between two looks at a
	// draining instance (DRAINER_POLL_INTERVAL). Default 30 s; 1 s to 15 min.
	PollInterval awscdk.Duration
	// MaxDrain is how long a drain may take before the instance is released
	// anyway, loudly (DRAINER_MAX_DRAIN). Default 1 h; at most the hook's
	// global timeout, min(48 h, 100 x HeartbeatTimeout).
	MaxDrain awscdk.Duration
	// HeartbeatTimeout is the lifecycle hook's heartbeat timeout. Default
	// 10 min; at least 2 x (PollInterval + function timeout + queue
	// visibility timeout), see MinHeartbeatTimeout.
	HeartbeatTimeout awscdk.Duration
	// MemorySize of the function in MB. Default 128: a hop is a handful of
	// small API calls.
	MemorySize *float64
	// LogRetention of the function's log group. Default one month.
	LogRetention awslogs.RetentionDays
	// AlarmTopic, when set, receives the alarms' notifications.
	AlarmTopic awssns.ITopic
}

// Defaults. The function's own defaults (functions/drainer/config.go) are the
// same, so the environment says explicitly what the function would assume.
const (
	defaultPollInterval     = 30 * time.Second
	defaultMaxDrain         = time.Hour
	defaultHeartbeatTimeout = 10 * time.Minute
	defaultMemorySize       = 128
)

// Limits, from the function (config.go), SQS and Auto Scaling.
const (
	minPollInterval     = time.Second
	maxPollInterval     = 15 * time.Minute // SQS's 900 s message timer carries the wait
	minHeartbeatTimeout = 30 * time.Second // PutLifecycleHook's range is 30 to 7200 s
	maxHeartbeatTimeout = 2 * time.Hour
	maxGlobalTimeout    = 48 * time.Hour
)

// functionTimeout bounds one invocation. A hop is a handful of AWS calls, each
// bounded by 10 s in internal/drain; the handler sends records back to the
// queue when less than 10 s is left, so a batch never needs long.
const functionTimeout = 30 * time.Second

// visibilityTimeout is six times the function timeout, as AWS recommends for
// an SQS event source: a batch still being processed (or retried by the
// poller) is not delivered twice. It is also how long a failed hop waits
// before it runs again.
const visibilityTimeout = 6 * functionTimeout

// config is Props with the defaults applied, in Go types.
type config struct {
	targets          []Target
	groupNames       []string
	pollInterval     time.Duration
	maxDrain         time.Duration
	heartbeatTimeout time.Duration
	memorySize       float64
	logRetention     awslogs.RetentionDays
	alarmTopic       awssns.ITopic
}

// MinHeartbeatTimeout is the shortest heartbeat timeout that keeps a drain
// with this poll interval alive through one failed hop. The drainer sends a
// heartbeat once half the heartbeat timeout would otherwise pass before its
// next hop, so half the timeout must hold a poll interval, one hop (the
// function timeout) and the retry of a failed hop (the queue's visibility
// timeout); with less, one throttled hop lets the heartbeat lapse and Auto
// Scaling terminates the instance mid-drain.
func MinHeartbeatTimeout(pollInterval time.Duration) time.Duration {
	return 2 * (pollInterval + functionTimeout + visibilityTimeout)
}

// GlobalTimeout is the longest an instance can wait on a hook with this
// heartbeat timeout, heartbeats or not: min(48 h, 100 x HeartbeatTimeout).
func GlobalTimeout(heartbeatTimeout time.Duration) time.Duration {
	return min(maxGlobalTimeout, 100*heartbeatTimeout)
}

// resolve applies the defaults and checks the guardrails. Each error says what
// to change.
func resolve(p *Props) (config, error) {
	if p == nil {
		p = &Props{}
	}
	c := config{
		targets:      p.Targets,
		memorySize:   defaultMemorySize,
		logRetention: p.LogRetention,
		alarmTopic:   p.AlarmTopic,
	}
	if c.logRetention == "" {
		c.logRetention = awslogs.RetentionDays_ONE_MONTH
	}
	if p.MemorySize != nil {
		c.memorySize = *p.MemorySize
	}
	var err error
	if c.pollInterval, err = duration("PollInterval", p.PollInterval, defaultPollInterval); err != nil {
		return config{}, err
	}
	if c.maxDrain, err = duration("MaxDrain", p.MaxDrain, defaultMaxDrain); err != nil {
		return config{}, err
	}
	if c.heartbeatTimeout, err = duration("HeartbeatTimeout", p.HeartbeatTimeout, defaultHeartbeatTimeout); err != nil {
		return config{}, err
	}

	if len(c.targets) == 0 {
		return config{}, fmt.Errorf("Targets is empty: give at least one (cluster, Auto Scaling group) pair")
	}
	seen := map[string]bool{}
	for i, t := range c.targets {
		if t.Cluster == nil || t.AutoScalingGroup == nil {
			return config{}, fmt.Errorf("Targets[%d] needs both a Cluster and an AutoScalingGroup", i)
		}
		// A created group's name is a token; the same group passed twice
		// yields the same token, so string equality catches both cases.
		name := *t.AutoScalingGroup.AutoScalingGroupName()
		if seen[name] {
			return config{}, fmt.Errorf("Auto Scaling group %s is named twice in Targets: a group gets one hook, and its cluster comes from that hook's metadata", name)
		}
		seen[name] = true
		c.groupNames = append(c.groupNames, name)
	}

	switch {
	case c.pollInterval < minPollInterval || c.pollInterval > maxPollInterval:
		return config{}, fmt.Errorf("PollInterval %s is out of range: want %s to %s (the wait rides on an SQS message timer)", c.pollInterval, minPollInterval, maxPollInterval)
	case c.heartbeatTimeout < minHeartbeatTimeout || c.heartbeatTimeout > maxHeartbeatTimeout:
		return config{}, fmt.Errorf("HeartbeatTimeout %s is out of range: Auto Scaling accepts %s to %s", c.heartbeatTimeout, minHeartbeatTimeout, maxHeartbeatTimeout)
	case c.heartbeatTimeout < MinHeartbeatTimeout(c.pollInterval):
		return config{}, fmt.Errorf("HeartbeatTimeout %s is too short for PollInterval %s: want at least %s, twice (the poll interval + the function timeout %s + the queue visibility timeout %s), so that one failed hop cannot let the heartbeat lapse and terminate the instance mid-drain",
			c.heartbeatTimeout, c.pollInterval, MinHeartbeatTimeout(c.pollInterval), functionTimeout, visibilityTimeout)
	case c.maxDrain <= 0:
		return config{}, fmt.Errorf("MaxDrain %s must be more than 0", c.maxDrain)
	case c.maxDrain > maxGlobalTimeout:
		return config{}, fmt.Errorf("MaxDrain %s is beyond %s, the longest Auto Scaling holds an instance on a lifecycle hook", c.maxDrain, maxGlobalTimeout)
	case c.maxDrain > GlobalTimeout(c.heartbeatTimeout):
		need := time.Duration(math.Ceil(c.maxDrain.Seconds()/100)) * time.Second
		return config{}, fmt.Errorf("MaxDrain %s is beyond the hook's global timeout %s (min(48h, 100 x HeartbeatTimeout %s)): Auto Scaling would release the instance first; raise HeartbeatTimeout to at least %s or lower MaxDrain",
			c.maxDrain, GlobalTimeout(c.heartbeatTimeout), c.heartbeatTimeout, need)
	case c.memorySize < 128 || c.memorySize > 10240:
		return config{}, fmt.Errorf("MemorySize %v is out of range: Lambda accepts 128 to 10240 MB", c.memorySize)
	}
	return c, nil
}

// duration converts a literal CDK duration, or returns def when d is nil.
func duration(name string, d awscdk.Duration, def time.Duration) (time.Duration, error) {
	if d == nil {
		return def, nil
	}
	if *d.IsUnresolved() {
		return 0, fmt.Errorf("%s must be a literal duration, not a token: the guardrails check it at synth time", name)
	}
	ms := d.ToMilliseconds(nil)
	return time.Duration(*ms) * time.Millisecond, nil
}
