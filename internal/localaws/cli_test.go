package localaws

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
)

// cliTimeout bounds one CLI call. A call costs about a second of CPU, nearly
// all of it the CLI starting; only a hung emulator or a starved machine takes
// much longer.
const cliTimeout = time.Minute

// cliCall is one AWS CLI call and what AWS answers it. To cover another
// operation, add a row to cliCalls.
type cliCall struct {
	name      string
	service   string   // the CLI's and botocore's name: autoscaling, ecs, sqs, events
	operation string   // the API name, DescribeLifecycleHooks; the CLI spells it describe-lifecycle-hooks
	args      []string // the operation's parameters
	// wantCode is the error code AWS answers, empty for a success;
	// wantMessage is how AWS's message starts (empty: not checked).
	wantCode, wantMessage string
	// check asserts on a successful answer as the CLI parsed it.
	check func(t *testing.T, out map[string]any)
}

// The AWS CLI (botocore) is a client we did not write: it validates every
// request against its own service models before sending it, and parses every
// answer with its own protocol parsers. Every operation the drainer calls
// must come back through it as AWS's would, with the error codes AWS
// answers, or the local AWS only agrees with the Go SDK it was built
// against, and the drainer's integration tests prove less than they claim.
func TestAWSCLIGetsAWSAnswersFromTheLocalAWS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI once per call; skipped with -short")
	}
	cli := findCLI(t)
	now := clock.NewFake(time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC))
	bus := eventbridge.NewBus(now, AccountID, Region)
	defer bus.Close()
	a, err := Start(Options{Clock: now, Emit: bus.Emit, Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wire := &wireLog{next: a}
	front := httptest.NewServer(wire)
	defer front.Close()
	cli.endpoint = front.URL
	f := seedForCLI(t, a)

	t.Run("each call", func(t *testing.T) {
		for _, c := range cliCalls(f) {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				cli.check(t, c)
			})
		}
	})

	// The wire checks read every answer the calls above received.
	t.Run("every answer names only members of the model", func(t *testing.T) {
		for _, x := range wire.exchanges() {
			if x.status != http.StatusOK {
				continue
			}
			m := cli.model(t, x.service)
			var problems []string
			if x.service == "autoscaling" {
				problems = m.wireXML(x.operation, x.body)
			} else {
				problems = m.wireJSON(x.operation, x.body)
			}
			for _, p := range problems {
				t.Errorf("%s %s answer: %s", x.service, x.operation, p)
			}
		}
	})
	t.Run("every answer carries an x-amzn-RequestId header", func(t *testing.T) {
		for _, x := range wire.exchanges() {
			if !x.requestID {
				t.Errorf("%s %s answer (HTTP %d) has no x-amzn-RequestId header", x.service, x.operation, x.status)
			}
		}
	})
}

// cliFixture is what the calls name: a group of three instances whose
// container instances joined cluster c1, two of them terminating on the
// hook "drain"; tasks on the first; queues.
type cliFixture struct {
	ec2IDs, ciARNs       [3]string
	hook                 autoscaling.Hook
	completeToken        string // the action of instance 1, which the completion row ends
	warmWaiting          string // an instance of group "warm"'s pool in Warmed:Terminating:Wait
	readTask, stopTask   string // standalone tasks on instance 0
	protectedTask        string // a service task on instance 0 with scale-in protection
	sendURL, readURL     string
	receipt              string // of a message on readURL, for DeleteMessage
	chainValue           string // a chain mark as the drainer writes it
	drainBody, batchBody string // re-queue messages
}

func seedForCLI(t *testing.T, a *AWS) cliFixture {
	t.Helper()
	ctx := context.Background()
	var f cliFixture
	a.AttachCluster("asg", "c1", ecs.Resources{})
	_, ids, err := a.AutoScaling.CreateGroup("asg", 0, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.ec2IDs[:], ids)
	f.hook = autoscaling.Hook{
		Group: "asg", Name: "drain", Transition: autoscaling.TransitionTerminating,
		HeartbeatTimeout: 300, DefaultResult: autoscaling.ResultContinue, NotificationMetadata: `{"cluster":"c1"}`,
	}
	if err := a.AutoScaling.PutLifecycleHook(f.hook); err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	asg := sdkautoscaling.NewFromConfig(cfg)
	for _, id := range f.ec2IDs[1:] {
		if _, err := asg.TerminateInstanceInAutoScalingGroup(ctx, &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	action, ok := a.AutoScaling.Action(f.ec2IDs[1], f.hook.Name)
	if !ok {
		t.Fatalf("no lifecycle action for %s after its termination", f.ec2IDs[1])
	}
	f.completeToken = action.Token
	f.warmWaiting = seedWarmPool(t, a, asg)
	for i, id := range f.ec2IDs {
		in, ok := a.ECS.Instance(id)
		if !ok {
			t.Fatalf("instance %s did not register with c1", id)
		}
		f.ciARNs[i] = in.ARN
	}

	if err := a.ECS.CreateService("c1", ecs.ServiceSpec{Name: "web", DesiredCount: 2, CPU: 256, Memory: 256}); err != nil {
		t.Fatal(err)
	}
	// One task more than instances on a fixed host port: the fourth cannot
	// be placed, so the service's events hold a placement failure.
	if err := a.ECS.CreateService("c1", ecs.ServiceSpec{Name: cliPinnedService, DesiredCount: 4, CPU: 1, Memory: 1, HostPort: 8080}); err != nil {
		t.Fatal(err)
	}
	if err := a.ECS.CreateService("c1", ecs.ServiceSpec{Name: "log-agent", Daemon: true, CPU: 64, Memory: 64,
		PlacementConstraints: []ecs.PlacementConstraint{{Type: ecs.ConstraintMemberOf, Expression: cliDaemonConstraint}}}); err != nil {
		t.Fatal(err)
	}
	for _, task := range []*string{&f.readTask, &f.stopTask} {
		if *task, err = a.ECS.RunTask("c1", f.ec2IDs[0], ecs.TaskSpec{Family: "batch", CPU: 128, Memory: 128}); err != nil {
			t.Fatal(err)
		}
	}
	// On instance 0, which no call drains or terminates.
	for _, k := range a.ECS.Tasks("c1") {
		if strings.HasPrefix(k.Group, "service:") && k.EC2InstanceID == f.ec2IDs[0] {
			f.protectedTask = k.ARN
		}
	}
	if err := a.ECS.SetTaskProtection("c1", f.protectedTask, a.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	if f.sendURL, err = a.SQS.CreateQueue("drains", nil); err != nil {
		t.Fatal(err)
	}
	if f.readURL, err = a.SQS.CreateQueue("reads", nil); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"to delete", "to receive"} {
		if _, err := a.SQS.Send(f.readURL, body, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.SQS.Receive(ctx, f.readURL, 1, 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("receiving the message to delete: got %d messages, %v", len(got), err)
	}
	f.receipt = got[0].ReceiptHandle
	f.chainValue = fmt.Sprintf("%d:%d:%s:%s:%s", a.Clock.Now().Unix(), a.Clock.Now().Add(time.Minute).Unix(),
		"9b1c2d3e-4f50-4a6b-8c7d-8e9f0a1b2c3d", f.completeToken, f.hook.Name)
	f.drainBody = `{"cluster":"c1","asg":"asg","hook":"drain","instance_id":"` + f.ec2IDs[1] + `","attempt":2}`
	f.batchBody = `{"cluster":"c1","asg":"asg","hook":"drain","instance_id":"` + f.ec2IDs[2] + `","attempt":3}`
	return f
}

// cliDaemonConstraint is the memberOf expression of the fixture's daemon.
const cliDaemonConstraint = "attribute:ecs.os-type == linux"

// cliPinnedService is the fixture's service on a fixed host port with more
// tasks than instances.
const cliPinnedService = "pinned"

// seedWarmPool gives group "warm" a warm pool and terminates one of its
// instances, which then waits on the group's terminate hook, the state the
// drainer's reconciler looks for. It returns that instance.
func seedWarmPool(t *testing.T, a *AWS, asg *sdkautoscaling.Client) string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := a.AutoScaling.CreateGroup("warm", 0, 2, 1); err != nil {
		t.Fatal(err)
	}
	hook := autoscaling.Hook{Group: "warm", Name: "drain", Transition: autoscaling.TransitionTerminating, HeartbeatTimeout: 300}
	if err := a.AutoScaling.PutLifecycleHook(hook); err != nil {
		t.Fatal(err)
	}
	if _, err := asg.PutWarmPool(ctx, &sdkautoscaling.PutWarmPoolInput{AutoScalingGroupName: aws.String("warm"), MinSize: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	pool, err := asg.DescribeWarmPool(ctx, &sdkautoscaling.DescribeWarmPoolInput{AutoScalingGroupName: aws.String("warm")})
	if err != nil {
		t.Fatal(err)
	}
	if len(pool.Instances) == 0 {
		t.Fatal("the warm pool of MinSize 1 has no instance")
	}
	id := aws.ToString(pool.Instances[0].InstanceId)
	if _, err := asg.TerminateInstanceInAutoScalingGroup(ctx, &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	return id
}

// cliCalls are the calls the drainer makes (internal/drain: d.asg.*,
// d.ecs.*, SendMessage and, coalesced, SendMessageBatch), with its
// parameters, the queue calls its tests make, and the errors it meets.
func cliCalls(f cliFixture) []cliCall {
	first, waiting := f.ec2IDs[0], f.ec2IDs[2]
	fifty1 := func(prefix string) []string {
		out := make([]string, 51)
		for i := range out {
			out[i] = fmt.Sprintf("%s%017x", prefix, i)
		}
		return out
	}
	return []cliCall{
		{
			name: "DescribeLifecycleHooks of the terminating hook", service: "autoscaling", operation: "DescribeLifecycleHooks",
			args: []string{"--auto-scaling-group-name", "asg", "--lifecycle-hook-names", f.hook.Name},
			check: func(t *testing.T, out map[string]any) {
				hooks := list(out, "LifecycleHooks")
				if len(hooks) != 1 {
					t.Fatalf("got %d hooks, want 1", len(hooks))
				}
				want := map[string]any{"HeartbeatTimeout": 300.0, "GlobalTimeout": 30000.0, "DefaultResult": "CONTINUE",
					"LifecycleTransition": autoscaling.TransitionTerminating, "NotificationMetadata": f.hook.NotificationMetadata}
				for k, v := range want {
					if got := field(hooks[0], k); got != v {
						t.Errorf("%s = %v, want %v", k, got, v)
					}
				}
			},
		},
		{
			name: "DescribeAutoScalingInstances of an instance in service and one waiting", service: "autoscaling", operation: "DescribeAutoScalingInstances",
			args: []string{"--instance-ids", first, waiting},
			check: func(t *testing.T, out map[string]any) {
				got := map[string]string{}
				for _, in := range list(out, "AutoScalingInstances") {
					got[fmt.Sprint(field(in, "InstanceId"))] = fmt.Sprint(field(in, "LifecycleState"))
					// AWS writes HEALTHY here and Healthy in DescribeAutoScalingGroups
					// (botocore's examples-1.json for both operations).
					if h := field(in, "HealthStatus"); h != "HEALTHY" {
						t.Errorf("instance %v: HealthStatus = %v, want HEALTHY", field(in, "InstanceId"), h)
					}
				}
				if want := map[string]string{first: "InService", waiting: "Terminating:Wait"}; !maps.Equal(got, want) {
					t.Errorf("lifecycle states = %v, want %v", got, want)
				}
			},
		},
		{
			name: "DescribeAutoScalingGroups of the group", service: "autoscaling", operation: "DescribeAutoScalingGroups",
			args: []string{"--auto-scaling-group-names", "asg"},
			check: func(t *testing.T, out map[string]any) {
				groups := list(out, "AutoScalingGroups")
				if len(groups) != 1 {
					t.Fatalf("got %d groups, want 1", len(groups))
				}
				for _, in := range list(groups[0], "Instances") {
					if got := field(in, "HealthStatus"); got != "Healthy" {
						t.Errorf("instance %v: HealthStatus = %v, want Healthy", field(in, "InstanceId"), got)
					}
				}
			},
		},
		{
			name: "RecordLifecycleActionHeartbeat by instance id", service: "autoscaling", operation: "RecordLifecycleActionHeartbeat",
			args: []string{"--auto-scaling-group-name", "asg", "--lifecycle-hook-name", f.hook.Name, "--instance-id", waiting},
		},
		{
			name: "CompleteLifecycleAction by token", service: "autoscaling", operation: "CompleteLifecycleAction",
			args: []string{"--auto-scaling-group-name", "asg", "--lifecycle-hook-name", f.hook.Name,
				"--lifecycle-action-token", f.completeToken, "--lifecycle-action-result", "CONTINUE"},
		},
		{
			name: "DescribeWarmPool of a pool with an instance terminating", service: "autoscaling", operation: "DescribeWarmPool",
			args: []string{"--auto-scaling-group-name", "warm"},
			check: func(t *testing.T, out map[string]any) {
				if !slices.ContainsFunc(list(out, "Instances"), func(in any) bool {
					return field(in, "InstanceId") == f.warmWaiting && field(in, "LifecycleState") == "Warmed:Terminating:Wait"
				}) {
					t.Errorf("Instances = %v, want %s in Warmed:Terminating:Wait", list(out, "Instances"), f.warmWaiting)
				}
			},
		},
		{
			name: "DescribeWarmPool of a group without one", service: "autoscaling", operation: "DescribeWarmPool",
			args: []string{"--auto-scaling-group-name", "asg"},
			check: func(t *testing.T, out map[string]any) {
				if out["WarmPoolConfiguration"] != nil || len(list(out, "Instances")) != 0 {
					t.Errorf("got %v, want no configuration and no instances", out)
				}
			},
		},
		{
			// The reconciler's sweep reads when a launch began from here
			// (internal/drain/sweep.go). ec2IDs[2] is held by the hook, which
			// no other call completes.
			name: "DescribeScalingActivities of the group", service: "autoscaling", operation: "DescribeScalingActivities",
			args: []string{"--auto-scaling-group-name", "asg"},
			check: func(t *testing.T, out map[string]any) {
				byDesc := map[string]any{}
				for _, a := range list(out, "Activities") {
					byDesc[fmt.Sprint(field(a, "Description"))] = a
				}
				for desc, status := range map[string]string{
					"Launching a new EC2 instance: " + first: "Successful",
					"Terminating EC2 instance: " + waiting:   "MidLifecycleAction",
				} {
					a, ok := byDesc[desc]
					if !ok {
						t.Errorf("no activity %q among %v", desc, slices.Collect(maps.Keys(byDesc)))
						continue
					}
					if got := field(a, "StatusCode"); got != status {
						t.Errorf("%s: StatusCode = %v, want %s", desc, got, status)
					}
					if field(a, "StartTime") == nil || field(a, "ActivityId") == nil || field(a, "Cause") == nil {
						t.Errorf("%s: got %v, want its ActivityId, Cause and StartTime", desc, a)
					}
				}
			},
		},
		{
			name: "CompleteLifecycleAction with a token no action holds", service: "autoscaling", operation: "CompleteLifecycleAction",
			args: []string{"--auto-scaling-group-name", "asg", "--lifecycle-hook-name", f.hook.Name,
				"--lifecycle-action-token", "0b7e1c4a-2f3d-4e5f-9a8b-7c6d5e4f3a2b", "--lifecycle-action-result", "CONTINUE"},
			wantCode: "ValidationError", wantMessage: "No active Lifecycle Action found with token",
		},
		{
			name: "CompleteLifecycleAction for an instance in service", service: "autoscaling", operation: "CompleteLifecycleAction",
			args: []string{"--auto-scaling-group-name", "asg", "--lifecycle-hook-name", f.hook.Name,
				"--instance-id", first, "--lifecycle-action-result", "CONTINUE"},
			wantCode: "ValidationError", wantMessage: "No active Lifecycle Action found with instance ID",
		},
		{
			// "By default, you can only specify up to 50 names" (the model's
			// documentation of AutoScalingGroupNames).
			name: "DescribeAutoScalingGroups of 51 names without MaxRecords", service: "autoscaling", operation: "DescribeAutoScalingGroups",
			args:     append([]string{"--auto-scaling-group-names"}, fifty1("group-")...),
			wantCode: "ValidationError",
		},
		{
			// "Array Members: Maximum number of 50 items." (the model's
			// documentation of InstanceIds).
			name: "DescribeAutoScalingInstances of 51 ids", service: "autoscaling", operation: "DescribeAutoScalingInstances",
			args:     append([]string{"--instance-ids"}, fifty1("i-")...),
			wantCode: "ValidationError",
		},

		{
			name: "ListContainerInstances by EC2 instance id", service: "ecs", operation: "ListContainerInstances",
			args: []string{"--cluster", "c1", "--filter", "ec2InstanceId == " + first},
			check: func(t *testing.T, out map[string]any) {
				if got := list(out, "containerInstanceArns"); len(got) != 1 || got[0] != f.ciARNs[0] {
					t.Errorf("containerInstanceArns = %v, want [%s]", got, f.ciARNs[0])
				}
			},
		},
		{
			name: "DescribeContainerInstances of one instance", service: "ecs", operation: "DescribeContainerInstances",
			args: []string{"--cluster", "c1", "--container-instances", f.ciARNs[0]},
			check: func(t *testing.T, out map[string]any) {
				cis := list(out, "containerInstances")
				if len(cis) != 1 || field(cis[0], "ec2InstanceId") != first || len(list(out, "failures")) != 0 {
					t.Errorf("got %v, want the container instance of %s and no failures", out, first)
				}
			},
		},
		{
			name: "UpdateContainerInstancesState to DRAINING", service: "ecs", operation: "UpdateContainerInstancesState",
			args: []string{"--cluster", "c1", "--container-instances", f.ciARNs[2], "--status", "DRAINING"},
			check: func(t *testing.T, out map[string]any) {
				cis := list(out, "containerInstances")
				if len(cis) != 1 || field(cis[0], "status") != "DRAINING" || len(list(out, "failures")) != 0 {
					t.Errorf("got %v, want the instance DRAINING and no failures", out)
				}
			},
		},
		{
			name: "ListTasks on a container instance", service: "ecs", operation: "ListTasks",
			args: []string{"--cluster", "c1", "--container-instance", f.ciARNs[0], "--desired-status", "RUNNING"},
			check: func(t *testing.T, out map[string]any) {
				if !slices.Contains(list(out, "taskArns"), any(f.readTask)) {
					t.Errorf("taskArns = %v, want %s among them", list(out, "taskArns"), f.readTask)
				}
			},
		},
		{
			name: "DescribeTasks of a standalone and a service task", service: "ecs", operation: "DescribeTasks",
			args: []string{"--cluster", "c1", "--tasks", f.readTask, f.protectedTask},
			check: func(t *testing.T, out map[string]any) {
				if got := len(list(out, "tasks")); got != 2 || len(list(out, "failures")) != 0 {
					t.Errorf("got %d tasks and failures %v, want 2 and none", got, list(out, "failures"))
				}
			},
		},
		{
			name: "GetTaskProtection of a protected task", service: "ecs", operation: "GetTaskProtection",
			args: []string{"--cluster", "c1", "--tasks", f.protectedTask},
			check: func(t *testing.T, out map[string]any) {
				p := list(out, "protectedTasks")
				if len(p) != 1 || field(p[0], "protectionEnabled") != true || field(p[0], "expirationDate") == nil {
					t.Errorf("protectedTasks = %v, want one, enabled, with its expirationDate", p)
				}
			},
		},
		{
			name: "StopTask with the drainer's reason", service: "ecs", operation: "StopTask",
			args: []string{"--cluster", "c1", "--task", f.stopTask, "--reason", "ecs-drainer: drain deadline reached, stopping what is left (on_timeout=stop-tasks)"},
			check: func(t *testing.T, out map[string]any) {
				if got := field(out["task"], "desiredStatus"); got != "STOPPED" {
					t.Errorf("task.desiredStatus = %v, want STOPPED", got)
				}
			},
		},
		{
			name: "PutAttributes of the drain's chain mark", service: "ecs", operation: "PutAttributes",
			args: []string{"--cluster", "c1", "--attributes", mustJSON([]map[string]string{{
				"name": "ecs-drainer.chain", "value": f.chainValue, "targetType": "container-instance", "targetId": f.ciARNs[0]}})},
		},
		{
			// The launch gate's calls (issue 13): the daemons, their
			// constraints, whether one allows the instance, and its own mark
			// removed.
			name: "ListServices of the daemons", service: "ecs", operation: "ListServices",
			args: []string{"--cluster", "c1", "--scheduling-strategy", "DAEMON"},
			check: func(t *testing.T, out map[string]any) {
				if got := list(out, "serviceArns"); len(got) != 1 || got[0] != "arn:aws:ecs:us-east-1:123456789012:service/c1/log-agent" {
					t.Errorf("serviceArns = %v, want the log-agent daemon only", got)
				}
			},
		},
		{
			name: "DescribeServices of the daemon", service: "ecs", operation: "DescribeServices",
			args: []string{"--cluster", "c1", "--services", "log-agent"},
			check: func(t *testing.T, out map[string]any) {
				svcs := list(out, "services")
				if len(svcs) != 1 || field(svcs[0], "schedulingStrategy") != "DAEMON" || len(list(out, "failures")) != 0 {
					t.Fatalf("got %v, want the DAEMON service and no failures", out)
				}
				pcs := list(svcs[0], "placementConstraints")
				if len(pcs) != 1 || field(pcs[0], "type") != "memberOf" || field(pcs[0], "expression") != cliDaemonConstraint {
					t.Errorf("placementConstraints = %v, want [memberOf %s]", pcs, cliDaemonConstraint)
				}
			},
		},
		{
			name: "ListContainerInstances by the daemon's constraint and EC2 instance id", service: "ecs", operation: "ListContainerInstances",
			args: []string{"--cluster", "c1", "--filter", "(" + cliDaemonConstraint + ") and ec2InstanceId == " + first},
			check: func(t *testing.T, out map[string]any) {
				if got := list(out, "containerInstanceArns"); len(got) != 1 || got[0] != f.ciARNs[0] {
					t.Errorf("containerInstanceArns = %v, want [%s]", got, f.ciARNs[0])
				}
			},
		},
		{
			name: "DeleteAttributes of the launch gate's mark", service: "ecs", operation: "DeleteAttributes",
			args: []string{"--cluster", "c1", "--attributes", mustJSON([]map[string]string{{
				"name": "ecs-drainer.chain", "targetType": "container-instance", "targetId": f.ciARNs[0]}})},
			check: func(t *testing.T, out map[string]any) {
				if got := list(out, "attributes"); len(got) != 1 || field(got[0], "name") != "ecs-drainer.chain" {
					t.Errorf("attributes = %v, want the deleted one", got)
				}
			},
		},
		{
			// The diagnosis of a drain that cannot finish (issue 14): the
			// service's events, newest first, and its deployment's counts;
			// the task definition's fixed host port.
			name: "DescribeServices with a placement failure in its events", service: "ecs", operation: "DescribeServices",
			args: []string{"--cluster", "c1", "--services", cliPinnedService},
			check: func(t *testing.T, out map[string]any) {
				svcs := list(out, "services")
				if len(svcs) != 1 {
					t.Fatalf("got %v, want the %s service", out, cliPinnedService)
				}
				events := list(svcs[0], "events")
				if !slices.ContainsFunc(events, func(e any) bool {
					m, _ := field(e, "message").(string)
					return strings.HasPrefix(m, "(service "+cliPinnedService+") was unable to place a task") &&
						strings.Contains(m, "is already using a port required by your task.") && field(e, "id") != nil && field(e, "createdAt") != nil
				}) {
					t.Errorf("events = %v, want the placement failure on port 8080 with its id and createdAt", events)
				}
				deployments := list(svcs[0], "deployments")
				if len(deployments) != 1 || field(deployments[0], "status") != "PRIMARY" || field(deployments[0], "desiredCount") != 4.0 ||
					field(deployments[0], "taskDefinition") != field(svcs[0], "taskDefinition") {
					t.Errorf("deployments = %v, want the PRIMARY one of 4 tasks of the service's task definition", deployments)
				}
			},
		},
		{
			name: "DescribeTaskDefinition of a service's", service: "ecs", operation: "DescribeTaskDefinition",
			args: []string{"--task-definition", cliPinnedService},
			check: func(t *testing.T, out map[string]any) {
				td := out["taskDefinition"]
				containers := list(td, "containerDefinitions")
				if field(td, "family") != cliPinnedService || field(td, "revision") != 1.0 || field(td, "networkMode") != "bridge" || len(containers) != 1 {
					t.Fatalf("taskDefinition = %v, want %s:1, bridge, one container", td, cliPinnedService)
				}
				if pm := list(containers[0], "portMappings"); len(pm) != 1 || field(pm[0], "hostPort") != 8080.0 || field(pm[0], "containerPort") != 8080.0 {
					t.Errorf("portMappings = %v, want 8080 on 8080", pm)
				}
			},
		},
		{
			// Seen from AWS: hashicorp/terraform-provider-aws reports.
			name: "DescribeTaskDefinition of one ECS does not have", service: "ecs", operation: "DescribeTaskDefinition",
			args:     []string{"--task-definition", "no-such-family:7"},
			wantCode: "ClientException", wantMessage: "Unable to describe task definition.",
		},
		{
			name: "DescribeContainerInstances on a missing cluster", service: "ecs", operation: "DescribeContainerInstances",
			args:     []string{"--cluster", "no-such-cluster", "--container-instances", f.ciARNs[0]},
			wantCode: "ClusterNotFoundException", wantMessage: "Cluster not found.",
		},
		{
			// Seen from AWS: gchq/sleeper#3387 (2024), eagletmt/hako#34.
			name: "DescribeContainerInstances of an empty list", service: "ecs", operation: "DescribeContainerInstances",
			args:     []string{"--cli-input-json", `{"cluster":"c1","containerInstances":[]}`},
			wantCode: "InvalidParameterException", wantMessage: "Container instance cannot be empty.",
		},
		{
			// Seen from AWS: cuttlesoft/ecs-deploy.py#14, aws/copilot-cli#3551.
			name: "DescribeTasks of an empty list", service: "ecs", operation: "DescribeTasks",
			args:     []string{"--cli-input-json", `{"cluster":"c1","tasks":[]}`},
			wantCode: "InvalidParameterException", wantMessage: "Tasks cannot be empty.",
		},

		{
			name: "CreateQueue", service: "sqs", operation: "CreateQueue",
			args: []string{"--queue-name", "made-by-the-cli", "--attributes", "VisibilityTimeout=60"},
		},
		{
			name: "SendMessage of a delayed re-queue", service: "sqs", operation: "SendMessage",
			args: []string{"--queue-url", f.sendURL, "--message-body", f.drainBody, "--delay-seconds", "300"},
		},
		{
			// The coalescer's batch (internal/drain/coalesce.go): ids are
			// indexes, each entry a body and its delay.
			name: "SendMessageBatch of coalesced re-queues", service: "sqs", operation: "SendMessageBatch",
			args: []string{"--queue-url", f.sendURL, "--entries", mustJSON([]map[string]any{
				{"Id": "0", "MessageBody": f.drainBody, "DelaySeconds": 30},
				{"Id": "1", "MessageBody": f.batchBody, "DelaySeconds": 0},
			})},
			check: func(t *testing.T, out map[string]any) {
				if ok, failed := list(out, "Successful"), list(out, "Failed"); len(ok) != 2 || len(failed) != 0 {
					t.Errorf("got %d successful and failures %v, want 2 and none", len(ok), failed)
				}
			},
		},
		{
			name: "ReceiveMessage with every attribute", service: "sqs", operation: "ReceiveMessage",
			args: []string{"--queue-url", f.readURL, "--max-number-of-messages", "10", "--wait-time-seconds", "0",
				"--attribute-names", "All", "--message-attribute-names", "All"},
			check: func(t *testing.T, out map[string]any) {
				if msgs := list(out, "Messages"); len(msgs) != 1 || field(msgs[0], "Body") != "to receive" {
					t.Errorf("Messages = %v, want the one visible message", msgs)
				}
			},
		},
		{
			name: "DeleteMessage", service: "sqs", operation: "DeleteMessage",
			args: []string{"--queue-url", f.readURL, "--receipt-handle", f.receipt},
		},
		{
			// botocore reports the awsQuery code of the x-amzn-query-error
			// header, as SQS sends it since it speaks JSON; the message is
			// the JSON protocol's (standardnotes/server#1067, 2024).
			name: "SendMessage to a queue that does not exist", service: "sqs", operation: "SendMessage",
			args:     []string{"--queue-url", strings.TrimSuffix(f.sendURL, "drains") + "no-such-queue", "--message-body", f.drainBody},
			wantCode: "AWS.SimpleQueueService.NonExistentQueue", wantMessage: "The specified queue does not exist",
		},

		{
			// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html:
			// botocore sends Time as epoch seconds; a bad entry fails alone.
			name: "PutEvents of a drain event and one in AWS's namespace", service: "events", operation: "PutEvents",
			args: []string{"--entries", mustJSON([]map[string]any{
				{"Source": "ecs-drainer", "DetailType": "ECS Drain State Change", "Detail": `{"instance":"i-1"}`,
					"Time": "2026-11-24T04:59:30Z", "Resources": []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-1"}},
				{"Source": "aws.ecs", "DetailType": "ECS Task State Change", "Detail": `{}`},
			})},
			check: func(t *testing.T, out map[string]any) {
				entries := list(out, "Entries")
				if out["FailedEntryCount"] != float64(1) || len(entries) != 2 || field(entries[0], "EventId") == nil ||
					field(entries[1], "ErrorCode") != "NotAuthorizedForSourceException" {
					t.Errorf("got %v, want an EventId then NotAuthorizedForSourceException", out)
				}
			},
		},
		{
			name: "PutEvents of eleven entries", service: "events", operation: "PutEvents",
			args: []string{"--entries", mustJSON(slices.Repeat([]map[string]any{
				{"Source": "ecs-drainer", "DetailType": "ECS Drain State Change", "Detail": `{}`},
			}, 11))},
			wantCode: "ValidationException", wantMessage: "1 validation error detected: Value '[PutEventsRequestEntry(",
		},
	}
}

// awsCLI runs the AWS CLI against the local AWS.
type awsCLI struct {
	path     string
	endpoint string
	env      []string

	mu     sync.Mutex
	paths  map[string]string // service -> the model file the CLI loaded
	models map[string]*serviceModel
}

// findCLI finds the aws command, or skips the test.
func findCLI(t *testing.T) *awsCLI {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Skipf("the AWS CLI (aws) is not installed, so the local AWS is not checked against botocore: %v", err)
	}
	// A pyenv shim is a bash script that costs about a second per call
	// before the same CLI starts; run the CLI it points at directly.
	if filepath.Base(filepath.Dir(path)) == "shims" {
		if out, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
			path = strings.TrimSpace(string(out))
		}
	}
	dir := t.TempDir()
	// iso8601 makes botocore parse every timestamp: the default prints
	// them as received, unparsed.
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[default]\ncli_timestamp_format = iso8601\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		// A 5xx is a bug to see at once, not to retry.
		"AWS_MAX_ATTEMPTS=1",
	)
	return &awsCLI{path: path, env: env, paths: map[string]string{}, models: map[string]*serviceModel{}}
}

// cliAnswer is what the CLI made of one answer.
type cliAnswer struct {
	out           map[string]any // the parsed output of a success
	code, message string         // the service error it reported
}

var (
	cliError  = regexp.MustCompile(`An error occurred \(([^)]*)\) when calling the \w+ operation(?: \(reached max retries: \d+\))?: (.*)`)
	modelFile = regexp.MustCompile(`Loading JSON file: (\S+[/\\]data[/\\](\w+)[/\\][\d-]+[/\\]service-2\.json(?:\.gz)?)`)
)

// check runs c and judges the answer.
func (l *awsCLI) check(t *testing.T, c cliCall) {
	a := l.run(t, c)
	if c.wantCode == "" && a.code == "" {
		// The CLI drops members its model does not know; what it kept
		// must still fit the output shape.
		for _, p := range l.model(t, c.service).output(c.operation, a.out) {
			t.Errorf("output: %s", p)
		}
	}
	switch {
	case a.code != c.wantCode:
		t.Fatalf("got %s, want %s", a, cliAnswer{code: c.wantCode, message: c.wantMessage + "…"})
	case !strings.HasPrefix(a.message, c.wantMessage):
		t.Errorf("message = %q, want it to start %q", a.message, c.wantMessage)
	case c.check != nil && a.code == "":
		c.check(t, a.out)
	}
}

func (a cliAnswer) String() string {
	if a.code != "" {
		return fmt.Sprintf("error %s: %q", a.code, a.message)
	}
	return "success"
}

// run runs one call. Until the service's model file is known, --debug
// makes botocore log the one it loads, so answers are judged against the
// very model the CLI used.
func (l *awsCLI) run(t *testing.T, c cliCall) cliAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	args := []string{"--no-paginate", "--endpoint-url", l.endpoint, "--region", Region, "--output", "json"}
	l.mu.Lock()
	if l.paths[c.service] == "" {
		args = append(args, "--debug")
	}
	l.mu.Unlock()
	args = append(append(args, c.service, cliName(c.operation)), c.args...)
	cmd := exec.CommandContext(ctx, l.path, args...) // #nosec G204 -- the test's own arguments
	cmd.Env = l.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if m := modelFile.FindStringSubmatch(stderr.String()); m != nil {
		l.mu.Lock()
		l.paths[m[2]] = m[1]
		l.mu.Unlock()
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		out := map[string]any{}
		if b := bytes.TrimSpace(stdout.Bytes()); len(b) > 0 {
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("aws %s: output is not a JSON object: %v\n%s", cliName(c.operation), err, b)
			}
		}
		return cliAnswer{out: out}
	case errors.As(err, &exit):
		if m := cliError.FindAllStringSubmatch(stderr.String(), -1); m != nil {
			last := m[len(m)-1]
			return cliAnswer{code: last[1], message: strings.TrimSpace(last[2])}
		}
		t.Fatalf("aws %s failed without a service error (a request the model refuses, or an answer botocore cannot parse): %v\n%s",
			cliName(c.operation), err, tail(stderr.String(), 3000))
	default:
		t.Fatalf("running aws: %v", err)
	}
	return cliAnswer{}
}

// cliName is the CLI's spelling of an operation: DescribeTasks is
// describe-tasks.
func cliName(operation string) string {
	var b strings.Builder
	for i, r := range operation {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// serviceModel is the part of a botocore service-2.json the checks read.
type serviceModel struct {
	Operations map[string]struct {
		Output *struct {
			Shape string `json:"shape"`
		} `json:"output"`
	} `json:"operations"`
	Shapes map[string]modelShape `json:"shapes"`
}

type modelShape struct {
	Type     string                `json:"type"`
	Required []string              `json:"required"`
	Members  map[string]modelShape `json:"members"` // references: only Shape and LocationName
	Member   *modelShape           `json:"member"`
	Key      *modelShape           `json:"key"`
	Value    *modelShape           `json:"value"`
	Enum     []string              `json:"enum"`
	// In a reference to a shape:
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
}

// model returns the service's model as the CLI loaded it.
func (l *awsCLI) model(t *testing.T, service string) *serviceModel {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if m, ok := l.models[service]; ok {
		return m
	}
	path, ok := l.paths[service]
	if !ok {
		t.Fatalf("the CLI's debug log named no %s model file", service)
	}
	file, err := os.Open(path) // #nosec G304 -- botocore's own file, as the CLI logged it
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var r io.Reader = file
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(file); err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
	}
	m := &serviceModel{}
	if err := json.NewDecoder(r).Decode(m); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	l.models[service] = m
	return m
}

// output checks the CLI's parsed output of an operation against its output
// shape: members, types, enum values, required members.
func (m *serviceModel) output(operation string, out map[string]any) []string {
	op, ok := m.Operations[operation]
	if !ok {
		return []string{"the model has no operation " + operation}
	}
	var problems []string
	if op.Output != nil {
		m.value(op.Output.Shape, operation+"Output", out, &problems)
	}
	return problems
}

func (m *serviceModel) value(shape, at string, v any, problems *[]string) {
	s := m.Shapes[shape]
	bad := func(want string) { *problems = append(*problems, fmt.Sprintf("%s = %v (%T), want %s", at, v, v, want)) }
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				*problems = append(*problems, fmt.Sprintf("%s.%s is required by %s and missing", at, r, shape))
			}
		}
		for k, mv := range obj {
			ref, ok := s.Members[k]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s.%s is not a member of %s", at, k, shape))
				continue
			}
			m.value(ref.Shape, at+"."+k, mv, problems)
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			bad("a list")
			return
		}
		for i, e := range arr {
			m.value(s.Member.Shape, fmt.Sprintf("%s[%d]", at, i), e, problems)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("a map")
			return
		}
		for k, e := range obj {
			m.value(s.Key.Shape, at+" key", k, problems)
			m.value(s.Value.Shape, at+"["+k+"]", e, problems)
		}
	case "string":
		str, ok := v.(string)
		switch {
		case !ok:
			bad("a string")
		case len(s.Enum) > 0 && !slices.Contains(s.Enum, str):
			bad(fmt.Sprintf("one of %v", s.Enum))
		}
	case "integer", "long":
		if n, ok := v.(float64); !ok || n != float64(int64(n)) {
			bad("an integer")
		}
	case "float", "double":
		if _, ok := v.(float64); !ok {
			bad("a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("a boolean")
		}
	case "timestamp":
		if str, ok := v.(string); !ok {
			bad("an ISO 8601 timestamp")
		} else if _, err := time.Parse(time.RFC3339, str); err != nil {
			bad("an ISO 8601 timestamp")
		}
	case "blob":
		if _, ok := v.(string); !ok {
			bad("base64 text")
		}
	default:
		*problems = append(*problems, fmt.Sprintf("%s: shape %s has type %q, which the check does not know", at, shape, s.Type))
	}
}

// wireJSON checks the member names of a JSON answer as sent: botocore's
// parser keeps only the members its model knows, so a misspelt one would
// vanish from the CLI's output without a trace.
func (m *serviceModel) wireJSON(operation string, body []byte) []string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"body is not JSON: " + err.Error()}
	}
	var problems []string
	if op := m.Operations[operation]; op.Output != nil {
		m.names(op.Output.Shape, operation+"Output", v, &problems)
	}
	return problems
}

func (m *serviceModel) names(shape, at string, v any, problems *[]string) {
	s := m.Shapes[shape]
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			switch s.Type {
			case "map":
				m.names(s.Value.Shape, at+"["+k+"]", e, problems)
			case "structure":
				ref, ok := s.Members[k]
				if !ok {
					*problems = append(*problems, fmt.Sprintf("%s.%s is not a member of %s", at, k, shape))
					continue
				}
				m.names(ref.Shape, at+"."+k, e, problems)
			}
		}
	case []any:
		if s.Type == "list" {
			for i, e := range v {
				m.names(s.Member.Shape, fmt.Sprintf("%s[%d]", at, i), e, problems)
			}
		}
	}
}

// xmlNode is an element of an awsQuery answer.
type xmlNode struct {
	XMLName  xml.Name
	Children []xmlNode `xml:",any"`
}

// wireXML checks the element names of an awsQuery answer as sent:
// <OpResponse><OpResult>members</OpResult><ResponseMetadata/></OpResponse>,
// lists as <member> elements.
func (m *serviceModel) wireXML(operation string, body []byte) []string {
	var root xmlNode
	if err := xml.Unmarshal(body, &root); err != nil {
		return []string{"body is not XML: " + err.Error()}
	}
	if root.XMLName.Local != operation+"Response" {
		return []string{fmt.Sprintf("root element <%s>, want <%sResponse>", root.XMLName.Local, operation)}
	}
	var problems []string
	for _, c := range root.Children {
		switch op := m.Operations[operation]; {
		case c.XMLName.Local == "ResponseMetadata":
		case c.XMLName.Local == operation+"Result" && op.Output != nil:
			m.elements(op.Output.Shape, operation+"Result", c, &problems)
		default:
			problems = append(problems, fmt.Sprintf("unexpected element <%s> in <%sResponse>", c.XMLName.Local, operation))
		}
	}
	return problems
}

func (m *serviceModel) elements(shape, at string, n xmlNode, problems *[]string) {
	s := m.Shapes[shape]
	for _, c := range n.Children {
		name := c.XMLName.Local
		switch s.Type {
		case "structure":
			member, ok := "", false
			for k, ref := range s.Members {
				if cmp.Or(ref.LocationName, k) == name {
					member, ok = k, true
				}
			}
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s.%s is not a member of %s", at, name, shape))
				continue
			}
			m.elements(s.Members[member].Shape, at+"."+member, c, problems)
		case "list":
			if want := cmp.Or(s.Member.LocationName, "member"); name != want {
				*problems = append(*problems, fmt.Sprintf("%s holds <%s>, want <%s>", at, name, want))
				continue
			}
			m.elements(s.Member.Shape, at+"[]", c, problems)
		}
	}
}

// wireLog records every answer the local AWS gives through it.
type wireLog struct {
	next http.Handler
	mu   sync.Mutex
	log  []exchange
}

type exchange struct {
	service, operation string
	status             int
	requestID          bool
	body               []byte
}

func (l *wireLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	x := exchange{service: "autoscaling"}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		x.service, x.operation = map[string]string{"AmazonSQS": "sqs", "AWSEvents": "events"}[prefix], op
		if x.service == "" {
			x.service = "ecs"
		}
	} else if form, err := url.ParseQuery(string(body)); err == nil {
		x.operation = form.Get("Action")
	}
	rec := httptest.NewRecorder()
	l.next.ServeHTTP(rec, r)
	x.status, x.body = rec.Code, rec.Body.Bytes()
	x.requestID = rec.Header().Get("X-Amzn-Requestid") != ""
	l.mu.Lock()
	l.log = append(l.log, x)
	l.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(x.body)
}

func (l *wireLog) exchanges() []exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.log)
}

// list and field read the CLI's parsed JSON.
func list(v any, name string) []any {
	l, _ := field(v, name).([]any)
	return l
}

func field(v any, name string) any {
	m, _ := v.(map[string]any)
	return m[name]
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The checks must catch what they claim to, or the CLI test above passes
// without judging anything.
func TestCLIModelChecksCatchWhatTheyClaim(t *testing.T) {
	var m serviceModel
	if err := json.Unmarshal([]byte(`{
		"operations": {"Describe": {"output": {"shape": "Out"}}},
		"shapes": {
			"Out": {"type": "structure", "required": ["id"], "members": {
				"id": {"shape": "S"}, "status": {"shape": "Status"}, "count": {"shape": "N"},
				"at": {"shape": "T"}, "items": {"shape": "L"}, "tags": {"shape": "M"}}},
			"S": {"type": "string"},
			"Status": {"type": "string", "enum": ["ACTIVE", "DRAINING"]},
			"N": {"type": "integer"},
			"T": {"type": "timestamp"},
			"L": {"type": "list", "member": {"shape": "S"}},
			"M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}}
		}}`), &m); err != nil {
		t.Fatal(err)
	}
	output := func(v string) []string {
		var out map[string]any
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			t.Fatal(err)
		}
		return m.output("Describe", out)
	}
	for _, c := range []struct {
		name     string
		problems []string
		want     string // a part of the one problem expected; empty: none
	}{
		{"a fitting output passes", output(`{"id": "a", "status": "DRAINING", "count": 2, "at": "2026-11-24T05:00:00+00:00", "items": ["x"], "tags": {"k": "v"}}`), ""},
		{"a missing required member", output(`{"status": "ACTIVE"}`), "id is required by Out"},
		{"a member the shape lacks", output(`{"id": "a", "Status": "ACTIVE"}`), "Status is not a member"},
		{"a value outside the enum", output(`{"id": "a", "status": "Active"}`), "want one of [ACTIVE DRAINING]"},
		{"a fraction for an integer", output(`{"id": "a", "count": 1.5}`), "want an integer"},
		{"an epoch for a timestamp", output(`{"id": "a", "at": 1795496400}`), "want an ISO 8601 timestamp"},
		{"a number in a list of strings", output(`{"id": "a", "items": [1]}`), "items[0] = 1 (float64), want a string"},
		{"a number in a map of strings", output(`{"id": "a", "tags": {"k": 1}}`), "tags[k] = 1 (float64), want a string"},
		{"a JSON answer with a misspelt member", m.wireJSON("Describe", []byte(`{"id": "a", "Items": []}`)), "Items is not a member"},
		{"a query answer with a misspelt member", m.wireXML("Describe", []byte(
			`<DescribeResponse><DescribeResult><id>a</id><items><member>x</member></items><Count>1</Count></DescribeResult><ResponseMetadata/></DescribeResponse>`)), "Count is not a member"},
		{"a query list without member elements", m.wireXML("Describe", []byte(
			`<DescribeResponse><DescribeResult><id>a</id><items><item>x</item></items></DescribeResult></DescribeResponse>`)), "holds <item>, want <member>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.want == "" && len(c.problems) > 0:
				t.Errorf("problems = %q, want none", c.problems)
			case c.want != "" && (len(c.problems) != 1 || !strings.Contains(c.problems[0], c.want)):
				t.Errorf("problems = %q, want one containing %q", c.problems, c.want)
			}
		})
	}
}
