package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	sdksqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
)

// One endpoint must serve all three protocols to the real clients, and the
// services must be wired as AWS wires them: a launched instance registers
// with its cluster, a terminated one is deregistered.
func TestOneEndpointServesAndWiresTheServices(t *testing.T) {
	a, err := Start(Options{Clock: clock.NewFake(time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	cfg, err := a.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.AttachCluster("asg", "c1", ecs.Resources{})
	_, ids, err := a.AutoScaling.CreateGroup("asg", 0, 3, 2)
	if err != nil {
		t.Fatal(err)
	}

	list, err := sdkecs.NewFromConfig(cfg).ListContainerInstances(ctx, &sdkecs.ListContainerInstancesInput{Cluster: aws.String("c1")})
	if err != nil {
		t.Fatalf("ECS through the shared endpoint: %v", err)
	}
	if got := len(list.ContainerInstanceArns); got != 2 {
		t.Fatalf("registered container instances = %d, want the group's 2", got)
	}

	asg := sdkautoscaling.NewFromConfig(cfg)
	if _, err := asg.TerminateInstanceInAutoScalingGroup(ctx, &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(ids[0]), ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatalf("Auto Scaling through the shared endpoint: %v", err)
	}
	a.Clock.(*clock.Fake).Advance(autoscaling.DefaultShutdownTime) // EC2 shuts the instance down
	a.Settle()
	if inst, ok := a.ECS.Instance(ids[0]); !ok || inst.Status != "INACTIVE" {
		t.Fatalf("terminated instance's container instance = %+v, want INACTIVE", inst)
	}

	url, err := a.SQS.CreateQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdksqs.NewFromConfig(cfg).SendMessage(ctx, &sdksqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")}); err != nil {
		t.Fatalf("SQS through the shared endpoint: %v", err)
	}
}

func TestEnvPointsEachServiceAtTheEndpoint(t *testing.T) {
	a := &AWS{URL: "http://127.0.0.1:9"}
	want := map[string]bool{
		"AWS_ENDPOINT_URL_ECS=http://127.0.0.1:9":          true,
		"AWS_ENDPOINT_URL_AUTO_SCALING=http://127.0.0.1:9": true,
		"AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9":          true,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=http://127.0.0.1:9":  true,
	}
	for _, kv := range a.Env() {
		delete(want, kv)
	}
	if len(want) != 0 {
		t.Fatalf("Env() lacks %v", want)
	}
}

// Options.Faults must reach every place a fault is applied: the endpoint
// (request faults) and SQS (delivery faults). A fault configured but not
// wired would let a soak pass without ever meeting it.
func TestFaultsReachTheEndpointAndSQS(t *testing.T) {
	in := faults.New(faults.Config{
		Throttle:     1,
		Only:         func(service, _ string) bool { return service == faults.ServiceECS },
		DuplicateSQS: 1,
		Reorder:      true,
	})
	a, err := Start(Options{Clock: clock.NewFake(time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)), Faults: in})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	cfg, err := a.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.ECS.CreateCluster("c1")

	_, err = sdkecs.NewFromConfig(cfg).ListContainerInstances(ctx, &sdkecs.ListContainerInstancesInput{Cluster: aws.String("c1")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Fatalf("ListContainerInstances with ECS throttled: got %v, want ThrottlingException", err)
	}

	url, err := a.SQS.CreateQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"a", "b"} {
		if _, err := a.SQS.Send(url, body, ""); err != nil {
			t.Fatal(err)
		}
	}
	first, err := a.SQS.Receive(ctx, url, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.SQS.Receive(ctx, url, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || len(second) != 2 {
		t.Fatalf("two receives with every message duplicated: got %d and %d messages, want 2 and 2", len(first), len(second))
	}
	stats := in.Stats()
	for _, kind := range []string{faults.KindThrottle, faults.KindDuplicateSQS, faults.KindReorder} {
		if stats[kind] == 0 {
			t.Errorf("Stats()[%s] = 0, want the fault injected", kind)
		}
	}
}

// On the wall clock, what is due happens without a request: a task reaches
// STOPPED and its event is emitted at its time, as on AWS, not when the next
// call happens to come.
func TestWallClockSettlesWithoutRequests(t *testing.T) {
	events := make(chan awswire.Event, 16)
	a, err := Start(Options{Emit: func(e awswire.Event) {
		select {
		case events <- e:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.AttachCluster("asg", "c1", ecs.Resources{})
	_, ids, err := a.AutoScaling.CreateGroup("asg", 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ECS.RunTask("c1", ids[0], ecs.TaskSpec{Family: "job", CPU: 128, Memory: 128, RunFor: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Minute) // only a hang guard: the event is due within 150 ms
	for {
		select {
		case e := <-events:
			if d, _ := json.Marshal(e.Detail); e.DetailType == "ECS Task State Change" && strings.Contains(string(d), `"lastStatus":"STOPPED"`) {
				return
			}
		case <-deadline:
			t.Fatal("no STOPPED task event within a minute of the task's end, with no request made")
		}
	}
}
