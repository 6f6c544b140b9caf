package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	sdkeventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	sdksqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-drainer/ecs-drainer/infra/rules"
	"github.com/ecs-drainer/ecs-drainer/internal/announce"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/handler"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
	lsqs "github.com/ecs-drainer/ecs-drainer/internal/localaws/sqs"
)

var t0 = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

const (
	cluster = "c1"
	group   = "asg-1"
	hook    = "drain-hook"
)

// rig is the drainer's function logic, through the real SDK clients, against
// the local AWS on a fake clock. It plays the parts this issue does not build
// yet in their simplest faithful form: the rule target (lifecycle events go
// to the queue in their EventBridge envelope) and the event source mapping
// (receive, invoke, delete what did not fail).
type rig struct {
	t        *testing.T
	clk      *clock.Fake
	aws      *localaws.AWS
	asg      *sdkautoscaling.Client
	sqs      *sdksqs.Client
	h        *handler.Handler
	queueURL string
	dlqURL   string
	logs     bytes.Buffer

	// onTimeout, when set before group, is the hook's timeout policy.
	onTimeout string

	// ecs, when set, routes the ECS events the local ECS emits to the
	// queue through the construct's ECS rule patterns, as EventBridge does.
	ecs []*eventbridge.Pattern

	mu     sync.Mutex
	events []awswire.Event
	// announced are the drain state change events the function put on
	// the bus, as a rule of a team's would receive them.
	announced []contract.DrainStateDetail
}

// routeECSEvents makes run deliver ECS events through infra/rules' patterns
// for the rig's cluster.
func (r *rig) routeECSEvents() {
	r.t.Helper()
	for _, b := range [][]byte{rules.ECSTaskStopped([]string{cluster}), rules.ECSInstanceDraining([]string{cluster})} {
		p, err := eventbridge.Compile(b)
		if err != nil {
			r.t.Fatal(err)
		}
		r.ecs = append(r.ecs, p)
	}
}

// deliverECSEvents sends the captured ECS events that match a rule pattern
// to the queue, leaving other events captured.
func (r *rig) deliverECSEvents() {
	r.mu.Lock()
	var ecsEvents, rest []awswire.Event
	for _, e := range r.events {
		if e.Source == "aws.ecs" {
			ecsEvents = append(ecsEvents, e)
		} else {
			rest = append(rest, e)
		}
	}
	r.events = rest
	r.mu.Unlock()
	for _, e := range ecsEvents {
		body, err := eventbridge.Envelope(e, localaws.AccountID, localaws.Region, r.clk.Now())
		if err != nil {
			r.t.Fatal(err)
		}
		for _, p := range r.ecs {
			if p.Matches(body) {
				r.send(string(body))
				break
			}
		}
	}
}

// receive keeps a drain state change event's detail.
func (r *rig) receive(_ context.Context, body []byte) error {
	var e struct{ Detail contract.DrainStateDetail }
	if err := json.Unmarshal(body, &e); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.announced = append(r.announced, e.Detail)
	return nil
}

// newRig returns a rig whose drainer coalesces its writes as drain.New
// wires it, or as opts say.
func newRig(t *testing.T, p drain.Policy, opts ...drain.CoalesceOption) *rig {
	t.Helper()
	r := &rig{t: t, clk: clock.NewFake(t0)}
	bus := eventbridge.NewBus(r.clk, localaws.AccountID, localaws.Region)
	t.Cleanup(bus.Close)
	if err := bus.PutRule("drain-events", []byte(`{"source":["`+contract.SourceDrainer+`"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := bus.AddTarget("drain-events", r.receive); err != nil {
		t.Fatal(err)
	}
	a, err := localaws.Start(localaws.Options{Clock: r.clk, Emit: r.capture, Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	r.aws = a
	r.dlqURL = r.mustQueue("drainer-dlq", nil)
	r.queueURL = r.mustQueue("drainer", map[string]string{
		"VisibilityTimeout": "60",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":"arn:aws:sqs:%s:%s:drainer-dlq","maxReceiveCount":"5"}`, localaws.Region, localaws.AccountID),
	})
	cfg, err := a.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// As drain.New wires them: calls bounded, writes coalesced, through
	// the real clients.
	throttles := &drain.Throttles{}
	cfg = throttles.Count(drain.BoundCalls(cfg))
	r.asg, r.sqs = sdkautoscaling.NewFromConfig(cfg), sdksqs.NewFromConfig(cfg)
	d := drain.NewWithClients(drain.CoalescingECS(sdkecs.NewFromConfig(cfg), opts...), r.asg, drain.CoalescingQueue(r.sqs, opts...), r.queueURL, p, r.clk.Now)
	r.h = handler.New(d, handler.Config{ASGs: []string{group}}, slog.New(slog.NewJSONHandler(&r.logs, nil)), r.clk.Now,
		handler.Observers{Announcer: announce.New(sdkeventbridge.NewFromConfig(cfg), r.clk.Now), Throttles: throttles})
	return r
}

// untilFull is a coalescing window that only a full gathering closes, so
// that which writes share a call does not depend on how fast the machine
// runs the hops. A gathering that never fills is made after a minute, so
// that the test fails instead of hanging.
var untilFull = drain.Window(func(flush func()) { time.AfterFunc(time.Minute, flush) })

func (r *rig) mustQueue(name string, attrs map[string]string) string {
	url, err := r.aws.SQS.CreateQueue(name, attrs)
	if err != nil {
		r.t.Fatal(err)
	}
	return url
}

func (r *rig) capture(e awswire.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// group creates an Auto Scaling group of n instances with the drainer's
// terminate hook; its instances register with the cluster when register is
// set, each with the given resources.
func (r *rig) group(n int, register bool, res ecs.Resources, heartbeatTimeout int32) []string {
	r.t.Helper()
	if register {
		r.aws.AttachCluster(group, cluster, res)
	} else {
		r.aws.ECS.CreateCluster(cluster)
	}
	if _, _, err := r.aws.AutoScaling.CreateGroup(group, 0, n+5, n); err != nil {
		r.t.Fatal(err)
	}
	if err := r.aws.AutoScaling.PutLifecycleHook(autoscaling.Hook{
		Group: group, Name: hook, Transition: autoscaling.TransitionTerminating, HeartbeatTimeout: heartbeatTimeout,
		DefaultResult: autoscaling.ResultContinue, NotificationMetadata: r.metadata(),
	}); err != nil {
		r.t.Fatal(err)
	}
	var ids []string
	for i := range n {
		ids = append(ids, r.instanceAt(i))
	}
	return ids
}

func (r *rig) metadata() string {
	if r.onTimeout != "" {
		return `{"cluster":"` + cluster + `","on_timeout":"` + r.onTimeout + `"}`
	}
	return `{"cluster":"` + cluster + `"}`
}

func (r *rig) instanceAt(i int) string {
	out, err := r.asg.DescribeAutoScalingGroups(context.Background(), &sdkautoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		r.t.Fatal(err)
	}
	return aws.ToString(out.AutoScalingGroups[0].Instances[i].InstanceId)
}

// terminate takes the instance out of the group through the real API, as a
// scale-in does, and routes the lifecycle events to the queue.
func (r *rig) terminate(instanceID string) {
	r.t.Helper()
	_, err := r.asg.TerminateInstanceInAutoScalingGroup(context.Background(), &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(instanceID), ShouldDecrementDesiredCapacity: aws.Bool(true),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.deliverEvents()
}

// deliverEvents sends every captured lifecycle event to the queue in its
// EventBridge envelope and returns the bodies.
func (r *rig) deliverEvents() []string {
	r.mu.Lock()
	evs := r.events
	r.events = nil
	r.mu.Unlock()
	var bodies []string
	for _, e := range evs {
		if e.Source != "aws.autoscaling" {
			continue
		}
		body, err := eventbridge.Envelope(e, localaws.AccountID, localaws.Region, r.clk.Now())
		if err != nil {
			r.t.Fatal(err)
		}
		r.send(string(body))
		bodies = append(bodies, string(body))
	}
	return bodies
}

func (r *rig) send(body string) {
	r.t.Helper()
	if _, err := r.sqs.SendMessage(context.Background(), &sdksqs.SendMessageInput{QueueUrl: &r.queueURL, MessageBody: &body}); err != nil {
		r.t.Fatal(err)
	}
}

// run plays the event source mapping on the fake clock, one second at a
// time, until the queue is empty and stays empty, or limit passes. It returns
// the simulated time it took.
func (r *rig) run(limit time.Duration) time.Duration {
	r.t.Helper()
	start := r.clk.Now()
	for r.clk.Now().Sub(start) < limit {
		r.aws.Settle()
		if r.ecs != nil {
			r.deliverECSEvents()
		}
		msgs, err := r.aws.SQS.Receive(context.Background(), r.queueURL, 10, 0)
		if err != nil {
			r.t.Fatal(err)
		}
		if len(msgs) > 0 {
			r.invoke(msgs)
			continue
		}
		if v, inFlight, delayed := r.aws.SQS.Counts(r.queueURL); v+inFlight+delayed == 0 {
			return r.clk.Now().Sub(start)
		}
		r.clk.Advance(time.Second)
	}
	return r.clk.Now().Sub(start)
}

func (r *rig) invoke(msgs []lsqs.Message) {
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: m.MessageID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, EventSource: "aws:sqs"})
	}
	payload, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := r.h.Invoke(ctx, payload)
	if err != nil {
		r.t.Fatalf("Invoke error: %v", err)
	}
	failed := map[string]bool{}
	for _, f := range out.(events.SQSEventResponse).BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range msgs {
		if !failed[m.MessageID] {
			if err := r.aws.SQS.Delete(r.queueURL, m.ReceiptHandle); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// action returns the lifecycle action's record in Auto Scaling.
func (r *rig) action(instanceID string) autoscaling.ActionView {
	r.t.Helper()
	a, ok := r.aws.AutoScaling.Action(instanceID, hook)
	if !ok {
		r.t.Fatalf("no lifecycle action for %s", instanceID)
	}
	return a
}

// assertReleasedCleanly checks the drainer's central promise for one
// instance: its action was completed by us with CONTINUE, and no task on it
// was still running (lastStatus other than STOPPED) when it was.
func (r *rig) assertReleasedCleanly(instanceID string) autoscaling.ActionView {
	r.t.Helper()
	a := r.action(instanceID)
	if a.Active || a.End != autoscaling.EndCompleted || a.Result != autoscaling.ResultContinue {
		r.t.Fatalf("action for %s: active %v, end %q, result %q; want completed with CONTINUE", instanceID, a.Active, a.End, a.Result)
	}
	for _, task := range r.aws.ECS.Tasks(cluster) {
		if task.EC2InstanceID != instanceID {
			continue
		}
		if task.StoppedAt.IsZero() || task.StoppedAt.After(a.Ended) {
			r.t.Errorf("task %s (%s) on %s stopped at %v, after the action completed at %v", task.ARN, task.Group, instanceID, task.StoppedAt, a.Ended)
		}
	}
	return a
}

func (r *rig) logLines() []map[string]any {
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			r.t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// outcomes counts the logged outcomes.
func (r *rig) outcomes() map[string]int {
	n := map[string]int{}
	for _, l := range r.logLines() {
		if o, ok := l["outcome"].(string); ok {
			n[o]++
		}
	}
	return n
}
