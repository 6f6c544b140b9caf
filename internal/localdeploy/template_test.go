package localdeploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecs-drainer/ecs-drainer/infra/rules"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
)

// The local world must run the queues and event sources the construct
// deploys, otherwise the end-to-end tests pass against settings production
// does not have: the rules' events on a queue without a batching window, the
// re-queue messages in batches of 100 gathered for a second.
func TestTheDeploymentIsReadFromTheSynthesizedTemplate(t *testing.T) {
	skipShort(t, "reads the synthesized template")
	want := struct{ Events, Poll EventSource }{
		Events: EventSource{VisibilityTimeout: 180 * time.Second, MaxReceiveCount: 5, BatchSize: 10, MaxConcurrency: 10, ReportFailures: true},
		Poll: EventSource{VisibilityTimeout: 181 * time.Second, MaxReceiveCount: 5, BatchSize: 100, MaxBatchingWindow: time.Second,
			MaxConcurrency: 5, ReportFailures: true},
	}
	got := struct{ Events, Poll EventSource }{deployment.Events, deployment.Poll}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event sources (-want +got):\n%s", diff)
	}
	// The lifecycle rules feed the poll queue (first hops share their
	// reads 100 at a time), the ECS rules the event queue (no window).
	type rule struct {
		DetailType string
		Queue      Queue
		Gate       bool
	}
	var gotRules []rule
	for _, r := range deployment.Rules {
		gotRules = append(gotRules, rule{r.DetailType, r.Queue, r.Gate})
	}
	sortRules := cmpopts.SortSlices(func(a, b rule) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
	wantRules := []rule{
		{contract.DetailTypeTerminate, PollQueue, false},
		{contract.DetailTypeLaunch, PollQueue, true},
		{contract.DetailTypeTaskState, EventQueue, false},
		{contract.DetailTypeInstanceState, EventQueue, false}, // DRAINING
		{contract.DetailTypeInstanceState, EventQueue, true},  // ACTIVE
		{contract.DetailTypeServiceAction, EventQueue, false}, // placement failures
	}
	if diff := cmp.Diff(wantRules, gotRules, sortRules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if !bytes.Equal(deployment.EventPattern, rules.TerminateLifecycle([]string{"asg-a"}, []string{contract.HookName})) {
		t.Errorf("EventPattern %s, want the terminate lifecycle rule's", deployment.EventPattern)
	}
	var hooks []string
	for _, h := range deployment.Hooks {
		hooks = append(hooks, h.Name+" "+h.Transition+" "+h.DefaultResult+" "+h.NotificationMetadata)
	}
	wantHooks := []string{
		contract.LaunchHookName + " " + autoscaling.TransitionLaunching + " CONTINUE {\"cluster\":\"c1\"}",
		contract.HookName + " " + autoscaling.TransitionTerminating + " CONTINUE {\"cluster\":\"c1\"}",
	}
	if diff := cmp.Diff(wantHooks, hooks, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}

// The gate-off world is derived from the template, not synthesized: it must
// lack exactly what DisableLaunchGate leaves out, as the construct's own test
// pins it, otherwise the demo's comparison measures something `cdk deploy`
// would not create (a launch hook left on, or the drain rules gone with the
// gate's).
func TestWithoutLaunchGateIsTheTemplateWithoutTheGate(t *testing.T) {
	skipShort(t, "reads the synthesized template")
	off := deployment.WithoutLaunchGate()
	if _, ok := off.LaunchHook(); ok {
		t.Errorf("hooks %+v, want no launch hook", off.Hooks)
	}
	if len(off.Hooks) != 1 || off.Hooks[0].Name != contract.HookName {
		t.Errorf("hooks %+v, want the terminate hook alone", off.Hooks)
	}
	var kept []string
	for _, r := range off.Rules {
		kept = append(kept, string(r.Pattern))
	}
	want := []string{
		string(rules.TerminateLifecycle([]string{"asg-a"}, []string{contract.HookName})),
		string(rules.ECSTaskStopped([]string{"c1"})),
		string(rules.ECSInstanceDraining([]string{"c1"})),
		string(rules.ECSServicePlacementFailure([]string{"c1"})),
	}
	if diff := cmp.Diff(want, kept, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("rules without the gate (-want +got):\n%s", diff)
	}
	if got := off.Environment[contract.EnvHooks]; got != contract.HookName {
		t.Errorf("%s = %q, want %q", contract.EnvHooks, got, contract.HookName)
	}
	for _, name := range []string{contract.MaxLaunch.Env, contract.EnvLaunchDaemons} {
		if v, ok := off.Environment[name]; ok {
			t.Errorf("%s = %q, want it unset without the gate", name, v)
		}
	}
	// The rest is the template's, and the template itself is untouched.
	on := deployment
	if _, ok := on.LaunchHook(); !ok || len(on.Rules) != 6 || on.Environment[contract.MaxLaunch.Env] == "" {
		t.Errorf("deriving changed the gated deployment: %d rules, hooks %+v", len(on.Rules), on.Hooks)
	}
	ignore := cmpopts.IgnoreFields(Deployment{}, "Rules", "Hooks", "Environment")
	if diff := cmp.Diff(on, off, ignore); diff != "" {
		t.Errorf("besides the gate (-with +without):\n%s", diff)
	}
}

func arnRef(id string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }

// ruleResource is an AWS::Events::Rule with pattern, targeting queue.
func ruleResource(pattern []byte, queue string) map[string]any {
	var p map[string]any
	if err := json.Unmarshal(pattern, &p); err != nil {
		panic(err)
	}
	return map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
		"EventPattern": p, "Targets": []any{map[string]any{"Id": "T", "Arn": arnRef(queue)}}}}
}

// minimalTemplate is the shape ParseTemplate resolves: the terminate
// lifecycle rule, the function with DRAINER_QUEUE_URL, the poll and event
// queues with a mapping each, and the DLQ.
func minimalTemplate() map[string]any {
	queue := func(visibility int) map[string]any {
		return map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{
			"VisibilityTimeout": visibility, "RedrivePolicy": map[string]any{"deadLetterTargetArn": arnRef("DLQ"), "maxReceiveCount": 5}}}
	}
	return map[string]any{"Resources": map[string]any{
		"Rule": ruleResource(rules.TerminateLifecycle([]string{"g"}, []string{contract.HookName}), "EventQueue"),
		"Function": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
			"Timeout": 30, "Environment": map[string]any{"Variables": map[string]any{
				"DRAINER_QUEUE_URL":  map[string]any{"Ref": "Queue"},
				"DRAINER_HOOKS":      contract.HookName + "," + contract.LaunchHookName,
				"DRAINER_MAX_LAUNCH": "10m0s", "DRAINER_LAUNCH_DAEMONS": "false", "DRAINER_POLL_INTERVAL": "30s"}}}},
		"Queue":      queue(181),
		"EventQueue": queue(180),
		"DLQ":        map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{}},
		"PollMapping": map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": map[string]any{
			"EventSourceArn": arnRef("Queue"), "BatchSize": 100, "MaximumBatchingWindowInSeconds": 1}},
		"EventMapping": map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": map[string]any{
			"EventSourceArn": arnRef("EventQueue"), "BatchSize": 10}},
	}}
}

// A template the world cannot map onto its two queues must be refused, not
// run with a guess: events routed to the wrong queue would change the
// latency the tests measure.
func TestParseTemplateMatchesMappingsAndRulesToTheirQueues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(res map[string]any)
		want   string // in the error; "" means accepted
	}{
		{"the minimal template", func(map[string]any) {}, ""},
		{"a rule targeting the dead-letter queue", func(res map[string]any) {
			res["Rule"].(map[string]any)["Properties"].(map[string]any)["Targets"] = []any{
				map[string]any{"Id": "T", "Arn": map[string]any{"Fn::GetAtt": []any{"DLQ", "Arn"}}}}
		}, "Rule: its target \"DLQ\" is neither the event queue EventQueue nor the poll queue Queue"},
		{"DRAINER_QUEUE_URL on a queue without a mapping", func(res map[string]any) {
			delete(res, "PollMapping")
		}, "DRAINER_QUEUE_URL: queue Queue has no event source mapping"},
		{"no event queue", func(res map[string]any) {
			delete(res, "EventMapping")
		}, "no event source mapping besides the poll queue's"},
		{"a mapping on a queue with no redrive policy", func(res map[string]any) {
			res["EventMapping"].(map[string]any)["Properties"].(map[string]any)["EventSourceArn"] = map[string]any{"Fn::GetAtt": []any{"DLQ", "Arn"}}
		}, "DLQ is not a queue with a redrive policy"},
		{"no terminate lifecycle rule", func(res map[string]any) {
			res["Rule"] = ruleResource(rules.LaunchLifecycle([]string{"g"}, []string{contract.LaunchHookName}), "EventQueue")
		}, "template lacks the drainer's terminate lifecycle rule"},
		{"a second terminate lifecycle rule", func(res map[string]any) {
			res["ZRule"] = ruleResource(rules.TerminateLifecycle([]string{"h"}, []string{contract.HookName}), "Queue")
		}, `ZRule: a second rule for "EC2 Instance-terminate Lifecycle Action" besides Rule`},
		{"a rule for an event the drainer does not take", func(res map[string]any) {
			res["ZRule"] = ruleResource([]byte(`{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"]}`), "EventQueue")
		}, `selects "EC2 Instance State-change Notification", which is no event of the drainer's`},
		{"a service action from Auto Scaling", func(res map[string]any) {
			res["ZRule"] = ruleResource([]byte(`{"source":["aws.autoscaling"],"detail-type":["ECS Service Action"]}`), "EventQueue")
		}, `from sources ["aws.autoscaling"], want "aws.ecs"`},
		{"a rule for two detail types", func(res map[string]any) {
			res["ZRule"] = ruleResource([]byte(`{"source":["aws.ecs"],"detail-type":["ECS Task State Change","ECS Container Instance State Change"]}`), "EventQueue")
		}, "selects 2 detail types, want one"},
		{"a lifecycle detail type from ECS", func(res map[string]any) {
			res["ZRule"] = ruleResource([]byte(`{"source":["aws.ecs"],"detail-type":["EC2 Instance-launch Lifecycle Action"]}`), "Queue")
		}, `from sources ["aws.ecs"], want "aws.autoscaling"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := minimalTemplate()
			tc.change(tpl["Resources"].(map[string]any))
			b, err := json.Marshal(tpl)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseTemplate(b)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("ParseTemplate: %v, want accepted", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("ParseTemplate error = %v, want it to contain %q", err, tc.want)
			case tc.want == "":
				if d.Poll.BatchSize != 100 || d.Poll.MaxBatchingWindow != time.Second || d.Events.BatchSize != 10 || d.Events.VisibilityTimeout != 180*time.Second {
					t.Errorf("got poll %+v, events %+v; want the poll mapping on Queue and the event mapping on EventQueue", d.Poll, d.Events)
				}
				if len(d.Rules) != 1 || d.Rules[0].Queue != EventQueue {
					t.Errorf("rules %+v, want the one rule on the event queue", d.Rules)
				}
			}
		})
	}
}

// The overrides apply to both event sources alike: the bench's baselines
// take one record per invocation from either queue (no window, which a
// batch of one does not need), and a soak's short visibility timeout must
// bring failed records back from both.
func TestOverridesApplyToBothEventSources(t *testing.T) {
	poll := EventSource{VisibilityTimeout: 181 * time.Second, BatchSize: 100, MaxBatchingWindow: time.Second, MaxConcurrency: 5, ReportFailures: true}
	for _, tc := range []struct {
		name string
		d    Deployment
		o    FunctionOptions
		want EventSource
	}{
		{"none: the template's", Deployment{}, FunctionOptions{}, poll},
		{"a visibility timeout and a concurrency", Deployment{}, FunctionOptions{VisibilityTimeout: 10 * time.Second, Concurrency: 32},
			EventSource{VisibilityTimeout: 10 * time.Second, BatchSize: 100, MaxBatchingWindow: time.Second, MaxConcurrency: 32, ReportFailures: true}},
		{"a batch of one", Deployment{BatchSize: 1}, FunctionOptions{},
			EventSource{VisibilityTimeout: 181 * time.Second, BatchSize: 1, MaxConcurrency: 5, ReportFailures: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, poll.with(tc.d, tc.o)); diff != "" {
				t.Errorf("poll source with %+v and %+v (-want +got):\n%s", tc.d, tc.o, diff)
			}
		})
	}
}

// gatedTemplate is minimalTemplate with what the launch gate adds and the
// ECS rules, as the construct synthesizes them for group g and cluster c:
// the launch lifecycle rule to the poll queue under a logical id that sorts
// after the terminate rule's, the ECS rules to the event queue, and both
// hooks.
func gatedTemplate() map[string]any {
	tpl := minimalTemplate()
	res := tpl["Resources"].(map[string]any)
	hook := func(name, transition string) map[string]any {
		return map[string]any{"Type": "AWS::AutoScaling::LifecycleHook", "Properties": map[string]any{
			"AutoScalingGroupName": "g", "LifecycleHookName": name, "LifecycleTransition": transition,
			"HeartbeatTimeout": 600, "DefaultResult": "CONTINUE", "NotificationMetadata": `{"cluster":"c"}`}}
	}
	res["Rule"] = ruleResource(rules.TerminateLifecycle([]string{"g"}, []string{contract.HookName}), "Queue")
	res["TaskStoppedRule"] = ruleResource(rules.ECSTaskStopped([]string{"c"}), "EventQueue")
	res["InstanceDrainingRule"] = ruleResource(rules.ECSInstanceDraining([]string{"c"}), "EventQueue")
	res["InstanceActiveRule"] = ruleResource(rules.ECSInstanceActive([]string{"c"}), "EventQueue")
	res["PlacementFailureRule"] = ruleResource(rules.ECSServicePlacementFailure([]string{"c"}), "EventQueue")
	res["ZLaunchRule"] = ruleResource(rules.LaunchLifecycle([]string{"g"}, []string{contract.LaunchHookName}), "Queue")
	res["Hook"] = hook(contract.HookName, autoscaling.TransitionTerminating)
	res["LaunchHook"] = hook(contract.LaunchHookName, autoscaling.TransitionLaunching)
	return tpl
}

func parse(t *testing.T, tpl map[string]any) Deployment {
	t.Helper()
	b, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseTemplate(b)
	if err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
	return d
}

// Each rule must be known by the event it selects, not by a substring of
// its pattern: the launch rule also says "aws.autoscaling", and taken for
// the terminate rule (the last match won) it made the world's drains start
// on launches; taken for an ECS rule, NoECSEvents dropped it and the gate
// never opened.
func TestParseTemplateKnowsEachRuleByItsDetailType(t *testing.T) {
	d := parse(t, gatedTemplate())
	if want := rules.TerminateLifecycle([]string{"g"}, []string{contract.HookName}); !bytes.Equal(d.EventPattern, want) {
		t.Errorf("EventPattern %s, want the terminate rule's %s", d.EventPattern, want)
	}
	type rule struct {
		DetailType string
		Queue      Queue
		Gate       bool
		ECS        bool
	}
	var got []rule
	for _, r := range d.Rules {
		got = append(got, rule{r.DetailType, r.Queue, r.Gate, r.ECS()})
	}
	// In the order of the logical ids.
	want := []rule{
		{contract.DetailTypeInstanceState, EventQueue, true, true}, // InstanceActiveRule
		{contract.DetailTypeInstanceState, EventQueue, false, true},
		{contract.DetailTypeServiceAction, EventQueue, false, true}, // PlacementFailureRule
		{contract.DetailTypeTerminate, PollQueue, false, false},
		{contract.DetailTypeTaskState, EventQueue, false, true},
		{contract.DetailTypeLaunch, PollQueue, true, false}, // ZLaunchRule
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	h, ok := d.LaunchHook()
	if !ok || h.Name != contract.LaunchHookName || h.DefaultResult != autoscaling.ResultContinue || h.Group != "g" {
		t.Errorf("LaunchHook() = %+v, %v; want %s with CONTINUE on g", h, ok, contract.LaunchHookName)
	}

	off := d.WithoutLaunchGate()
	var kept []string
	for _, r := range off.Rules {
		kept = append(kept, r.DetailType)
	}
	if diff := cmp.Diff([]string{contract.DetailTypeInstanceState, contract.DetailTypeServiceAction, contract.DetailTypeTerminate, contract.DetailTypeTaskState}, kept); diff != "" {
		t.Errorf("rules without the gate (-want +got):\n%s", diff)
	}
	if _, ok := off.LaunchHook(); ok || len(off.Hooks) != 1 {
		t.Errorf("hooks without the gate %+v, want the terminate hook alone", off.Hooks)
	}
	wantEnv := map[string]string{"DRAINER_HOOKS": contract.HookName, "DRAINER_POLL_INTERVAL": "30s"}
	if diff := cmp.Diff(wantEnv, off.Environment); diff != "" {
		t.Errorf("environment without the gate (-want +got):\n%s", diff)
	}
	if len(d.Rules) != 6 || len(d.Hooks) != 2 || d.Environment[contract.MaxLaunch.Env] == "" {
		t.Errorf("WithoutLaunchGate changed the deployment it was derived from: %+v", d)
	}
}

// The world must put each rule on the bus toward the queue the template
// names, and NoECSEvents must drop the ECS rules only: a launch action
// dropped with them would never be gated, and its instance would wait in
// Pending:Wait for the hook's heartbeat timeout.
func TestTheWorldRoutesEachRuleToItsQueue(t *testing.T) {
	events := []struct {
		name string
		e    awswire.Event
	}{
		{"terminate", awswire.Event{Source: contract.SourceAutoScaling, DetailType: contract.DetailTypeTerminate,
			Detail: map[string]any{"AutoScalingGroupName": "g", "LifecycleHookName": contract.HookName}}},
		{"launch", awswire.Event{Source: contract.SourceAutoScaling, DetailType: contract.DetailTypeLaunch,
			Detail: map[string]any{"AutoScalingGroupName": "g", "LifecycleHookName": contract.LaunchHookName}}},
		{"ACTIVE", awswire.Event{Source: contract.SourceECS, DetailType: contract.DetailTypeInstanceState,
			Detail: map[string]any{"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "status": "ACTIVE", "agentConnected": true, "runningTasksCount": 0}}},
		{"DRAINING", awswire.Event{Source: contract.SourceECS, DetailType: contract.DetailTypeInstanceState,
			Detail: map[string]any{"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "status": "DRAINING"}}},
		{"placement failure", awswire.Event{Source: contract.SourceECS, DetailType: contract.DetailTypeServiceAction,
			Detail: map[string]any{"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "eventType": "ERROR",
				"eventName": contract.EventServiceTaskPlacementFailure, "reason": "RESOURCE:PORTS"}}},
	}
	for _, tc := range []struct {
		name             string
		deployment       func(Deployment) Deployment
		o                FunctionOptions
		wantPoll, wantEv int // messages on each queue after the five events
	}{
		{"the gated template", func(d Deployment) Deployment { return d }, FunctionOptions{}, 2, 3},
		{"the gated template with NoECSEvents", func(d Deployment) Deployment { return d }, FunctionOptions{NoECSEvents: true}, 2, 0},
		{"without the gate", Deployment.WithoutLaunchGate, FunctionOptions{}, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &World{Bus: eventbridge.NewBus(clock.Real{}, localaws.AccountID, localaws.Region)}
			defer w.Bus.Close()
			var err error
			if w.AWS, err = localaws.Start(localaws.Options{}); err != nil {
				t.Fatal(err)
			}
			defer w.AWS.Close()
			d := tc.deployment(parse(t, gatedTemplate()))
			if err := w.queues(d.Events, d.Poll); err != nil {
				t.Fatal(err)
			}
			if err := w.rules(d, tc.o); err != nil {
				t.Fatal(err)
			}
			for _, ev := range events {
				w.Bus.Emit(ev.e)
			}
			count := func(url string) int {
				v, inFlight, delayed := w.AWS.SQS.Counts(url)
				return v + inFlight + delayed
			}
			// Deliveries run in the background; they take milliseconds.
			deadline := time.Now().Add(5 * time.Second)
			for (count(w.QueueURL) < tc.wantPoll || count(w.EventQueueURL) < tc.wantEv) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // and nothing more arrives
			if poll, ev := count(w.QueueURL), count(w.EventQueueURL); poll != tc.wantPoll || ev != tc.wantEv {
				t.Errorf("after a terminate, a launch, an ACTIVE, a DRAINING and a placement failure event: poll queue %d, event queue %d; want %d and %d (matched %v)",
					poll, ev, tc.wantPoll, tc.wantEv, w.Bus.Stats().Matched)
			}
		})
	}
}
