package drain

import (
	"slices"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Every way a drain releases or abandons an instance with tasks still on it
// must end with an outcome the construct's deadline alarm counts, and every
// outcome the alarm counts must be one a drain can end with; otherwise
// instances are released with their tasks silently, or the alarm watches
// for a line the function never logs. The handler logs a drain's outcome as
// it is (under contract.LogKeyOutcome), so the outcome is the log line.
func TestTheDeadlineAlarmCountsEveryReleaseWithTasksLeft(t *testing.T) {
	p := testPolicy
	p.DisconnectedAfter = 5 * time.Minute
	pastDeadline := testState()
	pastDeadline.Deadline = t0.Add(-time.Second)
	stopped := withPolicy(pastDeadline, contract.OnTimeoutStopTasks)
	stopped.TasksStoppedAt = t0.Add(-p.StopGrace)
	disconnected := func(policy string) State {
		s := withPolicy(testState(), policy)
		s.DisconnectedSince = t0.Add(-p.DisconnectedAfter)
		return s
	}
	withTasks := Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true, Tasks: oneTask, ProtectionChecked: true, Diagnosed: true}
	stuck := func(policy string) State {
		s := withPolicy(testState(), policy)
		s.StuckAfterSeconds, s.BlockedSince = 600, t0.Add(-10*time.Minute)
		return s
	}
	drained := Observation{Now: t0, Action: ActionPending, Instance: draining(), TasksCounted: true}

	releases := []struct {
		name string
		s    State
		o    Observation
	}{
		{"continue at the deadline", withPolicy(pastDeadline, contract.OnTimeoutContinue), withTasks},
		{"abandon at the deadline", withPolicy(pastDeadline, contract.OnTimeoutAbandon), withTasks},
		{"stop-tasks at the end of its grace", stopped, withTasks},
		{"continue with the agent disconnected", disconnected(contract.OnTimeoutContinue), withTasks},
		{"abandon with the agent disconnected", disconnected(contract.OnTimeoutAbandon), withTasks},
		{"continue when blocked for DRAINER_STUCK_AFTER", stuck(contract.OnTimeoutContinue), withTasks},
	}
	logged := map[string]bool{}
	for _, r := range releases {
		t.Run(r.name, func(t *testing.T) {
			step := Next(r.s, r.o, p)
			if step.Kind != Complete || !slices.Contains(contract.DeadlineOutcomes(), string(step.Outcome)) {
				t.Fatalf("Next = %+v, want Complete with one of the alarm's outcomes %v", step, contract.DeadlineOutcomes())
			}
			logged[string(step.Outcome)] = true
		})
	}
	for _, o := range contract.DeadlineOutcomes() {
		if !logged[o] {
			t.Errorf("the deadline alarm counts outcome %q, which no release with tasks left ends with", o)
		}
	}
	t.Run("a drained instance does not count", func(t *testing.T) {
		if step := Next(pastDeadline, drained, p); slices.Contains(contract.DeadlineOutcomes(), string(step.Outcome)) {
			t.Fatalf("Next = %+v for an instance with no task left, want an outcome the alarm does not count", step)
		}
	})
}
