// Command sleeppoll is the benchmark's sleep-and-poll baseline, written the
// way the CDK InstanceDrainHook's Python handler works (aws/aws-cdk
// packages/@aws-cdk/custom-resource-handlers/lib/aws-ecs/lambda-source/index.py): on the
// lifecycle event it finds the container instance with a ListContainerInstances
// filter, lists its tasks once (ListTasks with its default desiredStatus
// RUNNING, as the CDK does), then loops inside the one invocation: describe the
// instance (setting it DRAINING if still ACTIVE), count the listed tasks whose
// lastStatus is not STOPPED plus pendingTasksCount, sleep, until none is left
// or the function times out. No heartbeats. It completes with CONTINUE and
// swallows errors from the completion ("may have already completed").
//
// It reads one EventBridge event per SQS record (the benchmark runs it with a
// batch size of 1, as an SNS-triggered hook gets one event per invocation).
// BENCH_SLEEP is the sleep between polls (the CDK's is 10 s; the benchmark
// scales time down).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

type detail struct {
	AutoScalingGroupName string `json:"AutoScalingGroupName"`
	LifecycleHookName    string `json:"LifecycleHookName"`
	EC2InstanceID        string `json:"EC2InstanceId"`
	LifecycleActionToken string `json:"LifecycleActionToken"`
	NotificationMetadata string `json:"NotificationMetadata"`
}

type hook struct {
	ecs   *ecs.Client
	asg   *autoscaling.Client
	sleep time.Duration
}

func main() {
	sleep, err := time.ParseDuration(os.Getenv("BENCH_SLEEP"))
	if err != nil {
		sleep = 10 * time.Second
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Println("loading AWS configuration:", err)
		os.Exit(1)
	}
	h := &hook{ecs: ecs.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), sleep: sleep}
	lambda.Start(h.handle)
}

func (h *hook) handle(ctx context.Context, ev events.SQSEvent) error {
	for _, r := range ev.Records {
		var e events.EventBridgeEvent
		if err := json.Unmarshal([]byte(r.Body), &e); err != nil || e.DetailType != "EC2 Instance-terminate Lifecycle Action" {
			continue
		}
		var d detail
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			continue
		}
		if err := h.drain(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func (h *hook) drain(ctx context.Context, d detail) error {
	var meta struct{ Cluster string }
	_ = json.Unmarshal([]byte(d.NotificationMetadata), &meta)
	cluster := aws.String(meta.Cluster)
	list, err := h.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: cluster, Filter: aws.String("ec2InstanceId == " + d.EC2InstanceID)})
	if err != nil {
		return err
	}
	if len(list.ContainerInstanceArns) == 0 {
		return nil // as the CDK's: the hook waits out its timeout
	}
	arn := list.ContainerInstanceArns[0]
	tasks, err := h.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: cluster, ContainerInstance: aws.String(arn)})
	if err != nil {
		return err
	}
	for {
		n, err := h.count(ctx, cluster, arn, tasks.TaskArns)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		time.Sleep(h.sleep)
	}
	_, err = h.asg.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(d.AutoScalingGroupName), LifecycleHookName: aws.String(d.LifecycleHookName),
		LifecycleActionToken: aws.String(d.LifecycleActionToken), LifecycleActionResult: aws.String("CONTINUE"),
	})
	if err != nil {
		fmt.Println("completing the lifecycle action (may have already completed):", err)
	}
	return nil
}

// count is the CDK's has_tasks: drain if ACTIVE (and report tasks), else
// count the listed tasks not yet STOPPED plus the pending ones, falling back
// to the instance's own counts.
func (h *hook) count(ctx context.Context, cluster *string, arn string, taskARNs []string) (int, error) {
	out, err := h.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: []string{arn}})
	if err != nil {
		return 0, err
	}
	if len(out.ContainerInstances) == 0 {
		return 0, nil
	}
	ci := out.ContainerInstances[0]
	if aws.ToString(ci.Status) == "ACTIVE" {
		_, err := h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: cluster, ContainerInstances: []string{arn}, Status: ecstypes.ContainerInstanceStatusDraining})
		return 1, err
	}
	n := 0
	if len(taskARNs) > 0 {
		t, err := h.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: cluster, Tasks: taskARNs})
		if err != nil {
			return 0, err
		}
		for _, k := range t.Tasks {
			if aws.ToString(k.LastStatus) != "STOPPED" {
				n++
			}
		}
		if len(t.Tasks) > 0 {
			return n + int(ci.PendingTasksCount), nil
		}
	}
	return int(ci.RunningTasksCount + ci.PendingTasksCount), nil
}
