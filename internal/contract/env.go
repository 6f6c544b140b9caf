package contract

import (
	"fmt"
	"time"
)

// The function's environment variables that are not durations. The
// construct sets each; the function reads each by the same name.
const (
	// EnvQueueURL is the poll queue the function re-queues itself through.
	EnvQueueURL = "DRAINER_QUEUE_URL"
	// EnvCluster is the cluster of a hook whose metadata names none; the
	// construct sets it only when all its groups share one cluster.
	EnvCluster = "DRAINER_CLUSTER"
	// EnvASGs and EnvHooks are comma-separated: the groups and hooks whose
	// lifecycle actions are the drainer's (a group carries other teams'
	// hooks too).
	EnvASGs  = "DRAINER_ASGS"
	EnvHooks = "DRAINER_HOOKS"
	// EnvOnTimeout is the default timeout policy, DefaultOnTimeout when
	// unset.
	EnvOnTimeout = "DRAINER_ON_TIMEOUT"
	// EnvLaunchDaemons is "true" when the launch gate also waits, before it
	// lets an instance into service, for a RUNNING task on it of every
	// daemon service whose placement allows it; "false" or unset, it does
	// not.
	EnvLaunchDaemons = "DRAINER_LAUNCH_DAEMONS"
)

// MaxGlobalTimeout is the longest Auto Scaling holds an instance on a
// lifecycle hook, heartbeats or not
// (GlobalTimeout in https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_LifecycleHook.html).
const MaxGlobalTimeout = 48 * time.Hour

// GlobalTimeout is the longest an instance can wait on a hook with this
// heartbeat timeout: min(48 h, 100 x HeartbeatTimeout), as Auto Scaling
// documents it. The construct checks MaxDrain against it at synth; the
// function keeps each drain's deadline before it.
func GlobalTimeout(heartbeatTimeout time.Duration) time.Duration {
	return min(MaxGlobalTimeout, 100*heartbeatTimeout)
}

// DurationVar is a DRAINER_* variable holding a Go duration
// (time.ParseDuration): its name, the default the function assumes when it
// is unset (the construct always sets it, to the same default, so the
// environment says what the function does), and the range both the
// function's configuration and the construct's props accept.
type DurationVar struct {
	Env     string
	Default time.Duration
	// Min and Max bound the value, which is always more than 0 unless Off.
	Min, Max time.Duration
	// Off: 0 is accepted too, and turns the feature off.
	Off bool
	// Why says where the range comes from, for the error text; "" when
	// it is only a sensible bound.
	Why string
}

// The duration variables.
var (
	// PollInterval trades API calls against the lag between the last task
	// stopping and the instance being released.
	PollInterval = DurationVar{Env: "DRAINER_POLL_INTERVAL", Default: 30 * time.Second,
		Min: time.Second, Max: 15 * time.Minute, Why: "the wait rides on an SQS message timer, at most 900 s"}
	// MaxDrain defaults to an hour: long enough for the default 300 s load
	// balancer deregistration delay plus service replacement and a stop
	// timeout, short enough that a drain that can never finish (no room
	// for replacements, a standalone task that never ends) does not hold
	// an instance for the hook's 48 h cap.
	MaxDrain = DurationVar{Env: "DRAINER_MAX_DRAIN", Default: time.Hour,
		Max: MaxGlobalTimeout, Why: "the longest Auto Scaling holds an instance on a lifecycle hook"}
	// StopGrace is how long the stop-tasks policy waits for the tasks it
	// stopped. The default covers a container's stop timeout (ECS's
	// default is 30 s, a task definition may set up to 120 s) with room to
	// spare.
	StopGrace = DurationVar{Env: "DRAINER_STOP_GRACE", Default: 2 * time.Minute,
		Min: time.Second, Max: 15 * time.Minute}
	// StaleAfter is how overdue a drain's next message may be before the
	// reconciler takes the drain over. A chain's message is redelivered
	// after the queue's visibility timeout (six function timeouts) when a
	// hop fails; the reconciler waits longer than a few of those.
	StaleAfter = DurationVar{Env: "DRAINER_STALE_AFTER", Default: 15 * time.Minute,
		Min: time.Minute, Max: 24 * time.Hour}
	// DisconnectedAfter is how long a draining instance's ECS agent may
	// stay disconnected before the timeout policy applies early. An agent
	// reconnects several times an hour in normal operation; five minutes
	// disconnected in the middle of a drain is a dead host.
	DisconnectedAfter = DurationVar{Env: "DRAINER_DISCONNECTED_AFTER", Default: 5 * time.Minute,
		Off: true, Max: MaxGlobalTimeout, Why: "no drain outlasts the hook's global timeout"}
	// MaxLaunch is how long the launch gate waits for a new instance's ECS
	// agent to register and connect before it abandons the launch, so Auto
	// Scaling replaces the instance. An agent usually registers within a
	// minute or two of boot; ten minutes is a host that will not join.
	MaxLaunch = DurationVar{Env: "DRAINER_MAX_LAUNCH", Default: 10 * time.Minute,
		Min: time.Minute, Max: MaxGlobalTimeout, Why: "the longest Auto Scaling holds an instance on a lifecycle hook"}
)

// DurationVars lists every duration variable, in the order the construct
// documents them.
func DurationVars() []DurationVar {
	return []DurationVar{PollInterval, MaxDrain, StopGrace, StaleAfter, DisconnectedAfter, MaxLaunch, StuckAfter}
}

// InRange reports whether d is a value v accepts.
func (v DurationVar) InRange(d time.Duration) bool {
	return d == 0 && v.Off || d > 0 && d >= v.Min && d <= v.Max
}

// Range says which values v accepts, as the error text puts it.
func (v DurationVar) Range() string {
	bounds := fmt.Sprintf("%s to %s", v.Min, v.Max)
	if v.Min == 0 {
		bounds = fmt.Sprintf("more than 0 and at most %s", v.Max)
	}
	switch {
	case v.Off && v.Min == 0:
		return fmt.Sprintf("0 (off) to %s", v.Max)
	case v.Off:
		return "0 (off), or " + bounds
	}
	return bounds
}

// Check returns an error when d is out of v's range. name is what the user
// set: the variable itself in the function, the prop in the construct,
// which then names the variable too, so both sides word the same limit the
// same way.
func (v DurationVar) Check(name string, d time.Duration) error {
	if v.InRange(d) {
		return nil
	}
	var why string
	switch {
	case name != v.Env && v.Why != "":
		why = fmt.Sprintf(" (%s: %s)", v.Env, v.Why)
	case name != v.Env:
		why = fmt.Sprintf(" (%s)", v.Env)
	case v.Why != "":
		why = fmt.Sprintf(" (%s)", v.Why)
	}
	return fmt.Errorf("%s %s is out of range: want %s%s", name, d, v.Range(), why)
}
