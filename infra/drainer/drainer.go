// Package drainer is the reusable CDK construct that deploys ecs-drainer for
// one or more (ECS cluster, Auto Scaling group) pairs:
//
//	ASG terminate lifecycle hook (per group, DefaultResult CONTINUE,
//	metadata {"cluster":NAME} plus the group's "on_timeout" when it has its own)
//	  -> EventBridge rule (the pattern of infra/rules, for exactly these groups)
//	  -> event queue (SSE, TLS only, DLQ after 5 receives; batches of 10)
//	  -> Lambda function (provided.al2023, arm64), which re-queues itself
//	     through the poll queue (the same, but batches of 100 gathered for
//	     up to 1 s) until the instance has no task left
//	EventBridge rules on the clusters' ECS events (tasks reaching STOPPED,
//	  DRAINING container instances) -> the event queue: a drain completes
//	  as soon as its last task stops, not at its next poll
//	EventBridge schedule (rate, 1 min by default) -> the same function: the
//	  reconciler, which restarts drains whose chain was lost
//	the launch gate (unless DisableLaunchGate): an ASG launch lifecycle hook
//	  per group (DefaultResult CONTINUE, the same metadata), its rule into
//	  the poll queue, and a rule for the clusters' ACTIVE, connected, empty
//	  container instances into the event queue: the function completes a
//	  launch once ECS can place tasks on the instance
//
// plus alarms on the dead-letter queue, function errors, drains that hit
// their deadline, launches the gate abandoned and a schedule that cannot
// invoke the function; a stuck-drain alarm per group, for an instance
// refresh's alarm specification; a dashboard of the function's metrics
// (unless DisableDashboard); and a least-privilege role. Invalid props panic in
// New with a message saying what to change, the way CDK constructs reject
// props.
package drainer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-drainer/ecs-drainer/infra/rules"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// HookName is the name of the lifecycle hook the construct puts on each group.
// A fixed name makes it easy to tell apart from ECS's own
// "ecs-managed-draining-termination-hook" and from hand-built hooks, and makes
// a second drainer on the same group fail at deploy instead of running twice.
const HookName = contract.HookName

// LaunchHookName is the name of the launch lifecycle hook the construct puts
// on each group unless DisableLaunchGate: a fixed name beside HookName, for
// the same reasons.
const LaunchHookName = contract.LaunchHookName

// The metrics of drains that hit their deadline and of launches the gate
// abandoned, counted from the function's JSON logs. The namespace gets the
// stack's name, so drainers in several stacks of one account do not add up
// in one alarm.
const (
	metricNamespace       = contract.MetricNamespace
	deadlineReachedMetric = "DeadlineReached"
	launchAbandonedMetric = "LaunchAbandoned"
)

// Construction constants.
const (
	// maxReceiveCount: a record that failed five times (each retry after
	// the visibility timeout) will not succeed on its own; the DLQ alarm
	// then calls a human.
	maxReceiveCount = 5
	// eventBatchSize: the rules' events go to their own queue so that none
	// waits for a batching window (an ECS task's STOPPED event is what
	// completes a drain at once); 10 is the most Lambda takes without one.
	// The handler runs a batch's records together and sends back those it
	// has no time for.
	eventBatchSize = 10
	// pollBatchSize: the re-queue messages of one batch share their first
	// reads (one DescribeContainerInstances per cluster and 100 instances,
	// one DescribeAutoScalingInstances per 50), so 1,000 drains cost 10
	// DescribeContainerInstances per poll round instead of 100 in batches
	// of 10.
	pollBatchSize = 100
	// pollBatchingWindow: Lambda requires a window of at least 1 s for a
	// batch above 10 records. The shortest: each hop may come up to this
	// much after its poll interval, and the visibility timeout grows by it.
	pollBatchingWindow = time.Second
	// eventMaxConcurrency caps the event queue's concurrent batches. An
	// instance refresh of 1,000 instances brings about six event records
	// per drain (its lifecycle action, its tasks reaching STOPPED, its
	// container instance's changes while DRAINING), in bursts as each
	// refresh step terminates its share at once; a batch's ECS events share
	// one DescribeContainerInstances, where most of them stop. Ten batches
	// of 10 keep a burst's records from queueing behind each other (the
	// lag target is under a second after a task stops) while bounding the
	// calls that ECS's per-account Describe and List buckets see at once.
	eventMaxConcurrency = 10
	// pollMaxConcurrency caps the poll queue's concurrent batches. Each
	// carries up to 100 re-queue messages: 1,000 drains at the default
	// 30 s poll are about 33 messages a second, a third of a full batch a
	// second, so 5 at once leave room for slow batches (the handler runs
	// 10 of a batch's hops at a time) without multiplying the calls
	// against ECS's buckets.
	pollMaxConcurrency = 5
	// reconcileDeliveryRetries: EventBridge retries an invocation Lambda
	// refused (throttled Invoke, a service error) a few times within the
	// event's age, the sweep interval.
	reconcileDeliveryRetries = 3
)

// Drainer is the deployed drainer. Its fields are the resources an app may
// want to extend: more alarm actions, dashboards, permissions.
type Drainer struct {
	constructs.Construct
	Function awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
	// Queue is the poll queue, DRAINER_QUEUE_URL: the function's own
	// re-queue messages (the next hop of each drain, the reconciler's
	// restarts), in batches of 100.
	Queue awssqs.Queue
	// EventQueue receives the rules' events (lifecycle actions, ECS
	// events), in batches of 10 with no batching window.
	EventQueue awssqs.Queue
	// DeadLetterQueue is both queues' dead-letter queue.
	DeadLetterQueue awssqs.Queue
	Rule            awsevents.CfnRule
	// TaskStoppedRule and InstanceDrainingRule deliver the clusters' ECS
	// events that let a drain complete as soon as its last task stops.
	TaskStoppedRule      awsevents.CfnRule
	InstanceDrainingRule awsevents.CfnRule
	// PlacementFailureRule delivers the clusters' SERVICE_TASK_PLACEMENT_FAILURE
	// service actions, so a drain whose tasks cannot be replaced says why
	// within seconds.
	PlacementFailureRule awsevents.CfnRule
	// Hooks are the groups' terminate hooks, HookName.
	Hooks           []awsautoscaling.LifecycleHook
	DeadLetterAlarm awscloudwatch.Alarm
	ErrorsAlarm     awscloudwatch.Alarm
	DeadlineAlarm   awscloudwatch.Alarm
	// ReconcileRule and ReconcileAlarm are nil with DisableReconcile.
	ReconcileRule  awsevents.Rule
	ReconcileAlarm awscloudwatch.Alarm
	// The launch gate, nil with DisableLaunchGate: the groups' launch
	// hooks (LaunchHookName), the rule for their launch lifecycle actions,
	// the rule for the clusters' ACTIVE container instances that opens a
	// gate as soon as the agent connects, and the alarm on launches the
	// gate abandoned.
	LaunchHooks        []awsautoscaling.LifecycleHook
	LaunchRule         awsevents.CfnRule
	InstanceActiveRule awsevents.CfnRule
	LaunchAlarm        awscloudwatch.Alarm
	// StuckAlarms are the groups' stuck-drain alarms, in the order of
	// Props.Targets (see StuckAlarm); nil with DisableReconcile.
	StuckAlarms []awscloudwatch.Alarm
	// Dashboard is nil with DisableDashboard.
	Dashboard awscloudwatch.Dashboard

	// stuckByGroup is StuckAlarms by group name.
	stuckByGroup map[string]awscloudwatch.Alarm
}

// StuckAlarm is the stuck-drain alarm of the group named group (for a
// group created in the app, its AutoScalingGroupName() token), or nil
// when there is none (DisableReconcile, or a group not in Targets). Pass
// its name to an instance refresh's AlarmSpecification, so that the
// refresh stops (and rolls back, with AutoRollback) instead of replacing
// more instances while a drain cannot finish.
func (d *Drainer) StuckAlarm(group string) awscloudwatch.IAlarm {
	if a, ok := d.stuckByGroup[group]; ok {
		return a
	}
	return nil
}

// New creates the drainer in its own scope. It panics if props break a
// guardrail (see resolve), before creating anything.
func New(scope constructs.Construct, id *string, props *Props) *Drainer {
	c, err := resolve(props)
	if err != nil {
		panic(fmt.Sprintf("drainer %s: %v", *id, err))
	}
	d := &Drainer{Construct: constructs.NewConstruct(scope, id)}
	d.queues()
	d.function(c)
	d.hooks(c)
	d.rule(c)
	d.reconcileSchedule(c)
	d.grants(c)
	d.alarms(c)
	d.stuckAlarms(c)
	d.dashboard(c)
	d.hooksLast()
	suppressFindings(d)
	return d
}

// hooksLast makes CloudFormation create the hooks after everything that
// serves them (the function with its role and both event source mappings,
// the queues, the rules) and delete them first, so that no instance waits on
// a hook that nothing serves: on a first deploy, before its rule exists; on
// a delete, after its function is gone.
func (d *Drainer) hooksLast() {
	serving := []constructs.IDependable{d.Function, d.Role, d.Queue, d.EventQueue, d.DeadLetterQueue, d.Rule, d.TaskStoppedRule, d.InstanceDrainingRule, d.PlacementFailureRule}
	if d.LaunchRule != nil {
		serving = append(serving, d.LaunchRule, d.InstanceActiveRule)
	}
	for _, h := range append(slices.Clone(d.Hooks), d.LaunchHooks...) {
		h.Node().AddDependency(serving...)
	}
}

func (d *Drainer) queues() {
	d.DeadLetterQueue = awssqs.NewQueue(d.Construct, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	queue := func(id string, visibility time.Duration) awssqs.Queue {
		return awssqs.NewQueue(d.Construct, jsii.String(id), &awssqs.QueueProps{
			// SSE-SQS rather than a KMS key: EventBridge can send to it with
			// no key policy, and there is no key to pay for or to lose.
			Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:        jsii.Bool(true),
			VisibilityTimeout: seconds(visibility.Seconds()),
			DeadLetterQueue: &awssqs.DeadLetterQueue{
				Queue:           d.DeadLetterQueue,
				MaxReceiveCount: jsii.Number(maxReceiveCount),
			},
		})
	}
	d.Queue = queue("Queue", pollVisibilityTimeout)
	d.EventQueue = queue("EventQueue", eventVisibilityTimeout)
}

func (d *Drainer) function(c config) {
	d.LogGroup = awslogs.NewLogGroup(d.Construct, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		Retention:     c.logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// An own role instead of the CDK's default: the default attaches the
	// AWSLambdaBasicExecutionRole managed policy (logs on every log group);
	// this one may write only to the function's log group.
	d.Role = awsiam.NewRole(d.Construct, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("ecs-drainer function: drains the container instances of its Auto Scaling groups"),
	})
	// The variables the function reads (internal/contract), each set, the
	// defaults included, so the environment says what the function does.
	hooks := []string{HookName}
	if c.launchGate {
		hooks = append(hooks, LaunchHookName)
	}
	env := map[string]*string{
		contract.EnvQueueURL:           d.Queue.QueueUrl(),
		contract.EnvASGs:               jsii.String(strings.Join(c.groupNames, ",")),
		contract.EnvHooks:              jsii.String(strings.Join(hooks, ",")),
		contract.PollInterval.Env:      jsii.String(c.pollInterval.String()),
		contract.MaxDrain.Env:          jsii.String(c.maxDrain.String()),
		contract.EnvOnTimeout:          jsii.String(c.onTimeout),
		contract.StopGrace.Env:         jsii.String(c.stopGrace.String()),
		contract.StaleAfter.Env:        jsii.String(c.staleAfter.String()),
		contract.DisconnectedAfter.Env: jsii.String(c.disconnected.String()),
		contract.StuckAfter.Env:        jsii.String(c.stuckAfter.String()),
	}
	// The gate's settings only with the gate: without it the function sees
	// no launch action (DRAINER_HOOKS does not name the launch hook).
	if c.launchGate {
		env[contract.MaxLaunch.Env] = jsii.String(c.maxLaunch.String())
		env[contract.EnvLaunchDaemons] = jsii.String(strconv.FormatBool(c.launchDaemons))
	}
	// Every hook carries its cluster in its metadata; the fallback is set
	// only when it is unambiguous.
	if clusters := clusterNames(c.targets); len(clusters) == 1 {
		env[contract.EnvCluster] = jsii.String(clusters[0])
	}
	d.Function = awslambda.NewFunction(d.Construct, jsii.String("Function"), &awslambda.FunctionProps{
		Description:   jsii.String("ecs-drainer: drains ECS container instances before their Auto Scaling group terminates them"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String(contract.Bootstrap),
		Code:          functionCode(),
		MemorySize:    jsii.Number(c.memorySize),
		Timeout:       seconds(functionTimeout.Seconds()),
		Role:          d.Role,
		LogGroup:      d.LogGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Environment:   &env,
		// The drain re-queues itself: Lambda -> SQS -> the same Lambda, once
		// per poll. Lambda's recursive-loop detection stops such a chain
		// after about 16 invocations unless this is Allow, which cut
		// drains short in SQS- and SNS-looping drainers before us
		// (aws-samples/ecs-cid-sample#30). The chain ends by itself: at
		// drained, at the drain's deadline, or when the action is gone.
		RecursiveLoop: awslambda.RecursiveLoop_ALLOW,
	})
	d.Function.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.EventQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(eventBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(eventMaxConcurrency),
	}))
	d.Function.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(pollBatchSize),
		MaxBatchingWindow:       seconds(pollBatchingWindow.Seconds()),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(pollMaxConcurrency),
	}))
}

func (d *Drainer) hooks(c config) {
	for i, t := range c.targets {
		// The group's cluster, and its timeout policy and StuckAfter when
		// they are not DRAINER_ON_TIMEOUT's and DRAINER_STUCK_AFTER's: what
		// the function reads per drain.
		metadata, err := json.Marshal(contract.HookMetadata{Cluster: *t.Cluster.ClusterName(), OnTimeout: c.overrides[i], StuckAfter: c.stuckOverrides[i]})
		if err != nil {
			panic(err) // strings always marshal
		}
		suffix := hookSuffix(t.AutoScalingGroup)
		hook := awsautoscaling.NewLifecycleHook(d.Construct, jsii.String("Hook"+suffix), &awsautoscaling.LifecycleHookProps{
			AutoScalingGroup:    t.AutoScalingGroup,
			LifecycleHookName:   jsii.String(HookName),
			LifecycleTransition: awsautoscaling.LifecycleTransition_INSTANCE_TERMINATING,
			HeartbeatTimeout:    seconds(c.heartbeatTimeout.Seconds()),
			// CONTINUE, not ABANDON: if the drainer is broken the instance
			// still goes (late, after the heartbeat timeout), and an ABANDON
			// would skip the other hooks on the group, ECS's managed
			// draining hook among them; AWS recommends CONTINUE for custom
			// hooks next to it.
			DefaultResult:        awsautoscaling.DefaultResult_CONTINUE,
			NotificationMetadata: jsii.String(string(metadata)),
		})
		d.Hooks = append(d.Hooks, hook)
		if !c.launchGate {
			continue
		}
		// The launch gate's hook holds a new instance in Pending:Wait; Auto
		// Scaling starts its warm-up, and an instance refresh moves on,
		// only once the function completes it. The same metadata: the
		// gate waits in the same cluster, and the function reads hooks of
		// either kind the same way.
		launch := awsautoscaling.NewLifecycleHook(d.Construct, jsii.String("LaunchHook"+suffix), &awsautoscaling.LifecycleHookProps{
			AutoScalingGroup:    t.AutoScalingGroup,
			LifecycleHookName:   jsii.String(LaunchHookName),
			LifecycleTransition: awsautoscaling.LifecycleTransition_INSTANCE_LAUNCHING,
			HeartbeatTimeout:    seconds(c.launchHeartbeat.Seconds()),
			// CONTINUE, not ABANDON: a broken or deleted function then
			// delays a scale-out by one heartbeat timeout instead of
			// terminating every instance it launches. The function
			// ABANDONs on its own when ECS says the instance will not
			// join (REGISTRATION_FAILED, or nothing by MaxLaunch).
			DefaultResult:        awsautoscaling.DefaultResult_CONTINUE,
			NotificationMetadata: jsii.String(string(metadata)),
		})
		d.LaunchHooks = append(d.LaunchHooks, launch)
	}
}

// hookSuffix names a hook's construct after its group, so reordering Targets
// does not replace hooks: the group's name when it is known, else the id of
// the group's construct.
func hookSuffix(g awsautoscaling.IAutoScalingGroup) string {
	if name := *g.AutoScalingGroupName(); !*awscdk.Token_IsUnresolved(name) {
		return name
	}
	return *g.Node().Id()
}

// rule routes the groups' terminate lifecycle actions to the poll queue, and
// the clusters' task STOPPED and DRAINING container instance events to the
// event queue; with the launch gate, the launch actions and the ACTIVE
// container instance events likewise.
// The patterns are infra/rules' JSON, verbatim: the local EventBridge in the
// tests and the demo routes with the same definitions. ECS events from AWS
// services cost nothing on the default bus; each one delivered is an SQS
// message and a short invocation, most of them one DescribeContainerInstances.
func (d *Drainer) rule(c config) {
	clusters := clusterNames(c.targets)
	// Lifecycle actions go to the poll queue: a drain's first hop has no
	// hurry (the instance waits on the hook), and 100 first hops of an
	// instance refresh then share each read. ECS events, whose only purpose
	// is to end a drain early, go to the event queue, which has no window.
	d.Rule = d.queueRule("Rule", "ecs-drainer: terminate lifecycle actions of the drained Auto Scaling groups",
		rules.TerminateLifecycle(c.groupNames, []string{HookName}), d.Queue, "DrainerQueue")
	d.TaskStoppedRule = d.queueRule("TaskStoppedRule", "ecs-drainer: tasks of the drained clusters that reached STOPPED (a drain may be over)",
		rules.ECSTaskStopped(clusters), d.EventQueue, "DrainerEventQueue")
	d.InstanceDrainingRule = d.queueRule("InstanceDrainingRule", "ecs-drainer: state changes of the drained clusters' DRAINING container instances (a drain may be over)",
		rules.ECSInstanceDraining(clusters), d.EventQueue, "DrainerEventQueue")
	// ECS's word that a service cannot place a task (a replacement for one
	// on a draining instance, most likely), with its reason, for the
	// diagnosis: within seconds instead of at the next poll.
	d.PlacementFailureRule = d.queueRule("PlacementFailureRule", "ecs-drainer: the drained clusters' services that cannot place a task (why a drain cannot finish)",
		rules.ECSServicePlacementFailure(clusters), d.EventQueue, "DrainerEventQueue")
	if !c.launchGate {
		return
	}
	// Launch actions go to the poll queue too, for the same reasons: the
	// instance has just booted, so a first hop usually finds no agent yet
	// and re-queues; an instance refresh's launches then share their reads
	// 100 at a time. A registration or agent connect, which opens a gate,
	// goes to the event queue like the other ECS events.
	d.LaunchRule = d.queueRule("LaunchRule", "ecs-drainer: launch lifecycle actions of the gated Auto Scaling groups",
		rules.LaunchLifecycle(c.groupNames, []string{LaunchHookName}), d.Queue, "DrainerQueue")
	d.InstanceActiveRule = d.queueRule("InstanceActiveRule", "ecs-drainer: the gated clusters' container instances that are ACTIVE with their agent connected and no task (a launch gate may open)",
		rules.ECSInstanceActive(clusters), d.EventQueue, "DrainerEventQueue")
}

// queueRule creates a rule with the pattern targeting the queue, and lets
// exactly that rule send to it.
func (d *Drainer) queueRule(id, description string, patternJSON []byte, queue awssqs.Queue, targetID string) awsevents.CfnRule {
	var pattern map[string]any
	if err := json.Unmarshal(patternJSON, &pattern); err != nil {
		panic(err) // rules marshals it from a map
	}
	r := awsevents.NewCfnRule(d.Construct, jsii.String(id), &awsevents.CfnRuleProps{
		Description:  jsii.String(description),
		EventPattern: pattern,
		State:        jsii.String("ENABLED"),
		Targets: &[]any{&awsevents.CfnRule_TargetProperty{
			Id:  jsii.String(targetID),
			Arn: queue.QueueArn(),
		}},
	})
	queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{queue.QueueArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": r.AttrArn()}},
	}))
	return r
}

// reconcileSchedule invokes the function on a rate with the scheduled event
// itself ("detail-type": "Scheduled Event", "source": "aws.events"), which
// the function answers with a sweep of DRAINER_ASGS. A sweep is worth
// nothing once the next one is due: EventBridge and Lambda drop an event
// older than the interval, and Lambda does not retry a failed sweep, so
// sweeps never pile up behind a throttled or failing function; the next
// sweep is the retry. No dead-letter queue for the same reason: a stale
// sweep has nothing to redrive. The alarm catches a schedule that cannot
// invoke the function at all (a removed permission, a deleted function).
func (d *Drainer) reconcileSchedule(c config) {
	if c.reconcile == 0 {
		return
	}
	// Lambda keeps an async event 60 s to 6 h, EventBridge 60 s to 24 h.
	maxAge := seconds(min(max(c.reconcile, time.Minute), 6*time.Hour).Seconds())
	d.Function.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		MaxEventAge:   maxAge,
		RetryAttempts: jsii.Number(0),
	})
	d.ReconcileRule = awsevents.NewRule(d.Construct, jsii.String("ReconcileSchedule"), &awsevents.RuleProps{
		Description: jsii.String("ecs-drainer: the reconciler's sweep for drains whose chain was lost"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(c.reconcile.Minutes()))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(d.Function, &awseventstargets.LambdaFunctionProps{
			MaxEventAge:   maxAge,
			RetryAttempts: jsii.Number(reconcileDeliveryRetries),
		})},
	})
}

// grants gives the function what internal/drain calls, scoped as tightly as
// each action allows. Resource types and condition keys per action are from
// the Service Authorization Reference: "Actions, resources, and condition keys
// for Amazon Elastic Container Service" and "... for Amazon EC2 Auto Scaling"
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html,
// .../list_amazonec2autoscaling.html).
func (d *Drainer) grants(c config) {
	d.LogGroup.GrantWrite(d.Role)
	var clusterARNs, instanceARNs, taskARNs, groupARNs []*string
	stack := awscdk.Stack_Of(d.Construct)
	for _, name := range clusterNames(c.targets) {
		instanceARNs = append(instanceARNs, stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ecs"), Resource: jsii.String("container-instance"), ResourceName: jsii.String(name + "/*"),
		}))
		taskARNs = append(taskARNs, stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ecs"), Resource: jsii.String("task"), ResourceName: jsii.String(name + "/*"),
		}))
	}
	for _, arn := range clusterARNList(c.targets) {
		clusterARNs = append(clusterARNs, jsii.String(arn))
	}
	for _, t := range c.targets {
		groupARNs = append(groupARNs, t.AutoScalingGroup.AutoScalingGroupArn())
	}
	allowIf := func(conditions map[string]any, resources []*string, actions ...string) {
		props := &awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &resources}
		if conditions != nil {
			props.Conditions = &conditions
		}
		d.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(props))
	}
	allow := func(resources []*string, actions ...string) { allowIf(nil, resources, actions...) }
	// ListContainerInstances authorizes on the cluster (resource type
	// cluster*; it has no ecs:cluster key).
	allow(clusterARNs, "ecs:ListContainerInstances")
	// These authorize on the container instance (container-instance*), whose
	// ARN is container-instance/CLUSTER/ID: the ARN pattern confines them to
	// the clusters, as the ecs:cluster key they also take would.
	// PutAttributes writes the chain mark (custom attribute
	// ecs-drainer.chain) on the draining instance; the reference gives it
	// no key for the attribute's name, so it cannot be pinned to that one
	// attribute. DeleteAttributes (container-instance*
	// too) removes that mark when the launch gate sets an instance the
	// drainer drained into a warm pool ACTIVE again; only with the gate.
	instanceActions := []string{"ecs:DescribeContainerInstances", "ecs:UpdateContainerInstancesState", "ecs:PutAttributes"}
	if c.launchGate {
		instanceActions = append(instanceActions, "ecs:DeleteAttributes")
	}
	allow(instanceARNs, instanceActions...)
	// DescribeTasks and GetTaskProtection (the tasks left at the deadline)
	// authorize on the task (task*): task/CLUSTER/ID.
	allow(taskARNs, "ecs:DescribeTasks", "ecs:GetTaskProtection")
	// StopTask authorizes on the task too (task*, key ecs:cluster), and only
	// the stop-tasks policy calls it: granted on the clusters of the groups
	// that use it, and not at all when none does. The task ARN's cluster
	// segment scopes it as an ecs:cluster condition would.
	if stopARNs := stopTaskARNs(stack, c); len(stopARNs) > 0 {
		allow(stopARNs, "ecs:StopTask")
	}
	// ListTasks authorizes on the container instance it names; without
	// one (a placement failure lists its service's tasks) IAM sees
	// Resource "*", so it is granted on "*" with the ecs:cluster key,
	// which confines both calls to the clusters. The gate's daemon wait
	// lists the clusters' daemon services, and only it: ListServices
	// supports no resource type, and the same key confines it.
	inClusters := map[string]any{"ArnEquals": map[string]any{"ecs:cluster": clusterARNs}}
	list := []string{"ecs:ListTasks"}
	if c.launchGate && c.launchDaemons {
		list = append(list, "ecs:ListServices")
	}
	allowIf(inClusters, []*string{jsii.String("*")}, list...)
	// The diagnosis reads the services of the tasks left on a draining
	// instance (their events, deployment configuration), and the daemon
	// wait their placement. DescribeServices authorizes on the service
	// (service*, key ecs:cluster too), but a service created before 2021
	// keeps its short ARN, service/NAME, with no cluster in it: a daemon
	// (a log agent, say) is often that old, so the cluster is pinned by
	// the key on service/* rather than by the ARN's cluster segment.
	allowIf(inClusters, []*string{stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ecs"), Resource: jsii.String("service"), ResourceName: jsii.String("*"),
	})}, "ecs:DescribeServices")
	// The diagnosis reads a service's task definition for the fixed host
	// ports, CPU and memory a replacement needs. DescribeTaskDefinition
	// supports no resource type (the reference lists none, nor a
	// condition key): only "*" works. A task definition holds no secret
	// values, only references to them.
	allow([]*string{jsii.String("*")}, "ecs:DescribeTaskDefinition")
	// Lifecycle actions, the launch gate's included, authorize on the group
	// (autoScalingGroup*); its ARN holds a generated group ID, hence
	// autoScalingGroup:*:autoScalingGroupName/NAME.
	allow(groupARNs, "autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat")
	// Auto Scaling's Describe* actions support no resource-level permission:
	// the reference lists no resource type and no condition key for them,
	// so only "*" works. DescribeAutoScalingGroups is the diagnosis's (the
	// group's instances launching: capacity on its way) and the
	// reconciler's (instances waiting); DescribeWarmPool is the
	// reconciler's only (instances waiting in the warm pool), so only with
	// it. DescribeScalingActivities tells the reconciler when a waiting
	// launch started, with the launch gate only.
	describe := []string{"autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribeAutoScalingGroups"}
	if c.reconcile > 0 {
		describe = append(describe, "autoscaling:DescribeWarmPool")
		if c.launchGate {
			describe = append(describe, "autoscaling:DescribeScalingActivities")
		}
	}
	allow([]*string{jsii.String("*")}, describe...)
	// The re-queue, to the poll queue only: the event queue takes only the
	// ECS rules' events. sqs:SendMessage also grants SendMessageBatch, which
	// the coalesced hops use (SQS has no separate batch permission).
	// Receiving and deleting are granted by the event sources, on both
	// queues.
	allow([]*string{d.Queue.QueueArn()}, "sqs:SendMessage")
	// The drain state change events (contract.DetailTypeDrainState), for
	// teams' own rules, go to the account's default event bus and no
	// other. PutEvents authorizes on the event bus (resource type
	// event-bus*, Service Authorization Reference for Amazon EventBridge,
	// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html).
	allow([]*string{stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("events"), Resource: jsii.String("event-bus"), ResourceName: jsii.String("default"),
	})}, "events:PutEvents")
}

// outcomeMetric counts, per period, the function's log lines whose outcome
// is one of outcomes, in a metric of the stack's namespace. The outcomes and
// their key are the contract's, the same identifiers the function logs.
func (d *Drainer) outcomeMetric(id, metricName string, outcomes []string, period awscdk.Duration) awscloudwatch.Metric {
	var patterns []awslogs.JsonPattern
	for _, o := range outcomes {
		patterns = append(patterns, awslogs.FilterPattern_StringValue(jsii.String("$."+contract.LogKeyOutcome), jsii.String("="), jsii.String(o)))
	}
	filter := awslogs.NewMetricFilter(d.Construct, jsii.String(id), &awslogs.MetricFilterProps{
		LogGroup:        d.LogGroup,
		FilterPattern:   awslogs.FilterPattern_Any(patterns...),
		MetricNamespace: jsii.String(metricNamespace + "/" + *awscdk.Stack_Of(d.Construct).StackName()),
		MetricName:      jsii.String(metricName),
		MetricValue:     jsii.String("1"),
	})
	return filter.Metric(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")})
}

func (d *Drainer) alarms(c config) {
	period := awscdk.Duration_Minutes(jsii.Number(5))
	at := func(id, description string, metric awscloudwatch.Metric) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(d.Construct, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if c.alarmTopic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(c.alarmTopic))
		}
		return a
	}
	d.DeadLetterAlarm = at("DeadLetterAlarm",
		"ecs-drainer: records in the dead-letter queue. A drain record failed 5 times (bad payload, missing permission, a cluster that does not exist). The reconciler restarts the drain of an instance still waiting on the hook at its next sweep (without the reconciler, the instance waits for the hook's heartbeat timeout); a record that keeps failing lands here again. Read the function's ERROR log lines.",
		d.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}))
	d.ErrorsAlarm = at("ErrorsAlarm",
		"ecs-drainer: the function failed (crash, timeout or bad configuration at init); its records return to the queue after the visibility timeout.",
		d.Function.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}))
	// The handler logs one JSON line per drain outcome; a drain that hit
	// DRAINER_MAX_DRAIN completes with tasks still running (continue,
	// stop-tasks) or ABANDONs the instance for a person to look at
	// (abandon); one whose agent stayed disconnected met its policy early
	// (DRAINER_DISCONNECTED_AFTER), as loudly.
	d.DeadlineAlarm = at("DeadlineAlarm",
		"ecs-drainer: a drain reached DRAINER_MAX_DRAIN with tasks still on the instance, which was released (continue, stop-tasks) or abandoned for a person to look at (abandon). The WARN log line names the tasks and why each was left.",
		d.outcomeMetric("DeadlineReachedFilter", deadlineReachedMetric, contract.DeadlineOutcomes(), period))
	// A launch the gate gave up on: the instance never became usable to
	// ECS, and Auto Scaling replaces it, so a scale-out or refresh goes on
	// late; one that keeps failing (a bad AMI, user data, instance role)
	// fires this on every attempt.
	if c.launchGate {
		d.LaunchAlarm = at("LaunchAlarm",
			"ecs-drainer: a launch was abandoned: the instance's ECS agent did not register (REGISTRATION_FAILED) or not within DRAINER_MAX_LAUNCH; Auto Scaling replaces it. The WARN log line says what was missing.",
			d.outcomeMetric("LaunchAbandonedFilter", launchAbandonedMetric, contract.LaunchFailureOutcomes(), period))
	}
	if d.ReconcileRule != nil {
		d.ReconcileAlarm = at("ReconcileAlarm",
			"ecs-drainer: the reconciler's schedule could not invoke the function (a removed permission, a deleted function). Lost drains are not restarted; their instances wait for the hook's heartbeat timeout.",
			awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:     jsii.String("AWS/Events"),
				MetricName:    jsii.String("FailedInvocations"),
				DimensionsMap: &map[string]*string{"RuleName": d.ReconcileRule.RuleName()},
				Period:        period,
				Statistic:     jsii.String("Sum"),
			}))
	}
}

// stopTaskARNs is task/CLUSTER/* for each cluster with a group whose timeout
// policy is stop-tasks, each once, in order.
func stopTaskARNs(stack awscdk.Stack, c config) []*string {
	var names []string
	for i, t := range c.targets {
		if name := *t.Cluster.ClusterName(); c.policy(i) == OnTimeoutStopTasks && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	var arns []*string
	for _, name := range names {
		arns = append(arns, stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ecs"), Resource: jsii.String("task"), ResourceName: jsii.String(name + "/*"),
		}))
	}
	return arns
}

// clusterNames lists the targets' cluster names, each once, in order.
func clusterNames(targets []Target) []string {
	var names []string
	for _, t := range targets {
		if name := *t.Cluster.ClusterName(); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// clusterARNList lists the targets' cluster ARNs, each once, in order.
func clusterARNList(targets []Target) []string {
	var arns []string
	for _, t := range targets {
		if arn := *t.Cluster.ClusterArn(); !slices.Contains(arns, arn) {
			arns = append(arns, arn)
		}
	}
	return arns
}

func seconds(s float64) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(s))
}

// suppressFindings records, on the role, why each wildcard cdk-nag's
// AwsSolutions-IAM5 finds in its policy is the narrowest AWS allows. Each
// suppression names exactly the resource patterns it covers, so a new
// wildcard is still reported.
func suppressFindings(d *Drainer) {
	iam5 := func(reason string, regex string) *cdknag.NagPackSuppression {
		return &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(reason),
			AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String(regex)}},
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(d.Role, &[]*cdknag.NagPackSuppression{
		iam5("ecs:DescribeContainerInstances, UpdateContainerInstancesState, PutAttributes and DeleteAttributes authorize on container instances (resource type container-instance, Service Authorization Reference for Amazon ECS), whose IDs ECS assigns at registration; container-instance/CLUSTER/* confines them to the drained clusters.",
			`/^Resource::arn:<AWS::Partition>:ecs:.+:container-instance\/[^/]+\/\*$/g`),
		iam5("ecs:DescribeTasks, GetTaskProtection and StopTask authorize on tasks (resource type task, Service Authorization Reference for Amazon ECS), whose IDs ECS assigns at launch; task/CLUSTER/* confines them to the drained clusters (StopTask to those with a stop-tasks group).",
			`/^Resource::arn:<AWS::Partition>:ecs:.+:task\/[^/]+\/\*$/g`),
		iam5("An Auto Scaling group ARN holds a generated group ID; autoScalingGroup:*:autoScalingGroupName/NAME pins the lifecycle actions to the drained groups by name.",
			`/^Resource::arn:<AWS::Partition>:autoscaling:.+:autoScalingGroup:\*:autoScalingGroupName\/[^*]+$/g`),
		iam5("autoscaling:DescribeAutoScalingInstances, DescribeLifecycleHooks, DescribeAutoScalingGroups, DescribeWarmPool and DescribeScalingActivities support no resource-level permissions (Service Authorization Reference for Amazon EC2 Auto Scaling), nor do ecs:ListServices and ecs:DescribeTaskDefinition (for Amazon ECS), nor ecs:ListTasks without a container instance: only Resource * works; ListTasks and ListServices are confined to the clusters by their ecs:cluster condition, and DescribeTaskDefinition, which has no condition key, reads task definitions, which hold no secret values.",
			`/^Resource::\*$/g`),
		iam5("ecs:DescribeServices authorizes on services (resource type service), whose ARN has no cluster in it for a service created before 2021 (service/NAME): service/* with an ecs:cluster condition confines it to the clusters whatever the ARN's format.",
			`/^Resource::arn:<AWS::Partition>:ecs:.+:service\/\*$/g`),
	}, jsii.Bool(true))
}
