package ecs

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
)

// The pages these tests pin:
//   - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html
//     (the messages and their repeat rule)
//   - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html
//     (the "ECS Service Action" events)
//   - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
//     (what a drain replaces, within which percents)

// describeService reads one service over the wire, as the drainer does.
func (f *fixture) describeService(name string) types.Service {
	f.t.Helper()
	out, err := f.api.DescribeServices(f.ctx, &ecssdk.DescribeServicesInput{Cluster: aws.String(clusterName), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		f.t.Fatalf("DescribeServices(%s): err %v, failures %v", name, err, out.Failures)
	}
	return out.Services[0]
}

// mark is how many events a service has logged so far (fewer than 100).
func (f *fixture) mark(name string) int {
	f.t.Helper()
	return len(f.describeService(name).Events)
}

// messages are a service's event messages over the wire, newest first,
// only those logged after mark.
func (f *fixture) messages(name string, mark int) []string {
	f.t.Helper()
	events := f.describeService(name).Events
	var out []string
	for _, e := range events[:len(events)-mark] {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

// action is an "ECS Service Action" event as EventBridge delivers it.
type actionEnvelope struct {
	DetailType string              `json:"detail-type"`
	Source     string              `json:"source"`
	Resources  []string            `json:"resources"`
	Detail     serviceActionDetail `json:"detail"`
}

// actions are the "ECS Service Action" events sent so far, wrapped in their
// EventBridge envelope, optionally only those with one event name.
func (f *fixture) actions(eventName string) []actionEnvelope {
	f.t.Helper()
	var out []actionEnvelope
	for _, e := range f.recorded(DetailTypeServiceAction) {
		body, err := eventbridge.Envelope(e, "123456789012", "us-east-1", f.clk.Now())
		if err != nil {
			f.t.Fatalf("enveloping %+v: %v", e, err)
		}
		var a actionEnvelope
		if err := json.Unmarshal(body, &a); err != nil {
			f.t.Fatal(err)
		}
		if eventName == "" || a.Detail.EventName == eventName {
			out = append(out, a)
		}
	}
	return out
}

func shortID(arn string) string { return lastSegment(arn) }

// The seed case of a drain that cannot finish: a service on a fixed host
// port, every other ACTIVE instance already using that port. ECS treats
// the port as a resource, so the replacement of the draining instance's
// task cannot be placed, and at minimumHealthyPercent 100 the old task never
// stops. The drainer's diagnosis reads exactly this: the service event
// naming the closest matching instance and the port, the Service Action
// event with reason RESOURCE:PORTS (the rule it routes by must match it),
// and the instances' remaining PORTS. The message must not repeat while
// the cause lasts, except after six hours, and must come back at once when
// the cause returns after being resolved.
func TestAFixedHostPortOnAFullClusterBlocksTheDrain(t *testing.T) {
	f := newFixture(t, Options{})
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		f.register(id, Resources{})
	}
	f.createService(ServiceSpec{Name: "web", DesiredCount: 3, CPU: 256, Memory: 256, HostPort: 80})
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		if got := statuses(f.tasksOn(id, "service:web")); !cmp.Equal(got, []string{"RUNNING/RUNNING"}) {
			t.Fatalf("web tasks on %s before the drain: %v, want one running (port 80 allows one an instance)", id, got)
		}
	}
	old := f.tasksOn("i-1", "service:web")[0]
	drainedAt, mark := f.clk.Now(), f.mark("web")
	f.drain("i-1")

	closest := f.instance("i-2")
	wantMessage := "(service web) was unable to place a task because no container instance met all of its requirements. " +
		"The closest matching (container-instance " + shortID(closest.ARN) + ") is already using a port required by your task. " +
		"For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	if got := f.messages("web", mark); !cmp.Equal(got, []string{wantMessage}) {
		t.Errorf("service events since the drain:\n got %q\nwant %q", got, []string{wantMessage})
	}
	wantAction := actionEnvelope{
		DetailType: "ECS Service Action", Source: "aws.ecs",
		Resources: []string{"arn:aws:ecs:us-east-1:123456789012:service/" + clusterName + "/web"},
		Detail: serviceActionDetail{
			EventType: "ERROR", EventName: "SERVICE_TASK_PLACEMENT_FAILURE",
			ClusterArn:            "arn:aws:ecs:us-east-1:123456789012:cluster/" + clusterName,
			ContainerInstanceArns: []string{closest.ARN}, Reason: "RESOURCE:PORTS",
			CreatedAt: "2026-11-24T05:00:00.000Z",
		},
	}
	if diff := cmp.Diff([]actionEnvelope{wantAction}, f.actions(EventPlacementFailure)); diff != "" {
		t.Errorf("placement failure events (-want +got):\n%s", diff)
	}
	// The rule a diagnosis would deploy must route it.
	rule := []byte(`{"source":["aws.ecs"],"detail-type":["ECS Service Action"],` +
		`"detail":{"eventName":["SERVICE_TASK_PLACEMENT_FAILURE"],"clusterArn":[{"suffix":":cluster/` + clusterName + `"}]}}`)
	pattern, err := eventbridge.Compile(rule)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range f.recorded(DetailTypeServiceAction) {
		if body, _ := eventbridge.Envelope(e, "123456789012", "us-east-1", f.clk.Now()); strings.Contains(string(body), EventPlacementFailure) && !pattern.Matches(body) {
			t.Errorf("the placement failure event %s does not match %s", body, rule)
		}
	}
	var ports []string
	for _, r := range f.describe("i-2").RemainingResources {
		if aws.ToString(r.Name) == "PORTS" {
			ports = r.StringSetValue
		}
	}
	if !slices.Contains(ports, "80") || !slices.Contains(ports, "22") {
		t.Errorf("i-2 remainingResources PORTS = %v, want the reserved ports and 80", ports)
	}

	// An hour on, with the scheduler looking again (another task starts),
	// the old task still runs and nothing is repeated.
	f.clk.Advance(time.Hour)
	f.runTask("i-3", TaskSpec{Family: "batch", CPU: 1, Memory: 1})
	if got := statuses(f.tasksOn("i-1", "service:web")); !cmp.Equal(got, []string{"RUNNING/RUNNING"}) {
		t.Errorf("the old task an hour into the drain: %v, want it running (minimumHealthyPercent 100)", got)
	}
	if got := f.messages("web", mark); len(got) != 1 || len(f.actions(EventPlacementFailure)) != 1 {
		t.Errorf("an hour into the drain: messages %q, %d placement events; want the one of the drain's start", got, len(f.actions(EventPlacementFailure)))
	}

	// Six hours after it was written, the cause not resolved, it is written
	// again, exactly then, and once more six hours later.
	f.clk.Advance(12*time.Hour - time.Hour + time.Minute)
	var times []time.Time
	for _, e := range f.describeService("web").Events {
		if aws.ToString(e.Message) == wantMessage {
			times = append(times, aws.ToTime(e.CreatedAt))
		}
	}
	if want := []time.Time{drainedAt.Add(12 * time.Hour), drainedAt.Add(6 * time.Hour), drainedAt}; !cmp.Equal(times, want) {
		t.Errorf("the placement failure message was written at %v, want %v (newest first)", times, want)
	}
	if got := len(f.actions(EventPlacementFailure)); got != 3 {
		t.Errorf("placement failure events after 12 hours: %d, want 3", got)
	}

	// New capacity resolves it: the replacement starts, the old task stops,
	// the service is steady again.
	resolvedAt := f.clk.Now()
	mark = f.mark("web")
	f.register("i-4", Resources{})
	repl := f.tasksOn("i-4", "service:web")
	if len(repl) != 1 {
		t.Fatalf("web tasks on the new instance: %v, want the replacement", statuses(repl))
	}
	want := []string{
		"(service web) has reached a steady state.",
		"(service web) has stopped 1 running tasks: (task " + shortID(old.ARN) + ").",
		"(service web) has started 1 tasks: (task " + shortID(repl[0].ARN) + ").",
	}
	if got := f.messages("web", mark); !cmp.Equal(got, want) {
		t.Errorf("once capacity came:\n got %q\nwant %q", got, want)
	}
	if got := f.actions(EventSteadyState); len(got) == 0 || got[len(got)-1].Detail.CreatedAt != isoTime(resolvedAt) {
		t.Errorf("steady state events %+v, want the last at %s", got, isoTime(resolvedAt))
	}

	// The cause resolved, the same failure is reported at once when it
	// comes back: drain i-2, whose replacement has nowhere to go either.
	mark = f.mark("web")
	f.drain("i-2")
	if got := f.messages("web", mark); len(got) != 1 || !strings.Contains(got[0], "is already using a port required by your task") {
		t.Errorf("a second drain blocked by the port: messages %q, want the placement failure at once", got)
	}
}

// Not enough CPU or memory on any other instance: the closest matching
// instance is named with the resource it lacks, and the Service Action
// event carries RESOURCE:CPU (as the page's EC2 example does) or
// RESOURCE:MEMORY.
func TestNotEnoughCPUOrMemoryBlocksTheDrain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		other  Resources
		reason string
		text   string
	}{
		{"CPU", Resources{CPU: 512}, ReasonCPU, "has insufficient CPU units available."},
		{"memory", Resources{Memory: 512}, ReasonMemory, "has insufficient memory available."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.register("i-1", Resources{})
			f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 1024, Memory: 1024})
			f.register("i-2", tc.other)
			mark := f.mark("web")
			f.drain("i-1")
			want := "(service web) was unable to place a task because no container instance met all of its requirements. " +
				"The closest matching (container-instance " + shortID(f.instance("i-2").ARN) + ") " + tc.text +
				" For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
			if got := f.messages("web", mark); !cmp.Equal(got, []string{want}) {
				t.Errorf("messages since the drain:\n got %q\nwant %q", got, []string{want})
			}
			if got := f.actions(EventPlacementFailure); len(got) != 1 || got[0].Detail.Reason != tc.reason ||
				!cmp.Equal(got[0].Detail.ContainerInstanceArns, []string{f.instance("i-2").ARN}) {
				t.Errorf("placement failure events %+v, want one with reason %s naming i-2", got, tc.reason)
			}
			f.clk.Advance(time.Hour)
			if got := statuses(f.tasksOn("i-1", "service:web")); !cmp.Equal(got, []string{"RUNNING/RUNNING"}) {
				t.Errorf("the old task an hour on: %v, want it running", got)
			}
		})
	}
}

// minimumHealthyPercent and maximumPercent may leave the scheduler no move
// at all: it may not start a replacement before an old task stops, nor stop
// an old task first. Then no task starts or stops, and the service event
// says so; the rows are the page's own examples (a minimum of 75 % of two
// tasks stops nothing; a maximum of 125 % of three starts nothing) and the
// drain's common settings. The case has no Service Action event of its own
// (none is documented), so none is sent.
func TestPercentsThatAllowNoMoveBlockTheDrain(t *testing.T) {
	const deployment = "(service web) was unable to stop or start tasks during a deployment because of the service deployment " +
		"configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
	for _, tc := range []struct {
		name             string
		desired          int
		minimum, maximum int
		blocked          bool
	}{
		{"100 % and 100 %", 1, 100, 100, true},
		{"75 % of two tasks and 100 %", 2, 75, 100, true},
		{"100 % and 125 % of three tasks", 3, 100, 125, true},
		{"50 % of one task (rounded up to one) and 100 %", 1, 50, 100, true},
		{"100 % and 200 %: starts first", 1, 100, 200, false},
		{"50 % of two tasks and 100 %: stops first", 2, 50, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.register("i-1", Resources{})
			f.createService(ServiceSpec{Name: "web", DesiredCount: tc.desired, CPU: 1, Memory: 1,
				MinimumHealthyPercent: tc.minimum, MaximumPercent: tc.maximum})
			f.register("i-2", Resources{})
			mark := f.mark("web")
			f.drain("i-1")
			f.clk.Advance(59 * time.Minute) // stopped tasks are forgotten at the hour
			got := f.messages("web", mark)
			if tc.blocked {
				if !cmp.Equal(got, []string{deployment}) {
					t.Errorf("messages since the drain:\n got %q\nwant %q", got, []string{deployment})
				}
				if got := statuses(f.tasksOn("i-1", "service:web")); slices.ContainsFunc(got, func(s string) bool { return s != "RUNNING/RUNNING" }) {
					t.Errorf("tasks on the draining instance an hour on: %v, want every one running", got)
				}
				if got := f.tasksOn("i-2", "service:web"); len(got) != 0 {
					t.Errorf("replacements on i-2: %v, want none", statuses(got))
				}
			} else {
				if slices.Contains(got, deployment) || len(f.tasksOn("i-1", "service:web")) == 0 {
					t.Errorf("messages since the drain %q: want the drain to proceed without the deployment message", got)
				}
				if got := f.tasksOn("i-1", "service:web"); slices.ContainsFunc(got, func(k TaskView) bool { return k.LastStatus != "STOPPED" }) {
					t.Errorf("tasks on the draining instance an hour on: %v, want all stopped", statuses(got))
				}
			}
			if got := f.actions(EventPlacementFailure); len(got) != 0 {
				t.Errorf("placement failure events: %+v, want none", got)
			}
		})
	}
}

// A disconnected agent on the draining instance: ECS decides (the
// replacement starts elsewhere and the old task is told to stop) but the
// old task never reaches STOPPED, because no agent is there to stop it, so
// the service never reports a steady state; on reconnection it stops. A
// disconnected agent on the only other instance: the replacement cannot be
// placed, the service event says the closest matching instance
// `encountered error "AGENT"` and the Service Action event's reason is
// AGENT; on reconnection the replacement is placed.
func TestADisconnectedAgentBlocksTheDrain(t *testing.T) {
	t.Run("on the draining instance", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.register("i-1", Resources{})
		f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 1, Memory: 1, StopDelay: 30 * time.Second})
		f.register("i-2", Resources{})
		old := f.tasksOn("i-1", "service:web")[0]
		f.disconnect("i-1")
		mark := f.mark("web")
		f.drain("i-1")
		f.clk.Advance(time.Hour)
		if got := statuses(f.tasksOn("i-1", "service:web")); !cmp.Equal(got, []string{"RUNNING/STOPPED"}) {
			t.Errorf("the old task an hour on: %v, want told to stop and still running", got)
		}
		repl := f.tasksOn("i-2", "service:web")
		if len(repl) != 1 {
			t.Fatalf("replacements: %v, want one on i-2", statuses(repl))
		}
		want := []string{
			"(service web) has stopped 1 running tasks: (task " + shortID(old.ARN) + ").",
			"(service web) has started 1 tasks: (task " + shortID(repl[0].ARN) + ").",
		}
		if got := f.messages("web", mark); !cmp.Equal(got, want) {
			t.Errorf("messages since the drain:\n got %q\nwant %q (no steady state while the old task lingers)", got, want)
		}
		if f.describe("i-1").AgentConnected {
			t.Error("i-1's agentConnected: got true, want false")
		}
		f.reconnect("i-1")
		f.clk.Advance(30 * time.Second)
		if got := f.messages("web", mark); got[0] != "(service web) has reached a steady state." {
			t.Errorf("after the agent reconnected and the task stopped: newest message %q, want the steady state", got[0])
		}
	})
	t.Run("on the other instances", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.register("i-1", Resources{})
		f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 1, Memory: 1})
		f.register("i-2", Resources{})
		f.disconnect("i-2")
		mark := f.mark("web")
		f.drain("i-1")
		want := "(service web) was unable to place a task because no container instance met all of its requirements. " +
			"The closest matching (container-instance " + shortID(f.instance("i-2").ARN) + `) encountered error "AGENT". ` +
			"For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
		if got := f.messages("web", mark); !cmp.Equal(got, []string{want}) {
			t.Errorf("messages since the drain:\n got %q\nwant %q", got, []string{want})
		}
		if got := f.actions(EventPlacementFailure); len(got) != 1 || got[0].Detail.Reason != "AGENT" {
			t.Errorf("placement failure events %+v, want one with reason AGENT", got)
		}
		f.clk.Advance(time.Hour)
		if got := statuses(f.tasksOn("i-1", "service:web")); !cmp.Equal(got, []string{"RUNNING/RUNNING"}) {
			t.Errorf("the old task an hour on: %v, want it running", got)
		}
		f.reconnect("i-2")
		if got := statuses(f.tasksOn("i-2", "service:web")); !cmp.Equal(got, []string{"RUNNING/RUNNING"}) {
			t.Errorf("once i-2's agent reconnected: web tasks there %v, want the replacement", got)
		}
	})
}

// A placement constraint no other instance meets, and no other instance at
// all: the two remaining shapes of "unable to place a task".
func TestPlacementFailuresWithoutRoomForAnyReason(t *testing.T) {
	t.Run("a memberOf constraint no other instance meets", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.startAgent("i-1", Agent{Attributes: map[string]string{"role": "web"}})
		f.startAgent("i-2", Agent{Attributes: map[string]string{"role": "batch"}})
		f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 1, Memory: 1,
			PlacementConstraints: []PlacementConstraint{{Type: ConstraintMemberOf, Expression: "attribute:role == web"}}})
		mark := f.mark("web")
		f.drain("i-1")
		if got := f.messages("web", mark); len(got) != 1 || !strings.Contains(got[0], "(container-instance "+shortID(f.instance("i-2").ARN)+") is missing an attribute required by your task.") {
			t.Errorf("messages since the drain: %q, want i-2 missing an attribute", got)
		}
		if got := f.actions(EventPlacementFailure); len(got) != 1 || got[0].Detail.Reason != ReasonAttribute {
			t.Errorf("placement failure events %+v, want one with reason %s", got, ReasonAttribute)
		}
	})
	t.Run("no other instance", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.register("i-1", Resources{})
		f.createService(ServiceSpec{Name: "web", DesiredCount: 1, HostPort: 80})
		mark := f.mark("web")
		f.drain("i-1")
		want := "(service web) was unable to place a task because no container instance met all of its requirements. " +
			"Reason: No Container Instances were found in your cluster. " +
			"For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
		if got := f.messages("web", mark); !cmp.Equal(got, []string{want}) {
			t.Errorf("messages since the drain:\n got %q\nwant %q", got, []string{want})
		}
		got := f.actions(EventPlacementFailure)
		if len(got) != 1 || got[0].Detail.Reason != "" || got[0].Detail.ContainerInstanceArns != nil {
			t.Errorf("placement failure events %+v, want one naming no instance and no reason", got)
		}
	})
}

// A steady service reports its steady state when it reaches it and again
// every six hours, and Service.events keeps only the 100 latest, newest
// first; each report also goes out as a SERVICE_STEADY_STATE event.
func TestSteadyStateRepeatsEverySixHoursAndTheLogKeepsTheLatest100(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 1, Memory: 1})
	f.clk.Advance(101 * 6 * time.Hour) // 102 steady state reports, and the start
	events := f.describeService("web").Events
	if len(events) != 100 {
		t.Fatalf("events: got %d, want 100", len(events))
	}
	for n, e := range events {
		want := start.Add(time.Duration(101-n) * 6 * time.Hour)
		if msg := aws.ToString(e.Message); msg != "(service web) has reached a steady state." || !aws.ToTime(e.CreatedAt).Equal(want) {
			t.Errorf("events[%d]: %q at %v, want the steady state at %v", n, msg, aws.ToTime(e.CreatedAt), want)
		}
	}
	ids := map[string]bool{}
	for _, e := range events {
		ids[aws.ToString(e.Id)] = true
	}
	if len(ids) != 100 {
		t.Errorf("distinct event ids: %d, want 100", len(ids))
	}
	if got := f.actions(EventSteadyState); len(got) != 102 || got[0].Detail.EventType != "INFO" || got[0].Detail.Reason != "" {
		t.Errorf("steady state events: %d, the first %+v; want 102, INFO, no reason", len(got), got)
	}
}

// DescribeServices reports the service's task definition and its one
// deployment with the service's counts, IN_PROGRESS until the service is
// first steady, COMPLETED after, and the deployment configuration's
// percents; the task definition it names is one DescribeTaskDefinition
// returns.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
func TestDescribeServicesReportsTheDeployment(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 512, HostPort: 0, ContainerPort: 8080,
		StartDelay: 10 * time.Second, MinimumHealthyPercent: 50, MaximumPercent: 150})
	check := func(when string, pending, running int32, rollout types.DeploymentRolloutState) {
		t.Helper()
		svc := f.describeService("web")
		if svc.PendingCount != pending || svc.RunningCount != running || svc.DesiredCount != 2 {
			t.Errorf("%s: service counts desired %d pending %d running %d, want 2, %d, %d", when, svc.DesiredCount, svc.PendingCount, svc.RunningCount, pending, running)
		}
		if c := svc.DeploymentConfiguration; aws.ToInt32(c.MinimumHealthyPercent) != 50 || aws.ToInt32(c.MaximumPercent) != 150 {
			t.Errorf("%s: deployment configuration %d/%d, want 50/150", when, aws.ToInt32(c.MinimumHealthyPercent), aws.ToInt32(c.MaximumPercent))
		}
		if len(svc.Deployments) != 1 {
			t.Fatalf("%s: deployments %+v, want one", when, svc.Deployments)
		}
		d := svc.Deployments[0]
		if aws.ToString(d.Status) != "PRIMARY" || aws.ToString(d.TaskDefinition) != aws.ToString(svc.TaskDefinition) ||
			d.DesiredCount != 2 || d.PendingCount != pending || d.RunningCount != running || d.RolloutState != rollout ||
			!strings.HasPrefix(aws.ToString(d.Id), "ecs-svc/") {
			t.Errorf("%s: deployment %+v, want PRIMARY of %s with pending %d, running %d, %s", when, d, aws.ToString(svc.TaskDefinition), pending, running, rollout)
		}
	}
	check("right after creation", 2, 0, types.DeploymentRolloutStateInProgress)
	f.clk.Advance(10 * time.Second)
	check("once the tasks run", 0, 2, types.DeploymentRolloutStateCompleted)

	arn := aws.ToString(f.describeService("web").TaskDefinition)
	if want := "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"; arn != want {
		t.Errorf("taskDefinition: got %s, want %s", arn, want)
	}
	out, err := f.api.DescribeTaskDefinition(f.ctx, &ecssdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.TaskDefinition.TaskDefinitionArn); got != arn {
		t.Errorf("DescribeTaskDefinition(%s) returned %s", arn, got)
	}
}

// The scheduler's started messages list at most ten tasks each, so that a
// large service does not write one message of a thousand task ids.
func TestStartedMessagesListAtMostTenTasks(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 25, CPU: 1, Memory: 1})
	var got []string
	for _, m := range f.messages("web", 0) {
		before, _, _ := strings.Cut(m, ":")
		got = append(got, before)
	}
	want := []string{
		"(service web) has reached a steady state.",
		"(service web) has started 5 tasks",
		"(service web) has started 10 tasks",
		"(service web) has started 10 tasks",
	}
	if !cmp.Equal(got, want) {
		t.Errorf("messages (up to their colon): got %q, want %q", got, want)
	}
}
