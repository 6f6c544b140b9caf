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

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Target is one Auto Scaling group whose instances belong to one ECS cluster.
// Both may be created in the same app or imported by name
// (awsecs.Cluster_FromClusterArn, awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName);
// they must live in the stack's account and region.
type Target struct {
	Cluster          awsecs.ICluster
	AutoScalingGroup awsautoscaling.IAutoScalingGroup
	// OnTimeout overrides Props.OnTimeout for this group. It is written
	// into the group's hook metadata ({"cluster":NAME,"on_timeout":...}),
	// which the function reads per drain; empty, or the same as
	// Props.OnTimeout, leaves the key out.
	OnTimeout string
	// StuckAfter overrides Props.StuckAfter for this group, 0 turning it
	// off there; written into the hook metadata as "stuck_after". Nil, or
	// the same as Props.StuckAfter, leaves the key out.
	StuckAfter awscdk.Duration
}

// The timeout policies: what a drain does at its deadline with tasks left
// (the function's DRAINER_ON_TIMEOUT, README "Configuration"). They are the
// contract's, named here for apps outside this module, which cannot import
// it.
const (
	// OnTimeoutContinue completes the action with CONTINUE: the instance
	// terminates with its tasks.
	OnTimeoutContinue = contract.OnTimeoutContinue
	// OnTimeoutStopTasks stops the tasks left (StopTask), waits up to
	// StopGrace for them to stop, then completes with CONTINUE.
	OnTimeoutStopTasks = contract.OnTimeoutStopTasks
	// OnTimeoutAbandon completes with ABANDON, so a group whose instance
	// lifecycle policy retains on TerminateHookAbandon keeps the instance.
	OnTimeoutAbandon = contract.OnTimeoutAbandon
)

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
	// 10 min; at least 2 x (PollInterval + batching window + function
	// timeout + poll queue visibility timeout), see MinHeartbeatTimeout.
	HeartbeatTimeout awscdk.Duration
	// MemorySize of the function in MB. Default 128: a hop is a handful of
	// small API calls.
	MemorySize *float64
	// LogRetention of the function's log group. Default one month.
	LogRetention awslogs.RetentionDays
	// AlarmTopic, when set, receives the alarms' notifications.
	AlarmTopic awssns.ITopic

	// OnTimeout is the timeout policy of every group that does not choose
	// its own (Target.OnTimeout): OnTimeoutContinue (the default),
	// OnTimeoutStopTasks or OnTimeoutAbandon (DRAINER_ON_TIMEOUT).
	OnTimeout string
	// StopGrace is how long the stop-tasks policy waits for the tasks it
	// stopped (DRAINER_STOP_GRACE). Default 2 min; 1 s to 15 min. With
	// stop-tasks, MaxDrain + StopGrace must fit in the hook's global
	// timeout.
	StopGrace awscdk.Duration
	// StaleAfter is how overdue a drain's next message may be before the
	// reconciler takes the drain over (DRAINER_STALE_AFTER). Default
	// 15 min; 1 min to 24 h. The function never waits more than a quarter
	// of the heartbeat timeout, whatever this says.
	StaleAfter awscdk.Duration
	// DisconnectedAfter is how long a draining instance's ECS agent may stay
	// disconnected before the timeout policy applies early, with outcome
	// agent_disconnected (DRAINER_DISCONNECTED_AFTER). Default 5 min; 0
	// disables; at most 48 h.
	DisconnectedAfter awscdk.Duration
	// ReconcileInterval is how often a scheduled EventBridge rule invokes
	// the function to sweep the groups for drains whose chain was lost.
	// Default 1 min; whole minutes, at most a quarter of HeartbeatTimeout.
	ReconcileInterval awscdk.Duration
	// StuckAfter ends a drain early, by its group's timeout policy, once
	// every task left has had a blocking reason (no_capacity,
	// deployment_config, agent_disconnected) for this long
	// (DRAINER_STUCK_AFTER). Default 0, off; less than MaxDrain.
	StuckAfter awscdk.Duration
	// DisableReconcile creates no schedule (and grants no
	// autoscaling:DescribeWarmPool): a drain whose chain is lost then
	// waits for the hook's heartbeat timeout.
	DisableReconcile bool

	// DisableLaunchGate creates no launch hooks: Auto Scaling then counts
	// a new instance as soon as EC2 has booted it, before ECS can place a
	// task on it. By default each group also gets the launch hook
	// LaunchHookName, which the function completes once the instance's
	// container instance is ACTIVE with its agent connected.
	DisableLaunchGate bool
	// MaxLaunch is how long the launch gate waits for the agent to
	// register and connect before it abandons the launch, so that Auto
	// Scaling replaces the instance (DRAINER_MAX_LAUNCH). Default 10 min;
	// 1 min to 48 h, and at most the launch hook's global timeout,
	// min(48 h, 100 x LaunchHeartbeatTimeout).
	MaxLaunch awscdk.Duration
	// LaunchHeartbeatTimeout is the launch hooks' heartbeat timeout: how
	// long a launch waits when the function is broken before the hook's
	// DefaultResult CONTINUE puts the instance in service ungated.
	// Default HeartbeatTimeout; the same range and the same minimum for
	// the poll interval, since the gate waits with the same heartbeats.
	LaunchHeartbeatTimeout awscdk.Duration
	// LaunchWaitsForDaemons makes the gate also wait, once the agent is
	// connected, until every daemon service whose placement allows the
	// instance has a task RUNNING on it (DRAINER_LAUNCH_DAEMONS), so that
	// replicas do not fill a new instance before its log or metrics
	// daemon. It grants ecs:ListServices and ecs:DescribeServices on the
	// clusters.
	LaunchWaitsForDaemons bool

	// DisableDashboard creates no CloudWatch dashboard. By default the
	// construct creates one (Drainer.Dashboard) on the metrics the function
	// writes (namespace ECSDrainer): drains in flight, ended by outcome,
	// their duration, stuck drains by reason, the dead-letter queue, the
	// function's errors, throttles and duration, and throttled AWS calls.
	DisableDashboard bool
	// StuckAlarmAge is how long a group's oldest drain may wait on its
	// hook (OldestDrainAge, which the reconciler's sweep reports) before
	// the group's stuck alarm (Drainer.StuckAlarms) fires, in 3 of 5
	// sweeps. Default half of MaxDrain; more than 0 and less than MaxDrain.
	// The sweep reports the age, so there is no stuck alarm, and this may
	// not be set, with DisableReconcile.
	StuckAlarmAge awscdk.Duration
}

// Defaults of what only the construct sets. The props that set a DRAINER_*
// variable default to the contract's default, which the function assumes
// too, so the environment says explicitly what the function would assume.
const (
	defaultHeartbeatTimeout = 10 * time.Minute
	defaultMemorySize       = 128
	defaultReconcile        = time.Minute
)

// Limits of what only the construct sets, from Auto Scaling and
// EventBridge. The DRAINER_* variables' ranges are the contract's, which the
// function checks too.
const (
	minHeartbeatTimeout = 30 * time.Second // PutLifecycleHook's range is 30 to 7200 s
	maxHeartbeatTimeout = 2 * time.Hour
	minReconcile        = time.Minute // the shortest EventBridge rate
)

// functionTimeout bounds one invocation. A hop is a handful of AWS calls, each
// bounded by 10 s in internal/drain; the handler sends records back to the
// queue when less than 10 s is left, so a batch never needs long.
const functionTimeout = 30 * time.Second

// The queues' visibility timeouts are six times the function timeout, as AWS
// recommends for an SQS event source, so that a batch still being processed
// (or retried by the poller) is not delivered twice; the poll queue's adds
// its batching window, as AWS recommends too, since its records are in
// flight while the window gathers the batch. It is also how long a failed
// record waits before it runs again.
const (
	eventVisibilityTimeout = 6 * functionTimeout
	pollVisibilityTimeout  = 6*functionTimeout + pollBatchingWindow
)

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
	onTimeout        string
	// overrides is each target's own policy, "" where it uses onTimeout.
	overrides    []string
	stopGrace    time.Duration
	staleAfter   time.Duration
	disconnected time.Duration
	stuckAfter   time.Duration
	// stuckOverrides is each target's own stuck_after, "" where it uses
	// stuckAfter.
	stuckOverrides []string
	// reconcile is the sweep's interval; 0 when DisableReconcile.
	reconcile time.Duration
	// launchGate is false with DisableLaunchGate; the launch settings
	// below are then unused.
	launchGate      bool
	maxLaunch       time.Duration
	launchHeartbeat time.Duration
	launchDaemons   bool
	// dashboard is false with DisableDashboard.
	dashboard bool
	// stuckAlarmAge is the stuck alarms' threshold; unused without the
	// reconciler.
	stuckAlarmAge time.Duration
}

// policy is the effective timeout policy of target i.
func (c config) policy(i int) string {
	if c.overrides[i] != "" {
		return c.overrides[i]
	}
	return c.onTimeout
}

// MinHeartbeatTimeout is the shortest heartbeat timeout that keeps a drain
// with this poll interval alive through one failed hop. The drainer sends a
// heartbeat once half the heartbeat timeout would otherwise pass before its
// next hop, so half the timeout must hold a poll interval, the poll queue's
// batching window, one hop (the function timeout) and the retry of a failed
// hop (the poll queue's visibility timeout, the longer of the two queues');
// with less, one throttled hop lets the heartbeat lapse and Auto Scaling
// terminates the instance mid-drain.
func MinHeartbeatTimeout(pollInterval time.Duration) time.Duration {
	return 2 * (pollInterval + pollBatchingWindow + functionTimeout + pollVisibilityTimeout)
}

// GlobalTimeout is the longest an instance can wait on a hook with this
// heartbeat timeout, heartbeats or not: min(48 h, 100 x HeartbeatTimeout).
func GlobalTimeout(heartbeatTimeout time.Duration) time.Duration {
	return contract.GlobalTimeout(heartbeatTimeout)
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
		onTimeout:    p.OnTimeout,
	}
	if c.onTimeout == "" {
		c.onTimeout = contract.DefaultOnTimeout
	}
	if c.logRetention == "" {
		c.logRetention = awslogs.RetentionDays_ONE_MONTH
	}
	if p.MemorySize != nil {
		c.memorySize = *p.MemorySize
	}
	var err error
	if c.pollInterval, err = variable("PollInterval", p.PollInterval, contract.PollInterval); err != nil {
		return config{}, err
	}
	if c.maxDrain, err = variable("MaxDrain", p.MaxDrain, contract.MaxDrain); err != nil {
		return config{}, err
	}
	if c.heartbeatTimeout, err = duration("HeartbeatTimeout", p.HeartbeatTimeout, defaultHeartbeatTimeout); err != nil {
		return config{}, err
	}
	if c.stopGrace, err = variable("StopGrace", p.StopGrace, contract.StopGrace); err != nil {
		return config{}, err
	}
	if c.staleAfter, err = variable("StaleAfter", p.StaleAfter, contract.StaleAfter); err != nil {
		return config{}, err
	}
	if c.disconnected, err = variable("DisconnectedAfter", p.DisconnectedAfter, contract.DisconnectedAfter); err != nil {
		return config{}, err
	}
	if c.stuckAfter, err = variable("StuckAfter", p.StuckAfter, contract.StuckAfter); err != nil {
		return config{}, err
	}
	if c.reconcile, err = duration("ReconcileInterval", p.ReconcileInterval, defaultReconcile); err != nil {
		return config{}, err
	}
	if p.DisableReconcile {
		if p.ReconcileInterval != nil {
			return config{}, fmt.Errorf("ReconcileInterval is set but DisableReconcile is true: set one of them")
		}
		c.reconcile = 0
	}
	if err := contract.CheckOnTimeout("OnTimeout", c.onTimeout); err != nil {
		return config{}, err
	}
	if c.maxLaunch, err = variable("MaxLaunch", p.MaxLaunch, contract.MaxLaunch); err != nil {
		return config{}, err
	}
	if c.launchHeartbeat, err = duration("LaunchHeartbeatTimeout", p.LaunchHeartbeatTimeout, c.heartbeatTimeout); err != nil {
		return config{}, err
	}
	c.launchGate, c.launchDaemons = !p.DisableLaunchGate, p.LaunchWaitsForDaemons
	if p.DisableLaunchGate {
		for _, prop := range []struct {
			name string
			set  bool
		}{{"MaxLaunch", p.MaxLaunch != nil}, {"LaunchHeartbeatTimeout", p.LaunchHeartbeatTimeout != nil}, {"LaunchWaitsForDaemons", p.LaunchWaitsForDaemons}} {
			if prop.set {
				return config{}, fmt.Errorf("%s is set but DisableLaunchGate is true: set one of them", prop.name)
			}
		}
	}

	if err := checkStuck("StuckAfter", c.stuckAfter, c.maxDrain); err != nil {
		return config{}, err
	}
	c.dashboard = !p.DisableDashboard
	if c.stuckAlarmAge, err = duration("StuckAlarmAge", p.StuckAlarmAge, c.maxDrain/2); err != nil {
		return config{}, err
	}
	if err := c.checkStuckAlarm(p.StuckAlarmAge != nil); err != nil {
		return config{}, err
	}

	if len(c.targets) == 0 {
		return config{}, fmt.Errorf("props.Targets is empty: give at least one (cluster, Auto Scaling group) pair")
	}
	seen := map[string]bool{}
	for i, t := range c.targets {
		if t.Cluster == nil || t.AutoScalingGroup == nil {
			return config{}, fmt.Errorf("props.Targets[%d] needs both a Cluster and an AutoScalingGroup", i)
		}
		// A created group's name is a token; the same group passed twice
		// yields the same token, so string equality catches both cases.
		name := *t.AutoScalingGroup.AutoScalingGroupName()
		if seen[name] {
			return config{}, fmt.Errorf("the Auto Scaling group %s is named twice in props.Targets: a group gets one hook, and its cluster comes from that hook's metadata", name)
		}
		seen[name] = true
		c.groupNames = append(c.groupNames, name)
		switch {
		case t.OnTimeout != "" && !contract.ValidOnTimeout(t.OnTimeout):
			return config{}, fmt.Errorf("%w, or empty for OnTimeout", contract.CheckOnTimeout(fmt.Sprintf("Targets[%d].OnTimeout", i), t.OnTimeout))
		case t.OnTimeout == c.onTimeout:
			c.overrides = append(c.overrides, "")
		default:
			c.overrides = append(c.overrides, t.OnTimeout)
		}
		prop := fmt.Sprintf("Targets[%d].StuckAfter", i)
		stuck, err := duration(prop, t.StuckAfter, c.stuckAfter)
		if err == nil {
			err = contract.StuckAfter.Check(prop, stuck)
		}
		if err == nil {
			err = checkStuck(prop, stuck, c.maxDrain)
		}
		if err != nil {
			return config{}, err
		}
		override := ""
		if stuck != c.stuckAfter {
			override = stuck.String()
		}
		c.stuckOverrides = append(c.stuckOverrides, override)
	}

	if err := c.checkHeartbeat("HeartbeatTimeout", c.heartbeatTimeout, "terminate the instance mid-drain"); err != nil {
		return config{}, err
	}
	if err := c.checkLaunch(); err != nil {
		return config{}, err
	}
	switch {
	case c.maxDrain > GlobalTimeout(c.heartbeatTimeout):
		need := time.Duration(math.Ceil(c.maxDrain.Seconds()/100)) * time.Second
		return config{}, fmt.Errorf("MaxDrain %s is beyond the hook's global timeout %s (min(48h, 100 x HeartbeatTimeout %s)): Auto Scaling would release the instance first; raise HeartbeatTimeout to at least %s or lower MaxDrain",
			c.maxDrain, GlobalTimeout(c.heartbeatTimeout), c.heartbeatTimeout, need)
	case c.memorySize < 128 || c.memorySize > 10240:
		return config{}, fmt.Errorf("MemorySize %v is out of range: Lambda accepts 128 to 10240 MB", c.memorySize)
	}
	if err := c.checkReconcile(); err != nil {
		return config{}, err
	}
	return c, c.checkStopTasks()
}

// checkHeartbeat keeps a hook's heartbeat timeout (name, hb) within Auto
// Scaling's range and long enough for the chain that waits on it: the
// drainer sends a heartbeat once half the timeout would pass before its next
// hop, see MinHeartbeatTimeout. lapse says what a lapsed heartbeat does.
func (c config) checkHeartbeat(name string, hb time.Duration, lapse string) error {
	switch {
	case hb < minHeartbeatTimeout || hb > maxHeartbeatTimeout:
		return fmt.Errorf("%s %s is out of range: Auto Scaling accepts %s to %s", name, hb, minHeartbeatTimeout, maxHeartbeatTimeout)
	case hb < MinHeartbeatTimeout(c.pollInterval):
		return fmt.Errorf("%s %s is too short for PollInterval %s: want at least %s, twice (the poll interval + the batching window %s + the function timeout %s + the poll queue's visibility timeout %s), so that one failed hop cannot let the heartbeat lapse and %s",
			name, hb, c.pollInterval, MinHeartbeatTimeout(c.pollInterval), pollBatchingWindow, functionTimeout, pollVisibilityTimeout, lapse)
	}
	return nil
}

// checkLaunch checks the launch gate's settings. The gate waits on its hook
// with the same re-queue chain and heartbeats as a drain, so its heartbeat
// timeout has the same minimum; that minimum (7 min at the shortest poll)
// is also well above the minute or two an ECS agent takes to register after
// boot, so a working gate completes before its first heartbeat is due. Its
// deadline must come before the hook's global timeout, past which Auto
// Scaling applies the DefaultResult, CONTINUE, on its own: the instance
// would go in service without ECS, and no one would hear of it.
func (c config) checkLaunch() error {
	if !c.launchGate {
		return nil
	}
	if err := c.checkHeartbeat("LaunchHeartbeatTimeout", c.launchHeartbeat, "put the instance in service before ECS can use it"); err != nil {
		return err
	}
	if global := GlobalTimeout(c.launchHeartbeat); c.maxLaunch > global {
		need := time.Duration(math.Ceil(c.maxLaunch.Seconds()/100)) * time.Second
		return fmt.Errorf("MaxLaunch %s is beyond the launch hook's global timeout %s (min(48h, 100 x LaunchHeartbeatTimeout %s)): Auto Scaling would put the instance in service first, without ECS; raise LaunchHeartbeatTimeout to at least %s or lower MaxLaunch",
			c.maxLaunch, global, c.launchHeartbeat, need)
	}
	return nil
}

// checkReconcile keeps the sweep frequent enough to save a lost drain. A
// chain's next hop is due at most half a heartbeat timeout after its last
// heartbeat; the function counts it lost a quarter of the timeout later (at
// most, see StaleAfter), and the next sweep restarts it. With an interval
// of at most a quarter of the timeout, that restart comes before the
// heartbeat lapses and Auto Scaling releases the instance mid-drain. A
// launch gate's chain is the same, so the shorter of the two hooks'
// timeouts counts.
func (c config) checkReconcile() error {
	name, hb := "HeartbeatTimeout", c.heartbeatTimeout
	if c.launchGate && c.launchHeartbeat < hb {
		name, hb = "LaunchHeartbeatTimeout", c.launchHeartbeat
	}
	switch {
	case c.reconcile == 0:
		return nil
	case c.reconcile < minReconcile:
		return fmt.Errorf("ReconcileInterval %s is below %s, EventBridge's shortest rate", c.reconcile, minReconcile)
	case c.reconcile%time.Minute != 0:
		return fmt.Errorf("ReconcileInterval %s is not whole minutes, which a rate expression needs", c.reconcile)
	case c.reconcile > hb/4:
		return fmt.Errorf("ReconcileInterval %s is longer than a quarter of %s %s: a lost drain would be found after its heartbeat lapsed; want at most %s",
			c.reconcile, name, hb, (hb / 4).Truncate(time.Minute))
	}
	return nil
}

// checkStopTasks: a stop-tasks drain stops what is left at MaxDrain and
// waits up to StopGrace before it completes, all before the hook's global
// timeout, or Auto Scaling releases the instance first. (The function would
// shorten the drain to fit; the construct says so at synth instead.)
func (c config) checkStopTasks() error {
	global := GlobalTimeout(c.heartbeatTimeout)
	for i, t := range c.targets {
		if c.policy(i) != OnTimeoutStopTasks || c.maxDrain+c.stopGrace <= global {
			continue
		}
		fix := "lower MaxDrain or StopGrace"
		if need := time.Duration(math.Ceil((c.maxDrain+c.stopGrace).Seconds()/100)) * time.Second; need <= maxHeartbeatTimeout && c.maxDrain+c.stopGrace <= contract.MaxGlobalTimeout {
			fix += fmt.Sprintf(", or raise HeartbeatTimeout to at least %s", need)
		}
		return fmt.Errorf("MaxDrain %s + StopGrace %s is beyond the hook's global timeout %s (min(48h, 100 x HeartbeatTimeout %s)) for group %s, whose timeout policy is stop-tasks: Auto Scaling would release the instance before the stopped tasks are gone; %s",
			c.maxDrain, c.stopGrace, global, c.heartbeatTimeout, *t.AutoScalingGroup.AutoScalingGroupName(), fix)
	}
	return nil
}

// checkStuck: a drain is ended at MaxDrain anyway, by the same timeout
// policy, so a StuckAfter (name) of MaxDrain or more would never apply, and
// its user would believe stuck drains end early when they do not.
func checkStuck(name string, stuck, maxDrain time.Duration) error {
	if stuck != 0 && stuck >= maxDrain {
		return fmt.Errorf("%s %s is not less than MaxDrain %s: the drain's deadline would come first and it would never apply; lower it, or 0 for off", name, stuck, maxDrain)
	}
	return nil
}

// checkStuckAlarm: the stuck alarms read the age the reconciler's sweep
// reports, so StuckAlarmAge (set, when the prop is) means nothing without
// it; and a drain ends at MaxDrain, so a threshold of MaxDrain or more
// would fire only when the drainer failed to end one, not while a drain
// is stuck, when an instance refresh could still stop.
func (c config) checkStuckAlarm(set bool) error {
	switch {
	case c.reconcile == 0 && set:
		return fmt.Errorf("StuckAlarmAge is set but DisableReconcile is true: the stuck alarms read the age the reconciler's sweep reports; set one of them")
	case c.reconcile == 0:
		return nil
	case c.stuckAlarmAge <= 0 || c.stuckAlarmAge >= c.maxDrain:
		return fmt.Errorf("StuckAlarmAge %s is not between 0 and MaxDrain %s: the drain's deadline ends a drain at MaxDrain, so the alarm would never see one stuck; lower it", c.stuckAlarmAge, c.maxDrain)
	}
	return nil
}

// variable converts the prop name that sets the function's variable v: v's
// default when d is nil, and within the range the function accepts.
func variable(name string, d awscdk.Duration, v contract.DurationVar) (time.Duration, error) {
	t, err := duration(name, d, v.Default)
	if err != nil {
		return 0, err
	}
	return t, v.Check(name, t)
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
