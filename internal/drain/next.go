// Package drain drains one ECS container instance for one pending Auto
// Scaling terminate lifecycle action.
//
// The algorithm is a state machine. Next is a pure function from the carried
// State (the re-queue message) and what this invocation has observed so far
// to the one Step to take next; the Drainer performs that step through the
// AWS APIs, records what it saw, and asks again, until a step ends the
// invocation: Complete, Requeue or End. A drain therefore never sleeps: it
// waits by sending itself a delayed SQS message carrying its State.
//
// At-least-once assumptions: EventBridge and standard SQS queues both may
// deliver a record twice, and the function may crash between any two calls.
// Every step is idempotent (DRAINING an instance that is already DRAINING,
// completing an action that is already complete, re-reading tasks), the next
// message is sent before the current one is acknowledged, and every hop first
// asks Auto Scaling whether the action is still pending, so a chain whose
// action has ended stops at its next hop.
package drain

import (
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// State is everything a drain carries between hops.
type State = lifecycle.Message

// Policy is the operator's configuration.
type Policy struct {
	PollInterval time.Duration
	MaxDrain     time.Duration
}

// ECS container instance statuses the decision depends on.
const (
	StatusActive      = "ACTIVE"
	StatusDraining    = "DRAINING"
	StatusRegistering = "REGISTERING"
)

// ActionStatus is what Auto Scaling says of the lifecycle action.
type ActionStatus int

// Action statuses.
const (
	ActionUnknown ActionStatus = iota // not asked yet in this invocation
	ActionPending                     // the instance waits in a terminate wait state
	ActionGone                        // completed, timed out, or the instance is gone
)

// Instance is the ECS container instance as observed.
type Instance struct {
	Found  bool
	ARN    string
	Status string
}

// Task is a task on the instance that has not reached lastStatus STOPPED.
type Task struct {
	ARN           string
	Group         string // "service:NAME" or "family:NAME"
	StartedBy     string
	LastStatus    string
	DesiredStatus string
}

// Observation is what this invocation has learned so far.
type Observation struct {
	Now           time.Time
	HookMissing   bool
	Action        ActionStatus
	Instance      *Instance // nil until looked up
	Tasks         []Task    // valid once TasksCounted
	TasksCounted  bool
	HeartbeatSent bool
}

// StepKind names a step of the state machine.
type StepKind int

// Steps, in the order a drain usually takes them.
const (
	DescribeHook StepKind = iota + 1
	CheckAction
	FindInstance
	MarkDraining
	CountTasks
	Heartbeat
	Complete
	Requeue
	End
)

func (k StepKind) String() string {
	return [...]string{"", "describe_hook", "check_action", "find_instance", "mark_draining", "count_tasks", "heartbeat", "complete", "requeue", "end"}[k]
}

// Outcome says why a drain's invocation ended the way it did.
type Outcome string

// Outcomes.
const (
	OutcomeDrained          Outcome = "drained"           // no task left: completed CONTINUE
	OutcomeNotRegistered    Outcome = "not_registered"    // no live container instance: completed CONTINUE
	OutcomeDeadline         Outcome = "deadline_reached"  // tasks left at the deadline: completed CONTINUE anyway
	OutcomeAlreadyCompleted Outcome = "already_completed" // Complete found no active action
	OutcomeActionGone       Outcome = "action_gone"       // the action ended before we completed it
	OutcomeHookMissing      Outcome = "hook_missing"      // the hook no longer exists
	OutcomeRequeued         Outcome = "requeued"          // tasks left: polled again later
)

// Step is the next thing to do.
type Step struct {
	Kind    StepKind
	Outcome Outcome       // for Complete and End
	Delay   time.Duration // for Requeue
}

// maxDelay is SQS's cap on a message timer (DelaySeconds 0..900).
const maxDelay = 900 * time.Second

// globalTimeoutMargin keeps our deadline before the hook's global timeout:
// past it, Auto Scaling applies the default result on its own and the drain
// would end silently instead of loudly.
const globalTimeoutMargin = time.Minute

// Next returns the step to take for drain s given observation o. It is pure.
func Next(s State, o Observation, p Policy) Step {
	switch {
	case o.HookMissing:
		return Step{Kind: End, Outcome: OutcomeHookMissing}
	case s.HeartbeatTimeoutSeconds == 0:
		return Step{Kind: DescribeHook}
	case o.Action == ActionUnknown:
		return Step{Kind: CheckAction}
	case o.Action == ActionGone:
		return Step{Kind: End, Outcome: OutcomeActionGone}
	case o.Instance == nil:
		return Step{Kind: FindInstance}
	case !o.Instance.Found || !live(o.Instance.Status):
		return Step{Kind: Complete, Outcome: OutcomeNotRegistered}
	case o.Instance.Status == StatusActive:
		return Step{Kind: MarkDraining}
	case !o.TasksCounted:
		return Step{Kind: CountTasks}
	case len(o.Tasks) == 0:
		return Step{Kind: Complete, Outcome: OutcomeDrained}
	case !o.Now.Before(s.Deadline):
		return Step{Kind: Complete, Outcome: OutcomeDeadline}
	}
	delay := RequeueDelay(s, o.Now, p)
	if !o.HeartbeatSent && o.Now.Add(delay).Sub(s.LastHeartbeat) >= s.HeartbeatTimeout()/2 {
		return Step{Kind: Heartbeat}
	}
	return Step{Kind: Requeue, Delay: delay}
}

// live reports whether a container instance in this status can still run
// tasks. DEREGISTERING, INACTIVE and REGISTRATION_FAILED instances cannot, so
// there is nothing to drain. A REGISTERING instance cannot be set DRAINING yet
// (ECS refuses), but it may start tasks, so it is polled like a draining one.
func live(status string) bool {
	return status == StatusActive || status == StatusDraining || status == StatusRegistering
}

// RequeueDelay is how long to wait before the next poll: the poll interval,
// but no later than the deadline (so a drain that hits it ends on time), no
// more than half the heartbeat timeout (so the hop before the timeout lapses
// always has time to send a heartbeat), and within SQS's 900 s timer cap.
func RequeueDelay(s State, now time.Time, p Policy) time.Duration {
	d := min(p.PollInterval, s.HeartbeatTimeout()/2, s.Deadline.Sub(now), maxDelay)
	return max(d.Round(time.Second), time.Second)
}

// Deadline is when a drain that started at start gives up waiting: after
// maxDrain, and before the hook's global timeout.
func Deadline(start time.Time, maxDrain, globalTimeout time.Duration) time.Time {
	return start.Add(min(maxDrain, globalTimeout-globalTimeoutMargin))
}

// GlobalTimeout is the longest an instance can wait on a hook with this
// heartbeat timeout: min(48 h, 100 x HeartbeatTimeout), as Auto Scaling
// documents it.
func GlobalTimeout(heartbeatTimeout time.Duration) time.Duration {
	return min(48*time.Hour, 100*heartbeatTimeout)
}
