package handler_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/emf"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

// metrics reads every line the handler wrote as CloudWatch Logs would,
// failing on one the specification refuses, and sums them per metric and
// dimension set.
func (r *rig) metrics() map[string]float64 {
	r.t.Helper()
	var data []emf.Datum
	for _, l := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		d, err := emf.Parse([]byte(l))
		if err != nil {
			r.t.Fatalf("line %s: %v", l, err)
		}
		data = append(data, d...)
	}
	sums := map[string]float64{}
	for _, t := range emf.Totals(data) {
		sums[t.Key()] = t.Sum
	}
	return sums
}

// drainEvents waits for the drain state change events the function put to
// reach the bus's rule, and returns their states for instance.
func (r *rig) drainEvents(instance string, want int) []contract.DrainStateDetail {
	r.t.Helper()
	var got []contract.DrainStateDetail
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		got = got[:0]
		for _, d := range r.announced {
			if d.InstanceID == instance {
				got = append(got, d)
			}
		}
		r.mu.Unlock()
		if len(got) >= want {
			break
		}
	}
	return got
}

// states are the events' states in the order a drain passes them:
// EventBridge does not keep the order of the entries of one PutEvents.
func states(ds []contract.DrainStateDetail) string {
	order := contract.DrainStates()
	slices.SortStableFunc(ds, func(a, b contract.DrainStateDetail) int {
		return slices.Index(order, a.State) - slices.Index(order, b.State)
	})
	var s []string
	for _, d := range ds {
		s = append(s, d.State)
	}
	return strings.Join(s, ",")
}

// A drain is counted once when it starts and once when it ends, by outcome,
// with its duration; it is announced STARTED and COMPLETED on the default
// bus, where a team's rule receives it. A duplicate of its event, which
// finds the chain's mark, counts and announces nothing more.
func TestADrainIsMeasuredAndAnnounced(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.service(web)
	r.terminate(ids[0])
	event := r.lastEventBody()
	r.run(5 * time.Second)
	r.send(event) // EventBridge delivered the event again
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])

	m := r.metrics()
	group := "{Cluster=c1,AutoScalingGroup=asg-1"
	for key, want := range map[string]float64{
		"DrainsStarted" + group + "}":               1,
		"DrainsEnded" + group + ",Outcome=drained}": 1,
	} {
		if m[key] != want {
			t.Errorf("%s = %v, want %v; all: %v", key, m[key], want, m)
		}
	}
	if v, ok := m["TasksLeftAtDeadline"+group+",Outcome=drained}"]; ok {
		t.Errorf("tasks left at the deadline of a drain that drained: %v, want none written", v)
	}
	if m["DrainDuration"+group+"}"] <= 0 {
		t.Errorf("no drain duration: %v", m)
	}

	got := r.drainEvents(ids[0], 2)
	if states(got) != "STARTED,COMPLETED" {
		t.Fatalf("events %s, want STARTED,COMPLETED: %+v", states(got), got)
	}
	done := got[1]
	if done.Outcome != "drained" || done.Result != "CONTINUE" || done.Cluster != "c1" || done.AutoScalingGroupName != "asg-1" ||
		done.LifecycleHookName != "drain-hook" || done.TasksLeft != 0 || done.DurationSeconds <= 0 || done.ContainerInstanceARN == "" {
		t.Errorf("completed event %+v, want outcome drained, CONTINUE, its cluster, group, hook and container instance, no task left, a duration", done)
	}
}

// A drain an ECS event ends (its last task stopped) is counted ended just
// the same, with the lag after that stop.
func TestADrainAnECSEventEndsIsMeasured(t *testing.T) {
	r := newRig(t, defaultPolicy)
	r.routeECSEvents()
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.service(web)
	r.terminate(ids[0])
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	if r.outcomes()["drained"] != 1 || !strings.Contains(r.logs.String(), `"lag_s"`) {
		t.Fatalf("outcomes %v, want the drain ended by an ECS event (a lag_s):\n%s", r.outcomes(), r.logs.String())
	}
	m := r.metrics()
	group := "{Cluster=c1,AutoScalingGroup=asg-1"
	if m["DrainsEnded"+group+",Outcome=drained}"] != 1 || m["DrainDuration"+group+"}"] <= 0 {
		t.Errorf("metrics %v, want one drain ended drained, with its duration", m)
	}
	if _, ok := m["CompletionLag"+group+"}"]; !ok {
		t.Errorf("metrics %v, want the completion lag", m)
	}
	if got := r.drainEvents(ids[0], 2); states(got) != "STARTED,COMPLETED" {
		t.Errorf("events %s, want STARTED,COMPLETED", states(got))
	}
}

// A drain that cannot finish is announced DIAGNOSED with its blocking
// reason and what would unblock it, then TIMED_OUT when DRAINER_STUCK_AFTER
// ends it; its metrics count the tasks left by outcome, and the sweep
// gauges it as stuck on that reason while it waits.
func TestAStuckDrainIsAnnouncedAndGauged(t *testing.T) {
	p := defaultPolicy
	p.StuckAfter = 2 * time.Minute
	r := newRig(t, p)
	ids := r.group(2, true, ecs.Resources{CPU: 2048, Memory: 4096}, 300)
	r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, HostPort: 80, MinimumHealthyPercent: 100, MaximumPercent: 200})
	r.run(10 * time.Second)
	r.terminate(ids[0])
	r.run(45 * time.Second)
	r.invokeDirect(testdataBody(t, "scheduled-event.json"))
	r.run(time.Hour)

	got := r.drainEvents(ids[0], 3)
	if states(got) != "STARTED,DIAGNOSED,TIMED_OUT" {
		t.Fatalf("events %s, want STARTED,DIAGNOSED,TIMED_OUT: %+v", states(got), got)
	}
	diagnosed, ended := got[1], got[2]
	if diagnosed.Reason != "no_capacity" || diagnosed.Reasons["no_capacity"] != 1 || len(diagnosed.Unblock) == 0 || diagnosed.TasksLeft != 1 {
		t.Errorf("diagnosed event %+v, want reason no_capacity for its one task, and what would unblock it", diagnosed)
	}
	if ended.Outcome != contract.OutcomeStuck || ended.Reason != "no_capacity" || ended.TasksLeft != 1 {
		t.Errorf("timed out event %+v, want outcome stuck on no_capacity with its one task left", ended)
	}
	m := r.metrics()
	group := "{Cluster=c1,AutoScalingGroup=asg-1"
	for key, want := range map[string]float64{
		"DrainsEnded" + group + ",Outcome=stuck}":             1,
		"TasksLeftAtDeadline" + group + ",Outcome=stuck}":     1,
		"DrainsInFlight" + group + "}":                        1,
		"StuckDrains" + group + ",Reason=no_capacity}":        1,
		"StuckDrains" + group + ",Reason=deployment_config}":  0,
		"StuckDrains" + group + ",Reason=agent_disconnected}": 0,
	} {
		if v, ok := m[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v; all: %v", key, v, ok, want, m)
		}
	}
	if age := m["OldestDrainAge"+group+"}"]; age < 45 || age > 60 {
		t.Errorf("oldest drain age at the sweep = %v s, want the ~50 s the drain had waited", age)
	}
}
