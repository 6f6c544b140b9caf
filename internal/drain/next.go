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
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// State is everything a drain carries between hops.
type State = lifecycle.Message

// Policy is the operator's configuration.
type Policy struct {
	PollInterval time.Duration
	MaxDrain     time.Duration
	// OnTimeout is the default timeout policy (contract.OnTimeout*); a
	// hook's metadata may choose another for its group.
	OnTimeout string
	// StopGrace is how long the stop-tasks policy waits for the tasks it
	// stopped to reach STOPPED before completing anyway.
	StopGrace time.Duration
	// StaleAfter is how long past its due time a chain's message may be
	// before a first hop (the reconciler) takes the drain over.
	StaleAfter time.Duration
	// DisconnectedAfter is how long the instance's ECS agent may stay
	// disconnected during a drain before the timeout policy applies early:
	// its tasks cannot stop while it is. 0 disables.
	DisconnectedAfter time.Duration
	// MaxLaunch is how long the launch gate waits for a new instance to be
	// usable before it abandons the launch.
	MaxLaunch time.Duration
	// LaunchDaemons: the launch gate also waits for a RUNNING task of each
	// daemon service whose placement allows the instance.
	LaunchDaemons bool
	// StuckAfter is how long every task left may have a blocking reason
	// before the timeout policy applies early. 0 disables.
	StuckAfter time.Duration
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
	// StatusReason is ECS's reason for the status (why a registration
	// failed).
	StatusReason string
	// EC2InstanceID is set when the instance was described by its ARN (an
	// ECS event names no EC2 instance for a task).
	EC2InstanceID string
	// Busy: ECS reported a task on the instance when it was described (a
	// desired status of RUNNING, a PENDING task, or CPU or memory still
	// reserved, which ECS returns only when the task reaches STOPPED). A
	// busy instance has tasks left, so a poll need not list them; an idle
	// one is listed before anything is released.
	Busy bool
	// Quiet: described while DRAINING and not busy. No task is desired
	// RUNNING, and ECS places none on a DRAINING instance, so only the tasks
	// told to stop need listing. An instance set DRAINING by this very hop
	// is not quiet: a task may have been placed between its describe and
	// the DRAINING.
	Quiet bool
	// Disconnected: ECS reported its agent disconnected (agentConnected
	// false), so nothing on it can stop until the agent is back.
	Disconnected bool
	// Full: it has the custom attributes ECS allows and no chain mark among
	// them, so no mark can be written.
	Full bool
	// Running and Pending are ECS's runningTasksCount (tasks desired
	// RUNNING) and pendingTasksCount as described.
	Running, Pending int
}

// Task is a task on the instance that has not reached lastStatus STOPPED.
type Task struct {
	ARN           string
	Group         string // "service:NAME" or "family:NAME"
	StartedBy     string
	LastStatus    string
	DesiredStatus string
	// ProtectedUntil is set when the task has scale-in protection (read
	// only when the drain reports why it could not finish).
	ProtectedUntil time.Time
}

// Why says why a task is still on a draining instance, for the log line of
// a drain that could not finish.
func (t Task) Why() string {
	switch {
	case t.DesiredStatus == "STOPPED":
		return "stopping: told to stop, its containers are still shutting down"
	case !t.ProtectedUntil.IsZero():
		return "scale-in protected until " + t.ProtectedUntil.UTC().Format(time.RFC3339)
	case strings.HasPrefix(t.Group, "family:"):
		return "standalone task: draining does not stop tasks outside a service"
	}
	return "service task: ECS has not replaced it (no room on other instances, the deployment's minimum healthy percent, or a daemon, which stops last)"
}

// Observation is what this invocation has learned so far.
type Observation struct {
	Now time.Time
	// RecordID is the id of the record this hop processes (the SQS message
	// id, or the event id when EventBridge invokes the function directly).
	RecordID          string
	HookMissing       bool
	Action            ActionStatus
	Instance          *Instance // nil until looked up
	Chain             *Chain    // the instance's chain mark, if any
	Tasks             []Task    // valid once TasksCounted
	TasksCounted      bool
	ProtectionChecked bool
	HeartbeatSent     bool
	// IntoWarmPool: the launch action puts the instance into the warm
	// pool (the launch gate's first hop only).
	IntoWarmPool bool
	// MissingDaemons are the daemon services with no RUNNING task on a
	// launching instance, valid once DaemonsChecked.
	MissingDaemons []string
	DaemonsChecked bool
	// Findings are the diagnosis of the tasks left, valid once Diagnosed.
	Findings  []diagnose.Finding
	Diagnosed bool
	// round is the batch whose reads the hop's diagnosis shares; nil: a
	// round of its own.
	round *Round
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
	CheckProtection
	StopTasks
	Heartbeat
	Complete
	Requeue
	End
	// The launch gate's own steps.
	Reactivate
	CheckDaemons
	Diagnose
)

func (k StepKind) String() string {
	return [...]string{"", "describe_hook", "check_action", "find_instance", "mark_draining", "count_tasks",
		"check_protection", "stop_tasks", "heartbeat", "complete", "requeue", "end", "reactivate", "check_daemons", "diagnose"}[k]
}

// Outcome says why a drain's invocation ended the way it did.
type Outcome string

// Outcomes. Those the construct's deadline alarm counts are the contract's.
const (
	OutcomeDrained          Outcome = "drained"                         // no task left: completed CONTINUE
	OutcomeNotRegistered    Outcome = "not_registered"                  // no live container instance: completed CONTINUE
	OutcomeDeadline         Outcome = contract.OutcomeDeadlineReached   // tasks left at the deadline: completed CONTINUE anyway
	OutcomeAbandoned        Outcome = contract.OutcomeDeadlineAbandoned // tasks left at the deadline: completed ABANDON
	OutcomeAlreadyCompleted Outcome = "already_completed"               // Complete found no active action
	OutcomeActionGone       Outcome = "action_gone"                     // the action ended before we completed it
	OutcomeHookMissing      Outcome = "hook_missing"                    // the hook no longer exists
	OutcomeSuperseded       Outcome = "superseded"                      // another chain carries this drain: this one ends
	OutcomeRequeued         Outcome = "requeued"                        // tasks left: polled again later
	// The agent stayed disconnected for DisconnectedAfter with tasks left:
	// the timeout policy applied early.
	OutcomeAgentDisconnected Outcome = contract.OutcomeAgentDisconnected
	// Every task left had a blocking reason for StuckAfter: the timeout
	// policy applied early.
	OutcomeStuck Outcome = contract.OutcomeStuck
)

// Lifecycle action results.
const (
	ResultContinue = "CONTINUE"
	ResultAbandon  = "ABANDON"
)

// Step is the next thing to do.
type Step struct {
	Kind    StepKind
	Outcome Outcome       // for Complete and End
	Result  string        // for Complete: CONTINUE or ABANDON
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
		return Step{Kind: Complete, Outcome: OutcomeNotRegistered, Result: ResultContinue}
	case !Owns(s, o, p):
		return Step{Kind: End, Outcome: OutcomeSuperseded}
	case o.Instance.Status == StatusActive:
		return Step{Kind: MarkDraining}
	case !o.TasksCounted && !(o.Instance.Busy && waiting(s, o.Now, p) && !diagnosisDue(s, o)):
		return Step{Kind: CountTasks}
	case o.TasksCounted && len(o.Tasks) == 0:
		return Step{Kind: Complete, Outcome: OutcomeDrained, Result: ResultContinue}
	case o.TasksCounted && !o.Diagnosed && s.TasksStoppedAt.IsZero():
		return Step{Kind: Diagnose}
	case s.TasksStoppedAt.IsZero() && (!o.Now.Before(s.Deadline) || disconnectedTooLong(s, o.Now, p) || stuckTooLong(s, o.Now, p)):
		return atDeadline(s, o, p)
	case !s.TasksStoppedAt.IsZero() && !o.Now.Before(s.TasksStoppedAt.Add(p.StopGrace)):
		return Step{Kind: Complete, Outcome: expired(s, o.Now, p, OutcomeDeadline), Result: ResultContinue}
	}
	delay := RequeueDelay(s, o.Now, p)
	if !o.HeartbeatSent && heartbeatDue(s, o.Now, delay) {
		return Step{Kind: Heartbeat}
	}
	return Step{Kind: Requeue, Delay: delay}
}

// waiting reports whether drain s is before its deadline (and its agent not
// disconnected, nor its tasks blocked, too long) with no tasks stopped by
// its timeout policy: then a hop only needs to know that tasks are left,
// not which, and a busy instance says so without listing them, unless a
// diagnosis is due. Past it, the hop lists the tasks to say why each is
// still there.
func waiting(s State, now time.Time, p Policy) bool {
	return now.Before(s.Deadline) && s.TasksStoppedAt.IsZero() && !disconnectedTooLong(s, now, p) && !stuckTooLong(s, now, p)
}

// disconnectedTooLong reports whether drain s's agent has been disconnected
// for the policy's DisconnectedAfter. Agents reconnect several times an hour
// in normal operation, so a brief disconnect does not count.
func disconnectedTooLong(s State, now time.Time, p Policy) bool {
	return p.DisconnectedAfter > 0 && !s.DisconnectedSince.IsZero() && !now.Before(s.DisconnectedSince.Add(p.DisconnectedAfter))
}

// expired is the outcome of a drain whose timeout policy applies: why is
// the deadline's own outcome, unless the agent's disconnect brought it early.
func expired(s State, now time.Time, p Policy, why Outcome) Outcome {
	switch {
	case !now.Before(s.Deadline):
		return why
	case disconnectedTooLong(s, now, p):
		return OutcomeAgentDisconnected
	case stuckTooLong(s, now, p):
		return OutcomeStuck
	}
	return why
}

// heartbeatDue reports whether a hop must record a heartbeat: when the next
// hop, due after delay, would come later than half the heartbeat timeout
// after the last one, or when a quarter of it has passed anyway. The second
// rule is for a backlog: a queue that delivers hops late (throttling, a
// crash's visibility timeout, many drains at once) must not let the timeout
// lapse, so the heartbeat does not wait for the hop that would be too late.
func heartbeatDue(s State, now time.Time, delay time.Duration) bool {
	since := now.Sub(s.LastHeartbeat)
	return since+delay >= s.HeartbeatTimeout()/2 || since >= s.HeartbeatTimeout()/4
}

// atDeadline applies the drain's timeout policy, once it knows why each task
// is still there.
func atDeadline(s State, o Observation, p Policy) Step {
	if !o.ProtectionChecked {
		return Step{Kind: CheckProtection}
	}
	switch OnTimeout(s, p) {
	case contract.OnTimeoutAbandon:
		return Step{Kind: Complete, Outcome: expired(s, o.Now, p, OutcomeAbandoned), Result: ResultAbandon}
	case contract.OnTimeoutStopTasks:
		return Step{Kind: StopTasks}
	}
	return Step{Kind: Complete, Outcome: expired(s, o.Now, p, OutcomeDeadline), Result: ResultContinue}
}

// OnTimeout is the drain's timeout policy: its hook's choice, else the
// operator's default, else continue.
func OnTimeout(s State, p Policy) string {
	switch {
	case s.OnTimeout != "":
		return s.OnTimeout
	case p.OnTimeout != "":
		return p.OnTimeout
	}
	return contract.DefaultOnTimeout
}

// live reports whether a container instance in this status can still run
// tasks. DEREGISTERING, INACTIVE and REGISTRATION_FAILED instances cannot, so
// there is nothing to drain. A REGISTERING instance cannot be set DRAINING yet
// (ECS refuses), but it may start tasks, so it is polled like a draining one.
func live(status string) bool {
	return status == StatusActive || status == StatusDraining || status == StatusRegistering
}

// RequeueDelay is how long to wait before the next poll. Polls fall on one
// grid shared by every drain, the multiples of the poll interval: drains
// that started seconds apart (a scale-in, an instance refresh) come due at
// the same moment, so the poll queue hands them to the function in full
// batches that share their reads (one DescribeContainerInstances for 100),
// where drains each on a phase of their own would trickle in a few per
// batching window. A hop polls again at the grid point after the one it was
// due at, so one that ran late (a backlog, the batching window) or early
// (SQS timers are whole seconds) stays in its round; a first hop, or one
// more than an interval late, at the next grid point, so that no look at a
// drain comes more than an interval after the one before (a lost event
// costs at most one interval). It is no later than the deadline or the end
// of the stop grace (so a drain that hits them ends on time), no more than
// half the heartbeat timeout (so the hop before the timeout lapses always
// has time to send a heartbeat), within SQS's 900 s timer cap, and at least
// a second.
func RequeueDelay(s State, now time.Time, p Policy) time.Duration {
	until := s.Deadline
	if !s.TasksStoppedAt.IsZero() {
		until = s.TasksStoppedAt.Add(p.StopGrace)
	} else if t := s.DisconnectedSince.Add(p.DisconnectedAfter); p.DisconnectedAfter > 0 && !s.DisconnectedSince.IsZero() && t.Before(until) {
		until = t
	}
	next := now.Truncate(p.PollInterval).Add(p.PollInterval)
	if late := now.Sub(s.Due); !s.Due.IsZero() && late > -p.PollInterval && late < p.PollInterval {
		next = s.Due.Add(p.PollInterval).Round(p.PollInterval)
	}
	d := min(next.Sub(now), s.HeartbeatTimeout()/2, until.Sub(now), maxDelay)
	return max(d.Round(time.Second), time.Second)
}

// Deadline is when drain s gives up waiting: MaxDrain after its start, and
// before the hook's global timeout, less the stop grace when its policy
// still has tasks to stop after the deadline. A launch's is LaunchDeadline.
func Deadline(s State, p Policy) time.Time {
	if s.Launch {
		return LaunchDeadline(s, p)
	}
	global := GlobalTimeout(s.HeartbeatTimeout()) - globalTimeoutMargin
	if OnTimeout(s, p) == contract.OnTimeoutStopTasks {
		global -= p.StopGrace
	}
	return s.Start.Add(min(p.MaxDrain, global))
}

// GlobalTimeout is the longest an instance can wait on a hook with this
// heartbeat timeout: min(48 h, 100 x HeartbeatTimeout), as Auto Scaling
// documents it.
func GlobalTimeout(heartbeatTimeout time.Duration) time.Duration {
	return contract.GlobalTimeout(heartbeatTimeout)
}
