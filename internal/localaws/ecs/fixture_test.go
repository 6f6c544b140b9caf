package ecs

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

var start = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

const clusterName = "prod"

// fixture is an emulator on a fake clock behind a real httptest server, with
// a real SDK client pointed at it and a recorder for emitted events.
type fixture struct {
	t   *testing.T
	ctx context.Context
	clk *clock.Fake
	srv *Server
	api *ecssdk.Client

	mu     sync.Mutex
	events []awswire.Event
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), clk: clock.NewFake(start)}
	o.Emit = func(e awswire.Event) {
		// Emit must run without the server's lock, or a consumer calling back
		// into the emulator would deadlock.
		if !f.srv.mu.TryLock() {
			t.Errorf("Emit(%s) called with the server's lock held", e.DetailType)
		} else {
			f.srv.mu.Unlock()
		}
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
	}
	f.srv = New(f.clk, o)
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close)
	cfg, err := config.LoadDefaultConfig(f.ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond })
		}),
	)
	if err != nil {
		t.Fatalf("loading SDK config: %v", err)
	}
	f.api = ecssdk.NewFromConfig(cfg, func(o *ecssdk.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	f.srv.CreateCluster(clusterName)
	return f
}

func (f *fixture) register(ec2ID string, r Resources) string {
	f.t.Helper()
	arn, err := f.srv.RegisterContainerInstance(clusterName, ec2ID, r)
	if err != nil {
		f.t.Fatalf("RegisterContainerInstance(%s): %v", ec2ID, err)
	}
	return arn
}

func (f *fixture) createService(spec ServiceSpec) {
	f.t.Helper()
	if err := f.srv.CreateService(clusterName, spec); err != nil {
		f.t.Fatalf("CreateService(%s): %v", spec.Name, err)
	}
}

func (f *fixture) runTask(ec2ID string, spec TaskSpec) string {
	f.t.Helper()
	arn, err := f.srv.RunTask(clusterName, ec2ID, spec)
	if err != nil {
		f.t.Fatalf("RunTask(%s on %s): %v", spec.Family, ec2ID, err)
	}
	return arn
}

func (f *fixture) drain(ec2IDs ...string) {
	f.t.Helper()
	var arns []string
	for _, id := range ec2IDs {
		arns = append(arns, f.instance(id).ARN)
	}
	out, err := f.api.UpdateContainerInstancesState(f.ctx, &ecssdk.UpdateContainerInstancesStateInput{
		Cluster: aws.String(clusterName), ContainerInstances: arns, Status: types.ContainerInstanceStatusDraining,
	})
	if err != nil || len(out.Failures) > 0 {
		f.t.Fatalf("draining %v: err %v, failures %v", ec2IDs, err, out.Failures)
	}
}

func (f *fixture) instance(ec2ID string) InstanceView {
	f.t.Helper()
	v, ok := f.srv.Instance(ec2ID)
	if !ok {
		f.t.Fatalf("Instance(%s) not found", ec2ID)
	}
	return v
}

// tasksOn returns the tasks the emulator holds for an EC2 instance, optionally
// only those of one group.
func (f *fixture) tasksOn(ec2ID, group string) []TaskView {
	var out []TaskView
	for _, k := range f.srv.Tasks(clusterName) {
		if k.EC2InstanceID == ec2ID && (group == "" || k.Group == group) {
			out = append(out, k)
		}
	}
	return out
}

// listTasks returns the ARNs of one ListTasks page, failing the test on error.
func (f *fixture) listTasks(in ecssdk.ListTasksInput) []string {
	f.t.Helper()
	in.Cluster = aws.String(clusterName)
	out, err := f.api.ListTasks(f.ctx, &in)
	if err != nil {
		f.t.Fatalf("ListTasks(%+v): %v", in, err)
	}
	return out.TaskArns
}

func (f *fixture) describeTask(arn string) types.Task {
	f.t.Helper()
	out, err := f.api.DescribeTasks(f.ctx, &ecssdk.DescribeTasksInput{Cluster: aws.String(clusterName), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		f.t.Fatalf("DescribeTasks(%s): err %v, tasks %d, failures %v", arn, err, len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

func (f *fixture) recorded(detailType string) []awswire.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []awswire.Event
	for _, e := range f.events {
		if e.DetailType == detailType {
			out = append(out, e)
		}
	}
	return out
}

func isInvalidParameter(err error) bool {
	var e *types.InvalidParameterException
	return errors.As(err, &e)
}

func isClusterNotFound(err error) bool {
	var e *types.ClusterNotFoundException
	return errors.As(err, &e)
}

func isServiceNotFound(err error) bool {
	var e *types.ServiceNotFoundException
	return errors.As(err, &e)
}

// statuses summarises tasks as "lastStatus/desiredStatus" strings.
func statuses(ks []TaskView) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.LastStatus+"/"+k.DesiredStatus)
	}
	return out
}
