// Command republish is the benchmark's re-publish baseline, written the way
// the 2017 AWS sample (aws-samples/ecs-cid-sample, cform/ecs.yaml) works, with
// SQS in place of SNS: for each lifecycle message it pages through every
// container instance of the cluster (ListContainerInstances without a filter,
// DescribeContainerInstances per page) to find the instance; if it is not
// DRAINING it sets it so; if its runningTasksCount is above 0 it sends the
// same message again with a fixed DelaySeconds, else (or when the instance is
// not found) it completes the lifecycle action. No batching, no heartbeats,
// and runningTasksCount counts tasks by desired status, so tasks still
// stopping are not waited for (ecs-cid-sample#27), as in the sample.
//
// contract.EnvQueueURL names the queue it re-sends to; BENCH_DELAY_SECONDS the
// fixed delay (the sample sleeps 5 s and re-publishes at once; SQS delays
// are whole seconds).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
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
	sqs   *sqs.Client
	queue string
	delay int32
}

// Outcomes of a look at the instance, as the sample's
// checkContainerInstanceTaskStatus returns them.
const (
	drained = iota
	tasksLeft
	notFound
)

func main() {
	delay, err := strconv.Atoi(os.Getenv("BENCH_DELAY_SECONDS"))
	if err != nil || delay < 0 || delay > 900 {
		delay = 5
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Println("loading AWS configuration:", err)
		os.Exit(1)
	}
	h := &hook{ecs: ecs.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg),
		queue: os.Getenv(contract.EnvQueueURL), delay: int32(delay)} // #nosec G109 G115 -- checked to 0..900 above
	lambda.Start(h.handle)
}

func (h *hook) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		if err := h.record(ctx, r.Body); err != nil {
			fmt.Println("record", r.MessageId, "failed:", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}

func (h *hook) record(ctx context.Context, body string) error {
	var e events.EventBridgeEvent
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.DetailType != "EC2 Instance-terminate Lifecycle Action" {
		return nil
	}
	var d detail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		return nil
	}
	var meta struct{ Cluster string }
	_ = json.Unmarshal([]byte(d.NotificationMetadata), &meta)
	status, err := h.check(ctx, meta.Cluster, d.EC2InstanceID)
	if err != nil {
		return err
	}
	if status == tasksLeft {
		_, err := h.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(h.queue), MessageBody: aws.String(body), DelaySeconds: h.delay})
		return err
	}
	_, err = h.asg.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(d.AutoScalingGroupName), LifecycleHookName: aws.String(d.LifecycleHookName),
		LifecycleActionToken: aws.String(d.LifecycleActionToken), LifecycleActionResult: aws.String("CONTINUE"),
	})
	if err != nil {
		fmt.Println("completing the lifecycle action:", err)
	}
	return nil
}

func (h *hook) check(ctx context.Context, cluster, instanceID string) (int, error) {
	pages := ecs.NewListContainerInstancesPaginator(h.ecs, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		if len(page.ContainerInstanceArns) == 0 {
			continue
		}
		out, err := h.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: page.ContainerInstanceArns})
		if err != nil {
			return 0, err
		}
		for _, ci := range out.ContainerInstances {
			if aws.ToString(ci.Ec2InstanceId) != instanceID {
				continue
			}
			if aws.ToString(ci.Status) != "DRAINING" {
				_, err := h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String(cluster),
					ContainerInstances: []string{aws.ToString(ci.ContainerInstanceArn)}, Status: ecstypes.ContainerInstanceStatusDraining})
				return tasksLeft, err
			}
			if ci.RunningTasksCount > 0 {
				return tasksLeft, nil
			}
			return drained, nil
		}
	}
	return notFound, nil
}
