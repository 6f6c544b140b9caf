package operator_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/cmd/ecs-drainer/operator"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

const (
	cluster    = "c1"
	group      = "asg-1"
	otherGroup = "asg-logs"
	otherHook  = "log-flush"
)

// world is a group of three instances in cluster c1 with the drainer's
// terminate hook and another team's, running a web service on fixed host
// port 80 at 100 % minimum healthy: two instances are terminating, and
// their tasks have nowhere to go. The first's drain is live and blocked (its
// chain mark due in 20 s), the second's is lost (its mark 20 minutes
// overdue). A second group holds an instance on the other team's hook only.
type world struct {
	t     *testing.T
	clk   *clock.Fake
	aws   *localaws.AWS
	cfg   aws.Config
	ids   []string // the group's instances: live, lost, in service
	other string   // the instance of otherGroup waiting on otherHook
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, clk: clock.NewFake(t0)}
	a, err := localaws.Start(localaws.Options{Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	w.aws = a
	if w.cfg, err = a.Config(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.AttachCluster(group, cluster, ecs.Resources{CPU: 2048, Memory: 4096})
	if _, _, err := a.AutoScaling.CreateGroup(group, 0, 5, 3); err != nil {
		t.Fatal(err)
	}
	w.hook(group, contract.HookName, `{"cluster":"`+cluster+`","stuck_after":"30m"}`)
	w.hook(group, otherHook, "additional-info")
	if err := a.ECS.CreateService(cluster, ecs.ServiceSpec{Name: "web", DesiredCount: 3, CPU: 256, Memory: 512, HostPort: 80, MinimumHealthyPercent: 100, MaximumPercent: 200}); err != nil {
		t.Fatal(err)
	}
	w.advance(10 * time.Second)
	w.ids = w.instances(group)
	if _, _, err := a.AutoScaling.CreateGroup(otherGroup, 0, 2, 1); err != nil {
		t.Fatal(err)
	}
	w.hook(otherGroup, otherHook, "additional-info")
	w.other = w.instances(otherGroup)[0]
	w.terminate(w.other)

	w.terminate(w.ids[1])
	w.drainWithMark(w.ids[1], drain.Chain{Start: w.clk.Now().Add(-30 * time.Minute), Due: w.clk.Now().Add(-20 * time.Minute),
		MessageID: "0000000000000001", By: "0000000000000000", Token: "token-lost", Hook: contract.HookName})
	w.terminate(w.ids[0])
	w.drainWithMark(w.ids[0], drain.Chain{Start: w.clk.Now().Add(-4 * time.Minute), Due: w.clk.Now().Add(20 * time.Second),
		MessageID: "0000000000000003", By: "0000000000000002", Token: "token-live", Hook: contract.HookName, Blocked: contract.ReasonNoCapacity})
	w.advance(10 * time.Second) // ECS tries to place the replacements, and cannot
	return w
}

func (w *world) hook(g, name, metadata string) {
	w.t.Helper()
	if err := w.aws.AutoScaling.PutLifecycleHook(autoscaling.Hook{Group: g, Name: name, Transition: autoscaling.TransitionTerminating,
		HeartbeatTimeout: 600, DefaultResult: autoscaling.ResultContinue, NotificationMetadata: metadata}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) advance(d time.Duration) {
	for range d / time.Second {
		w.clk.Advance(time.Second)
		w.aws.Settle()
	}
}

func (w *world) instances(g string) []string {
	w.t.Helper()
	out, err := sdkautoscaling.NewFromConfig(w.cfg).DescribeAutoScalingGroups(context.Background(), &sdkautoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{g}})
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []string
	for _, in := range out.AutoScalingGroups[0].Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	return ids
}

func (w *world) terminate(id string) {
	w.t.Helper()
	if _, err := sdkautoscaling.NewFromConfig(w.cfg).TerminateInstanceInAutoScalingGroup(context.Background(), &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true),
	}); err != nil {
		w.t.Fatal(err)
	}
	w.aws.Settle()
}

// drainWithMark sets the instance's container instance DRAINING with the
// chain mark c, as a drain's hops do.
func (w *world) drainWithMark(id string, c drain.Chain) {
	w.t.Helper()
	ctx, client := context.Background(), sdkecs.NewFromConfig(w.cfg)
	list, err := client.ListContainerInstances(ctx, &sdkecs.ListContainerInstancesInput{Cluster: aws.String(cluster), Filter: aws.String("ec2InstanceId == " + id)})
	if err != nil || len(list.ContainerInstanceArns) != 1 {
		w.t.Fatalf("finding the container instance of %s: %v %v", id, list, err)
	}
	arn := list.ContainerInstanceArns[0]
	if _, err := client.UpdateContainerInstancesState(ctx, &sdkecs.UpdateContainerInstancesStateInput{Cluster: aws.String(cluster),
		ContainerInstances: []string{arn}, Status: ecstypes.ContainerInstanceStatusDraining}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := client.PutAttributes(ctx, &sdkecs.PutAttributesInput{Cluster: aws.String(cluster), Attributes: []ecstypes.Attribute{{
		Name: aws.String(drain.ChainAttribute), Value: aws.String(c.String()), TargetType: ecstypes.TargetTypeContainerInstance, TargetId: &arn}}}); err != nil {
		w.t.Fatal(err)
	}
}

// run runs the command against the world, stdin in, and returns its exit
// code and outputs, instance ids replaced by fixed ones of the same length
// (the local Auto Scaling draws them at random).
func (w *world) run(in string, args ...string) (code int, stdout, stderr string) {
	return w.runWith(operator.Options{}, in, args...)
}

func (w *world) runWith(o operator.Options, in string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	if o.Config == nil {
		o.Config = func(context.Context, string, string) (aws.Config, error) { return w.cfg, nil }
	}
	o.Now = w.clk.Now
	code := operator.Run(context.Background(), w.expand(args), operator.IO{In: strings.NewReader(in), Out: &out, Err: &errOut}, o)
	return code, w.normalize(out.String()), w.normalize(errOut.String())
}

// Placeholders for the instance ids: args may name them, outputs show them.
func (w *world) placeholders() map[string]string {
	m := map[string]string{"i-other": w.other}
	for i, id := range w.ids {
		m[fmt.Sprintf("i-%d", i)] = id
	}
	return m
}

func (w *world) expand(args []string) []string {
	out := make([]string, len(args))
	m := w.placeholders()
	for i, a := range args {
		out[i] = a
		if id, ok := m[a]; ok {
			out[i] = id
		}
	}
	return out
}

func (w *world) normalize(s string) string {
	for i, id := range w.ids {
		s = strings.ReplaceAll(s, id, fmt.Sprintf("i-%017d", i))
	}
	return strings.ReplaceAll(s, w.other, "i-0000000000000000o")
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to write it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}
