package drain

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

func launchAction() lifecycle.Action {
	a := testAction()
	a.Transition, a.Origin, a.Destination = lifecycle.TransitionLaunch, "EC2", "AutoScalingGroup"
	return a
}

// launchState is a launch gate's chain past its first hop: hook read,
// deadline set.
func launchState() State {
	s := State{Cluster: "c1", GroupName: "asg", HookName: "hook", InstanceID: testInstance, Token: "tok", Launch: true,
		Start: t0, LastHeartbeat: t0, Attempt: 2, HeartbeatTimeoutSeconds: 300, ContainerInstanceARN: testCI}
	s.Deadline = Deadline(s, testPolicy)
	return s
}

func ci(status string, connected bool) *Instance {
	return &Instance{Found: true, ARN: testCI, Status: status, EC2InstanceID: testInstance, Disconnected: !connected}
}

// Each rule of the gate, with the failure it prevents: a table row fails
// when its rule is taken out of NextLaunch.
func TestNextLaunch(t *testing.T) {
	daemons := testPolicy
	daemons.LaunchDaemons = true
	before, after := t0.Add(time.Minute), t0.Add(11*time.Minute)
	tests := []struct {
		name string
		// hidden is the failure mode the rule prevents.
		hidden string
		p      Policy
		o      Observation
		want   Step
	}{
		{"ACTIVE and connected: the instance is let in", "a usable instance held until the heartbeat timeout, delaying every scale-out",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: ci(StatusActive, true)},
			Step{Kind: Complete, Outcome: OutcomeLaunchReady, Result: ResultContinue}},
		{"not registered yet: wait", "Auto Scaling counts an EC2 boot as capacity before ECS can place a task on it",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: &Instance{}},
			Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"REGISTERING (trunk ENI on its way): wait", "tasks sent to an instance ECS cannot place on yet",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: ci(StatusRegistering, true)},
			Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"ACTIVE but the agent is not connected: wait", "a warm instance that registered before it stopped is ACTIVE while its agent is down; letting it in counts capacity ECS cannot use",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: ci(StatusActive, false)},
			Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"REGISTRATION_FAILED: abandon at once", "an instance that will never join held for the whole deadline, then let in",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: ci(StatusRegistrationFailed, false)},
			Step{Kind: Complete, Outcome: OutcomeLaunchFailed, Result: ResultAbandon}},
		{"not registered by the deadline: abandon", "an instance whose agent never starts is let in, or held until the hook's global timeout",
			testPolicy, Observation{Now: after, Action: ActionPending, Instance: &Instance{}},
			Step{Kind: Complete, Outcome: OutcomeLaunchDeadline, Result: ResultAbandon}},
		{"disconnected at the deadline: abandon", "an instance whose agent never connects is counted as capacity",
			testPolicy, Observation{Now: after, Action: ActionPending, Instance: ci(StatusActive, false)},
			Step{Kind: Complete, Outcome: OutcomeLaunchDeadline, Result: ResultAbandon}},
		{"daemons asked for: checked first", "replicas fill the new instance before its log or metrics daemon starts",
			daemons, Observation{Now: before, Action: ActionPending, Instance: ci(StatusActive, true)},
			Step{Kind: CheckDaemons}},
		{"a daemon not running yet: wait", "replicas fill the new instance before its log or metrics daemon starts",
			daemons, Observation{Now: before, Action: ActionPending, Instance: ci(StatusActive, true), DaemonsChecked: true, MissingDaemons: []string{"logs"}},
			Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"every daemon running: let in", "an instance held although its daemons run",
			daemons, Observation{Now: before, Action: ActionPending, Instance: ci(StatusActive, true), DaemonsChecked: true},
			Step{Kind: Complete, Outcome: OutcomeLaunchReady, Result: ResultContinue}},
		{"a daemon still missing at the deadline: let in, loudly", "a daemon that cannot start anywhere makes every launch abandon, and Auto Scaling replaces instances in a loop",
			daemons, Observation{Now: after, Action: ActionPending, Instance: ci(StatusActive, true), DaemonsChecked: true, MissingDaemons: []string{"logs"}},
			Step{Kind: Complete, Outcome: OutcomeLaunchWithoutDaemons, Result: ResultContinue}},
		{"into the warm pool: let in at once", "with ECS_WARM_POOLS_CHECK the agent of a warm instance does not register, so waiting would hold (or, with ABANDON, terminate) every warm-pool launch",
			testPolicy, Observation{Now: before, IntoWarmPool: true},
			Step{Kind: Complete, Outcome: OutcomeLaunchIntoWarmPool, Result: ResultContinue}},
		{"out of the warm pool, left DRAINING by our drain: reactivate", "an instance that comes back DRAINING takes no task, and the gate would abandon it",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: ci(StatusDraining, true), Chain: &Chain{Start: t0.Add(-time.Hour)}},
			Step{Kind: Reactivate}},
		{"DRAINING by an operator (no chain mark): not reactivated", "the gate undoes an operator's drain",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: ci(StatusDraining, true)},
			Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"a sweep hop waits by a heartbeat, not a chain", "every sweep forks another chain of a launch it cannot tell is lost",
			testPolicy, Observation{Now: before, Action: ActionPending, Instance: &Instance{}, RecordID: "sweep"},
			Step{Kind: Heartbeat}},
		{"the action ended: stop", "a chain that polls an instance already in service",
			testPolicy, Observation{Now: before, Action: ActionGone},
			Step{Kind: End, Outcome: OutcomeActionGone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := launchState()
			if tt.o.RecordID == "sweep" {
				s.Token, s.Attempt = "", 1
			}
			if got := NextLaunch(s, tt.o, tt.p); got.Kind != tt.want.Kind || got.Outcome != tt.want.Outcome || got.Result != tt.want.Result || got.Delay != tt.want.Delay {
				t.Fatalf("NextLaunch = %+v, want %+v\nwithout this rule: %s", got, tt.want, tt.hidden)
			}
		})
	}
}

// The gate gives up before the hook's own global timeout would apply the
// default result silently, and its abandon outcomes are the ones the
// construct's launch alarm counts.
func TestLaunchDeadlineAndAlarmOutcomes(t *testing.T) {
	s := launchState()
	s.HeartbeatTimeoutSeconds = 5 // global timeout 500 s: less than MaxLaunch
	if got, want := LaunchDeadline(s, testPolicy), t0.Add(500*time.Second-globalTimeoutMargin); !got.Equal(want) {
		t.Errorf("LaunchDeadline = %v, want %v (before the global timeout)", got, want)
	}
	for _, o := range []Outcome{OutcomeLaunchFailed, OutcomeLaunchDeadline} {
		if !slices.Contains(contract.LaunchFailureOutcomes(), string(o)) {
			t.Errorf("outcome %q is not one the launch alarm counts", o)
		}
	}
}

// Through the fake AWS: the first hop of a launch reads the hook and the
// action, finds the instance through the cluster query filter, and lets it
// in with the action's own token, or waits by re-queueing a launch message.
func TestStartLaunch(t *testing.T) {
	meta := lifecycle.HookMetadata{Cluster: "c1"}
	t.Run("usable: completed CONTINUE", func(t *testing.T) {
		f := &fakeAWS{lifecycleState: "Pending:Wait", hookTimeout: 300, hookTransition: lifecycle.TransitionLaunch, ciStatus: "ACTIVE"}
		res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), launchAction(), meta, "r1")
		if err != nil || res.Outcome != OutcomeLaunchReady || len(f.done) != 1 {
			t.Fatalf("Start = %+v, %v; calls %v", res, err, f.calls)
		}
		if got := aws.ToString(f.done[0].LifecycleActionResult); got != ResultContinue || aws.ToString(f.done[0].LifecycleActionToken) == "" {
			t.Errorf("completed with %q, token %q; want CONTINUE with the action's token", got, aws.ToString(f.done[0].LifecycleActionToken))
		}
		if slices.Contains(f.calls, "UpdateContainerInstancesState") || slices.Contains(f.calls, "PutAttributes") {
			t.Errorf("a launch must not drain or mark the instance: calls %v", f.calls)
		}
	})
	t.Run("not registered: a launch message re-queued", func(t *testing.T) {
		f := &fakeAWS{lifecycleState: "Pending:Wait", hookTimeout: 300, hookTransition: lifecycle.TransitionLaunch}
		res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), launchAction(), meta, "r1")
		if err != nil || res.Outcome != OutcomeRequeued || len(f.sent) != 1 || len(f.done) != 0 {
			t.Fatalf("Start = %+v, %v; calls %v", res, err, f.calls)
		}
		m, perr := lifecycle.Parse([]byte(aws.ToString(f.sent[0].MessageBody)))
		if perr != nil || m.Message == nil || !m.Message.Launch || !m.Message.Deadline.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("re-queued %s (%v): want a launch message with the 10 min deadline", aws.ToString(f.sent[0].MessageBody), perr)
		}
		if res.Waiting == "" {
			t.Error("the result does not say what the launch waits for")
		}
	})
	t.Run("REGISTRATION_FAILED: abandoned with ECS's reason", func(t *testing.T) {
		f := &fakeAWS{lifecycleState: "Pending:Wait", hookTimeout: 300, hookTransition: lifecycle.TransitionLaunch, ciStatus: StatusRegistrationFailed, statusReason: "trunk ENI could not be attached"}
		res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), launchAction(), meta, "r1")
		if err != nil || res.Outcome != OutcomeLaunchFailed || aws.ToString(f.done[0].LifecycleActionResult) != ResultAbandon {
			t.Fatalf("Start = %+v, %v; calls %v", res, err, f.calls)
		}
		if res.Instance.StatusReason != f.statusReason {
			t.Errorf("status reason %q, want ECS's %q for the log line", res.Instance.StatusReason, f.statusReason)
		}
	})
	t.Run("into the warm pool: completed at once, nothing read", func(t *testing.T) {
		f := &fakeAWS{}
		a := launchAction()
		a.Destination = contract.DestinationWarmPool
		res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), a, meta, "r1")
		if err != nil || res.Outcome != OutcomeLaunchIntoWarmPool || !slices.Equal(f.calls, []string{"CompleteLifecycleAction"}) {
			t.Fatalf("Start = %+v, %v; calls %v, want only CompleteLifecycleAction", res, err, f.calls)
		}
	})
	t.Run("out of the warm pool, drained by us: reactivated, mark removed, then let in", func(t *testing.T) {
		f := &fakeAWS{lifecycleState: "Pending:Wait", hookTimeout: 300, hookTransition: lifecycle.TransitionLaunch, ciStatus: StatusDraining,
			chain: Chain{Start: t0.Add(-time.Hour), Due: t0, MessageID: "m0", Token: "old"}.String()}
		a := launchAction()
		a.Origin = contract.OriginWarmPool
		res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), a, meta, "r1")
		if err != nil || res.Outcome != OutcomeLaunchReady {
			t.Fatalf("Start = %+v, %v; calls %v", res, err, f.calls)
		}
		if len(f.drain) != 1 || f.drain[0].Status != ecstypes.ContainerInstanceStatusActive {
			t.Errorf("state updates %+v, want one to ACTIVE", f.drain)
		}
		if len(f.deletes) != 1 || aws.ToString(f.deletes[0].Attributes[0].Name) != ChainAttribute {
			t.Errorf("attribute deletes %+v, want the chain mark's: a later drain would adopt its old start", f.deletes)
		}
	})
}

// The daemon check asks ECS which daemon services the instance's placement
// allows and which have a task RUNNING on it.
func TestLaunchWaitsForDaemons(t *testing.T) {
	p := testPolicy
	p.LaunchDaemons = true
	run := func(f *fakeAWS) Result {
		t.Helper()
		d := newTestDrainer(f, t0.Add(time.Minute))
		d.policy = p
		res, err := alone(d).Continue(context.Background(), launchState(), "r2")
		if err != nil {
			t.Fatalf("Continue error: %v; calls %v", err, f.calls)
		}
		return res
	}
	logs := ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/c1/logs"), Group: aws.String("service:logs"), LastStatus: aws.String("RUNNING"), DesiredStatus: aws.String("RUNNING")}
	base := func() *fakeAWS {
		return &fakeAWS{lifecycleState: "Pending:Wait", hookTimeout: 300, hookTransition: lifecycle.TransitionLaunch, ciStatus: "ACTIVE", daemons: []string{"logs"}}
	}
	if res := run(base()); res.Outcome != OutcomeRequeued || res.Waiting != "no RUNNING task of daemon service logs" {
		t.Errorf("daemon not running: %+v, want re-queued waiting for logs", res)
	}
	f := base()
	f.tasks = []ecstypes.Task{logs}
	if res := run(f); res.Outcome != OutcomeLaunchReady {
		t.Errorf("daemon running: %+v, want launch_ready", res)
	}
	f = base()
	f.daemonsForbidden = true
	if res := run(f); res.Outcome != OutcomeLaunchReady {
		t.Errorf("daemon whose memberOf excludes the instance: %+v, want launch_ready (it will never run there)", res)
	}
}

// An ECS event that a container instance is ACTIVE and connected lets its
// launch through at once, but only for an instance that waits on one of the
// drainer's launch hooks.
func TestNextOnReady(t *testing.T) {
	s := State{Cluster: "c1", InstanceID: testInstance, Launch: true, GroupName: "asg"}
	named := s
	named.HookName = "hook"
	tests := []struct {
		name string
		s    State
		o    ReadyObservation
		want Step
	}{
		{"not described yet", s, ReadyObservation{}, Step{Kind: FindInstance}},
		{"described disconnected after the event", s, ReadyObservation{Instance: ci(StatusActive, false)}, Step{Kind: End, Outcome: OutcomeLaunchWaiting}},
		{"usable: is it launching?", s, ReadyObservation{Instance: ci(StatusActive, true)}, Step{Kind: CheckAction}},
		{"in service already", s, ReadyObservation{Instance: ci(StatusActive, true), Action: ActionGone}, Step{Kind: End, Outcome: OutcomeNotLaunching}},
		{"another group's", s, ReadyObservation{Instance: ci(StatusActive, true), Action: ActionPending, NotOurs: true}, Step{Kind: End, Outcome: OutcomeNotOurs}},
		{"which hook?", s, ReadyObservation{Instance: ci(StatusActive, true), Action: ActionPending}, Step{Kind: DescribeHook}},
		{"no launch hook of ours", s, ReadyObservation{Instance: ci(StatusActive, true), Action: ActionPending, HookMissing: true}, Step{Kind: End, Outcome: OutcomeHookMissing}},
		{"let in", named, ReadyObservation{Instance: ci(StatusActive, true), Action: ActionPending}, Step{Kind: Complete, Outcome: OutcomeLaunchReady, Result: ResultContinue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextOnReady(tt.s, tt.o, testPolicy); got != tt.want {
				t.Fatalf("NextOnReady = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A drain into the warm pool that set the instance DRAINING leaves the
// chain mark when it completes, even at its first hop: without it the
// launch gate cannot tell our drain from an operator's when the instance
// comes back DRAINING, and would abandon it. A drain out of the group
// writes none.
func TestADrainIntoTheWarmPoolLeavesItsMark(t *testing.T) {
	for _, into := range []bool{true, false} {
		f := &fakeAWS{lifecycleState: "Warmed:Pending:Wait", hookTimeout: 300, ciStatus: "ACTIVE"}
		if !into {
			f.lifecycleState = "Terminating:Wait"
		}
		a := testAction()
		if into {
			a.Origin, a.Destination = "AutoScalingGroup", contract.DestinationWarmPool
		}
		res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), a, lifecycle.HookMetadata{Cluster: "c1"}, "r1")
		if err != nil || res.Outcome != OutcomeDrained {
			t.Fatalf("into the pool %v: Start = %+v, %v", into, res, err)
		}
		if marked := len(f.marks) == 1; marked != into {
			t.Errorf("into the pool %v: marks %v", into, f.marks)
		}
	}
}
