package drain

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// The launch gate. A launch lifecycle action holds a new instance in
// Pending:Wait; Auto Scaling starts its warm-up, and an instance refresh
// moves on, only once the action is complete. The gate completes it with
// CONTINUE when ECS can place tasks on the instance, so scale-out and
// refreshes count ECS capacity rather than EC2 boots. It rides on the
// drain's machinery (the re-queue chain, heartbeats, a deadline, batched
// reads) with a decision of its own, NextLaunch. A launch chain carries no
// chain mark: until the agent registers there is no container instance to
// carry one. Duplicate chains of one launch are harmless, each completing
// the same action once the instance is ready.

// ECS container instance status the gate gives up on.
const StatusRegistrationFailed = "REGISTRATION_FAILED"

// Launch outcomes.
const (
	OutcomeLaunchReady Outcome = "launch_ready" // ACTIVE, agent connected (daemons running): completed CONTINUE
	// The instance goes into the warm pool, where its agent does not
	// register (ECS_WARM_POOLS_CHECK): completed CONTINUE at once.
	OutcomeLaunchIntoWarmPool Outcome = "launch_into_warm_pool"
	OutcomeLaunchFailed       Outcome = contract.OutcomeLaunchFailed   // REGISTRATION_FAILED: completed ABANDON
	OutcomeLaunchDeadline     Outcome = contract.OutcomeLaunchDeadline // not ready by DRAINER_MAX_LAUNCH: completed ABANDON
	// The instance was ready but for a daemon at the deadline: completed
	// CONTINUE, since a daemon that cannot start is rarely the instance's
	// fault and replacing it would loop.
	OutcomeLaunchWithoutDaemons Outcome = "launch_without_daemons"
	// An ECS event found the instance not ready yet (or not launching):
	// the chain's next poll looks again.
	OutcomeLaunchWaiting Outcome = "launch_waiting"
	OutcomeNotLaunching  Outcome = "not_launching"
)

// launchWaitStates are the lifecycle states in which a launch action the gate
// waits on is pending: a new instance, or one leaving the warm pool, bound
// for the group. (A launch into the warm pool, Warmed:Pending:Wait, is
// completed at once and never polled.)
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
var launchWaitStates = map[string]bool{"Pending:Wait": true}

// NextLaunch returns the step to take for launch s given observation o. It
// is pure.
func NextLaunch(s State, o Observation, p Policy) Step {
	in := o.Instance
	switch {
	case o.IntoWarmPool:
		return Step{Kind: Complete, Outcome: OutcomeLaunchIntoWarmPool, Result: ResultContinue}
	case o.HookMissing:
		return Step{Kind: End, Outcome: OutcomeHookMissing}
	case s.HeartbeatTimeoutSeconds == 0:
		return Step{Kind: DescribeHook}
	case o.Action == ActionUnknown:
		return Step{Kind: CheckAction}
	case o.Action == ActionGone:
		return Step{Kind: End, Outcome: OutcomeActionGone}
	case in == nil:
		return Step{Kind: FindInstance}
	case in.Found && in.Status == StatusRegistrationFailed:
		return Step{Kind: Complete, Outcome: OutcomeLaunchFailed, Result: ResultAbandon}
	case in.Found && in.Status == StatusDraining && o.Chain != nil:
		// Drained by us on its way into the warm pool: it comes back with
		// the same container instance, still DRAINING.
		return Step{Kind: Reactivate}
	case Usable(in) && p.LaunchDaemons && !o.DaemonsChecked:
		return Step{Kind: CheckDaemons}
	case Usable(in) && len(o.MissingDaemons) == 0:
		return Step{Kind: Complete, Outcome: OutcomeLaunchReady, Result: ResultContinue}
	case !o.Now.Before(s.Deadline) && Usable(in):
		return Step{Kind: Complete, Outcome: OutcomeLaunchWithoutDaemons, Result: ResultContinue}
	case !o.Now.Before(s.Deadline):
		return Step{Kind: Complete, Outcome: OutcomeLaunchDeadline, Result: ResultAbandon}
	}
	if swept(s) {
		// A sweep hop looks once: the next sweep looks again, so it
		// keeps the action from lapsing and never forks a chain.
		if !o.HeartbeatSent {
			return Step{Kind: Heartbeat}
		}
		return Step{Kind: End, Outcome: OutcomeLaunchWaiting}
	}
	delay := RequeueDelay(s, o.Now, p)
	if !o.HeartbeatSent && heartbeatDue(s, o.Now, delay) {
		return Step{Kind: Heartbeat}
	}
	return Step{Kind: Requeue, Delay: delay}
}

// swept reports whether launch s is the reconciler's sweep hop: the first
// hop of an action with no token, which only a restart lacks.
func swept(s State) bool { return s.Token == "" && s.Attempt == 1 }

// Usable reports whether ECS can place tasks on the container instance:
// registered, ACTIVE, and its agent connected ("Only instances connected to
// an agent can accept placement requests",
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html).
// A warm instance that registered before it was stopped is ACTIVE while
// its agent is down, so the status alone does not say it.
func Usable(in *Instance) bool {
	return in != nil && in.Found && in.Status == StatusActive && !in.Disconnected
}

// LaunchWaitingFor says, in words, what launch o is still waiting for.
func LaunchWaitingFor(o Observation) string {
	in := o.Instance
	switch {
	case in == nil:
		return "the container instance was not looked up"
	case !in.Found:
		return "the ECS agent has not registered the instance with the cluster"
	case in.Status != StatusActive:
		return "the container instance is " + in.Status + ", not ACTIVE"
	case in.Disconnected:
		return "the ECS agent is not connected"
	case len(o.MissingDaemons) > 0:
		return "no RUNNING task of daemon service " + strings.Join(o.MissingDaemons, ", ")
	}
	return ""
}

// LaunchDeadline is when launch s gives up: MaxLaunch after its start, and
// before the hook's global timeout.
func LaunchDeadline(s State, p Policy) time.Time {
	return s.Start.Add(min(p.MaxLaunch, GlobalTimeout(s.HeartbeatTimeout())-globalTimeoutMargin))
}

// runLaunch runs a hop of launch s from what is already observed.
func (d *Drainer) runLaunch(ctx context.Context, s State, o Observation) (Result, error) {
	recordID := o.RecordID
	for {
		o.Now = d.now()
		step := NextLaunch(s, o, d.policy)
		res := Result{Outcome: step.Outcome, Attempt: s.Attempt, State: s, Heartbeat: o.HeartbeatSent, Instance: o.Instance, Waiting: LaunchWaitingFor(o)}
		var err error
		switch step.Kind {
		case DescribeHook:
			err = d.describeHook(ctx, &s, &o)
		case CheckAction:
			o.Action, err = d.actionStatus(ctx, s)
		case FindInstance:
			o.Instance, o.Chain, err = d.findInstance(ctx, s)
			if err == nil && o.Instance.Found {
				s.ContainerInstanceARN = o.Instance.ARN
			}
		case Reactivate:
			err = d.reactivate(ctx, s)
			if err == nil {
				o.Instance.Status, o.Chain = StatusActive, nil
			}
		case CheckDaemons:
			o.MissingDaemons, err = d.missingDaemons(ctx, s)
			o.DaemonsChecked = err == nil
		case Heartbeat:
			err = d.heartbeat(ctx, s)
			if Classify(err) == AlreadyDone {
				res.Outcome = OutcomeActionGone
				return res, nil
			}
			if err == nil {
				o.HeartbeatSent, s.LastHeartbeat = true, o.Now
			}
		case Complete:
			return d.finish(ctx, s, step.Result, res)
		case Requeue:
			next := successor(s, recordID, d.newID())
			next.Due = o.Now.Add(step.Delay)
			res.State, res.Outcome, res.Delay = next, OutcomeRequeued, step.Delay
			return res, d.requeue(ctx, next, step.Delay)
		case End:
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", step.Kind, err)
		}
	}
}

// reactivate sets a container instance the drainer left DRAINING ACTIVE
// again, and removes the drain's chain mark, whose start a later drain of
// the same instance must not adopt.
func (d *Drainer) reactivate(ctx context.Context, s State) error {
	if err := d.setStatus(ctx, s, ecstypes.ContainerInstanceStatusActive); err != nil {
		return err
	}
	if _, err := d.ecs.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{
		Cluster: &s.Cluster,
		Attributes: []ecstypes.Attribute{{
			Name: aws.String(ChainAttribute), TargetType: ecstypes.TargetTypeContainerInstance, TargetId: &s.ContainerInstanceARN,
		}},
	}); err != nil {
		return fmt.Errorf("removing the drain's chain mark from %s: %w", s.ContainerInstanceARN, err)
	}
	return nil
}

// ReadyObservation is what handling an ECS event about a container instance
// that may let a launch through has learned so far.
type ReadyObservation struct {
	Instance       *Instance // nil until described
	Action         ActionStatus
	NotOurs        bool
	HookMissing    bool
	MissingDaemons []string
	DaemonsChecked bool
}

// NextOnReady returns the step to take for an ECS event saying the
// container instance of launch s (what is known of it: cluster, instance,
// and once found its group and hook) is ACTIVE with its agent connected. It
// is pure. The event only says where to look: the instance is described
// again, and the action completed only if it still waits on one of the
// drainer's launch hooks. It never re-queues: the launch's chain does.
func NextOnReady(s State, o ReadyObservation, p Policy) Step {
	switch {
	case o.Instance == nil:
		return Step{Kind: FindInstance}
	case !Usable(o.Instance):
		return Step{Kind: End, Outcome: OutcomeLaunchWaiting}
	case o.Action == ActionUnknown:
		return Step{Kind: CheckAction}
	case o.Action == ActionGone:
		return Step{Kind: End, Outcome: OutcomeNotLaunching}
	case o.NotOurs:
		return Step{Kind: End, Outcome: OutcomeNotOurs}
	case o.HookMissing:
		return Step{Kind: End, Outcome: OutcomeHookMissing}
	case s.HookName == "":
		return Step{Kind: DescribeHook}
	case p.LaunchDaemons && !o.DaemonsChecked:
		return Step{Kind: CheckDaemons}
	case len(o.MissingDaemons) > 0:
		return Step{Kind: End, Outcome: OutcomeLaunchWaiting}
	}
	return Step{Kind: Complete, Outcome: OutcomeLaunchReady, Result: ResultContinue}
}

// settleLaunch handles an ECS event that says a container instance is
// ACTIVE with its agent connected: if its launch waits on the gate, the
// action is completed now instead of at the chain's next poll.
func (p *Round) settleLaunch(ctx context.Context, e lifecycle.ECSEvent, scope Scope) (Result, error) {
	d := p.d
	s := State{Cluster: e.Cluster(), InstanceID: e.EC2InstanceID, Launch: true}
	var o ReadyObservation
	found := func(in *Instance) {
		o.Instance = in
		if in.Found {
			s.ContainerInstanceARN, s.InstanceID = in.ARN, in.EC2InstanceID
		}
	}
	action := func(w asgView) {
		o.Action, s.GroupName = w.status(launchWaitStates), w.group
		o.NotOurs = !scope.Group(w.group)
	}
	if in, _, ok := p.described(e.ContainerInstanceARN); ok {
		found(in)
		if w, ok := p.eventActions[s.InstanceID]; ok {
			action(w)
		}
	}
	for {
		step := NextOnReady(s, o, d.policy)
		res := Result{Outcome: step.Outcome, State: s, Instance: o.Instance, Waiting: LaunchWaitingFor(Observation{Instance: o.Instance, MissingDaemons: o.MissingDaemons})}
		var err error
		switch step.Kind {
		case FindInstance:
			var in *Instance
			if in, _, err = d.describeInstance(ctx, e.ClusterARN, e.ContainerInstanceARN); err == nil {
				found(in)
			}
		case CheckAction:
			var w map[string]asgView
			if w, err = d.describeWaiting(ctx, []string{s.InstanceID}); err == nil {
				action(w[s.InstanceID])
			}
		case DescribeHook:
			s.HookName, err = d.drainerHook(ctx, s.GroupName, s.Cluster, lifecycle.TransitionLaunch, scope)
			o.HookMissing = err == nil && s.HookName == ""
		case CheckDaemons:
			o.MissingDaemons, err = d.missingDaemons(ctx, s)
			o.DaemonsChecked = err == nil
		case Complete:
			return d.finish(ctx, s, step.Result, res)
		case End:
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", step.Kind, err)
		}
	}
}
