package contract

import "fmt"

// HookName is the name of the lifecycle hook the construct puts on each
// group, and so the value of DRAINER_HOOKS it sets. A fixed name tells it
// apart from ECS's own "ecs-managed-draining-termination-hook" and from
// hand-built hooks, and makes a second drainer on the same group fail at
// deploy instead of running twice.
const HookName = "ecs-drainer"

// LaunchHookName is the name of the launch lifecycle hook the construct
// puts on each group when the launch gate is on; DRAINER_HOOKS lists it
// beside HookName. Its DefaultResult is CONTINUE, so a broken function
// delays a launch by one heartbeat timeout instead of failing it.
const LaunchHookName = "ecs-drainer-launch"

// The timeout policies: what a drain does at its deadline with tasks still
// on the instance. DRAINER_ON_TIMEOUT holds the default; a hook's metadata
// may choose another for its group.
const (
	// OnTimeoutContinue completes the action with CONTINUE: the instance
	// terminates with its tasks.
	OnTimeoutContinue = "continue"
	// OnTimeoutStopTasks stops the tasks left (StopTask), waits up to
	// DRAINER_STOP_GRACE for them to stop, then completes with CONTINUE.
	OnTimeoutStopTasks = "stop-tasks"
	// OnTimeoutAbandon completes with ABANDON, so a group whose instance
	// lifecycle policy retains on TerminateHookAbandon keeps the instance.
	OnTimeoutAbandon = "abandon"

	// DefaultOnTimeout is the policy when neither the variable nor the
	// hook chooses one.
	DefaultOnTimeout = OnTimeoutContinue
)

// ValidOnTimeout reports whether p names a timeout policy.
func ValidOnTimeout(p string) bool {
	return p == OnTimeoutContinue || p == OnTimeoutStopTasks || p == OnTimeoutAbandon
}

// CheckOnTimeout returns an error naming name (a variable, a prop, a
// metadata key) when p is not a timeout policy.
func CheckOnTimeout(name, p string) error {
	if ValidOnTimeout(p) {
		return nil
	}
	return fmt.Errorf("%s %q is not a timeout policy: want %q, %q or %q", name, p, OnTimeoutContinue, OnTimeoutStopTasks, OnTimeoutAbandon)
}

// HookMetadata is the JSON object the construct writes into each hook's
// NotificationMetadata and the function reads from each lifecycle action:
// {"cluster":"NAME"} and, when the group has its own timeout policy,
// "on_timeout". One function can so drain several clusters, each group with
// its own policy. Auto Scaling passes the metadata through untouched
// (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html).
type HookMetadata struct {
	Cluster   string `json:"cluster"`
	OnTimeout string `json:"on_timeout,omitempty"`
	// StuckAfter is the group's own DRAINER_STUCK_AFTER, a Go duration
	// ("0" turns it off for the group).
	StuckAfter string `json:"stuck_after,omitempty"`
}
