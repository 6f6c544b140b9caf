package drain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
)

// Diagnosis: a hop that lists the tasks left also says why each is still
// there (package diagnose), from the services' descriptions and events since
// the drain started and, at the drain's first diagnosis, whether another
// instance has room for each service's replacement. The decision reads the
// result for DRAINER_STUCK_AFTER; the log shows it when it changes.

// rediagnoseEvery bounds how long a busy drain goes without listing its
// tasks to diagnose them.
const rediagnoseEvery = 5 * time.Minute

// diagnosisDue reports whether drain s's hop should list its tasks to
// diagnose them although the instance, busy, says tasks are left: at the
// first look, every rediagnoseEvery while tasks stay, and when the counts of
// a blocked drain changed (it may be blocked no more, and
// DRAINER_STUCK_AFTER must not end a drain that moves). Not when the counts
// of a drain that is not blocked change: tasks leaving is progress, and
// re-diagnosing each step of it cost a thousand drains twice their calls and
// four times their throttled answers (make bench).
func diagnosisDue(s State, o Observation) bool {
	in := o.Instance
	moved := in != nil && in.Running+in.Pending != s.DiagnosedTasks
	return s.DiagnosedAt.IsZero() || !o.Now.Before(s.DiagnosedAt.Add(rediagnoseEvery)) || !s.BlockedSince.IsZero() && moved
}

// stuckTooLong reports whether every task left on drain s's instance has had
// a blocking reason for the policy's StuckAfter (the hook's, when its
// metadata sets one).
func stuckTooLong(s State, now time.Time, p Policy) bool {
	after := stuckAfter(s, p)
	return after > 0 && !s.BlockedSince.IsZero() && !now.Before(s.BlockedSince.Add(after))
}

// stuckAfter is drain s's StuckAfter: its hook's, else the policy's; 0
// disables the rule.
func stuckAfter(s State, p Policy) time.Duration {
	if s.StuckAfterSeconds != 0 {
		return time.Duration(max(s.StuckAfterSeconds, 0)) * time.Second
	}
	return p.StuckAfter
}

// recordDiagnosis keeps what a diagnosis found in the drain's state and says
// whether it changed.
func recordDiagnosis(s *State, o Observation) (changed bool) {
	key := diagnose.Key(o.Findings)
	changed = key != s.Diagnosis
	s.Diagnosis, s.DiagnosedAt = key, o.Now
	if o.Instance != nil {
		s.DiagnosedTasks = o.Instance.Running + o.Instance.Pending
	}
	s.BlockedReason = diagnose.BlockedReason(o.Findings)
	switch {
	case s.BlockedReason == "":
		s.BlockedSince = time.Time{}
	case s.BlockedSince.IsZero():
		s.BlockedSince = o.Now
	}
	return changed
}

// diagnose gathers the facts about the tasks left and classifies them. The
// first diagnosis of a drain also checks whether another instance has room
// for each service's replacement, and keeps the answer in s.Room. A failed
// read leaves its facts out: the diagnosis says less, the hop goes on.
func (p *Round) diagnose(ctx context.Context, s *State, o Observation) ([]diagnose.Finding, error) {
	d := p.d
	var errs []error
	if err := d.protection(ctx, *s, o.Tasks); err != nil {
		errs = append(errs, err)
	}
	f := diagnose.Facts{Now: o.Now, Disconnected: o.Instance != nil && o.Instance.Disconnected, Services: map[string]diagnose.Service{}}
	var names []string
	for _, t := range o.Tasks {
		name, _ := strings.CutPrefix(t.Group, "service:")
		if !strings.HasPrefix(t.Group, "service:") {
			name = ""
		}
		f.Tasks = append(f.Tasks, diagnose.Task{ARN: t.ARN, Service: name, DesiredStatus: t.DesiredStatus, ProtectedUntil: t.ProtectedUntil})
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	described, err := p.services(ctx, s.Cluster, names)
	if err != nil {
		errs = append(errs, err)
	}
	if s.Room == nil && len(described) > 0 {
		room, launching, err := p.room(ctx, *s, described)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.Room, s.Launching = room, launching
		}
	}
	f.Launching = s.Launching
	for name, svc := range described {
		f.Services[name] = serviceFacts(svc, s.Start, s.Room)
	}
	return diagnose.Diagnose(f), errors.Join(errs...)
}

// serviceFacts is what the diagnosis reads of a described service.
func serviceFacts(svc ecstypes.Service, since time.Time, room map[string]string) diagnose.Service {
	out := diagnose.Service{
		Name: aws.ToString(svc.ServiceName), Daemon: svc.SchedulingStrategy == ecstypes.SchedulingStrategyDaemon,
		MinHealthyPercent: 100, MaxPercent: 200,
		Desired: int(svc.DesiredCount), Running: int(svc.RunningCount), Pending: int(svc.PendingCount),
	}
	if c := svc.DeploymentConfiguration; c != nil {
		out.MinHealthyPercent = int(aws.ToInt32(c.MinimumHealthyPercent))
		out.MaxPercent = int(aws.ToInt32(c.MaximumPercent))
	}
	for _, e := range svc.Events {
		if e.CreatedAt != nil && !e.CreatedAt.Before(since) {
			out.Events = append(out.Events, aws.ToString(e.Message))
		}
	}
	if short, ok := room[out.Name]; ok {
		out.Checked, out.Room, out.Short = true, short == "", short
	}
	return out
}

// describeServices describes the cluster's services by name, 10 a call.
func (d *Drainer) describeServices(ctx context.Context, cluster string, names []string) (map[string]ecstypes.Service, error) {
	out := map[string]ecstypes.Service{}
	for batch := range slices.Chunk(names, maxServicesPerDescribe) {
		desc, err := d.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: batch})
		if err != nil {
			return out, fmt.Errorf("describing services %v of %s: %w", batch, cluster, err)
		}
		for _, svc := range desc.Services {
			out[aws.ToString(svc.ServiceName)] = svc
		}
	}
	return out, nil
}

// room checks, for each service, whether another ACTIVE instance with its
// agent connected has the CPU, memory and free fixed host ports a
// replacement task needs: "" when one has, else what none has. launching
// counts the group's instances on their way.
func (p *Round) room(ctx context.Context, s State, services map[string]ecstypes.Service) (map[string]string, int, error) {
	all, err := memo(p, p.active, s.Cluster, func() ([]capacity, error) { return p.d.activeInstances(ctx, s.Cluster) })
	if err != nil {
		return nil, 0, err
	}
	if all == nil {
		// Too large a cluster to look at cheaply: no check, and none
		// again (an empty answer is not nil); its services' events say
		// when a replacement cannot be placed.
		return map[string]string{}, 0, nil
	}
	var others []capacity
	for _, c := range all {
		if c.ec2 != s.InstanceID {
			others = append(others, c)
		}
	}
	room := map[string]string{}
	short := false
	for name, svc := range services {
		td := aws.ToString(svc.TaskDefinition)
		need, err := memo(p, p.needs, td, func() (taskNeeds, error) { return p.d.needs(ctx, s.Cluster, td) })
		if err != nil {
			return nil, 0, err
		}
		room[name] = need.lacking(others)
		short = short || room[name] != ""
	}
	if !short {
		return room, 0, nil
	}
	launching, err := memo(p, p.launching, s.GroupName, func() (int, error) { return p.d.launching(ctx, s.GroupName) })
	return room, launching, err
}

// memo answers key from the round's cache m, else by call, which it then
// caches: the round's drains of one cluster share one look at its
// instances, each task definition and each group. Errors are not cached.
func memo[V any](p *Round, m map[string]V, key string, call func() (V, error)) (V, error) {
	p.factsMu.Lock()
	v, ok := m[key]
	p.factsMu.Unlock()
	if ok {
		return v, nil
	}
	v, err := call()
	if err == nil {
		p.factsMu.Lock()
		m[key] = v
		p.factsMu.Unlock()
	}
	return v, err
}

// taskNeeds is what a task of a task definition reserves on an instance.
type taskNeeds struct {
	cpu, memory int
	ports       []string // fixed host ports, as ECS lists them in PORTS
}

// capacity is what an instance has left.
type capacity struct {
	ec2         string
	cpu, memory int
	ports       []string // host ports in use
}

// lacking says what no instance has for a task, "" when one has room.
func (n taskNeeds) lacking(others []capacity) string {
	if len(others) == 0 {
		return "another instance"
	}
	var cpu, mem, port bool
	for _, c := range others {
		free := !slices.ContainsFunc(n.ports, func(p string) bool { return slices.Contains(c.ports, p) })
		if c.cpu >= n.cpu && c.memory >= n.memory && free {
			return ""
		}
		cpu, mem, port = cpu || c.cpu >= n.cpu, mem || c.memory >= n.memory, port || free
	}
	switch {
	case !port:
		return "host port " + strings.Join(n.ports, ",")
	case !cpu:
		return "CPU"
	case !mem:
		return "memory"
	}
	return "CPU, memory and host ports on one instance"
}

// roomCheckInstances is the most ACTIVE instances the room check looks at:
// one page of ListContainerInstances, one DescribeContainerInstances. Every
// batch of first hops makes the check, and in a cluster of thousands it
// cost more calls than the drains themselves (make bench); there, "no other
// instance has room" is unlikely, and the services' events and ECS's
// placement failure events say it when it happens.
const roomCheckInstances = 100

// activeInstances describes the cluster's ACTIVE instances whose agent is
// connected: only those can take a replacement. nil, and no error, for a
// cluster of more than roomCheckInstances.
func (d *Drainer) activeInstances(ctx context.Context, cluster string) ([]capacity, error) {
	out := []capacity{}
	page, err := d.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{
		Cluster: &cluster, Status: ecstypes.ContainerInstanceStatusActive, MaxResults: aws.Int32(roomCheckInstances)})
	if err != nil {
		return nil, fmt.Errorf("listing the ACTIVE container instances of %s: %w", cluster, err)
	}
	if page.NextToken != nil {
		return nil, nil
	}
	if len(page.ContainerInstanceArns) == 0 {
		return out, nil
	}
	desc, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: &cluster, ContainerInstances: page.ContainerInstanceArns})
	if err != nil {
		return nil, fmt.Errorf("describing the ACTIVE container instances of %s: %w", cluster, err)
	}
	for _, ci := range desc.ContainerInstances {
		if !ci.AgentConnected {
			continue
		}
		c := capacity{ec2: aws.ToString(ci.Ec2InstanceId)}
		for _, r := range ci.RemainingResources {
			switch aws.ToString(r.Name) {
			case "CPU":
				c.cpu = int(r.IntegerValue)
			case "MEMORY":
				c.memory = int(r.IntegerValue)
			case "PORTS":
				c.ports = append(c.ports, r.StringSetValue...)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// needs reads what a task of the task definition reserves: its CPU and
// memory (the task's, else its containers'), and its fixed host ports.
func (d *Drainer) needs(ctx context.Context, cluster, taskDefinition string) (taskNeeds, error) {
	out, err := d.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &taskDefinition})
	if err != nil {
		return taskNeeds{}, fmt.Errorf("describing task definition %s of a service of %s: %w", taskDefinition, cluster, err)
	}
	td := out.TaskDefinition
	var n taskNeeds
	if td == nil {
		return n, nil
	}
	n.cpu, _ = strconv.Atoi(aws.ToString(td.Cpu))
	n.memory, _ = strconv.Atoi(aws.ToString(td.Memory))
	var cpu, mem int
	for _, c := range td.ContainerDefinitions {
		cpu += int(c.Cpu)
		mem += int(max(aws.ToInt32(c.Memory), aws.ToInt32(c.MemoryReservation)))
		for _, pm := range c.PortMappings {
			if hp := aws.ToInt32(pm.HostPort); hp > 0 {
				n.ports = append(n.ports, strconv.Itoa(int(hp)))
			}
		}
	}
	if n.cpu == 0 {
		n.cpu = cpu
	}
	if n.memory == 0 {
		n.memory = mem
	}
	return n, nil
}

// launching counts the group's instances on their way into service.
func (d *Drainer) launching(ctx context.Context, group string) (int, error) {
	out, err := d.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return 0, fmt.Errorf("describing auto scaling group %s: %w", group, err)
	}
	n := 0
	for _, g := range out.AutoScalingGroups {
		for _, in := range g.Instances {
			if strings.HasPrefix(string(in.LifecycleState), "Pending") {
				n++
			}
		}
	}
	return n, nil
}

// stuckAfterSeconds is the State's form of a hook's stuck_after (checked by
// lifecycle.ParseHookMetadata): 0 when it sets none, -1 for "0", which turns
// the rule off for the group whatever the operator's default.
func stuckAfterSeconds(v string) int {
	d, err := time.ParseDuration(v)
	switch {
	case v == "" || err != nil:
		return 0
	case d <= 0:
		return -1
	}
	return int(max(d/time.Second, 1))
}
