// Package localdeploy deploys the drainer into the local AWS as a
// synthesized CloudFormation template describes it, and watches it drain:
// the template's EventBridge rules (the patterns the CDK construct deploys),
// the real bootstrap binary under the local Lambda runtime, the SQS event
// source mappings of its two queues between them, and a report of each
// lifecycle action. The end-to-end tests, `make demo`, the soak and the
// bench drive it; nothing in the path from scale-in to
// CompleteLifecycleAction is a shortcut around what AWS does.
package localdeploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/lambda"
)

// Names used in every scenario.
const (
	HookName       = contract.HookName
	functionName   = "ecs-drainer"
	ruleName       = "ecs-drainer-lifecycle"
	launchRuleName = "ecs-drainer-launch"
)

// FunctionOptions adjust the deployment for a scenario: timings short
// enough for a test, a binary built for this machine, faults.
type FunctionOptions struct {
	Binary       string        // the bootstrap binary, built for this machine
	PollInterval time.Duration // DRAINER_POLL_INTERVAL; 0 keeps the template's
	MaxDrain     time.Duration // DRAINER_MAX_DRAIN; 0 keeps the template's
	StuckAfter   time.Duration // DRAINER_STUCK_AFTER; 0 keeps the template's
	Timeout      time.Duration // the function timeout; 0 keeps the template's
	Logs         io.Writer     // the function's log lines; nil discards them
	// Concurrency is the function's execution environments and each event
	// source's concurrent batches, as a reserved concurrency caps them
	// together; 0 keeps the template's maxima, the function getting their
	// sum.
	Concurrency int
	// Faults, if set, injects faults everywhere: the AWS endpoint, SQS and
	// EventBridge deliveries, and kills of the function mid-invocation.
	Faults *faults.Injector
	// Env is added to the function's environment (DRAINER_STALE_AFTER...).
	Env []string
	// VisibilityTimeout overrides both queues' (the template's), so a soak
	// sees failed records come back (and reach the DLQ) in seconds.
	VisibilityTimeout time.Duration
	// NoECSEvents deploys only the template's lifecycle rules (terminate
	// and launch), not its ECS rules: drains and launch gates then
	// complete at a poll, as if every ECS event were lost.
	NoECSEvents bool
	// BootTime is how long EC2 takes to boot an instance before Auto
	// Scaling sees it up (localaws.Options.BootTime); zero is at once.
	BootTime time.Duration
	// RecordLifecycleCalls points the function at a recorder in front of
	// the local AWS that keeps every CompleteLifecycleAction and
	// RecordLifecycleActionHeartbeat it sends (World.LifecycleCalls): the
	// drainer's calls, told apart from the harness's and other teams'.
	RecordLifecycleCalls bool
	// Invoked, if set, is told of each invocation an event source made:
	// its queue and the trace header it ran with. The function's SDK sends
	// that header on every AWS call, so a call can be traced to the queue
	// whose batch made it (the bench counts poll rounds by it).
	Invoked func(q Queue, traceHeader string)
}

// World is a running local deployment of the drainer.
type World struct {
	AWS      *localaws.AWS
	Bus      *eventbridge.Bus
	Function *lambda.Function
	Mapping  Mappings
	ASG      *sdkautoscaling.Client
	QueueURL string // the poll queue, DRAINER_QUEUE_URL
	// EventQueueURL is the queue the rules deliver to.
	EventQueueURL string
	DLQURL        string // both queues'

	deployment Deployment
	recorder   *recorder // nil unless FunctionOptions.RecordLifecycleCalls
	ecsView    ecsView
}

// Mappings are the event source mappings that feed the function from the
// event queue and from the poll queue.
type Mappings struct {
	Events, Poll *lambda.Mapping
}

// Stats sums both mappings' counters: every record a queue delivered to
// the function.
func (m Mappings) Stats() lambda.MappingStats {
	var sum lambda.MappingStats
	for _, mm := range []*lambda.Mapping{m.Events, m.Poll} {
		s := mm.Stats()
		sum.Batches += s.Batches
		sum.Records += s.Records
		sum.Deleted += s.Deleted
		sum.Failed += s.Failed
	}
	return sum
}

// Start deploys the drainer as the synthesized template d describes into a
// fresh local AWS on the wall clock (the bootstrap binary reads the wall
// clock): the rules' patterns and targets, the function's settings and
// environment, each queue's visibility timeout and redrive, each event
// source's batch, window and concurrency.
func Start(ctx context.Context, d Deployment, o FunctionOptions) (w *World, err error) {
	events, poll := d.Events.with(d, o), d.Poll.with(d, o)
	timeout, concurrency := d.Timeout, events.MaxConcurrency+poll.MaxConcurrency
	if o.Timeout > 0 {
		timeout = o.Timeout
	}
	if o.Concurrency > 0 {
		concurrency = o.Concurrency
	}
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	w = &World{deployment: d}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	w.Bus = eventbridge.NewBus(clock.Real{}, localaws.AccountID, localaws.Region)
	if o.Faults != nil {
		w.Bus.SetDuplicate(o.Faults.DuplicateEvent)
	}
	// Instances are released as soon as their hooks let them go: the
	// scenarios run on the wall clock, and an instance refresh would wait
	// out EC2's shutdown minute per batch.
	emit := func(e awswire.Event) {
		w.ecsView.note(e)
		w.Bus.Emit(e)
	}
	// The bus answers PutEvents on the local AWS endpoint too (the
	// function's environment points AWS_ENDPOINT_URL_EVENTBRIDGE there), so
	// the drainer's own events take the services' path through its rules.
	if w.AWS, err = localaws.Start(localaws.Options{Emit: emit, Events: w.Bus, Faults: o.Faults, ShutdownTime: autoscaling.ShutdownAtOnce, BootTime: o.BootTime}); err != nil {
		return w, err
	}
	if err := w.queues(events, poll); err != nil {
		return w, err
	}
	if err := w.rules(d, o); err != nil {
		return w, err
	}
	if o.RecordLifecycleCalls {
		if w.recorder, err = startRecorder(w.AWS.URL); err != nil {
			return w, err
		}
	}
	w.Function, err = lambda.NewFunction(lambda.FunctionConfig{
		Name: functionName, Binary: o.Binary, Env: w.environment(d, o), Timeout: timeout, MemoryMB: d.MemoryMB,
		RecursiveLoop: d.RecursiveLoop, Concurrency: concurrency, Logs: o.Logs,
	})
	if err != nil {
		return w, err
	}
	if o.Faults != nil {
		o.Faults.SetKill(w.Function.KillInvocation)
	}
	if w.Mapping.Events, err = w.startMapping(w.EventQueueURL, events, w.invoker(EventQueue, o)); err != nil {
		return w, err
	}
	if w.Mapping.Poll, err = w.startMapping(w.QueueURL, poll, w.invoker(PollQueue, o)); err != nil {
		return w, err
	}
	cfg, err := w.AWS.Config(ctx)
	w.ASG = sdkautoscaling.NewFromConfig(cfg)
	return w, err
}

// with is the event source with the scenario's overrides: the visibility
// timeout, the concurrency, and the Deployment's BatchSize.
func (s EventSource) with(d Deployment, o FunctionOptions) EventSource {
	if o.VisibilityTimeout > 0 {
		s.VisibilityTimeout = o.VisibilityTimeout
	}
	if o.Concurrency > 0 {
		s.MaxConcurrency = o.Concurrency
	}
	if d.BatchSize > 0 {
		s.BatchSize, s.MaxBatchingWindow = d.BatchSize, 0
	}
	return s
}

func (w *World) startMapping(queueURL string, s EventSource, f lambda.Invoker) (*lambda.Mapping, error) {
	return lambda.StartMapping(lambda.MappingConfig{
		Queue: w.AWS.SQS, QueueURL: queueURL, Function: f,
		BatchSize: s.BatchSize, MaxBatchingWindow: s.MaxBatchingWindow, ReportBatchItemFailures: s.ReportFailures,
		MaxConcurrency: s.MaxConcurrency, Region: localaws.Region,
	})
}

// invoker is the function as queue q's event source invokes it: told to
// o.Invoked after each invocation, if set.
func (w *World) invoker(q Queue, o FunctionOptions) lambda.Invoker {
	if o.Invoked == nil {
		return w.Function
	}
	return observedInvoker{Invoker: w.Function, queue: q, invoked: o.Invoked}
}

type observedInvoker struct {
	lambda.Invoker
	queue   Queue
	invoked func(Queue, string)
}

func (o observedInvoker) Invoke(ctx context.Context, payload []byte, opt lambda.InvokeOptions) (lambda.InvokeResult, error) {
	res, err := o.Invoker.Invoke(ctx, payload, opt)
	o.invoked(o.queue, res.TraceHeader)
	return res, err
}

// rules puts each of the template's rules on the bus, targeting its queue:
// the lifecycle rules, and the ECS rules unless o.NoECSEvents.
func (w *World) rules(d Deployment, o FunctionOptions) error {
	ecsRules := 0
	for _, r := range d.Rules {
		var name string
		switch {
		case r.DetailType == contract.DetailTypeTerminate:
			name = ruleName
		case r.DetailType == contract.DetailTypeLaunch:
			name = launchRuleName
		case o.NoECSEvents:
			continue
		default:
			ecsRules++
			name = fmt.Sprintf("%s-ecs-%d", functionName, ecsRules)
		}
		if err := w.Bus.PutRule(name, r.Pattern); err != nil {
			return err
		}
		target := w.EventQueueURL
		if r.Queue == PollQueue {
			target = w.QueueURL
		}
		if err := w.Bus.AddTarget(name, eventbridge.SQSTarget(w.AWS.SQS.Send, target)); err != nil {
			return err
		}
	}
	return nil
}

// environment is the template's function environment, pointed at the local
// AWS and the local queue, with the scenario's overrides.
func (w *World) environment(d Deployment, o FunctionOptions) []string {
	env := w.AWS.Env()
	if w.recorder != nil {
		env = w.recorder.env(env, w.AWS.URL)
	}
	for k, v := range d.Environment {
		env = append(env, k+"="+v)
	}
	env = append(env, contract.EnvQueueURL+"="+w.QueueURL)
	if o.PollInterval > 0 {
		env = append(env, contract.PollInterval.Env+"="+o.PollInterval.String())
	}
	if o.MaxDrain > 0 {
		env = append(env, contract.MaxDrain.Env+"="+o.MaxDrain.String())
	}
	if o.StuckAfter > 0 {
		env = append(env, contract.StuckAfter.Env+"="+o.StuckAfter.String())
	}
	return append(env, o.Env...)
}

// queues creates the event queue, the poll queue and their DLQ as the
// template does.
func (w *World) queues(events, poll EventSource) error {
	dlq, err := w.AWS.SQS.CreateQueue("ecs-drainer-dlq", map[string]string{"MessageRetentionPeriod": "1209600"})
	if err != nil {
		return err
	}
	dlqARN, err := w.AWS.SQS.QueueARN(dlq)
	if err != nil {
		return err
	}
	w.DLQURL = dlq
	create := func(name string, s EventSource) (string, error) {
		return w.AWS.SQS.CreateQueue(name, map[string]string{
			"VisibilityTimeout": strconv.Itoa(int(s.VisibilityTimeout / time.Second)),
			"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlqARN, s.MaxReceiveCount),
		})
	}
	if w.EventQueueURL, err = create("ecs-drainer-events", events); err != nil {
		return err
	}
	w.QueueURL, err = create("ecs-drainer", poll)
	return err
}

// LifecycleCalls returns the CompleteLifecycleAction and
// RecordLifecycleActionHeartbeat requests the function sent so far, nil
// unless FunctionOptions.RecordLifecycleCalls.
func (w *World) LifecycleCalls() []LifecycleCall {
	if w.recorder == nil {
		return nil
	}
	return w.recorder.Calls()
}

// Close stops everything.
func (w *World) Close() {
	for _, m := range []*lambda.Mapping{w.Mapping.Events, w.Mapping.Poll} {
		if m != nil {
			m.Stop()
		}
	}
	if w.Function != nil {
		_ = w.Function.Close()
	}
	if w.recorder != nil {
		w.recorder.Close()
	}
	if w.Bus != nil {
		w.Bus.Close()
	}
	if w.AWS != nil {
		_ = w.AWS.Close()
	}
}

// GroupSpec describes an Auto Scaling group and its cluster.
type GroupSpec struct {
	Name      string
	Cluster   string
	Instances int
	Resources ecs.Resources
	// Unregistered instances never join the cluster (a broken agent, a
	// group shared with non-ECS work).
	Unregistered     bool
	HeartbeatTimeout int32 // default 30 s, the shortest AWS allows
	// LaunchGate puts the template's launch hook on the group too, once
	// its first instances are in service, as deploying the construct onto
	// a running group does: with the group's heartbeat timeout and
	// cluster, the template's name and default result. Group refuses it
	// for a template without one (WithoutLaunchGate).
	LaunchGate bool
	// Agent, if set, is how the ECS agents of the instances the group
	// launches after its first ones join the cluster
	// (localaws.AttachClusterWith: a registration delay, failures); its
	// Resources default to the spec's. The first instances always register
	// at once, so that a scenario starts from a settled cluster.
	Agent *localaws.Agent
}

// Group creates the group with the drainer's terminate hook (and launch
// hook, with LaunchGate) and returns its instance ids once they are in
// service.
func (w *World) Group(ctx context.Context, g GroupSpec) ([]string, error) {
	if g.HeartbeatTimeout == 0 {
		g.HeartbeatTimeout = 30
	}
	launch, gated := w.deployment.LaunchHook()
	if g.LaunchGate && !gated {
		return nil, fmt.Errorf("group %s: a launch gate, but the template has no launch hook", g.Name)
	}
	if g.Unregistered {
		w.AWS.ECS.CreateCluster(g.Cluster)
	} else {
		w.AWS.AttachCluster(g.Name, g.Cluster, g.Resources)
	}
	_, ids, err := w.AWS.AutoScaling.CreateGroup(g.Name, 0, 2*g.Instances+1, g.Instances)
	if err != nil {
		return nil, err
	}
	metadata := fmt.Sprintf(`{"cluster":%q}`, g.Cluster)
	err = w.AWS.AutoScaling.PutLifecycleHook(autoscaling.Hook{
		Group: g.Name, Name: HookName, Transition: autoscaling.TransitionTerminating,
		HeartbeatTimeout: g.HeartbeatTimeout, DefaultResult: autoscaling.ResultContinue,
		NotificationMetadata: metadata,
	})
	if err != nil {
		return nil, err
	}
	if err := w.inService(ctx, ids); err != nil {
		return nil, fmt.Errorf("group %s: %w", g.Name, err)
	}
	if g.LaunchGate {
		launch.Group, launch.HeartbeatTimeout, launch.NotificationMetadata = g.Name, g.HeartbeatTimeout, metadata
		if err := w.AWS.AutoScaling.PutLifecycleHook(launch); err != nil {
			return nil, err
		}
	}
	if g.Agent != nil && !g.Unregistered {
		ag := *g.Agent
		if ag.Resources == (ecs.Resources{}) {
			ag.Resources = g.Resources
		}
		if err := w.AWS.AttachClusterWith(g.Name, g.Cluster, ag); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// inService waits until the instances are InService: at once unless EC2
// takes a boot time.
func (w *World) inService(ctx context.Context, ids []string) error {
	for {
		up := 0
		for _, id := range ids {
			if in, ok := w.AWS.AutoScaling.Instance(id); ok && in.LifecycleState == autoscaling.StateInService {
				up++
			}
		}
		if up == len(ids) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d instances in service: %w", up, len(ids), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WarmPool gives the group a warm pool of n stopped instances and returns
// them once they rest in it. MaxGroupPreparedCapacity n keeps the pool at
// n however far the group shrinks.
func (w *World) WarmPool(ctx context.Context, group string, n int) ([]string, error) {
	size := int32(n) // #nosec G115 -- a handful of instances
	if err := w.AWS.AutoScaling.PutWarmPool(group, autoscaling.WarmPool{MinSize: size, MaxGroupPreparedCapacity: &size}); err != nil {
		return nil, err
	}
	for ctx.Err() == nil {
		var ready []string
		for _, in := range w.AWS.AutoScaling.WarmInstances(group) {
			if in.LifecycleState == autoscaling.StateWarmedStopped {
				ready = append(ready, in.ID)
			}
		}
		if len(ready) >= n {
			return ready[:n], nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("warm pool of %s: %w", group, ctx.Err())
}

// Retry repeats a harness call through the faults (the SDK's own retries
// may give up under heavy throttling) until it succeeds, ctx is done, or
// 20 tries have failed.
func Retry(ctx context.Context, call func() error) error {
	var err error
	for range 20 {
		if err = call(); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// Instances lists the group's instances that are in service.
func (w *World) Instances(ctx context.Context, group string) ([]string, error) {
	out, err := w.ASG.DescribeAutoScalingGroups(ctx, &sdkautoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return nil, err
	}
	if len(out.AutoScalingGroups) == 0 {
		return nil, fmt.Errorf("group %s not found", group)
	}
	var ids []string
	for _, in := range out.AutoScalingGroups[0].Instances {
		if string(in.LifecycleState) == autoscaling.StateInService {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	return ids, nil
}

// ScaleIn lowers the group's desired capacity by n, through the API, as a
// scaling policy or a person would; Auto Scaling picks the instances.
func (w *World) ScaleIn(ctx context.Context, group string, n int) error {
	out, err := w.ASG.DescribeAutoScalingGroups(ctx, &sdkautoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return err
	}
	desired := aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity) - int32(n) // #nosec G115 -- n is a count of instances in one group
	_, err = w.ASG.SetDesiredCapacity(ctx, &sdkautoscaling.SetDesiredCapacityInput{AutoScalingGroupName: &group, DesiredCapacity: &desired})
	return err
}

// Refresh starts an instance refresh that replaces every instance of the
// group, through the API.
func (w *World) Refresh(ctx context.Context, group string) error {
	_, err := w.ASG.StartInstanceRefresh(ctx, &sdkautoscaling.StartInstanceRefreshInput{AutoScalingGroupName: &group})
	return err
}

// APICalls merges the three services' per-operation counters.
func (w *World) APICalls() map[string]int {
	calls := map[string]int{}
	for svc, m := range map[string]map[string]int{"ECS": w.AWS.ECS.Calls(), "AutoScaling": w.AWS.AutoScaling.Calls(), "SQS": w.AWS.SQS.Calls()} {
		for op, n := range maps.All(m) {
			calls[svc+"."+op] = n
		}
	}
	return calls
}

// Reconcile invokes the function with the scheduled event of the
// reconciler's rate rule every interval until ctx is done, as the
// construct's schedule does.
func (w *World) Reconcile(ctx context.Context, every time.Duration) {
	Every(ctx, every, func() bool {
		body, err := eventbridge.Envelope(awswire.Event{Source: "aws.events", DetailType: "Scheduled Event",
			Resources: []string{"arn:aws:events:" + localaws.Region + ":" + localaws.AccountID + ":rule/ecs-drainer-reconcile"}, Detail: map[string]any{}},
			localaws.AccountID, localaws.Region, time.Now())
		if err != nil {
			return false
		}
		// A failed sweep is retried at the next tick, as a rate rule's is.
		_, _ = w.Function.Invoke(ctx, body, lambda.InvokeOptions{})
		return true
	})
}

// Every calls f at each tick of interval until ctx is done or f returns
// false: the loop of everything in the harness that looks at the local AWS
// now and then.
func Every(ctx context.Context, interval time.Duration, f func() (more bool)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !f() {
			return
		}
	}
}
