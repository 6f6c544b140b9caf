package handler_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/infra/rules"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
)

// The seed case of a drain that cannot finish (containers-roadmap#2467): a
// service on fixed host port 80 at 100 % minimum healthy, and every other
// instance already using port 80. The replacement has nowhere to go and the
// old task never stops. The drain must say so at its first hop, in words,
// not at its deadline an hour later.
func TestADrainThatCannotFinishIsDiagnosedAtItsFirstHop(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{CPU: 2048, Memory: 4096}, 300)
	r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, HostPort: 80, MinimumHealthyPercent: 100, MaximumPercent: 200})
	r.run(10 * time.Second)
	r.terminate(ids[0])
	r.run(5 * time.Second)
	var line map[string]any
	for _, l := range r.logLines() {
		if l["msg"] == "drain diagnosis changed" && l["instance_id"] == ids[0] {
			line = l
			break
		}
	}
	if line == nil {
		t.Fatalf("no diagnosis line for %s within its first hop:\n%s", ids[0], r.logs.String())
	}
	if line["level"] != "WARN" {
		t.Errorf("level %v, want WARN: the drain is blocked", line["level"])
	}
	if got := line["reasons"].(map[string]any)["no_capacity"]; got != float64(1) {
		t.Errorf("reasons %v, want one no_capacity task", line["reasons"])
	}
	unblock := line["unblock"].([]any)
	if !slices.ContainsFunc(unblock, func(s any) bool {
		return strings.Contains(s.(string), "service web needs host port 80") && strings.Contains(s.(string), "none is launching")
	}) {
		t.Errorf("unblock %q, want it to name web's host port 80 and that nothing is launching", unblock)
	}
}

// The same seed case with ECS's Service Action events routed through the
// construct's rule: the placement failure says why the drain cannot finish
// within seconds, naming the instance, its group and hook, and the
// resource ECS reports, independently of the chain's next look.
func TestAPlacementFailureEventDiagnosesTheDrainsItConcerns(t *testing.T) {
	r := newRig(t, defaultPolicy)
	p, err := eventbridge.Compile(rules.ECSServicePlacementFailure([]string{cluster}))
	if err != nil {
		t.Fatal(err)
	}
	r.ecs = append(r.ecs, p)
	ids := r.group(2, true, ecs.Resources{CPU: 2048, Memory: 4096}, 300)
	r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, HostPort: 80, MinimumHealthyPercent: 100, MaximumPercent: 200})
	r.run(10 * time.Second)
	r.terminate(ids[0])
	r.run(5 * time.Second)
	for _, l := range r.logLines() {
		if l["msg"] == "drain diagnosis: ECS could not place a replacement" && l["instance_id"] == ids[0] && l["asg"] == group && l["hook"] == hook {
			if l["reason"] != "RESOURCE:PORTS" || !strings.Contains(fmt.Sprint(l["unblock"]), "service web needs host port") {
				t.Errorf("diagnosis line %v: want ECS's RESOURCE:PORTS and web's host port", l)
			}
			return
		}
	}
	t.Fatalf("no placement diagnosis for %s:\n%s", ids[0], r.logs.String())
}

// The reasons, produced for real on the local AWS and read through the real
// SDK: the first diagnosis of a drain names each.
func TestEachReasonIsDiagnosedOnTheLocalAWS(t *testing.T) {
	big := ecs.Resources{CPU: 2048, Memory: 4096}
	tests := []struct {
		name   string
		reason string
		setup  func(r *rig, ids []string)
	}{
		{"stopping: told to stop, still within its stop timeout", "stopping", func(r *rig, _ []string) {
			r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, StopDelay: 5 * time.Minute})
		}},
		{"protected: scale-in protection, where a drain honours it", "protected", func(r *rig, ids []string) {
			r.aws.ECS.DrainWaitForProtection(true)
			r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512})
			r.run(5 * time.Second)
			for _, task := range r.aws.ECS.Tasks(cluster) {
				if err := r.aws.ECS.SetTaskProtection(cluster, task.ARN, r.clk.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"standalone: a task no service started", "standalone", func(r *rig, ids []string) {
			r.runTask(ids[0], ecs.TaskSpec{Family: "job", CPU: 256, Memory: 512})
		}},
		{"daemon: stops after the others", "daemon", func(r *rig, _ []string) {
			r.service(ecs.ServiceSpec{Name: "logs", Daemon: true, CPU: 128, Memory: 128})
			r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, StopDelay: 5 * time.Minute})
		}},
		{"no_capacity: no room for the replacement", "no_capacity", func(r *rig, _ []string) {
			r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, HostPort: 80, MinimumHealthyPercent: 100})
		}},
		{"deployment_config: 100/100 lets nothing move", "deployment_config", func(r *rig, _ []string) {
			r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, MinimumHealthyPercent: 100, MaximumPercent: 100})
		}},
		{"placing: the replacement is PENDING elsewhere", "placing", func(r *rig, _ []string) {
			// At 100 % minimum healthy the old task waits for its
			// replacement, which takes minutes to start.
			r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 1, CPU: 256, Memory: 512, MinimumHealthyPercent: 100, MaximumPercent: 200, StartDelay: 10 * time.Minute})
			r.clk.Advance(11 * time.Minute) // the first task is RUNNING
			r.aws.Settle()
		}},
		{"unknown: a task in a service's group with no such service", "unknown", func(r *rig, ids []string) {
			r.runTask(ids[0], ecs.TaskSpec{Family: "batch", Group: "service:batch", CPU: 256, Memory: 512})
		}},
		{"agent_disconnected: nothing on the host can stop", "agent_disconnected", func(r *rig, ids []string) {
			r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512})
			r.run(5 * time.Second)
			if err := r.aws.ECS.DisconnectAgent(ids[0]); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, defaultPolicy)
			ids := r.group(2, true, big, 300)
			tt.setup(r, ids)
			r.run(15 * time.Second)
			// A service's task may have started elsewhere: the drain is of
			// the instance that has one.
			victim := ids[0]
			if r.tasksOn(victim) == 0 {
				victim = ids[1]
			}
			r.terminate(victim)
			r.run(3 * time.Second)
			var got map[string]any
			for _, l := range r.logLines() {
				if l["msg"] == "drain diagnosis changed" && l["instance_id"] == victim {
					got = l["reasons"].(map[string]any)
					break
				}
			}
			if got[tt.reason] == nil {
				t.Fatalf("first diagnosis of %s: reasons %v, want %s:\n%s", victim, got, tt.reason, r.logs.String())
			}
		})
	}
}

// The room check looks at one page of a cluster's ACTIVE instances: in a
// larger cluster it is skipped (no room anywhere is unlikely there, and the
// service's events say it), so a batch of first hops never lists thousands
// of instances.
func TestALargeClusterSkipsTheRoomCheck(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(102, true, ecs.Resources{CPU: 2048, Memory: 4096}, 300) // 101 ACTIVE once one drains
	r.service(ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, MinimumHealthyPercent: 100, MaximumPercent: 200, StartDelay: 10 * time.Minute})
	r.clk.Advance(11 * time.Minute)
	r.aws.Settle()
	victim := ids[0]
	for _, id := range ids {
		if r.tasksOn(id) > 0 {
			victim = id
			break
		}
	}
	before := r.aws.ECS.Operations()
	r.terminate(victim)
	r.run(3 * time.Second)
	after := r.aws.ECS.Operations()
	// The hop finds its container instance with one; the room check
	// stops at its first page, which has a next.
	if got := after["ListContainerInstances"] - before["ListContainerInstances"]; got != 2 {
		t.Errorf("%d ListContainerInstances calls, want 2: the hop's own and the room check's one page", got)
	}
	if got := after["DescribeContainerInstances"] - before["DescribeContainerInstances"]; got != 1 {
		t.Errorf("%d DescribeContainerInstances calls, want only the hop's own", got)
	}
	diagnosed := false
	for _, l := range r.logLines() {
		diagnosed = diagnosed || l["msg"] == "drain diagnosis changed" && l["instance_id"] == victim
	}
	if !diagnosed {
		t.Errorf("no diagnosis of %s:\n%s", victim, r.logs.String())
	}
}
