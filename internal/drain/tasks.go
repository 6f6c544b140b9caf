package drain

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// describeBatch is DescribeTasks' limit of 100 tasks per call.
const describeBatch = 100

// tasksLeft returns the tasks on the instance whose lastStatus is not yet
// STOPPED. The tasks told to stop are always listed: a task ECS has told to
// stop has desiredStatus STOPPED at once, while its containers may still be
// draining connections for up to their stop timeout; runningTasksCount and
// ListTasks' default view (desired RUNNING) no longer show it, and drainers
// that trusted them released instances early (aws-cdk#13506,
// ecs-cid-sample#27). The tasks desired RUNNING are listed too unless the
// instance is quiet (see Instance.Quiet): described while DRAINING with none,
// it can have none since, ECS placing nothing on a DRAINING instance.
func (d *Drainer) tasksLeft(ctx context.Context, s State, in *Instance) ([]Task, error) {
	desired := []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped}
	if in != nil && in.Quiet {
		desired = desired[1:]
	}
	var arns []string
	for _, desired := range desired {
		p := ecs.NewListTasksPaginator(d.ecs, &ecs.ListTasksInput{
			Cluster:           &s.Cluster,
			ContainerInstance: &s.ContainerInstanceARN,
			DesiredStatus:     desired,
		})
		for p.HasMorePages() {
			page, err := d.page(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("listing %s tasks on %s: %w", desired, s.ContainerInstanceARN, err)
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	// A task told to stop between the two calls is listed under both.
	slices.Sort(arns)
	arns = slices.Compact(arns)
	var left []Task
	for batch := range slices.Chunk(arns, describeBatch) {
		out, err := d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &s.Cluster, Tasks: batch})
		if err != nil {
			return nil, fmt.Errorf("describing %d tasks on %s: %w", len(batch), s.ContainerInstanceARN, err)
		}
		// A task reported MISSING has stopped and aged out of ECS; it
		// runs nowhere.
		for _, t := range out.Tasks {
			if aws.ToString(t.LastStatus) == "STOPPED" {
				continue
			}
			left = append(left, Task{
				ARN: aws.ToString(t.TaskArn), Group: aws.ToString(t.Group), StartedBy: aws.ToString(t.StartedBy),
				LastStatus: aws.ToString(t.LastStatus), DesiredStatus: aws.ToString(t.DesiredStatus),
			})
		}
	}
	return left, nil
}

func (d *Drainer) page(ctx context.Context, p *ecs.ListTasksPaginator) (*ecs.ListTasksOutput, error) {
	return p.NextPage(ctx)
}

// protection reads the scale-in protection of the service tasks left, so the
// log of a drain that could not finish says which tasks were protected and
// until when. Only service tasks can be protected.
func (d *Drainer) protection(ctx context.Context, s State, tasks []Task) error {
	var arns []string
	index := map[string]int{}
	for i, t := range tasks {
		if strings.HasPrefix(t.Group, "service:") {
			arns = append(arns, t.ARN)
			index[t.ARN] = i
		}
	}
	for batch := range slices.Chunk(arns, describeBatch) {
		out, err := d.ecs.GetTaskProtection(ctx, &ecs.GetTaskProtectionInput{Cluster: &s.Cluster, Tasks: batch})
		if err != nil {
			return fmt.Errorf("reading task protection on %s: %w", s.ContainerInstanceARN, err)
		}
		for _, p := range out.ProtectedTasks {
			if i, ok := index[aws.ToString(p.TaskArn)]; ok && p.ProtectionEnabled {
				tasks[i].ProtectedUntil = aws.ToTime(p.ExpirationDate)
			}
		}
	}
	return nil
}

// stopReason names the drainer in the tasks it stops, so the stopped
// reason ECS shows explains itself.
const stopReason = "ecs-drainer: drain deadline reached, stopping what is left (on_timeout=stop-tasks)"

// stopTasks stops the tasks left, for the stop-tasks timeout policy.
// StopTask on a task already stopping is harmless, so a retried hop may
// stop the same tasks again.
func (d *Drainer) stopTasks(ctx context.Context, s State, tasks []Task) error {
	for _, t := range tasks {
		if t.DesiredStatus == "STOPPED" {
			continue
		}
		_, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: &s.Cluster, Task: aws.String(t.ARN), Reason: aws.String(stopReason)})
		if err != nil {
			return fmt.Errorf("stopping task %s: %w", t.ARN, err)
		}
	}
	return nil
}
