package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// diagnosisJSON is the function's "drain diagnosis changed" line for
// instance id, written s seconds after t0, with tasks its findings as
// service=reason or service=reason/resource.
func diagnosisJSON(id string, s float64, tasks ...string) string {
	var fs []string
	reasons := map[string]int{}
	for i, t := range tasks {
		service, rest, _ := strings.Cut(t, "=")
		reason, resource, _ := strings.Cut(rest, "/")
		reasons[reason]++
		fs = append(fs, fmt.Sprintf(`{"arn":"arn:aws:ecs:us-east-1:123456789012:task/c/%d","service":%q,"reason":%q,"resource":%q}`, i, service, reason, resource))
	}
	var rs []string
	for r, n := range reasons {
		rs = append(rs, fmt.Sprintf("%q:%d", r, n))
	}
	return fmt.Sprintf(`{"time":%q,"level":"WARN","msg":"drain diagnosis changed","instance_id":%q,"attempt":1,"reasons":{%s},"tasks":[%s],"unblock":["add capacity"]}`,
		at(s).Format(time.RFC3339Nano), id, strings.Join(rs, ","), strings.Join(fs, ","))
}

// outcomeJSON is the function's outcome line for instance id.
func outcomeJSON(id, outcome string) string {
	return fmt.Sprintf(`{"time":%q,"level":"WARN","msg":"drain finished","instance_id":%q,"outcome":%q,"tasks":[{"arn":"t","why":"x"}]}`,
		at(30).Format(time.RFC3339Nano), id, outcome)
}

// terminateAction is the drainer's terminate action of instance id,
// started at t0 and completed with CONTINUE s seconds later.
func terminateAction(id string, s float64) autoscaling.ActionView {
	return autoscaling.ActionView{Group: "g", Hook: "ecs-drainer", InstanceID: id, Token: "tok-" + id, Transition: autoscaling.TransitionTerminating,
		Started: t0, End: autoscaling.EndCompleted, Result: autoscaling.ResultContinue, Ended: at(s)}
}

// Stuck drains are the soak's only evidence that the diagnosis names the
// true reason of each kind of drain that cannot finish before its deadline,
// and that DRAINER_STUCK_AFTER off ends none early: read from the
// function's own lines, each way of breaking that must be reported, and a
// drain that kept it must not be.
func TestCheckStuckReportsEachViolation(t *testing.T) {
	port := stuckDrain{id: "i-p", reason: contract.ReasonNoCapacity, service: "pinned", resource: "host port 8080"}
	config := stuckDrain{id: "i-c", reason: contract.ReasonDeploymentConfig, service: "fixed"}
	agent := stuckDrain{id: "i-a", reason: contract.ReasonAgentDisconnected, service: "movable", disconnected: at(-1)}
	tests := []struct {
		name    string
		drains  []stuckDrain
		actions []autoscaling.ActionView
		lines   []string
		counts  stuckCounts
		want    []string // a substring of each violation, in order
	}{
		{"each kind diagnosed at its first hop, held to its deadline",
			[]stuckDrain{port, config, agent},
			[]autoscaling.ActionView{terminateAction("i-p", 30.4), terminateAction("i-c", 30), terminateAction("i-a", 9.5)},
			[]string{diagnosisJSON("i-p", 0.3, "pinned=no_capacity/host port 8080"), diagnosisJSON("i-c", 0.2, "fixed=deployment_config"),
				diagnosisJSON("i-a", 0.5, "movable=agent_disconnected"), outcomeJSON("i-p", "deadline_reached"), outcomeJSON("i-a", "agent_disconnected")},
			stuckCounts{Drains: 3, Diagnosed: 3}, nil},
		{"the true reason after another, and other tasks beside it",
			[]stuckDrain{port},
			[]autoscaling.ActionView{terminateAction("i-p", 30)},
			[]string{diagnosisJSON("i-p", 0.3, "pinned=placing"), diagnosisJSON("i-p", 2.3, "pinned=no_capacity/host port 8080", "=standalone")},
			stuckCounts{Drains: 1, Diagnosed: 1}, nil},
		{"a drain ended early with outcome stuck",
			[]stuckDrain{config},
			[]autoscaling.ActionView{terminateAction("i-c", 12)},
			[]string{diagnosisJSON("i-c", 0.2, "fixed=deployment_config"), outcomeJSON("i-c", contract.OutcomeStuck)},
			stuckCounts{Drains: 1, Diagnosed: 1, Early: 1},
			[]string{"i-c: stuck drain (deployment_config) ended 12s after it started, before 30s with DRAINER_STUCK_AFTER off",
				"i-c: drain ended with outcome stuck, with DRAINER_STUCK_AFTER off"}},
		{"any other drain ended with outcome stuck",
			nil, nil, []string{outcomeJSON("i-9", contract.OutcomeStuck)},
			stuckCounts{Early: 1}, []string{"i-9: drain ended with outcome stuck"}},
		{"a dead agent's drain released before DRAINER_DISCONNECTED_AFTER",
			[]stuckDrain{agent},
			[]autoscaling.ActionView{terminateAction("i-a", 5)},
			[]string{diagnosisJSON("i-a", 0.5, "movable=agent_disconnected")},
			stuckCounts{Drains: 1, Diagnosed: 1, Early: 1}, []string{"i-a: stuck drain (agent_disconnected) ended 5s after it started, before 9s"}},
		{"no diagnosis line",
			[]stuckDrain{config},
			[]autoscaling.ActionView{terminateAction("i-c", 30)},
			nil,
			stuckCounts{Drains: 1}, []string{"i-c: stuck drain not diagnosed deployment_config for service fixed before its deadline; diagnosed nothing"}},
		{"diagnosed with the wrong reason",
			[]stuckDrain{agent},
			[]autoscaling.ActionView{terminateAction("i-a", 9)},
			[]string{diagnosisJSON("i-a", 0.5, "movable=stopping")},
			stuckCounts{Drains: 1}, []string{"i-a: stuck drain not diagnosed agent_disconnected for service movable before its deadline; diagnosed [movable=stopping]"}},
		{"one of the service's tasks given another reason",
			[]stuckDrain{config},
			[]autoscaling.ActionView{terminateAction("i-c", 30)},
			[]string{diagnosisJSON("i-c", 0.5, "fixed=deployment_config", "fixed=unknown")},
			stuckCounts{Drains: 1}, []string{"diagnosed [fixed=deployment_config fixed=unknown]"}},
		{"no_capacity naming another resource",
			[]stuckDrain{port},
			[]autoscaling.ActionView{terminateAction("i-p", 30)},
			[]string{diagnosisJSON("i-p", 0.5, "pinned=no_capacity/memory")},
			stuckCounts{Drains: 1}, []string{"not diagnosed no_capacity (host port 8080) for service pinned before its deadline; diagnosed [pinned=no_capacity (memory)]"}},
		{"only another service diagnosed",
			[]stuckDrain{config},
			[]autoscaling.ActionView{terminateAction("i-c", 30)},
			[]string{diagnosisJSON("i-c", 0.5, "web=deployment_config")},
			stuckCounts{Drains: 1}, []string{"diagnosed [web=deployment_config]"}},
		{"diagnosed only after its deadline",
			[]stuckDrain{port},
			[]autoscaling.ActionView{terminateAction("i-p", 31)},
			[]string{diagnosisJSON("i-p", 30.5, "pinned=no_capacity/host port 8080")},
			stuckCounts{Drains: 1}, []string{"diagnosed nothing"}},
		{"diagnosed at its deadline",
			[]stuckDrain{port},
			[]autoscaling.ActionView{terminateAction("i-p", 30.2)},
			[]string{diagnosisJSON("i-p", 30, "pinned=no_capacity/host port 8080")},
			stuckCounts{Drains: 1, Diagnosed: 1}, nil},
		{"a stuck drain whose action never ended",
			[]stuckDrain{config},
			[]autoscaling.ActionView{{InstanceID: "i-c", Started: t0, Active: true}},
			[]string{diagnosisJSON("i-c", 0.5, "fixed=deployment_config")},
			stuckCounts{Drains: 1, Diagnosed: 1}, []string{"i-c: stuck drain (deployment_config): action never ended"}},
		{"a stuck drain whose action lapsed",
			[]stuckDrain{config},
			[]autoscaling.ActionView{func() autoscaling.ActionView {
				a := terminateAction("i-c", 120)
				a.End = autoscaling.EndTimedOut
				return a
			}()},
			[]string{diagnosisJSON("i-c", 0.5, "fixed=deployment_config")},
			stuckCounts{Drains: 1, Diagnosed: 1}, []string{`i-c: stuck drain (deployment_config): action ended "timed-out"`}},
		{"a stuck drain with no action of the drainer's hook",
			[]stuckDrain{config}, nil, nil,
			stuckCounts{Drains: 1}, []string{"i-c: stuck drain (deployment_config) has no lifecycle action of the drainer's hook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newOutcomeLog(nil)
			for _, line := range tt.lines {
				if _, err := l.Write([]byte(line + "\n")); err != nil {
					t.Fatal(err)
				}
			}
			actions := map[string]autoscaling.ActionView{}
			for _, a := range tt.actions {
				actions[a.InstanceID] = a
			}
			counts, got := checkStuck(stuckRecords{drains: tt.drains, actions: actions, diagnoses: l.diagnosesByInstance(),
				endedStuck: l.endedWith(contract.OutcomeStuck), maxDrain: 30 * time.Second, disconnectedAfter: 10 * time.Second})
			if diff := cmp.Diff(tt.counts, counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			wantViolations(t, got, tt.want)
		})
	}
}

// wantViolations holds a check's violations to want, in order, each
// saying its want.
func wantViolations(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d violations %q, want %d like %q", len(got), got, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("violation %d = %q, want it to say %q", i, got[i], w)
		}
	}
}
