package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

const (
	cluster = "bench"
	group   = "bench"
	// memoryGB is what every design is deployed with (the template's
	// MemorySize, and the baselines' 128 MB Lambda default).
	memoryMB = 128
	// settle is how long after the last action ended the harness waits for
	// in-flight invocations to be billed.
	settle = 2 * time.Second
)

// ECS token buckets, per operation (the emulator keeps one per operation;
// ECS groups operations into categories). The burst is the documented
// cluster-read example (50); the sustained rates are assumptions in the
// range AWS solutions report (about 20/s for the Describe calls), multiplied
// by timeScale because the benchmark's second is timeScale real seconds.
var ecsBuckets = map[string]awswire.Bucket{
	"ListContainerInstances":        {Burst: 50, Rate: 20 * timeScale},
	"DescribeContainerInstances":    {Burst: 50, Rate: 20 * timeScale},
	"ListTasks":                     {Burst: 50, Rate: 20 * timeScale},
	"DescribeTasks":                 {Burst: 50, Rate: 20 * timeScale},
	"UpdateContainerInstancesState": {Burst: 20, Rate: 5 * timeScale},
	"PutAttributes":                 {Burst: 20, Rate: 5 * timeScale},
}

// drainRecord is one instance's drain, in seconds since the first
// termination.
type drainRecord struct {
	Start, LastStop, End float64
	Completed            bool // completed by the function (not timed out)
	Early                bool // completed while a task was not yet STOPPED
}

// Lag is the completion lag: End minus the last task's stop.
func (d drainRecord) Lag() float64 { return d.End - d.LastStop }

// result is one run of one design on one localdeploy.
type result struct {
	Design        string
	Drains        int
	Records       []drainRecord
	BilledSeconds float64
	Calls         map[string]int
	Throttled     map[string]int
	SQSRecords    int // records the event source delivered to the function
	Invocations   int
	FunctionErrs  int
	FailedRecords int
	Wall          time.Duration   // first termination to last action ended
	Inits         []time.Duration // Init Duration of each cold start
	// DescribesPerRound is the most DescribeContainerInstances calls the
	// poll queue's invocations made in one poll round (mostPerRound).
	DescribesPerRound int
}

// runDesign deploys the design into a fresh local AWS, puts the workload on it,
// terminates drains instances at once and waits for every lifecycle action
// to end.
func runDesign(ctx context.Context, dep localdeploy.Deployment, ds design, drains int, limit time.Duration, throttle bool) (result, error) {
	m, err := startMeter()
	if err != nil {
		return result{}, err
	}
	defer m.Close()
	o := localdeploy.FunctionOptions{Binary: ds.binary}
	ds.deploy(&dep, &o)
	o.Env = append(o.Env, m.env()...)
	o.Invoked = m.invoked
	w, err := localdeploy.Start(ctx, dep, o)
	if err != nil {
		return result{}, err
	}
	defer w.Close()
	m.forward(w.AWS)
	if throttle {
		for op, b := range ecsBuckets {
			w.AWS.ECS.Throttle().Set(op, b)
		}
	}
	spares := drains/8 + 2
	ids, err := w.Group(ctx, localdeploy.GroupSpec{Name: group, Cluster: cluster, Instances: drains + spares,
		Resources: ecs.Resources{CPU: 4096, Memory: 8192}, HeartbeatTimeout: hookHeartbeat})
	if err != nil {
		return result{}, err
	}
	drained := ids[:drains]
	if err := workload(w, drained); err != nil {
		return result{}, err
	}

	t0 := time.Now()
	for _, id := range drained {
		_, err := w.ASG.TerminateInstanceInAutoScalingGroup(ctx, &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
		if err != nil {
			return result{}, fmt.Errorf("terminating %s: %w", id, err)
		}
	}
	deadline := time.Now().Add(limit)
	var last time.Time
	for {
		ended, latest := 0, time.Time{}
		for _, a := range w.AWS.AutoScaling.Actions() {
			if a.Hook == localdeploy.HookName && !a.Active {
				ended++
				if a.Ended.After(latest) {
					latest = a.Ended
				}
			}
		}
		if ended >= drains || time.Now().After(deadline) || ctx.Err() != nil {
			last = latest
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(settle)
	return collect(w, m, ds, drained, t0, last), nil
}

// workload is the same for every design: two services spread over the
// group whose tasks take 2 s and 5 s to stop once told to (20 s and 50 s of
// load-balancer deregistration, real), and on two instances in five a
// standalone job that ends on its own 4 to 20 s in (40 s to 200 s, real),
// which draining does not stop.
func workload(w *localdeploy.World, drained []string) error {
	n := len(drained)
	for _, s := range []ecs.ServiceSpec{
		{Name: "web", DesiredCount: n, CPU: 128, Memory: 128, StopDelay: 2 * time.Second, MinimumHealthyPercent: 50},
		{Name: "api", DesiredCount: n, CPU: 128, Memory: 128, StopDelay: 5 * time.Second, MinimumHealthyPercent: 50},
	} {
		if err := w.AWS.ECS.CreateService(cluster, s); err != nil {
			return err
		}
	}
	for i, id := range drained {
		if i%5 >= 2 {
			continue
		}
		runFor := time.Duration(4+(i*7+3)%17) * time.Second
		if _, err := w.AWS.ECS.RunTask(cluster, id, ecs.TaskSpec{Family: "job", CPU: 128, Memory: 128, RunFor: runFor}); err != nil {
			return err
		}
	}
	return nil
}

func collect(w *localdeploy.World, m *meter, ds design, drained []string, t0, last time.Time) result {
	r := result{Design: ds.Name, Drains: len(drained)}
	if !last.IsZero() {
		r.Wall = last.Sub(t0)
	}
	secs := func(t time.Time) float64 { return t.Sub(t0).Seconds() }
	actions := map[string]autoscaling.ActionView{}
	for _, a := range w.AWS.AutoScaling.Actions() {
		if a.Hook == localdeploy.HookName {
			actions[a.InstanceID] = a
		}
	}
	lastStop := map[string]time.Time{}
	for _, t := range w.AWS.ECS.Tasks(cluster) {
		if t.StoppedAt.IsZero() {
			lastStop[t.EC2InstanceID] = time.Now() // still running: it stops after any end we saw
			continue
		}
		if t.StoppedAt.After(lastStop[t.EC2InstanceID]) {
			lastStop[t.EC2InstanceID] = t.StoppedAt
		}
	}
	for _, id := range drained {
		a, ok := actions[id]
		if !ok {
			r.Records = append(r.Records, drainRecord{})
			continue
		}
		stop := lastStop[id]
		if stop.Before(a.Started) {
			stop = a.Started
		}
		d := drainRecord{Start: secs(a.Started), LastStop: secs(stop), End: secs(a.Ended),
			Completed: !a.Active && a.End == autoscaling.EndCompleted}
		if a.Active {
			d.End = secs(time.Now())
		}
		d.Early = d.Completed && stop.After(a.Ended)
		r.Records = append(r.Records, d)
	}
	st := w.Function.Stats()
	r.BilledSeconds = st.BilledDuration.Seconds()
	r.Invocations, r.FunctionErrs, r.Inits = st.Invocations, st.Errors, st.Inits
	r.DescribesPerRound = m.describesPerPollRound()
	ms := w.Mapping.Stats()
	r.SQSRecords, r.FailedRecords = ms.Records, ms.Failed
	r.Calls, r.Throttled = m.counts()
	return r
}
