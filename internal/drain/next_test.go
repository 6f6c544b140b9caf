package drain

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

// diagnosedState is a drain whose tasks were diagnosed at t0, with the
// instance's counts of a busy() one.
func diagnosedState() State {
	s := testState()
	s.DiagnosedAt = t0
	return s
}

func testState() State {
	return State{
		Cluster: "c1", GroupName: "asg", HookName: "hook", InstanceID: "i-0123456789abcdef0",
		Start: t0, Deadline: t0.Add(time.Hour), HeartbeatTimeoutSeconds: 300, LastHeartbeat: t0, Attempt: 1,
	}
}

var testPolicy = Policy{PollInterval: 30 * time.Second, MaxDrain: time.Hour, OnTimeout: "continue", StopGrace: 2 * time.Minute, StaleAfter: 15 * time.Minute, MaxLaunch: 10 * time.Minute}

func withPolicy(s State, onTimeout string) State {
	s.OnTimeout = onTimeout
	return s
}

func withToken(s State, token string) State {
	s.Token = token
	return s
}

func active() *Instance   { return &Instance{Found: true, ARN: "ci", Status: StatusActive} }
func draining() *Instance { return &Instance{Found: true, ARN: "ci", Status: StatusDraining} }
func busy() *Instance     { return &Instance{Found: true, ARN: "ci", Status: StatusDraining, Busy: true} }

var oneTask = []Task{{ARN: "t1", Group: "service:web", LastStatus: "RUNNING", DesiredStatus: "STOPPED"}}

// Next is the whole drain decision. Every row is one reachable state; each
// must lead to exactly the step that keeps the invariants: never complete
// while a task is left before the deadline, never keep polling an action that
// is gone, never let the heartbeat timeout lapse.
func TestNext(t *testing.T) {
	newDrain := diagnosedState()
	newDrain.HeartbeatTimeoutSeconds = 0
	pastDeadline := diagnosedState()
	pastDeadline.Deadline = t0.Add(-time.Second)
	staleHeartbeat := diagnosedState()
	staleHeartbeat.LastHeartbeat = t0.Add(-140 * time.Second) // 140 s + 30 s delay >= 150 s = half of 300 s
	freshHeartbeat := diagnosedState()
	freshHeartbeat.LastHeartbeat = t0.Add(-60 * time.Second) // 60 s + 30 s delay < 150 s, and 60 s < 75 s
	quarterHeartbeat := diagnosedState()
	quarterHeartbeat.LastHeartbeat = t0.Add(-80 * time.Second) // 80 s + 30 s < 150 s, but 80 s >= 75 s
	nearDeadline := diagnosedState()
	nearDeadline.Deadline = t0.Add(7 * time.Second)
	shortHeartbeat := diagnosedState()
	shortHeartbeat.HeartbeatTimeoutSeconds = 30
	stopped := withPolicy(diagnosedState(), "stop-tasks")
	stopped.Deadline, stopped.TasksStoppedAt = t0, t0
	continued := withToken(diagnosedState(), "tok")
	continued.Attempt, continued.Parent = 3, "m1"

	undiagnosed := testState()
	blocked := diagnosedState()
	blocked.StuckAfterSeconds, blocked.BlockedSince = 600, t0.Add(-10*time.Minute)
	blockedBriefly := blocked
	blockedBriefly.BlockedSince = t0.Add(-time.Minute)
	tests := []struct {
		name string
		s    State
		o    Observation
		want Step
	}{
		{"a new drain first reads the hook's heartbeat timeout", newDrain, Observation{Now: t0}, Step{Kind: DescribeHook}},
		{"a hook that no longer exists ends the chain", newDrain, Observation{Now: t0, HookMissing: true}, Step{Kind: End, Outcome: OutcomeHookMissing}},
		{"every hop first checks the action is still pending", diagnosedState(), Observation{Now: t0}, Step{Kind: CheckAction}},
		{"an action no longer pending ends the chain without completing", diagnosedState(), Observation{Now: t0, Action: ActionGone}, Step{Kind: End, Outcome: OutcomeActionGone}},
		{"a pending action looks up the container instance", diagnosedState(), Observation{Now: t0, Action: ActionPending}, Step{Kind: FindInstance}},
		{"an instance not in the cluster is released at once", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered, Result: ResultContinue}},
		{"an INACTIVE instance is released at once", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: "INACTIVE"}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered, Result: ResultContinue}},
		{"a DEREGISTERING instance is released at once", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: "DEREGISTERING"}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered, Result: ResultContinue}},
		{"a REGISTRATION_FAILED instance is released at once", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: "REGISTRATION_FAILED"}}, Step{Kind: Complete, Outcome: OutcomeNotRegistered, Result: ResultContinue}},
		{"an ACTIVE instance is set DRAINING", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: active()}, Step{Kind: MarkDraining}},
		{"a DRAINING instance is not set DRAINING again", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: draining()}, Step{Kind: CountTasks}},
		{"a REGISTERING instance is polled without DRAINING", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: StatusRegistering}}, Step{Kind: CountTasks}},
		{"no task left completes", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true}, Step{Kind: Complete, Outcome: OutcomeDrained, Result: ResultContinue}},
		{"no task left completes even past the deadline, as drained", pastDeadline, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true}, Step{Kind: Complete, Outcome: OutcomeDrained, Result: ResultContinue}},
		{"a busy instance has tasks left: no need to list them before the deadline", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: busy()}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"a busy instance not yet diagnosed lists its tasks, to say why each is left", undiagnosed, Observation{Now: t0, Action: ActionPending, Instance: busy()}, Step{Kind: CountTasks}},
		{"a busy instance whose counts fell since its diagnosis is making progress: no new look", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: StatusDraining, Busy: true, Running: 2}}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"a blocked drain whose counts changed may be blocked no more: it lists them again", blockedBriefly, Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: StatusDraining, Busy: true, Running: 2}}, Step{Kind: CountTasks}},
		{"a busy instance diagnosed five minutes ago lists them again", diagnosedState(), Observation{Now: t0.Add(5 * time.Minute), Action: ActionPending, Instance: busy()}, Step{Kind: CountTasks}},
		{"tasks listed are diagnosed", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask}, Step{Kind: Diagnose}},
		{"every task blocked for DRAINER_STUCK_AFTER: the timeout policy applies early", blocked, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, ProtectionChecked: true, Diagnosed: true}, Step{Kind: Complete, Outcome: OutcomeStuck, Result: ResultContinue}},
		{"blocked for less than DRAINER_STUCK_AFTER: the drain waits", blockedBriefly, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"a busy ACTIVE instance is still set DRAINING first", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: &Instance{Found: true, Status: StatusActive, Busy: true}}, Step{Kind: MarkDraining}},
		{"a busy instance at the deadline lists its tasks, to say why each is left", pastDeadline, Observation{Now: t0, Action: ActionPending, Instance: busy()}, Step{Kind: CountTasks}},
		{"a busy instance after its tasks were stopped lists them, for the log at the end of the grace", stopped, Observation{Now: t0, Action: ActionPending, Instance: busy()}, Step{Kind: CountTasks}},
		{"a busy instance still sends its heartbeat when due", staleHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: busy()}, Step{Kind: Heartbeat}},
		{"a task still stopping keeps the drain waiting", diagnosedState(), Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"at the deadline the drain first learns why tasks are left", pastDeadline, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: CheckProtection}},
		{"tasks left at the deadline complete anyway", pastDeadline, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, ProtectionChecked: true, Diagnosed: true}, Step{Kind: Complete, Outcome: OutcomeDeadline, Result: ResultContinue}},
		{"exactly at the deadline completes", diagnosedState(), Observation{Now: t0.Add(time.Hour), Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, ProtectionChecked: true, Diagnosed: true}, Step{Kind: Complete, Outcome: OutcomeDeadline, Result: ResultContinue}},
		{"the abandon policy completes with ABANDON", withPolicy(pastDeadline, "abandon"), Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, ProtectionChecked: true, Diagnosed: true}, Step{Kind: Complete, Outcome: OutcomeAbandoned, Result: ResultAbandon}},
		{"the stop-tasks policy stops what is left", withPolicy(pastDeadline, "stop-tasks"), Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, ProtectionChecked: true, Diagnosed: true}, Step{Kind: StopTasks}},
		{"after stopping, the drain waits for STOPPED", stopped, Observation{Now: t0.Add(time.Minute), Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"the wait for STOPPED ends at the grace, loudly", stopped, Observation{Now: t0.Add(2 * time.Minute), Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Complete, Outcome: OutcomeDeadline, Result: ResultContinue}},
		{"stopped tasks that reached STOPPED complete as drained", stopped, Observation{Now: t0.Add(time.Minute), Action: ActionPending, Instance: draining(), TasksCounted: true}, Step{Kind: Complete, Outcome: OutcomeDrained, Result: ResultContinue}},
		{"a re-queued hop whose message the mark names goes on", continued, Observation{Now: t0, RecordID: "m2", Action: ActionPending, Instance: draining(), Chain: &Chain{MessageID: "m2", Token: "tok"}}, Step{Kind: CountTasks}},
		{"a re-queued hop whose parent the mark names goes on", continued, Observation{Now: t0, RecordID: "m2", Action: ActionPending, Instance: draining(), Chain: &Chain{MessageID: "m1", Token: "tok"}}, Step{Kind: CountTasks}},
		{"a forked hop ends", continued, Observation{Now: t0, RecordID: "m9", Action: ActionPending, Instance: draining(), Chain: &Chain{MessageID: "m3", Token: "tok"}}, Step{Kind: End, Outcome: OutcomeSuperseded}},
		{"a duplicate event does not start a second chain", diagnosedState(), Observation{Now: t0, RecordID: "e2", Action: ActionPending, Instance: draining(), Chain: &Chain{Due: t0.Add(30 * time.Second), MessageID: "m3"}}, Step{Kind: End, Outcome: OutcomeSuperseded}},
		{"a first hop takes over a chain whose message is overdue", diagnosedState(), Observation{Now: t0.Add(16 * time.Minute), RecordID: "", Action: ActionPending, Instance: draining(), Chain: &Chain{Due: t0, MessageID: "m3"}}, Step{Kind: CountTasks}},
		{"a new action's first hop takes over another action's mark", withToken(diagnosedState(), "new"), Observation{Now: t0, Action: ActionPending, Instance: draining(), Chain: &Chain{Due: t0.Add(time.Minute), MessageID: "m3", Token: "old"}}, Step{Kind: CountTasks}},
		{"a heartbeat is sent before half the timeout would pass by the next poll", staleHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Heartbeat}},
		{"after the heartbeat the drain re-queues", staleHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, HeartbeatSent: true, Diagnosed: true}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"a heartbeat is sent once a quarter of the timeout passed, in case the next hop comes late", quarterHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Heartbeat}},
		{"no heartbeat while the last one is fresh", freshHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"the last poll lands on the deadline", nearDeadline, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Requeue, Delay: 7 * time.Second}},
		{"a short heartbeat timeout shortens the poll and heartbeats every hop", shortHeartbeat, Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, Diagnosed: true}, Step{Kind: Heartbeat}},
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
						for _, policy := range []string{"continue", "stop-tasks", "abandon"} {
							for _, checked := range []bool{false, true} {
								o := Observation{Now: now, Action: action, Instance: inst, TasksCounted: counted, Tasks: tasks, ProtectionChecked: checked}
								step := Next(withPolicy(testState(), policy), o, testPolicy)
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
								if step.Kind == Complete && step.Result == ResultAbandon && policy != "abandon" {
									t.Errorf("Next(%+v) with policy %s = %+v: abandoned against the policy", o, policy, step)
								}
							}
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
	// Polls fall on the grid, the multiples of the interval (t0 is one):
	// drains started apart come due together, a hop stays in the round it
	// was due in however late or early it ran, and no look comes more than
	// an interval after the one before.
	const firstHop = time.Duration(-1 << 63)
	grid := []struct {
		name string
		due  time.Duration // from t0; firstHop for none
		now  time.Duration // from t0
		want time.Duration // the next poll, from t0, within SQS's whole seconds
	}{
		{"a first hop 4 s past a grid point", firstHop, 4 * time.Second, 30 * time.Second},
		{"a first hop 16 s past a grid point: the next, within an interval", firstHop, 16 * time.Second, 30 * time.Second},
		{"a first hop just before a grid point: the shortest timer, in that round", firstHop, -400 * time.Millisecond, 600 * time.Millisecond},
		{"on time", 0, 0, 30 * time.Second},
		{"early by SQS's rounding", -400 * time.Millisecond, -200 * time.Millisecond, 30 * time.Second},
		{"2.5 s late: the same round", 0, 2500 * time.Millisecond, 30 * time.Second},
		{"25 s late: still the round after its own", 0, 25 * time.Second, 30 * time.Second},
		{"29.6 s late: a second, the shortest timer", 0, 29600 * time.Millisecond, 30600 * time.Millisecond},
		{"over an interval late: the next grid point", 0, 45 * time.Second, time.Minute},
	}
	for _, g := range grid {
		t.Run("grid/"+g.name, func(t *testing.T) {
			s := testState()
			if g.due != firstHop {
				s.Due = t0.Add(g.due)
			}
			d := RequeueDelay(s, t0.Add(g.now), testPolicy)
			if got := g.now + d; (got - g.want).Abs() > 500*time.Millisecond {
				t.Fatalf("RequeueDelay = %v: next poll at t0%+v, want t0%+v", d, got, g.want)
			}
		})
	}
}

func TestDeadlineNeverPassesTheGlobalTimeout(t *testing.T) {
	tests := []struct {
		name      string
		heartbeat int
		maxDrain  time.Duration
		onTimeout string
		want      time.Duration
	}{
		{"max drain inside the global timeout", 300, time.Hour, "continue", time.Hour},
		{"global timeout of a 30 s hook (50 min) caps a 1 h max drain", 30, time.Hour, "continue", 49 * time.Minute},
		{"48 h cap for long heartbeat timeouts", 7200, 48 * time.Hour, "continue", 48*time.Hour - time.Minute},
		{"stop-tasks keeps its grace before the global timeout", 30, time.Hour, "stop-tasks", 47 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testState()
			s.HeartbeatTimeoutSeconds, s.OnTimeout = tt.heartbeat, tt.onTimeout
			p := testPolicy
			p.MaxDrain = tt.maxDrain
			if got := Deadline(s, p).Sub(t0); got != tt.want {
				t.Fatalf("Deadline - start = %v, want %v", got, tt.want)
			}
		})
	}
}

// A dead host keeps its tasks RUNNING in ECS: once its agent has been
// disconnected for DisconnectedAfter the timeout policy must apply early,
// with its own outcome; a brief disconnect must change nothing, and 0 turns
// the rule off.
func TestADisconnectedAgentEndsTheDrainEarly(t *testing.T) {
	p := testPolicy
	p.DisconnectedAfter = 5 * time.Minute
	since := func(d time.Duration, policy string) State {
		s := withPolicy(diagnosedState(), policy)
		s.Attempt, s.DisconnectedSince = 2, t0.Add(-d)
		return s
	}
	disconnected := &Instance{Found: true, ARN: "ci", Status: StatusDraining, Busy: true, Disconnected: true}
	pending := Observation{Now: t0, Action: ActionPending, Instance: disconnected}
	counted := pending
	counted.TasksCounted, counted.Tasks, counted.ProtectionChecked, counted.Diagnosed = true, oneTask, true, true
	tests := []struct {
		name   string
		s      State
		o      Observation
		policy Policy
		want   Step
	}{
		{"a brief disconnect: still waiting, the busy instance not listed", since(time.Minute, "continue"), pending, p,
			Step{Kind: Requeue, Delay: 30 * time.Second}},
		{"a poll comes back when the disconnect reaches the limit", since(4*time.Minute+50*time.Second, "continue"), pending, p,
			Step{Kind: Requeue, Delay: 10 * time.Second}},
		{"disconnected long enough: the tasks left are listed to say why", since(5*time.Minute, "continue"), pending, p, Step{Kind: CountTasks}},
		{"continue: completed CONTINUE as agent_disconnected", since(5*time.Minute, "continue"), counted, p,
			Step{Kind: Complete, Outcome: OutcomeAgentDisconnected, Result: ResultContinue}},
		{"abandon: completed ABANDON as agent_disconnected", since(10*time.Minute, "abandon"), counted, p,
			Step{Kind: Complete, Outcome: OutcomeAgentDisconnected, Result: ResultAbandon}},
		{"stop-tasks: the tasks are stopped first", since(10*time.Minute, "stop-tasks"), counted, p, Step{Kind: StopTasks}},
		{"the rule off (0): the drain waits for its deadline", since(30*time.Minute, "continue"), counted, testPolicy,
			Step{Kind: Requeue, Delay: 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Next(tt.s, tt.o, tt.policy)); diff != "" {
				t.Fatalf("Next mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("after the stop grace the outcome is still agent_disconnected", func(t *testing.T) {
		s := since(10*time.Minute, "stop-tasks")
		s.TasksStoppedAt = t0.Add(-p.StopGrace)
		if got := Next(s, counted, p); got.Outcome != OutcomeAgentDisconnected || got.Kind != Complete {
			t.Fatalf("Next = %+v, want Complete agent_disconnected", got)
		}
	})
}
