package localdeploy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

// The demo's comparison rests on these two figures: they must be read from
// the tasks' own timestamps exactly, otherwise the gate's advantage would be
// an artefact of when the watch looked. A task stopped and its replacement
// placed in the same scheduler pass must leave no gap, a task told to stop
// no longer serves, and only the window counts.
func TestMeasureCapacityReadsTheTasksTimestamps(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	const never = -1 // a timestamp not set yet
	task := func(created, started, stopping, stopped float64) ecs.TaskView {
		v := ecs.TaskView{Group: "service:web", CreatedAt: at(created)}
		for _, f := range []struct {
			s  float64
			to *time.Time
		}{{started, &v.StartedAt}, {stopping, &v.StoppingAt}, {stopped, &v.StoppedAt}} {
			if f.s != never {
				*f.to = at(f.s)
			}
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		tasks   []ecs.TaskView
		desired int
		want    Capacity
	}{
		{"steady", []ecs.TaskView{task(-5, -4, never, never), task(-5, -4, never, never)}, 2, Capacity{Desired: 2, MinRunning: 2}},
		{"one stopped and replaced in the same pass, started 2 s later",
			[]ecs.TaskView{task(-5, -4, 10, 13), task(-5, -4, never, never), task(10, 12, never, never)}, 2,
			Capacity{Desired: 2, MinRunning: 1}},
		{"one stopped with no place for 30 s",
			[]ecs.TaskView{task(-5, -4, 10, 13), task(-5, -4, never, never), task(40, 41, never, never)}, 2,
			Capacity{Desired: 2, Unplaced: 30, MinRunning: 1}},
		{"two missing for 10 s, one for 5 more",
			[]ecs.TaskView{task(-5, -4, 20, 23), task(-5, -4, 20, 23), task(-5, -4, never, never), task(30, 31, never, never), task(35, 36, never, never)}, 3,
			Capacity{Desired: 3, Unplaced: 25, MinRunning: 1}},
		{"deregistered without StoppingAt", []ecs.TaskView{task(-5, -4, never, 50), task(-5, -4, never, never)}, 2,
			Capacity{Desired: 2, Unplaced: 10, MinRunning: 1}},
		{"a gap outside the window does not count", []ecs.TaskView{task(-50, -49, -40, -39), task(-20, -19, never, never), task(-5, -4, never, never)}, 2,
			Capacity{Desired: 2, MinRunning: 2}},
		{"another service's tasks do not count", []ecs.TaskView{task(-5, -4, never, never), {Group: "service:api", CreatedAt: at(-5)}}, 1,
			Capacity{Desired: 1, MinRunning: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MeasureCapacity(tc.tasks, "service:web", tc.desired, at(0), at(60))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MeasureCapacity over 0..60 s (-want +got):\n%s", diff)
			}
		})
	}
}

// The demo fails on a launch the gate let through before ECS could use the
// instance, or left pending: each such launch must be named, and a launch
// without the gate, or completed once the instance is usable, must not be.
func TestLaunchViolations(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	usable := t0.Add(10 * time.Second)
	for _, tc := range []struct {
		name string
		l    Launch
		want bool
	}{
		{"ungated", Launch{Usable: usable}, false},
		{"ungated and never usable", Launch{}, false},
		{"CONTINUE once usable", Launch{Gated: true, Usable: usable, Ended: usable.Add(time.Millisecond), End: autoscaling.EndCompleted, Result: autoscaling.ResultContinue}, false},
		{"CONTINUE at the instant it became usable", Launch{Gated: true, Usable: usable, Ended: usable, End: autoscaling.EndCompleted, Result: autoscaling.ResultContinue}, false},
		{"CONTINUE before usable", Launch{Gated: true, Usable: usable, Ended: usable.Add(-time.Millisecond), End: autoscaling.EndCompleted, Result: autoscaling.ResultContinue}, true},
		{"CONTINUE and never usable", Launch{Gated: true, Ended: usable, End: autoscaling.EndCompleted, Result: autoscaling.ResultContinue}, true},
		{"ABANDON before usable", Launch{Gated: true, Ended: usable, End: autoscaling.EndCompleted, Result: autoscaling.ResultAbandon}, false},
		{"ABANDON once usable", Launch{Gated: true, Usable: usable, Ended: usable.Add(time.Second), End: autoscaling.EndCompleted, Result: autoscaling.ResultAbandon}, true},
		{"left pending", Launch{Gated: true, Usable: usable}, true},
		{"into the warm pool, CONTINUE at once", Launch{Gated: true, IntoWarmPool: true, Ended: usable, End: autoscaling.EndCompleted, Result: autoscaling.ResultContinue}, false},
		{"into the warm pool, left pending", Launch{Gated: true, IntoWarmPool: true}, true},
		{"lapsed to the default result", Launch{Gated: true, Usable: usable, Ended: usable.Add(time.Minute), End: autoscaling.EndTimedOut, Result: autoscaling.ResultContinue}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.l.InstanceID = "i-1"
			if got := tc.l.Violation(); (got != "") != tc.want {
				t.Errorf("Violation() of %+v = %q, want a violation: %v", tc.l, got, tc.want)
			}
		})
	}
}
