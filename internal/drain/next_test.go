package drain

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

func testState() State {
	return State{
		Cluster: "c1", GroupName: "asg", HookName: "hook", InstanceID: "i-0123456789abcdef0",
		Start: t0, Deadline: t0.Add(time.Hour), HeartbeatTimeoutSeconds: 300, LastHeartbeat: t0, Attempt: 1,
	}
}

var testPolicy = Policy{PollInterval: 30 * time.Second, MaxDrain: time.Hour}

func active() *Instance   { return &Instance{Found: true, ARN: "ci", Status: StatusActive} }
func draining() *Instance { return &Instance{Found: true, ARN: "ci", Status: StatusDraining} }

var oneTask = []Task{{ARN: "t1", Group: "service:web", LastStatus: "RUNNING", DesiredStatus: "STOPPED"}}

// Next is the whole drain decision. Every row is one reachable state; each
// must lead to exactly the step that keeps the invariants: never complete
// while a task is left before the deadline, never keep polling an action that
// is gone, never let the heartbeat timeout lapse.
func TestNext(t *testing.T) {
	newDrain := testState()
	newDrain.HeartbeatTimeoutSeconds = 0
	pastDeadline := testState()
	pastDeadline.Deadline = t0.Add(-time.Second)
	staleHeartbeat := testState()
	staleHeartbeat.LastHeartbeat = t0.Add(-140 * time.Second) // 140 s + 30 s delay >= 150 s = half of 300 s
	freshHeartbeat := testState()
	freshHeartbeat.LastHeartbeat = t0.Add(-110 * time.Second)
	nearDeadline := testState()
	nearDeadline.Deadline = t0.Add(7 * time.Second)
	shortHeartbeat := testState()
	shortHeartbeat.HeartbeatTimeoutSeconds = 30

	tests := []struct {
		name string
		s    State
		o    Observation
		want Step
	}{
		{"a new drain first reads the hook's heartbeat timeout", newDrain, Observation{Now: t0}, Step{Kind: DescribeHook}},
		{"a hook that no longer exists ends the chain", newDrain, Observation{Now: t0, HookMissing: true}, Step{Kind: End, Outcome: OutcomeHookMissing}},
		{"every hop first checks the action is still pending", testState(), Observation{Now: t0}, Step{Kind: CheckAction}},
		{"an action no longer pending ends the chain without completing", testState(), Observation{Now: t0, Action: ActionGone}, Step{Kind: End, Outcome: OutcomeActionGone}},
		{"a pending action looks up the container instance", testState(), Observation{Now: t0, Action: ActionPending}, Step{Kind: FindInstance}},
		{"an instance not in the cluster is released at once", testState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered}},
		{"an INACTIVE instance is released at once", testState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: "INACTIVE"}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered}},
		{"a DEREGISTERING instance is released at once", testState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: "DEREGISTERING"}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered}},
		{"a REGISTRATION_FAILED instance is released at once", testState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: "REGISTRATION_FAILED"}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered}},
		{"an ACTIVE instance is set DRAINING", testState(), Observation{Now: t0, Action: ActionPending, Instance: active()}, Step{Kind: MarkDraining}},
		{"a DRAINING instance is not set DRAINING again", testState(), Observation{Now: t0, Action: ActionPending, Instance: draining()}, Step{Kind: CountTasks}},
		{"a REGISTERING instance is polled without DRAINING", testState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: StatusRegistering}}, Step{Kind: CountTasks}},
		{"no task left completes", testState(), Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true}, Step{Kind: Complete, Outcome: OutcomeDrained}},
		{"no task left completes even past the deadline, as drained", pastDeadline, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true}, Step{Kind: Complete, Outcome: OutcomeDrained}},
		{"a task still stopping keeps the drain waiting", testState(), Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"tasks left at the deadline complete anyway", pastDeadline, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Complete, Outcome: OutcomeDeadline}},
		{"exactly at the deadline completes", testState(), Observation{Now: t0.Add(time.Hour), Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Complete, Outcome: OutcomeDeadline}},
		{"a heartbeat is sent before half the timeout would pass by the next poll", staleHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Heartbeat}},
		{"after the heartbeat the drain re-queues", staleHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, HeartbeatSent: true}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"no heartbeat while the last one is fresh", freshHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"the last poll lands on the deadline", nearDeadline, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Requeue, Delay: 7 * time.Second}},
		{"a short heartbeat timeout shortens the poll and heartbeats every hop", shortHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Heartbeat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Next(tt.s, tt.o, testPolicy)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Next(%+v) mismatch (-want +got):\n%s", tt.o, diff)
			}
		})
	}
}

// Exhaustive walk: whatever the observation, Next never completes while a
// task is left before the deadline, and never chooses a step whose input it
// already has.
func TestNextNeverReleasesEarly(t *testing.T) {
	instances := []*Instance{nil, {}, active(), draining(), {Found: true, Status: StatusRegistering}, {Found: true, Status: "INACTIVE"}}
	for _, action := range []ActionStatus{ActionUnknown, ActionPending, ActionGone} {
		for _, inst := range instances {
			for _, counted := range []bool{false, true} {
				for _, tasks := range [][]Task{nil, oneTask} {
					for _, now := range []time.Time{t0, t0.Add(59 * time.Minute), t0.Add(time.Hour)} {
						o := Observation{Now: now, Action: action, Instance: inst, TasksCounted: counted, Tasks: tasks}
						step := Next(testState(), o, testPolicy)
						if step.Kind == Complete && step.Outcome != OutcomeNotRegistered && len(tasks) > 0 && now.Before(testState().Deadline) {
							t.Errorf("Next(%+v) = %+v: completed with a task left before the deadline", o, step)
						}
						if step.Kind == Complete && (action != ActionPending || inst == nil) {
							t.Errorf("Next(%+v) = %+v: completed without seeing the action pending and the instance", o, step)
						}
						if step.Kind == CountTasks && counted {
							t.Errorf("Next(%+v) = %+v: counted tasks twice", o, step)
						}
						if step.Kind == Requeue && (step.Delay < time.Second || step.Delay > maxDelay) {
							t.Errorf("Next(%+v) = %+v: delay outside SQS's 1..900 s", o, step)
						}
					}
				}
			}
		}
	}
}

func TestRequeueDelayStaysWithinSQSAndHeartbeatLimits(t *testing.T) {
	long := testState()
	long.HeartbeatTimeoutSeconds = 7200
	long.Deadline = t0.Add(48 * time.Hour)
	tests := []struct {
		name string
		s    State
		p    Policy
		want time.Duration
	}{
		{"the poll interval when nothing is closer", testState(), testPolicy, 30 * time.Second},
		{"capped at SQS's 900 s timer", long, Policy{PollInterval: 15 * time.Minute}, 900 * time.Second},
		{"capped at half the heartbeat timeout", testState(), Policy{PollInterval: 15 * time.Minute}, 150 * time.Second},
		{"never below one second", func() State { s := testState(); s.Deadline = t0.Add(100 * time.Millisecond); return s }(), testPolicy, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RequeueDelay(tt.s, t0, tt.p); got != tt.want {
				t.Fatalf("RequeueDelay = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeadlineNeverPassesTheGlobalTimeout(t *testing.T) {
	tests := []struct {
		name             string
		maxDrain, global time.Duration
		want             time.Duration
	}{
		{"max drain inside the global timeout", time.Hour, GlobalTimeout(300 * time.Second), time.Hour},
		{"global timeout of a 30 s hook (50 min) caps a 1 h max drain", time.Hour, GlobalTimeout(30 * time.Second), 49 * time.Minute},
		{"48 h cap for long heartbeat timeouts", 48 * time.Hour, GlobalTimeout(7200 * time.Second), 48*time.Hour - time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Deadline(t0, tt.maxDrain, tt.global).Sub(t0); got != tt.want {
				t.Fatalf("Deadline - start = %v, want %v", got, tt.want)
			}
		})
	}
}
