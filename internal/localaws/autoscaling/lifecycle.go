package autoscaling

import (
	"regexp"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Lifecycle transitions and results, as the API spells them.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
	ResultContinue        = "CONTINUE"
	ResultAbandon         = "ABANDON"
)

// Hook limits from the PutLifecycleHook model in botocore and the quotas page
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-quotas.html).
const (
	minHeartbeat     = 30
	maxHeartbeat     = 7200
	defaultHeartbeat = 3600
	// maxGlobalTimeout caps the time in a wait state at 48 hours even when
	// 100 × HeartbeatTimeout is longer.
	maxGlobalTimeout = 172800
	maxHooksPerGroup = 50
	maxMetadataLen   = 4000
)

var (
	hookNamePattern = regexp.MustCompile(`^[A-Za-z0-9\-_/]+$`)
	// metadataPattern is the model's [\u0009\u000A\u000D\u0020-\u007e]+.
	metadataPattern = regexp.MustCompile("^[\t\n\r\x20-\x7e]+$")
)

// Hook is a lifecycle hook. Zero HeartbeatTimeout and empty DefaultResult
// take the API defaults (3600 s, ABANDON).
type Hook struct {
	Group                 string
	Name                  string
	Transition            string // TransitionTerminating or TransitionLaunching
	HeartbeatTimeout      int32  // seconds, 30..7200
	DefaultResult         string // ResultContinue or ResultAbandon
	NotificationMetadata  string
	NotificationTargetARN string
	RoleARN               string
}

// GlobalTimeout is the longest an instance may wait on this hook, however
// often heartbeats arrive: min(48 h, 100 × HeartbeatTimeout).
func (h Hook) GlobalTimeout() int32 {
	return min(maxGlobalTimeout, 100*h.HeartbeatTimeout)
}

// End says how a lifecycle action stopped being active.
type End string

const (
	// EndCompleted: CompleteLifecycleAction chose the result.
	EndCompleted End = "completed"
	// EndTimedOut: the heartbeat or global timeout lapsed and the hook's
	// DefaultResult applied.
	EndTimedOut End = "timed-out"
	// EndSkipped: another hook of the same instance ended with ABANDON,
	// which stops the remaining hooks, or the instance was terminated while
	// it waited; the action has no result of its own.
	EndSkipped End = "skipped"
	// EndDeleted: DeleteWarmPool with ForceDelete "also deletes any
	// outstanding lifecycle actions associated with the warm pool
	// instances" (API_DeleteWarmPool); the action has no result.
	EndDeleted End = "deleted"
)

// Where an instance comes from and goes to, as the Origin and Destination of
// a lifecycle event spell them
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html).
const (
	OriginEC2              = "EC2"
	OriginAutoScalingGroup = "AutoScalingGroup"
	OriginWarmPool         = "WarmPool"
)

type action struct {
	token          string
	inst           *instance
	hook           Hook // as it was when the action started
	origin, dest   string
	started        time.Time
	deadline       time.Time
	globalDeadline time.Time
	heartbeats     int
	result         string
	end            End
	ended          time.Time
}

func (a *action) active() bool { return a.end == "" }

// LifecycleDetail is the detail of an "EC2 Instance-launch Lifecycle Action"
// or "EC2 Instance-terminate Lifecycle Action" event
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html,
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html).
type LifecycleDetail struct {
	LifecycleActionToken string `json:"LifecycleActionToken"`
	AutoScalingGroupName string `json:"AutoScalingGroupName"`
	LifecycleHookName    string `json:"LifecycleHookName"`
	EC2InstanceID        string `json:"EC2InstanceId"`
	LifecycleTransition  string `json:"LifecycleTransition"`
	// NotificationMetadata is present only when the hook has metadata.
	NotificationMetadata string `json:"NotificationMetadata,omitempty"`
	Origin               string `json:"Origin"`
	Destination          string `json:"Destination"`
}

// EventBridge detail-types of lifecycle actions.
const (
	DetailTypeLaunch    = "EC2 Instance-launch Lifecycle Action"
	DetailTypeTerminate = "EC2 Instance-terminate Lifecycle Action"
)

// startActions starts one action per hook of the transition, all at once,
// each announced by its own event, and reports whether any started.
func (s *Server) startActions(in *instance, transition, origin, dest string, at time.Time) bool {
	g := in.group
	detailType := DetailTypeTerminate
	if transition == TransitionLaunching {
		detailType = DetailTypeLaunch
	}
	started := false
	for _, h := range g.hooks {
		if h.Transition != transition {
			continue
		}
		a := &action{
			token:          awswire.NewRequestID(),
			inst:           in,
			hook:           *h,
			origin:         origin,
			dest:           dest,
			started:        at,
			deadline:       at.Add(seconds(h.HeartbeatTimeout)),
			globalDeadline: at.Add(seconds(h.GlobalTimeout())),
		}
		in.actions = append(in.actions, a)
		s.actions = append(s.actions, a)
		s.emit(awswire.Event{
			Source:     "aws.autoscaling",
			DetailType: detailType,
			Resources:  []string{g.arn},
			Detail: LifecycleDetail{
				LifecycleActionToken: a.token,
				AutoScalingGroupName: g.name,
				LifecycleHookName:    h.Name,
				EC2InstanceID:        in.id,
				LifecycleTransition:  transition,
				NotificationMetadata: h.NotificationMetadata,
				Origin:               origin,
				Destination:          dest,
			},
		})
		started = true
	}
	return started
}

// endActive ends the instance's active actions without a result, when the
// instance is taken away from what they wait on.
func (s *Server) endActive(in *instance, end End, at time.Time) {
	for _, a := range in.actions {
		if a.active() {
			a.end, a.ended = end, at
		}
	}
}

// terminate takes an instance out towards EC2: from the group through
// Terminating, or from the warm pool through Warmed:Terminating. With
// terminate hooks it waits in Terminating:Wait (Warmed:Terminating:Wait) on
// one action per hook; without, it goes on to Terminated once EC2 has shut
// it down. A launch still running is cancelled; the termination's activity
// has the cause given, and an empty cause records none (an abandoned
// launch's own activity tells its end).
func (s *Server) terminate(in *instance, why string, at time.Time) {
	s.endActive(in, EndSkipped, at)
	cancelLaunch(in, "", at)
	if why != "" {
		s.record(in, false, terminationDescription(in), why, at)
	}
	// Real notifications of ordinary terminates carry AutoScalingGroup → EC2
	// (as real SNS lifecycle notifications from 2021–2024 show).
	origin, state, wait := OriginAutoScalingGroup, StateTerminating, StateTerminatingWait
	if in.warm() {
		// [unverified] No published sample shows a warm-pool instance's
		// terminate event. WarmPool → EC2 follows the documented pairs (the
		// instance leaves the pool for EC2) and is the safer reading: a
		// consumer that routes on Origin and Destination still sees an
		// instance going to EC2, and one that ignores them loses nothing.
		origin, state, wait = OriginWarmPool, StateWarmedTerminating, StateWarmedTerminatingWait
	}
	in.state, in.goneAt = state, at.Add(s.shutdownTime)
	if s.startActions(in, TransitionTerminating, origin, OriginEC2, at) {
		in.state = wait
	}
}

// returnToPool scales an instance in into the warm pool, as a pool with
// ReuseOnScaleIn does: terminate hooks hold it in Warmed:Pending:Wait, their
// events reading AutoScalingGroup → WarmPool (warm-pools-eventbridge-events,
// Example 4); then it stops into the pool state.
func (s *Server) returnToPool(in *instance, at time.Time) {
	s.endActive(in, EndSkipped, at)
	cancelLaunch(in, "", at)
	in.state, in.stopping, in.readyAt = StateWarmedPending, true, at.Add(s.stopTime(in.group))
	if s.startActions(in, TransitionTerminating, OriginAutoScalingGroup, OriginWarmPool, at) {
		in.state = StateWarmedPendingWait
	}
}

// booted moves an instance bound for the group on once EC2 has it running:
// launch hooks hold it in Pending:Wait, their events naming where it came
// from (EC2, or WarmPool for a warm start); without, it is InService. Either
// way its ECS agent can register now: the agent's warm-pool check reads the
// target lifecycle state, InService already during Pending:Wait
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds.html).
func (s *Server) booted(in *instance, at time.Time) {
	in.state, in.inServiceAt = StateInService, at
	if s.startActions(in, TransitionLaunching, in.origin, OriginAutoScalingGroup, at) {
		in.state = StatePendingWait
	} else {
		succeed(in, at)
	}
	if s.onLaunch != nil {
		name, id := in.group.name, in.id
		s.later(func() { s.onLaunch(name, id, at) })
	}
}

// bootedIntoPool moves a new warm-pool instance on once EC2 has it running:
// launch hooks hold it in Warmed:Pending:Wait (EC2 → WarmPool, Example 1);
// without, "as soon as an instance finishes launching into the warm pool,
// Amazon EC2 Auto Scaling stops or hibernates the instance"
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html).
func (s *Server) bootedIntoPool(in *instance, at time.Time) {
	in.stopping, in.readyAt = true, at.Add(s.stopTime(in.group))
	if s.startActions(in, TransitionLaunching, OriginEC2, OriginWarmPool, at) {
		in.state = StateWarmedPendingWait
	}
}

// rest puts an instance that has finished entering the warm pool in the
// pool's state, which ends a launch into the pool.
func (s *Server) rest(in *instance, at time.Time) {
	succeed(in, at)
	state := poolStateOf(in.group.pool)
	in.state, in.stopping = restStates[state], false
	if state != PoolStateRunning && s.onStopped != nil {
		name, id := in.group.name, in.id
		s.later(func() { s.onStopped(name, id) })
	}
}

// stopTime is how long an instance entering the warm pool takes to reach
// the pool state: EC2 shuts a stopped or hibernated one down, a running one
// is there at once.
func (s *Server) stopTime(g *group) time.Duration {
	if poolStateOf(g.pool) == PoolStateRunning {
		return 0
	}
	return s.shutdownTime
}

func seconds(n int32) time.Duration { return time.Duration(n) * time.Second }

func (s *Server) emit(e awswire.Event) {
	if s.emitFn != nil {
		s.later(func() { s.emitFn(e) })
	}
}

// findAction looks up the active action of (group, hook) by token, or by
// instance ID when no token is given. Everything that is not an active
// action, including an unknown group or hook, gets the one error AWS is
// seen to return (quoted in public issues such as convox/rack#2432).
func (s *Server) findAction(groupName, hook, token, instanceID string) (*action, *awswire.Error) {
	for _, a := range s.actions {
		if !a.active() || a.inst.group.name != groupName || a.hook.Name != hook {
			continue
		}
		if token != "" && a.token == token && (instanceID == "" || a.inst.id == instanceID) ||
			token == "" && a.inst.id == instanceID {
			return a, nil
		}
	}
	if token != "" {
		return nil, awswire.ClientError("ValidationError", "No active Lifecycle Action found with token %s", token)
	}
	return nil, awswire.ClientError("ValidationError", "No active Lifecycle Action found with instance ID %s", instanceID)
}

func (s *Server) complete(a *action, result string, at time.Time) {
	s.finish(a, result, EndCompleted, at)
}

// heartbeat restarts the action's timeout with the hook's full
// HeartbeatTimeout, never past the global timeout
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html).
func (s *Server) heartbeat(a *action, at time.Time) {
	a.heartbeats++
	a.deadline = at.Add(seconds(a.hook.HeartbeatTimeout))
	if a.deadline.After(a.globalDeadline) {
		a.deadline = a.globalDeadline
	}
}

func (s *Server) timeOut(a *action, at time.Time) {
	s.finish(a, a.hook.DefaultResult, EndTimedOut, at)
}

// finish ends one action and lets the instance proceed once no hook holds
// it: CONTINUE waits for the other hooks, while ABANDON skips them
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/adding-lifecycle-hooks.html).
// Out of a terminate wait both results proceed, to
// Terminated or, returning to the warm pool, to the pool state; out of a
// launch wait ABANDON terminates the instance instead.
func (s *Server) finish(a *action, result string, end End, at time.Time) {
	a.result, a.end, a.ended = result, end, at
	in := a.inst
	for _, other := range in.actions {
		if !other.active() {
			continue
		}
		if result != ResultAbandon {
			return
		}
		other.end, other.ended = EndSkipped, at
	}
	switch {
	case a.hook.Transition == TransitionLaunching && result == ResultAbandon:
		// [unverified] that the abandoned instance then passes the terminate
		// hooks; the safer reading, since a terminate-hook consumer must
		// cope with an instance that never got in service anyway.
		cancelLaunch(in, abandonedReason(a), at)
		s.terminate(in, "", at)
	case in.state == StatePendingWait:
		in.state, in.readyAt = StatePendingProceed, at
	case in.state == StateWarmedPendingWait:
		in.state, in.stopping, in.readyAt = StateWarmedPendingProceed, true, at.Add(s.stopTime(in.group))
	case in.state == StateWarmedTerminatingWait:
		in.state, in.goneAt = StateWarmedTerminatingProceed, at.Add(s.shutdownTime)
	default:
		in.state, in.goneAt = StateTerminatingProceed, at.Add(s.shutdownTime)
	}
}

// validateHook applies the PutLifecycleHook constraints of the botocore
// autoscaling model and fills the defaults.
func validateHook(h *Hook) *awswire.Error {
	var c checks
	c.length("LifecycleHookName", h.Name, 1, 255)
	c.pattern("LifecycleHookName", h.Name, hookNamePattern, `[A-Za-z0-9\-_\/]+`)
	c.length("AutoScalingGroupName", h.Group, 1, 255)
	c.length("NotificationTargetARN", h.NotificationTargetARN, 0, 255)
	if h.RoleARN != "" {
		c.length("RoleARN", h.RoleARN, 1, 255)
	}
	if h.NotificationMetadata != "" {
		c.length("NotificationMetadata", h.NotificationMetadata, 1, maxMetadataLen)
		c.pattern("NotificationMetadata", h.NotificationMetadata, metadataPattern, `[\u0009\u000A\u000D\u0020-\u007e]+`)
	}
	if err := c.err(); err != nil {
		return err
	}
	if h.HeartbeatTimeout == 0 {
		h.HeartbeatTimeout = defaultHeartbeat
	}
	if h.DefaultResult == "" {
		h.DefaultResult = ResultAbandon
	}
	switch {
	case h.Transition != TransitionTerminating && h.Transition != TransitionLaunching:
		return awswire.ClientError("ValidationError", "Invalid Lifecycle Transition: %q. Valid values are %s and %s.", h.Transition, TransitionLaunching, TransitionTerminating)
	case h.HeartbeatTimeout < minHeartbeat || h.HeartbeatTimeout > maxHeartbeat:
		return awswire.ClientError("ValidationError", "Heartbeat timeout must be between %d and %d seconds, got %d.", minHeartbeat, maxHeartbeat, h.HeartbeatTimeout)
	case h.DefaultResult != ResultContinue && h.DefaultResult != ResultAbandon:
		return awswire.ClientError("ValidationError", "Invalid DefaultResult: %q. Valid values are %s and %s.", h.DefaultResult, ResultContinue, ResultAbandon)
	}
	return nil
}

// putHook creates or replaces a hook. Actions already started keep the hook
// as it was, as they do on AWS, where a changed timeout applies to the next
// instance.
func (s *Server) putHook(h Hook) *awswire.Error {
	if err := validateHook(&h); err != nil {
		return err
	}
	g, err := s.group(h.Group)
	if err != nil {
		return err
	}
	for i, old := range g.hooks {
		if old.Name == h.Name {
			g.hooks[i] = &h
			return nil
		}
	}
	if len(g.hooks) >= maxHooksPerGroup {
		return awswire.ClientError("LimitExceeded", "Lifecycle hook limit of %d reached for AutoScalingGroup %s", maxHooksPerGroup, h.Group)
	}
	g.hooks = append(g.hooks, &h)
	return nil
}

func hookByName(g *group, name string) (*Hook, bool) {
	for _, h := range g.hooks {
		if h.Name == name {
			return h, true
		}
	}
	return nil, false
}

func checkResult(result string) *awswire.Error {
	if result != ResultContinue && result != ResultAbandon {
		return awswire.ClientError("ValidationError", "Invalid LifecycleActionResult: %s. Valid values are %s and %s.", result, ResultContinue, ResultAbandon)
	}
	return nil
}
