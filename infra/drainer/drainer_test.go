package drainer_test

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/infra/drainer"
	"github.com/ecs-drainer/ecs-drainer/infra/rules"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

const (
	account  = "123456789012"
	region   = "eu-west-1"
	topicARN = "arn:aws:sns:eu-west-1:123456789012:drainer-alarms"
)

// A synth costs seconds (it builds the function), so every test reads the
// same two stacks, synthesized once with cdk-nag's AwsSolutions checks:
//
//	multi:    two clusters, three groups imported by name, every prop set;
//	          timeout policies: abandon by default, blue-a stop-tasks,
//	          blue-b the default, green-a continue; StuckAfter 20 min,
//	          off for blue-b, 45 min for green-a; the launch gate with
//	          its own heartbeat timeout, waiting for daemons
//	defaults: one cluster and one group whose names are tokens, no props
type synthesized struct {
	multi, defaults       assertions.Template
	multiStack, defStack  awscdk.Stack
	assemblyDir           string
	multiFindings         []string
	defaultsFindings      []string
	multiJSON, defaultsJS map[string]any
	multiDrainer          *drainer.Drainer
}

var (
	synthOnce sync.Once
	synthed   synthesized
)

// The multi stack's groups and clusters, in the order of its targets.
var (
	multiGroups   = []string{"blue-a", "blue-b", "green-a"}
	multiClusters = []string{"blue", "green"}
)

func synth(t *testing.T) *synthesized {
	t.Helper()
	skipSynthIfShort(t)
	synthOnce.Do(func() {
		app := awscdk.NewApp(nil)
		env := &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}

		multi := awscdk.NewStack(app, jsii.String("Multi"), &awscdk.StackProps{Env: env})
		blue := awsecs.Cluster_FromClusterArn(multi, jsii.String("Blue"), clusterARN(multi, "blue"))
		green := awsecs.Cluster_FromClusterArn(multi, jsii.String("Green"), clusterARN(multi, "green"))
		group := func(name string) awsautoscaling.IAutoScalingGroup {
			return awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(multi, jsii.String(name), jsii.String(name))
		}
		multiDrainer := drainer.New(multi, jsii.String("Drainer"), &drainer.Props{
			Targets: []drainer.Target{
				{Cluster: blue, AutoScalingGroup: group("blue-a"), OnTimeout: drainer.OnTimeoutStopTasks},
				{Cluster: blue, AutoScalingGroup: group("blue-b"), StuckAfter: awscdk.Duration_Seconds(jsii.Number(0))},
				{Cluster: green, AutoScalingGroup: group("green-a"), OnTimeout: drainer.OnTimeoutContinue, StuckAfter: awscdk.Duration_Minutes(jsii.Number(45))},
			},
			StuckAfter:        awscdk.Duration_Minutes(jsii.Number(20)),
			OnTimeout:         drainer.OnTimeoutAbandon,
			StopGrace:         awscdk.Duration_Minutes(jsii.Number(3)),
			StaleAfter:        awscdk.Duration_Minutes(jsii.Number(10)),
			DisconnectedAfter: awscdk.Duration_Seconds(jsii.Number(0)),
			ReconcileInterval: awscdk.Duration_Minutes(jsii.Number(2)),
			PollInterval:      awscdk.Duration_Seconds(jsii.Number(20)),
			MaxDrain:          awscdk.Duration_Hours(jsii.Number(2)),
			HeartbeatTimeout:  awscdk.Duration_Minutes(jsii.Number(15)),
			MemorySize:        jsii.Number(256),
			LogRetention:      awslogs.RetentionDays_TWO_WEEKS,
			AlarmTopic:        awssns.Topic_FromTopicArn(multi, jsii.String("Alarms"), jsii.String(topicARN)),
			// The gate's heartbeat is shorter than the drains': scale-out
			// is delayed less when the function is broken.
			LaunchHeartbeatTimeout: awscdk.Duration_Minutes(jsii.Number(8)),
			MaxLaunch:              awscdk.Duration_Minutes(jsii.Number(15)),
			LaunchWaitsForDaemons:  true,
		})

		defaults := awscdk.NewStack(app, jsii.String("Defaults"), &awscdk.StackProps{Env: env})
		clusterName := awscdk.NewCfnParameter(defaults, jsii.String("ClusterName"), nil).ValueAsString()
		groupName := awscdk.NewCfnParameter(defaults, jsii.String("GroupName"), nil).ValueAsString()
		drainer.New(defaults, jsii.String("Drainer"), &drainer.Props{
			Targets: []drainer.Target{{
				Cluster:          awsecs.Cluster_FromClusterArn(defaults, jsii.String("Cluster"), defaults.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String("cluster"), ResourceName: clusterName})),
				AutoScalingGroup: awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(defaults, jsii.String("Group"), groupName),
			}},
		})

		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
		synthed = synthesized{
			multi:        assertions.Template_FromStack(multi, nil),
			defaults:     assertions.Template_FromStack(defaults, nil),
			multiStack:   multi,
			defStack:     defaults,
			multiDrainer: multiDrainer,
		}
		synthed.assemblyDir = *app.Synth(nil).Directory()
		synthed.multiFindings = nagFindings(multi)
		synthed.defaultsFindings = nagFindings(defaults)
		synthed.multiJSON = toMap(synthed.multi.ToJSON())
		synthed.defaultsJS = toMap(synthed.defaults.ToJSON())
	})
	return &synthed
}

// skipSynthIfShort skips a test that synthesizes: a synth builds the
// function and takes seconds.
func skipSynthIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("synthesizes the CDK app; skipped with -short")
	}
}

func clusterARN(stack awscdk.Stack, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String("cluster"), ResourceName: jsii.String(name)})
}

// nagFindings lists cdk-nag's unsuppressed errors and warnings on a stack.
// oneGroup builds the construct with props for one imported group "g" of
// cluster "c", in a stack of its own named name.
func oneGroup(name string, props drainer.Props) (awscdk.Stack, *drainer.Drainer) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String(name), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}})
	props.Targets = []drainer.Target{{
		Cluster:          awsecs.Cluster_FromClusterArn(stack, jsii.String("Cluster"), clusterARN(stack, "c")),
		AutoScalingGroup: awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(stack, jsii.String("Group"), jsii.String("g")),
	}}
	return stack, drainer.New(stack, jsii.String("Drainer"), &props)
}

func nagFindings(stack awscdk.Stack) []string {
	var out []string
	a := assertions.Annotations_FromStack(stack)
	nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for _, m := range append(*a.FindError(jsii.String("*"), nag), *a.FindWarning(jsii.String("*"), nag)...) {
		//lint:ignore SA1019 FindError and FindWarning return only this type in awscdk's Go API
		out = append(out, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	return out
}

// has asserts HasResourceProperties, reporting a mismatch as a test error
// rather than a panic.
func has(t *testing.T, tpl assertions.Template, typ string, props map[string]any) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("no %s with %v:\n%v", typ, props, r)
		}
	}()
	tpl.HasResourceProperties(jsii.String(typ), props)
}

func count(t *testing.T, tpl assertions.Template, typ string, n int) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s count: %v", typ, r)
		}
	}()
	tpl.ResourceCountIs(jsii.String(typ), jsii.Number(n))
}

// toMap normalizes template JSON (jsii returns pointers) for go-cmp.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// resources returns the template's resources of one type by logical ID.
func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		if r := r.(map[string]any); r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// only returns the one resource of a type, with its logical ID.
func only(t *testing.T, tpl map[string]any, typ string, pick func(props map[string]any) bool) (string, map[string]any) {
	t.Helper()
	var id string
	var props map[string]any
	for rid, r := range resources(tpl, typ) {
		p, _ := r["Properties"].(map[string]any)
		if pick == nil || pick(p) {
			if id != "" {
				t.Fatalf("more than one %s: %s and %s", typ, id, rid)
			}
			id, props = rid, p
		}
	}
	if id == "" {
		t.Fatalf("no %s", typ)
	}
	return id, props
}

// queueIDs returns the logical ids of the poll queue (DRAINER_QUEUE_URL),
// the event queue (the rules' target) and their dead-letter queue, told
// apart by the construct's ids.
func queueIDs(t *testing.T, tpl map[string]any) (poll, events, dlq string) {
	t.Helper()
	for id := range resources(tpl, "AWS::SQS::Queue") {
		switch {
		case strings.HasPrefix(id, "DrainerEventQueue"):
			events = id
		case strings.HasPrefix(id, "DrainerDeadLetterQueue"):
			dlq = id
		case strings.HasPrefix(id, "DrainerQueue"):
			poll = id
		}
	}
	if poll == "" || events == "" || dlq == "" {
		t.Fatalf("queues: poll %q, events %q, dead-letter %q; want all three", poll, events, dlq)
	}
	return poll, events, dlq
}

// withPattern picks the rule whose EventPattern is pattern (infra/rules'
// JSON).
func withPattern(pattern []byte) func(map[string]any) bool {
	var want any
	if err := json.Unmarshal(pattern, &want); err != nil {
		panic(err)
	}
	return func(p map[string]any) bool { return cmp.Equal(want, p["EventPattern"]) }
}

// The multi stack's rules, by the pattern each must have.
var (
	terminateRule        = withPattern(rules.TerminateLifecycle(multiGroups, []string{contract.HookName}))
	launchRule           = withPattern(rules.LaunchLifecycle(multiGroups, []string{contract.LaunchHookName}))
	taskStoppedRule      = withPattern(rules.ECSTaskStopped(multiClusters))
	instanceDrainingRule = withPattern(rules.ECSInstanceDraining(multiClusters))
	instanceActiveRule   = withPattern(rules.ECSInstanceActive(multiClusters))
	placementFailureRule = withPattern(rules.ECSServicePlacementFailure(multiClusters))
)

// transition picks the hooks of one lifecycle transition.
func transition(tr string) func(map[string]any) bool {
	return func(p map[string]any) bool { return p["LifecycleTransition"] == tr }
}

func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
func ref(id string) map[string]any          { return map[string]any{"Ref": id} }

// arn is an ARN as FormatArn renders it in a stack with a literal account and
// region.
func arn(rest string) map[string]any {
	return map[string]any{"Fn::Join": []any{"", []any{"arn:", ref("AWS::Partition"), rest}}}
}

func TestEachGroupGetsATerminateHookNamingItsClusterAndPolicy(t *testing.T) {
	// Each hook must hold terminating instances (not launching ones), name
	// its cluster in the metadata the function reads, and default to
	// CONTINUE, otherwise a broken drainer would ABANDON and skip ECS's own
	// hook. A group with its own timeout policy carries it in the metadata;
	// one on the default (DRAINER_ON_TIMEOUT) leaves the key out; so does
	// its StuckAfter (DRAINER_STUCK_AFTER), 0s turning it off for the group.
	s := synth(t)
	count(t, s.multi, "AWS::AutoScaling::LifecycleHook", 6) // and the 3 launch hooks
	for group, metadata := range map[string]string{
		"blue-a":  `{"cluster":"blue","on_timeout":"stop-tasks"}`,
		"blue-b":  `{"cluster":"blue","stuck_after":"0s"}`,
		"green-a": `{"cluster":"green","on_timeout":"continue","stuck_after":"45m0s"}`,
	} {
		has(t, s.multi, "AWS::AutoScaling::LifecycleHook", map[string]any{
			"AutoScalingGroupName": group,
			"LifecycleHookName":    "ecs-drainer",
			"LifecycleTransition":  "autoscaling:EC2_INSTANCE_TERMINATING",
			"HeartbeatTimeout":     900,
			"DefaultResult":        "CONTINUE",
			"NotificationMetadata": metadata,
		})
	}
	t.Run("the default heartbeat timeout is 10 minutes", func(t *testing.T) {
		has(t, s.defaults, "AWS::AutoScaling::LifecycleHook", map[string]any{
			"AutoScalingGroupName": ref("GroupName"),
			"HeartbeatTimeout":     600,
			"DefaultResult":        "CONTINUE",
			"NotificationMetadata": map[string]any{"Fn::Join": []any{"", []any{`{"cluster":"`, ref("ClusterName"), `"}`}}},
		})
	})
}

func TestEachGroupGetsALaunchHookWithItsTerminateHooksMetadata(t *testing.T) {
	// The launch gate's hook must hold launching instances (not
	// terminating ones) under its own name, so DRAINER_HOOKS tells the two
	// apart; carry the terminate hook's metadata, since the function reads
	// the cluster (and policy) of either kind of action the same way; and
	// default to CONTINUE, otherwise a broken or deleted function would
	// terminate every instance a scale-out launches instead of delaying it
	// by one heartbeat timeout.
	s := synth(t)
	for group, metadata := range map[string]string{
		"blue-a":  `{"cluster":"blue","on_timeout":"stop-tasks"}`,
		"blue-b":  `{"cluster":"blue","stuck_after":"0s"}`,
		"green-a": `{"cluster":"green","on_timeout":"continue","stuck_after":"45m0s"}`,
	} {
		has(t, s.multi, "AWS::AutoScaling::LifecycleHook", map[string]any{
			"AutoScalingGroupName": group,
			"LifecycleHookName":    "ecs-drainer-launch",
			"LifecycleTransition":  "autoscaling:EC2_INSTANCE_LAUNCHING",
			"HeartbeatTimeout":     480, // LaunchHeartbeatTimeout, not HeartbeatTimeout's 900
			"DefaultResult":        "CONTINUE",
			"NotificationMetadata": metadata,
		})
	}
	t.Run("by default the launch hook's heartbeat timeout is the terminate hook's", func(t *testing.T) {
		_, hook := only(t, s.defaultsJS, "AWS::AutoScaling::LifecycleHook", transition("autoscaling:EC2_INSTANCE_LAUNCHING"))
		want := map[string]any{
			"AutoScalingGroupName": ref("GroupName"),
			"LifecycleHookName":    "ecs-drainer-launch",
			"LifecycleTransition":  "autoscaling:EC2_INSTANCE_LAUNCHING",
			"HeartbeatTimeout":     float64(600),
			"DefaultResult":        "CONTINUE",
			"NotificationMetadata": map[string]any{"Fn::Join": []any{"", []any{`{"cluster":"`, ref("ClusterName"), `"}`}}},
		}
		if diff := cmp.Diff(want, hook); diff != "" {
			t.Errorf("the defaults stack's launch hook (-want +got):\n%s", diff)
		}
	})
}

func TestHooksAreCreatedLastAndDeletedFirst(t *testing.T) {
	// A hook that exists while its function, event source mappings, queues
	// or rules do not holds instances that nothing drains: on a first
	// deploy, a scale-in in between waits out the heartbeat timeout; on a
	// delete, with the function gone first, the same. CloudFormation orders
	// creation and deletion by DependsOn, so each hook must depend on them.
	s := synth(t)
	var serving []string
	for id, r := range s.multiJSON["Resources"].(map[string]any) {
		r := r.(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::SQS::Queue":
			serving = append(serving, id)
		case "AWS::Events::Rule":
			if props["EventPattern"] != nil {
				serving = append(serving, id)
			}
		}
	}
	if len(serving) != 12 { // the function, its 2 mappings, 3 queues, 6 rules with a pattern
		t.Fatalf("found %d resources that serve the hooks, want 12: %v", len(serving), serving)
	}
	hooks := 0
	for id, r := range s.multiJSON["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] != "AWS::AutoScaling::LifecycleHook" {
			continue
		}
		hooks++
		deps := map[string]bool{}
		list, _ := r["DependsOn"].([]any)
		for _, d := range list {
			deps[d.(string)] = true
		}
		for _, want := range serving {
			if !deps[want] {
				t.Errorf("hook %s does not depend on %s (DependsOn %v)", id, want, list)
			}
		}
	}
	if hooks != 6 {
		t.Errorf("%d hooks, want 6: the terminate and launch hooks of 3 groups", hooks)
	}
}

func TestTheRulesAreInfraRulesPatternsTargetingTheirQueues(t *testing.T) {
	// Each deployed rule must be exactly infra/rules' pattern: the local
	// EventBridge in the end-to-end tests routes with it. The lifecycle
	// rules target the poll queue, so an instance refresh's first hops
	// share their reads 100 at a time (a drain's or a gate's start is in
	// no hurry: the instance waits on its hook); the ECS rules target the
	// event queue, whose source has no batching window: an ECS event on the
	// poll queue would wait up to a second for its batch.
	s := synth(t)
	count(t, s.multi, "AWS::Events::Rule", 7) // and the reconciler's schedule
	poll, events, _ := queueIDs(t, s.multiJSON)
	for _, tc := range []struct {
		name     string
		pick     func(map[string]any) bool
		queueID  string
		targetID string
	}{
		{"the terminate lifecycle rule: the groups and the terminate hook", terminateRule, poll, "DrainerQueue"},
		{"the launch lifecycle rule: the groups and the launch hook", launchRule, poll, "DrainerQueue"},
		{"the task STOPPED rule: the clusters", taskStoppedRule, events, "DrainerEventQueue"},
		{"the DRAINING container instance rule: the clusters", instanceDrainingRule, events, "DrainerEventQueue"},
		{"the ACTIVE container instance rule: the clusters", instanceActiveRule, events, "DrainerEventQueue"},
		{"the placement failure rule: the clusters", placementFailureRule, events, "DrainerEventQueue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// only fails unless exactly one rule has the pattern.
			_, rule := only(t, s.multiJSON, "AWS::Events::Rule", tc.pick)
			want := []any{map[string]any{"Id": tc.targetID, "Arn": getAtt(tc.queueID, "Arn")}}
			if diff := cmp.Diff(want, rule["Targets"]); diff != "" {
				t.Errorf("Targets (-want +got):\n%s", diff)
			}
			if rule["State"] != "ENABLED" {
				t.Errorf("State = %v, want ENABLED", rule["State"])
			}
		})
	}
	t.Run("a group named by a token is a reference in the launch rule's pattern", func(t *testing.T) {
		// Not the token's placeholder string, which would match nothing.
		_, rule := only(t, s.defaultsJS, "AWS::Events::Rule", func(p map[string]any) bool {
			pattern, _ := p["EventPattern"].(map[string]any)
			return cmp.Equal(pattern["detail-type"], []any{"EC2 Instance-launch Lifecycle Action"})
		})
		want := map[string]any{"AutoScalingGroupName": []any{ref("GroupName")}, "LifecycleHookName": []any{"ecs-drainer-launch"}}
		if diff := cmp.Diff(want, rule["EventPattern"].(map[string]any)["detail"]); diff != "" {
			t.Errorf("launch rule's detail (-want +got):\n%s", diff)
		}
	})
}

func TestBothQueuesAreEncryptedTLSOnlyAndRedriveToTheOneDLQ(t *testing.T) {
	s := synth(t)
	count(t, s.multi, "AWS::SQS::Queue", 3)
	poll, events, dlq := queueIDs(t, s.multiJSON)
	_, fn := only(t, s.multiJSON, "AWS::Lambda::Function", nil)
	queues := resources(s.multiJSON, "AWS::SQS::Queue")
	props := func(id string) map[string]any { return queues[id]["Properties"].(map[string]any) }

	t.Run("visibility timeout is 6x the function timeout plus the batching window", func(t *testing.T) {
		// AWS's guidance for an SQS event source; with less, a batch still
		// running (or still gathering) is delivered again.
		timeout := fn["Timeout"].(float64)
		for _, tc := range []struct {
			name   string
			id     string
			window float64
		}{{"poll queue", poll, 1}, {"event queue", events, 0}} {
			if got, want := props(tc.id)["VisibilityTimeout"], 6*timeout+tc.window; got != want {
				t.Errorf("%s: VisibilityTimeout = %v, want %v (6 x Timeout %v + window %v)", tc.name, got, want, timeout, tc.window)
			}
		}
	})
	for _, id := range []string{poll, events} {
		// A record that failed 5 times lands in the one DLQ, whose alarm
		// covers both queues.
		want := map[string]any{"deadLetterTargetArn": getAtt(dlq, "Arn"), "maxReceiveCount": float64(5)}
		if diff := cmp.Diff(want, props(id)["RedrivePolicy"]); diff != "" {
			t.Errorf("%s RedrivePolicy (-want +got):\n%s", id, diff)
		}
		if props(id)["SqsManagedSseEnabled"] != true {
			t.Errorf("%s: SqsManagedSseEnabled = %v, want true", id, props(id)["SqsManagedSseEnabled"])
		}
	}
	has(t, s.multi, "AWS::SQS::Queue", map[string]any{
		"SqsManagedSseEnabled":   true,
		"MessageRetentionPeriod": 14 * 24 * 3600,
	})
	for _, id := range []string{poll, events, dlq} {
		has(t, s.multi, "AWS::SQS::QueuePolicy", map[string]any{
			"Queues": []any{ref(id)},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
				"Effect":    "Deny",
				"Action":    "sqs:*",
				"Principal": map[string]any{"AWS": "*"},
				"Resource":  getAtt(id, "Arn"),
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			}})},
		})
	}
	t.Run("only the ECS rules may send to the event queue, and only the lifecycle rules to the poll queue", func(t *testing.T) {
		allow := func(queue string, picks ...func(map[string]any) bool) []any {
			var want []any
			for _, pick := range picks {
				ruleID, _ := only(t, s.multiJSON, "AWS::Events::Rule", pick)
				want = append(want, map[string]any{
					"Effect":    "Allow",
					"Action":    "sqs:SendMessage",
					"Principal": map[string]any{"Service": "events.amazonaws.com"},
					"Resource":  getAtt(queue, "Arn"),
					"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAtt(ruleID, "Arn")}},
				})
			}
			return want
		}
		want := allow(events, taskStoppedRule, instanceDrainingRule, placementFailureRule, instanceActiveRule)
		allows := func(queue string) []any {
			var out []any
			for _, p := range resources(s.multiJSON, "AWS::SQS::QueuePolicy") {
				pp := p["Properties"].(map[string]any)
				if cmp.Equal(pp["Queues"], []any{ref(queue)}) {
					for _, st := range pp["PolicyDocument"].(map[string]any)["Statement"].([]any) {
						if st.(map[string]any)["Effect"] == "Allow" {
							out = append(out, st)
						}
					}
				}
			}
			return out
		}
		if diff := cmp.Diff(want, allows(events)); diff != "" {
			t.Errorf("event queue's Allow statements (-want +got):\n%s", diff)
		}
		// The function sends through its role's policy.
		if diff := cmp.Diff(allow(poll, terminateRule, launchRule), allows(poll)); diff != "" {
			t.Errorf("poll queue's Allow statements (-want +got):\n%s", diff)
		}
	})
}

func TestTheFunction(t *testing.T) {
	s := synth(t)
	count(t, s.multi, "AWS::Lambda::Function", 1)
	queue, _, _ := queueIDs(t, s.multiJSON)
	logGroup, _ := only(t, s.multiJSON, "AWS::Logs::LogGroup", nil)
	role, _ := only(t, s.multiJSON, "AWS::IAM::Role", nil)
	has(t, s.multi, "AWS::Lambda::Function", map[string]any{
		"Runtime":       "provided.al2023",
		"Architectures": []any{"arm64"},
		"Handler":       "bootstrap",
		"MemorySize":    256,
		"Timeout":       30,
		"Role":          getAtt(role, "Arn"),
		"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": ref(logGroup)},
		// Without Allow, Lambda stops the self re-queueing chain after
		// about 16 hops and drains die half-way.
		"RecursiveLoop": "Allow",
	})
	t.Run("the environment is the drainer's contract", func(t *testing.T) {
		// Two clusters: no DRAINER_CLUSTER fallback, each hook's metadata
		// names its own.
		has(t, s.multi, "AWS::Lambda::Function", map[string]any{"Environment": map[string]any{"Variables": assertions.Match_ObjectEquals(&map[string]any{
			"DRAINER_QUEUE_URL":          ref(queue),
			"DRAINER_ASGS":               "blue-a,blue-b,green-a",
			"DRAINER_HOOKS":              "ecs-drainer,ecs-drainer-launch",
			"DRAINER_POLL_INTERVAL":      "20s",
			"DRAINER_MAX_DRAIN":          "2h0m0s",
			"DRAINER_ON_TIMEOUT":         "abandon",
			"DRAINER_STOP_GRACE":         "3m0s",
			"DRAINER_STALE_AFTER":        "10m0s",
			"DRAINER_DISCONNECTED_AFTER": "0s",
			"DRAINER_STUCK_AFTER":        "20m0s",
			"DRAINER_MAX_LAUNCH":         "15m0s",
			"DRAINER_LAUNCH_DAEMONS":     "true",
		})}})
		defQueue, _, _ := queueIDs(t, s.defaultsJS)
		has(t, s.defaults, "AWS::Lambda::Function", map[string]any{"MemorySize": 128, "Environment": map[string]any{"Variables": assertions.Match_ObjectEquals(&map[string]any{
			"DRAINER_QUEUE_URL":          ref(defQueue),
			"DRAINER_ASGS":               ref("GroupName"),
			"DRAINER_HOOKS":              "ecs-drainer,ecs-drainer-launch",
			"DRAINER_CLUSTER":            ref("ClusterName"),
			"DRAINER_POLL_INTERVAL":      "30s",
			"DRAINER_MAX_DRAIN":          "1h0m0s",
			"DRAINER_ON_TIMEOUT":         "continue",
			"DRAINER_STOP_GRACE":         "2m0s",
			"DRAINER_STALE_AFTER":        "15m0s",
			"DRAINER_DISCONNECTED_AFTER": "5m0s",
			"DRAINER_STUCK_AFTER":        "0s",
			"DRAINER_MAX_LAUNCH":         "10m0s",
			"DRAINER_LAUNCH_DAEMONS":     "false",
		})}})
	})
	t.Run("its log group keeps logs for the retention asked", func(t *testing.T) {
		has(t, s.multi, "AWS::Logs::LogGroup", map[string]any{"RetentionInDays": 14})
		has(t, s.defaults, "AWS::Logs::LogGroup", map[string]any{"RetentionInDays": 30})
	})
	t.Run("each queue has its event source, reporting per-record failures", func(t *testing.T) {
		// The poll queue gathers 100 re-queue messages for up to a second,
		// so their hops share DescribeContainerInstances 100 at a time
		// (Lambda requires a window above 10 records); the event queue
		// invokes at once, so a task's STOPPED event completes its drain
		// without waiting for a window.
		fn, _ := only(t, s.multiJSON, "AWS::Lambda::Function", nil)
		_, events, _ := queueIDs(t, s.multiJSON)
		count(t, s.multi, "AWS::Lambda::EventSourceMapping", 2)
		for name, want := range map[string]map[string]any{
			"poll queue": {
				"FunctionName":                   ref(fn),
				"EventSourceArn":                 getAtt(queue, "Arn"),
				"BatchSize":                      float64(100),
				"MaximumBatchingWindowInSeconds": float64(1),
				"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
				"ScalingConfig":                  map[string]any{"MaximumConcurrency": float64(5)},
			},
			"event queue": {
				"FunctionName":          ref(fn),
				"EventSourceArn":        getAtt(events, "Arn"),
				"BatchSize":             float64(10),
				"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
				"ScalingConfig":         map[string]any{"MaximumConcurrency": float64(10)},
			},
		} {
			_, got := only(t, s.multiJSON, "AWS::Lambda::EventSourceMapping", func(p map[string]any) bool {
				return cmp.Equal(p["EventSourceArn"], want["EventSourceArn"])
			})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s's event source (-want +got):\n%s", name, diff)
			}
		}
	})
	t.Run("the synth built bootstrap for linux/arm64, statically linked", func(t *testing.T) {
		// Both stacks deploy the same binary, so the assembly holds one asset.
		paths, _ := filepath.Glob(filepath.Join(s.assemblyDir, "asset.*", "bootstrap"))
		if len(paths) != 1 {
			t.Fatalf("assets with a bootstrap: %v, want exactly one", paths)
		}
		f, err := elf.Open(paths[0])
		if err != nil {
			t.Fatalf("opening the function asset's bootstrap: %v", err)
		}
		defer f.Close()
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("bootstrap machine = %v, want EM_AARCH64", f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("bootstrap has an interpreter (dynamically linked); want CGO_ENABLED=0")
			}
		}
		if entries, _ := os.ReadDir(filepath.Dir(paths[0])); len(entries) != 1 {
			t.Errorf("asset holds %d entries, want only bootstrap", len(entries))
		}
	})
}

func mustID(t *testing.T, tpl map[string]any, typ string) string {
	t.Helper()
	id, _ := only(t, tpl, typ, nil)
	return id
}

func TestAlarmsNotifyTheTopic(t *testing.T) {
	s := synth(t)
	_, _, dlq := queueIDs(t, s.multiJSON)
	fn := mustID(t, s.multiJSON, "AWS::Lambda::Function")
	logGroup := mustID(t, s.multiJSON, "AWS::Logs::LogGroup")
	scheduleID, _ := only(t, s.multiJSON, "AWS::Events::Rule", func(p map[string]any) bool { return p["ScheduleExpression"] != nil })
	// The five below and a stuck-drain alarm per group
	// (TestEachGroupHasAStuckDrainAlarm).
	count(t, s.multi, "AWS::CloudWatch::Alarm", 5+len(multiGroups))
	common := map[string]any{
		"Threshold":          1,
		"EvaluationPeriods":  1,
		"Period":             300,
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"TreatMissingData":   "notBreaching",
		"AlarmActions":       []any{topicARN},
	}
	for name, metric := range map[string]map[string]any{
		"dead-letter queue depth": {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Statistic": "Maximum",
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": getAtt(dlq, "QueueName")}}},
		"function errors": {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum",
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}}},
		"drains that hit the deadline": {"Namespace": "ECSDrainer/Multi", "MetricName": "DeadlineReached", "Statistic": "Sum"},
		"launches the gate abandoned":  {"Namespace": "ECSDrainer/Multi", "MetricName": "LaunchAbandoned", "Statistic": "Sum"},
		"a schedule that cannot invoke the function": {"Namespace": "AWS/Events", "MetricName": "FailedInvocations", "Statistic": "Sum",
			"Dimensions": []any{map[string]any{"Name": "RuleName", "Value": ref(scheduleID)}}},
	} {
		t.Run(name, func(t *testing.T) {
			props := map[string]any{}
			for k, v := range common {
				props[k] = v
			}
			for k, v := range metric {
				props[k] = v
			}
			has(t, s.multi, "AWS::CloudWatch::Alarm", props)
		})
	}
	t.Run("the deadline metric counts the function's deadline_reached, deadline_abandoned, agent_disconnected and stuck log lines", func(t *testing.T) {
		has(t, s.multi, "AWS::Logs::MetricFilter", map[string]any{
			"LogGroupName":  ref(logGroup),
			"FilterPattern": `{ ($.outcome = "deadline_reached") || ($.outcome = "deadline_abandoned") || ($.outcome = "agent_disconnected") || ($.outcome = "stuck") }`,
			"MetricTransformations": []any{map[string]any{
				"MetricNamespace": "ECSDrainer/Multi", "MetricName": "DeadlineReached", "MetricValue": "1",
			}},
		})
	})
	t.Run("the launch metric counts the function's launch_failed and launch_deadline log lines", func(t *testing.T) {
		// A launch the gate abandoned is one Auto Scaling replaces; the
		// outcomes are the contract's, which the function logs.
		has(t, s.multi, "AWS::Logs::MetricFilter", map[string]any{
			"LogGroupName":  ref(logGroup),
			"FilterPattern": `{ ($.outcome = "launch_failed") || ($.outcome = "launch_deadline") }`,
			"MetricTransformations": []any{map[string]any{
				"MetricNamespace": "ECSDrainer/Multi", "MetricName": "LaunchAbandoned", "MetricValue": "1",
			}},
		})
		has(t, s.multi, "AWS::CloudWatch::Alarm", map[string]any{
			"MetricName":       "LaunchAbandoned",
			"AlarmDescription": assertions.Match_StringLikeRegexp(jsii.String("REGISTRATION_FAILED.*DRAINER_MAX_LAUNCH.*Auto Scaling replaces it.*WARN")),
		})
	})
	t.Run("without a topic the alarms have no action", func(t *testing.T) {
		count(t, s.defaults, "AWS::CloudWatch::Alarm", 5+1)
		for id, a := range resources(s.defaultsJS, "AWS::CloudWatch::Alarm") {
			if actions := a["Properties"].(map[string]any)["AlarmActions"]; actions != nil {
				t.Errorf("alarm %s: AlarmActions = %v, want none", id, actions)
			}
		}
	})
}

func TestThePolicyIsExactlyLeastPrivilege(t *testing.T) {
	// Each statement is the narrowest the action supports; a new action or
	// a wider resource must be a deliberate change of this list.
	s := synth(t)
	queue, events, _ := queueIDs(t, s.multiJSON)
	logGroup := mustID(t, s.multiJSON, "AWS::Logs::LogGroup")
	role := mustID(t, s.multiJSON, "AWS::IAM::Role")
	count(t, s.multi, "AWS::IAM::Policy", 1)
	_, policy := only(t, s.multiJSON, "AWS::IAM::Policy", nil)
	ecs := func(resource string) map[string]any { return arn(":ecs:" + region + ":" + account + ":" + resource) }
	group := func(name string) map[string]any {
		return arn(":autoscaling:" + region + ":" + account + ":autoScalingGroup:*:autoScalingGroupName/" + name)
	}
	consume := []any{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
	want := []any{
		// Granted by the SQS event sources: the pollers read and delete.
		map[string]any{"Effect": "Allow", "Resource": getAtt(events, "Arn"), "Action": consume},
		map[string]any{"Effect": "Allow", "Resource": getAtt(queue, "Arn"), "Action": consume},
		map[string]any{"Effect": "Allow", "Resource": getAtt(logGroup, "Arn"), "Action": []any{"logs:CreateLogStream", "logs:PutLogEvents"}},
		map[string]any{"Effect": "Allow", "Action": "ecs:ListContainerInstances",
			"Resource": []any{ecs("cluster/blue"), ecs("cluster/green")}},
		// DeleteAttributes: the gate removes the chain mark of an instance
		// drained into a warm pool when it sets it ACTIVE again.
		map[string]any{"Effect": "Allow", "Action": []any{"ecs:DescribeContainerInstances", "ecs:UpdateContainerInstancesState", "ecs:PutAttributes", "ecs:DeleteAttributes"},
			"Resource": []any{ecs("container-instance/blue/*"), ecs("container-instance/green/*")}},
		map[string]any{"Effect": "Allow", "Action": []any{"ecs:DescribeTasks", "ecs:GetTaskProtection"},
			"Resource": []any{ecs("task/blue/*"), ecs("task/green/*")}},
		// Only blue has a stop-tasks group (blue-a).
		map[string]any{"Effect": "Allow", "Action": "ecs:StopTask", "Resource": ecs("task/blue/*")},
		// Confined to the clusters by ecs:cluster: ListTasks without a
		// container instance (a placement failure lists its service's
		// tasks) authorizes on "*", and the daemon wait's ListServices has
		// no resource type.
		map[string]any{"Effect": "Allow", "Action": []any{"ecs:ListTasks", "ecs:ListServices"}, "Resource": "*",
			"Condition": map[string]any{"ArnEquals": map[string]any{"ecs:cluster": []any{ecs("cluster/blue"), ecs("cluster/green")}}}},
		// The diagnosis and the daemon wait read services, confined to the
		// clusters by ecs:cluster: a service's ARN may lack its cluster
		// (short ARNs of services created before 2021).
		map[string]any{"Effect": "Allow", "Action": "ecs:DescribeServices", "Resource": ecs("service/*"),
			"Condition": map[string]any{"ArnEquals": map[string]any{"ecs:cluster": []any{ecs("cluster/blue"), ecs("cluster/green")}}}},
		// The diagnosis reads task definitions (ports, CPU, memory):
		// DescribeTaskDefinition supports no resource type.
		map[string]any{"Effect": "Allow", "Action": "ecs:DescribeTaskDefinition", "Resource": "*"},
		map[string]any{"Effect": "Allow", "Action": []any{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"},
			"Resource": []any{group("blue-a"), group("blue-b"), group("green-a")}},
		// DescribeAutoScalingGroups: the diagnosis counts the group's
		// launching instances, the reconciler its waiting ones.
		map[string]any{"Effect": "Allow", "Action": []any{"autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeWarmPool", "autoscaling:DescribeScalingActivities"},
			"Resource": "*"},
		// The re-queue goes to the poll queue only.
		map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": getAtt(queue, "Arn")},
		// The drain state change events go to the default bus only.
		map[string]any{"Effect": "Allow", "Action": "events:PutEvents", "Resource": arn(":events:" + region + ":" + account + ":event-bus/default")},
	}
	doc := policy["PolicyDocument"].(map[string]any)
	if diff := cmp.Diff(want, doc["Statement"]); diff != "" {
		t.Errorf("policy statements (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{ref(role)}, policy["Roles"]); diff != "" {
		t.Errorf("policy roles (-want +got):\n%s", diff)
	}
	t.Run("without a stop-tasks group there is no StopTask, without the daemon wait no ListServices; the diagnosis's reads stay", func(t *testing.T) {
		_, p := only(t, s.defaultsJS, "AWS::IAM::Policy", nil)
		for _, action := range []string{"ecs:StopTask", "ecs:ListServices"} {
			if st := granting(p, action); st != nil {
				t.Errorf("defaults stack (policy continue, no LaunchWaitsForDaemons) grants %v, want no %s", st, action)
			}
		}
		for _, action := range []string{"ecs:ListTasks", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "autoscaling:DescribeAutoScalingGroups"} {
			if granting(p, action) == nil {
				t.Errorf("defaults stack grants no %s, which the diagnosis of every drain needs", action)
			}
		}
		if granting(p, "ecs:DeleteAttributes") == nil {
			t.Errorf("defaults stack (gate on) grants no ecs:DeleteAttributes, which re-activating a warm pool instance needs")
		}
	})
	t.Run("the role has no managed policy", func(t *testing.T) {
		has(t, s.multi, "AWS::IAM::Role", map[string]any{
			"ManagedPolicyArns": assertions.Match_Absent(),
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
				"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"},
			}}},
		})
	})
}

// granting returns the policy's statement that grants action, or nil.
func granting(policy map[string]any, action string) any {
	for _, st := range policy["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		switch a := st.(map[string]any)["Action"].(type) {
		case string:
			if a == action {
				return st
			}
		case []any:
			for _, one := range a {
				if one == action {
					return st
				}
			}
		}
	}
	return nil
}

func TestCdkNagFindsNothingUnsuppressed(t *testing.T) {
	s := synth(t)
	for name, findings := range map[string][]string{"multi": s.multiFindings, "defaults": s.defaultsFindings} {
		for _, f := range findings {
			t.Errorf("%s stack: %s", name, f)
		}
	}
	t.Run("every suppression gives its reason", func(t *testing.T) {
		var n int
		id, _ := only(t, s.multiJSON, "AWS::IAM::Policy", nil)
		meta, _ := s.multiJSON["Resources"].(map[string]any)[id].(map[string]any)["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		suppressions, _ := nag["rules_to_suppress"].([]any)
		for _, rule := range suppressions {
			n++
			if reason, _ := rule.(map[string]any)["reason"].(string); len(reason) < 40 {
				t.Errorf("%s: suppression %v has no real reason", id, rule)
			}
		}
		if n != 5 {
			t.Errorf("%d suppressions, want 5 (the policy's five kinds of wildcard)", n)
		}
	})
}

func TestTheReconcilerRunsOnASchedule(t *testing.T) {
	// The function answers EventBridge's scheduled event (detail-type
	// "Scheduled Event", source aws.events) with a sweep for lost drains;
	// a rate rule targeting it directly sends exactly that.
	s := synth(t)
	fn := mustID(t, s.multiJSON, "AWS::Lambda::Function")
	schedule, rule := only(t, s.multiJSON, "AWS::Events::Rule", func(p map[string]any) bool { return p["ScheduleExpression"] != nil })
	if got := rule["ScheduleExpression"]; got != "rate(2 minutes)" {
		t.Errorf("ScheduleExpression = %v, want rate(2 minutes) (ReconcileInterval)", got)
	}
	if rule["EventPattern"] != nil || rule["State"] != "ENABLED" {
		t.Errorf("schedule rule: EventPattern %v, State %v; want none and ENABLED", rule["EventPattern"], rule["State"])
	}
	t.Run("it invokes the function with the event itself, dropping a sweep once the next is due", func(t *testing.T) {
		targets, _ := rule["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("schedule targets = %v, want exactly the function", targets)
		}
		target := targets[0].(map[string]any)
		delete(target, "Id")
		want := map[string]any{
			"Arn":         getAtt(fn, "Arn"),
			"RetryPolicy": map[string]any{"MaximumEventAgeInSeconds": float64(120), "MaximumRetryAttempts": float64(3)},
		}
		// No Input: the function must receive the scheduled event, not a
		// constant.
		if diff := cmp.Diff(want, target); diff != "" {
			t.Errorf("schedule target (-want +got):\n%s", diff)
		}
		has(t, s.multi, "AWS::Lambda::Permission", map[string]any{
			"Action":       "lambda:InvokeFunction",
			"FunctionName": getAtt(fn, "Arn"),
			"Principal":    "events.amazonaws.com",
			"SourceArn":    getAtt(schedule, "Arn"),
		})
		has(t, s.multi, "AWS::Lambda::EventInvokeConfig", map[string]any{
			"FunctionName":             ref(fn),
			"Qualifier":                "$LATEST",
			"MaximumEventAgeInSeconds": 120,
			"MaximumRetryAttempts":     0,
		})
	})
	t.Run("the default interval is a minute", func(t *testing.T) {
		has(t, s.defaults, "AWS::Events::Rule", map[string]any{"ScheduleExpression": "rate(1 minute)"})
		has(t, s.defaults, "AWS::Lambda::EventInvokeConfig", map[string]any{"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0})
	})
}

func TestDisableReconcileCreatesNoScheduleAndNoDescribeWarmPool(t *testing.T) {
	skipSynthIfShort(t)
	stack, d := oneGroup("NoReconcile", drainer.Props{
		DisableReconcile: true,
	})
	if d.ReconcileRule != nil || d.ReconcileAlarm != nil {
		t.Errorf("ReconcileRule %v, ReconcileAlarm %v; want both nil", d.ReconcileRule, d.ReconcileAlarm)
	}
	// The sweep reports the gauges: without it there is no stuck alarm,
	// and the dashboard leaves out the graphs that would stay empty.
	if d.StuckAlarms != nil || d.StuckAlarm("g") != nil {
		t.Errorf("StuckAlarms %v, StuckAlarm(g) %v; want none without the sweep", d.StuckAlarms, d.StuckAlarm("g"))
	}
	tpl := assertions.Template_FromStack(stack, nil)
	var titles []string
	for _, w := range dashboardWidgets(t, toMap(tpl.ToJSON())) {
		titles = append(titles, w.title)
	}
	if diff := cmp.Diff(withoutGauges, titles); diff != "" {
		t.Errorf("dashboard widgets without the reconciler (-want +got):\n%s", diff)
	}
	count(t, tpl, "AWS::Events::Rule", 6) // no schedule: the lifecycle and ECS rules
	count(t, tpl, "AWS::Lambda::Permission", 0)
	count(t, tpl, "AWS::Lambda::EventInvokeConfig", 0)
	count(t, tpl, "AWS::CloudWatch::Alarm", 4)
	_, policy := only(t, toMap(tpl.ToJSON()), "AWS::IAM::Policy", nil)
	for _, st := range policy["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		for _, action := range []string{"autoscaling:DescribeWarmPool", "autoscaling:DescribeScalingActivities"} {
			if strings.Contains(fmt.Sprint(st.(map[string]any)["Action"]), action) {
				t.Errorf("statement %v grants %s; want it only with the reconciler", st, action)
			}
		}
	}
	// The diagnosis counts the group's launching instances, reconciler or
	// not.
	if granting(policy, "autoscaling:DescribeAutoScalingGroups") == nil {
		t.Errorf("no statement grants autoscaling:DescribeAutoScalingGroups; the diagnosis needs it without the reconciler too")
	}
}

func TestDisableLaunchGateCreatesNoLaunchHookRuleAlarmOrPermission(t *testing.T) {
	// With the gate off, nothing may hold a launching instance, the
	// function must not be told of a launch hook, and the role must not
	// keep what only the gate calls.
	skipSynthIfShort(t)
	stack, d := oneGroup("NoGate", drainer.Props{
		DisableLaunchGate: true,
	})
	if d.LaunchHooks != nil || d.LaunchRule != nil || d.InstanceActiveRule != nil || d.LaunchAlarm != nil {
		t.Errorf("LaunchHooks %v, LaunchRule %v, InstanceActiveRule %v, LaunchAlarm %v; want all nil", d.LaunchHooks, d.LaunchRule, d.InstanceActiveRule, d.LaunchAlarm)
	}
	tpl := assertions.Template_FromStack(stack, nil)
	js := toMap(tpl.ToJSON())
	count(t, tpl, "AWS::AutoScaling::LifecycleHook", 1)
	has(t, tpl, "AWS::AutoScaling::LifecycleHook", map[string]any{"LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"})
	count(t, tpl, "AWS::Events::Rule", 5)      // terminate, task STOPPED, DRAINING, placement failure, the schedule
	count(t, tpl, "AWS::CloudWatch::Alarm", 5) // dead-letter, errors, deadline, schedule, the group's stuck drains
	count(t, tpl, "AWS::Logs::MetricFilter", 1)
	_, fn := only(t, js, "AWS::Lambda::Function", nil)
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env["DRAINER_HOOKS"] != "ecs-drainer" {
		t.Errorf("DRAINER_HOOKS = %v, want ecs-drainer alone", env["DRAINER_HOOKS"])
	}
	for _, name := range []string{"DRAINER_MAX_LAUNCH", "DRAINER_LAUNCH_DAEMONS"} {
		if v, ok := env[name]; ok {
			t.Errorf("%s = %v, want it unset without the gate", name, v)
		}
	}
	_, policy := only(t, js, "AWS::IAM::Policy", nil)
	for _, action := range []string{"ecs:DeleteAttributes", "ecs:ListServices"} {
		if st := granting(policy, action); st != nil {
			t.Errorf("statement %v grants %s; want it only with the gate", st, action)
		}
	}
	if findings := nagFindings(stack); len(findings) != 0 {
		t.Errorf("cdk-nag: %v", findings)
	}
}

func TestMinHeartbeatTimeoutAndGlobalTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		// 2 x (poll + 1 s window + 30 s hop + 181 s poll queue visibility)
		{"min heartbeat for the default poll", drainer.MinHeartbeatTimeout(30 * 1e9).String(), "8m4s"},
		{"min heartbeat for a 5 minute poll", drainer.MinHeartbeatTimeout(300 * 1e9).String(), "17m4s"},
		{"global timeout is 100 heartbeats", drainer.GlobalTimeout(600 * 1e9).String(), "16h40m0s"},
		{"global timeout is capped at 48h", drainer.GlobalTimeout(7200 * 1e9).String(), "48h0m0s"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestGuardrailsRejectPropsAtSynthTime(t *testing.T) {
	// Each of these deploys a drainer that fails in production: a heartbeat
	// that lapses between polls, a deadline the hook never reaches, a group
	// hooked twice. New must refuse them with a message saying what to do.
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Guardrails"), nil)
	cluster := awsecs.Cluster_FromClusterArn(stack, jsii.String("Cluster"), clusterARN(stack, "c"))
	a := awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(stack, jsii.String("A"), jsii.String("asg-a"))
	a2 := awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(stack, jsii.String("A2"), jsii.String("asg-a"))
	one := []drainer.Target{{Cluster: cluster, AutoScalingGroup: a}}
	sec := func(s float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(s)) }

	for _, tc := range []struct {
		name  string
		props *drainer.Props
		want  string // in the panic message; "" means accepted
	}{
		{"a heartbeat timeout shorter than twice (poll + window + hop + retry)",
			&drainer.Props{Targets: one, PollInterval: sec(60), HeartbeatTimeout: sec(543)},
			"HeartbeatTimeout 9m3s is too short for PollInterval 1m0s: want at least 9m4s, twice (the poll interval + the batching window 1s + the function timeout 30s + the poll queue's visibility timeout 3m1s)"},
		{"the shortest heartbeat timeout for the poll interval",
			&drainer.Props{Targets: one, PollInterval: sec(60), HeartbeatTimeout: sec(544)}, ""},
		{"a max drain beyond 100 heartbeat timeouts",
			&drainer.Props{Targets: one, HeartbeatTimeout: sec(600), MaxDrain: awscdk.Duration_Hours(jsii.Number(17))},
			"MaxDrain 17h0m0s is beyond the hook's global timeout 16h40m0s (min(48h, 100 x HeartbeatTimeout 10m0s)): Auto Scaling would release the instance first; raise HeartbeatTimeout to at least 10m12s"},
		{"a max drain of exactly the global timeout",
			&drainer.Props{Targets: one, HeartbeatTimeout: sec(600), MaxDrain: sec(100 * 600)}, ""},
		{"a max drain beyond 48 hours",
			&drainer.Props{Targets: one, HeartbeatTimeout: sec(7200), MaxDrain: awscdk.Duration_Hours(jsii.Number(49))},
			"MaxDrain 49h0m0s is out of range: want more than 0 and at most 48h0m0s"},
		{"a group named twice, by two imports of one name",
			&drainer.Props{Targets: []drainer.Target{{Cluster: cluster, AutoScalingGroup: a}, {Cluster: cluster, AutoScalingGroup: a2}}},
			"Auto Scaling group asg-a is named twice in props.Targets"},
		{"no target", &drainer.Props{}, "Targets is empty"},
		{"a target without its group", &drainer.Props{Targets: []drainer.Target{{Cluster: cluster}}}, "Targets[0] needs both"},
		{"a poll interval beyond SQS's message timer",
			&drainer.Props{Targets: one, PollInterval: sec(901), HeartbeatTimeout: sec(7200)}, "PollInterval 15m1s is out of range"},
		{"a heartbeat timeout beyond Auto Scaling's range",
			&drainer.Props{Targets: one, HeartbeatTimeout: sec(7201)}, "HeartbeatTimeout 2h0m1s is out of range"},
		{"a duration that is a token",
			&drainer.Props{Targets: one, MaxDrain: awscdk.Duration_Seconds(awscdk.Token_AsNumber(awscdk.NewCfnParameter(stack, jsii.String("P"), &awscdk.CfnParameterProps{Type: jsii.String("Number")}).Value()))},
			"MaxDrain must be a literal duration"},
		{"a memory size Lambda refuses", &drainer.Props{Targets: one, MemorySize: jsii.Number(64)}, "MemorySize 64 is out of range"},
		{"an unknown timeout policy", &drainer.Props{Targets: one, OnTimeout: "terminate"}, `OnTimeout "terminate" is not a timeout policy`},
		{"an unknown timeout policy for one group",
			&drainer.Props{Targets: []drainer.Target{{Cluster: cluster, AutoScalingGroup: a, OnTimeout: "Abandon"}}},
			`Targets[0].OnTimeout "Abandon" is not a timeout policy`},
		{"stop-tasks whose grace runs past the global timeout",
			&drainer.Props{Targets: one, OnTimeout: drainer.OnTimeoutStopTasks, HeartbeatTimeout: sec(600), MaxDrain: sec(100 * 600), StopGrace: sec(60)},
			"MaxDrain 16h40m0s + StopGrace 1m0s is beyond the hook's global timeout 16h40m0s (min(48h, 100 x HeartbeatTimeout 10m0s)) for group asg-a, whose timeout policy is stop-tasks: Auto Scaling would release the instance before the stopped tasks are gone; lower MaxDrain or StopGrace, or raise HeartbeatTimeout to at least 10m1s"},
		{"one stop-tasks group whose grace runs past the global timeout, the default being continue",
			&drainer.Props{Targets: []drainer.Target{{Cluster: cluster, AutoScalingGroup: a, OnTimeout: drainer.OnTimeoutStopTasks}}, HeartbeatTimeout: sec(600), MaxDrain: sec(100 * 600)},
			"for group asg-a, whose timeout policy is stop-tasks"},
		{"stop-tasks with the grace just inside the global timeout",
			&drainer.Props{Targets: one, OnTimeout: drainer.OnTimeoutStopTasks, HeartbeatTimeout: sec(600), MaxDrain: sec(100*600 - 120)}, ""},
		{"continue with a max drain of the whole global timeout (the grace does not apply)",
			&drainer.Props{Targets: one, OnTimeout: drainer.OnTimeoutContinue, HeartbeatTimeout: sec(600), MaxDrain: sec(100 * 600)}, ""},
		{"a stop grace beyond 15 minutes", &drainer.Props{Targets: one, StopGrace: sec(901)}, "StopGrace 15m1s is out of range"},
		{"a stale-after below a minute", &drainer.Props{Targets: one, StaleAfter: sec(59)}, "StaleAfter 59s is out of range"},
		{"disconnected-after beyond 48 h", &drainer.Props{Targets: one, DisconnectedAfter: sec(49 * 3600)}, "DisconnectedAfter 49h0m0s is out of range"},
		{"a reconcile interval of part of a minute", &drainer.Props{Targets: one, ReconcileInterval: sec(90)}, "ReconcileInterval 1m30s is not whole minutes"},
		{"a reconcile interval longer than a quarter heartbeat timeout",
			&drainer.Props{Targets: one, HeartbeatTimeout: sec(600), ReconcileInterval: sec(180)},
			"ReconcileInterval 3m0s is longer than a quarter of HeartbeatTimeout 10m0s: a lost drain would be found after its heartbeat lapsed; want at most 2m0s"},
		{"a reconcile interval and DisableReconcile", &drainer.Props{Targets: one, ReconcileInterval: sec(60), DisableReconcile: true}, "set one of them"},
		{"a max launch beyond 100 launch heartbeat timeouts",
			&drainer.Props{Targets: one, LaunchHeartbeatTimeout: sec(600), MaxLaunch: awscdk.Duration_Hours(jsii.Number(17))},
			"MaxLaunch 17h0m0s is beyond the launch hook's global timeout 16h40m0s (min(48h, 100 x LaunchHeartbeatTimeout 10m0s)): Auto Scaling would put the instance in service first, without ECS; raise LaunchHeartbeatTimeout to at least 10m12s"},
		{"a max launch beyond the global timeout of the default launch heartbeat, HeartbeatTimeout",
			&drainer.Props{Targets: one, HeartbeatTimeout: sec(600), MaxLaunch: awscdk.Duration_Hours(jsii.Number(17))},
			"(min(48h, 100 x LaunchHeartbeatTimeout 10m0s))"},
		{"a max launch of exactly the launch hook's global timeout",
			&drainer.Props{Targets: one, LaunchHeartbeatTimeout: sec(600), MaxLaunch: sec(100 * 600)}, ""},
		{"a max launch under a minute", &drainer.Props{Targets: one, MaxLaunch: sec(59)}, "MaxLaunch 59s is out of range: want 1m0s to 48h0m0s"},
		{"a launch heartbeat timeout shorter than twice (poll + window + hop + retry)",
			&drainer.Props{Targets: one, PollInterval: sec(60), HeartbeatTimeout: sec(600), LaunchHeartbeatTimeout: sec(543)},
			"LaunchHeartbeatTimeout 9m3s is too short for PollInterval 1m0s: want at least 9m4s"},
		{"a launch heartbeat timeout beyond Auto Scaling's range",
			&drainer.Props{Targets: one, LaunchHeartbeatTimeout: sec(7201)}, "LaunchHeartbeatTimeout 2h0m1s is out of range"},
		{"a reconcile interval longer than a quarter of the shorter, launch, heartbeat timeout",
			&drainer.Props{Targets: one, HeartbeatTimeout: sec(1800), LaunchHeartbeatTimeout: sec(600), ReconcileInterval: sec(180)},
			"ReconcileInterval 3m0s is longer than a quarter of LaunchHeartbeatTimeout 10m0s"},
		{"a launch setting with DisableLaunchGate", &drainer.Props{Targets: one, MaxLaunch: sec(300), DisableLaunchGate: true},
			"MaxLaunch is set but DisableLaunchGate is true: set one of them"},
		{"the daemon wait with DisableLaunchGate", &drainer.Props{Targets: one, LaunchWaitsForDaemons: true, DisableLaunchGate: true},
			"LaunchWaitsForDaemons is set but DisableLaunchGate is true"},
		{"a stuck-after of MaxDrain, which the deadline always beats",
			&drainer.Props{Targets: one, StuckAfter: sec(3600)},
			"StuckAfter 1h0m0s is not less than MaxDrain 1h0m0s: the drain's deadline would come first and it would never apply; lower it, or 0 for off"},
		{"a stuck-after just under MaxDrain", &drainer.Props{Targets: one, MaxDrain: sec(1800), StuckAfter: sec(1799)}, ""},
		{"a group's stuck-after beyond MaxDrain",
			&drainer.Props{Targets: []drainer.Target{{Cluster: cluster, AutoScalingGroup: a, StuckAfter: sec(7200)}}},
			"Targets[0].StuckAfter 2h0m0s is not less than MaxDrain 1h0m0s"},
		{"a group's stuck-after beyond 48 h",
			&drainer.Props{Targets: []drainer.Target{{Cluster: cluster, AutoScalingGroup: a, StuckAfter: sec(49 * 3600)}}},
			"Targets[0].StuckAfter 49h0m0s is out of range"},
		{"a group's stuck-after of 0 under a default beyond MaxDrain still refuses the default",
			&drainer.Props{Targets: []drainer.Target{{Cluster: cluster, AutoScalingGroup: a, StuckAfter: sec(0)}}, StuckAfter: sec(3600)},
			"StuckAfter 1h0m0s is not less than MaxDrain"},
		{"a stuck alarm age of MaxDrain, which the deadline never lets a drain reach",
			&drainer.Props{Targets: one, StuckAlarmAge: sec(3600)},
			"StuckAlarmAge 1h0m0s is not between 0 and MaxDrain 1h0m0s: the drain's deadline ends a drain at MaxDrain"},
		{"a stuck alarm age of 0",
			&drainer.Props{Targets: one, StuckAlarmAge: sec(0)},
			"StuckAlarmAge 0s is not between 0 and MaxDrain"},
		{"a stuck alarm age without the sweep that reports the age",
			&drainer.Props{Targets: one, StuckAlarmAge: sec(600), DisableReconcile: true},
			"StuckAlarmAge is set but DisableReconcile is true"},
		{"a stuck alarm age just below MaxDrain",
			&drainer.Props{Targets: one, StuckAlarmAge: sec(3599)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				// Accepted props create the drainer, whose asset
				// builds the function.
				skipSynthIfShort(t)
			}
			got := panicOf(func() { drainer.New(stack, jsii.String("D"+strings.ReplaceAll(tc.name, " ", "")), tc.props) })
			switch {
			case tc.want == "" && got != "":
				t.Errorf("New panicked: %s; want accepted", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("New panic = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestMain(m *testing.M) {
	// The synth's own node process prints a banner on old node versions.
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	os.Exit(m.Run())
}
