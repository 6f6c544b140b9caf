package ecs

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The control plane: plain Go methods that tests, the demo and the benchmarks
// use to build a cluster and to play the parts of EC2 and the ECS agent. The
// drainer only ever sees the wire API.

// Resources is what a container instance registers.
type Resources struct {
	CPU    int // CPU units; 0 means 2048
	Memory int // MiB; 0 means 4096
}

// ServiceSpec describes a service and its task definition (family Name,
// one container named Name).
type ServiceSpec struct {
	Name         string
	DesiredCount int // ignored for daemon services
	CPU, Memory  int // per task
	HostPort     int // 0 is dynamic port mapping; a fixed port allows one task per instance
	// ContainerPort is the container's side of the port mapping; 0 maps a
	// fixed HostPort to the same port, and leaves a task without HostPort
	// with no port mapping.
	ContainerPort int
	// NetworkMode is NetworkModeBridge (the default) or NetworkModeHost, in
	// which the container binds the host's port: HostPort and ContainerPort
	// are one port, either may be left 0.
	NetworkMode string
	// MinimumHealthyPercent and MaximumPercent bound draining and replacement;
	// 0 means the ECS defaults, 100 and 200 (so a minimum of 0 % cannot be
	// expressed; use 1 for "may drop to nearly nothing").
	MinimumHealthyPercent int
	MaximumPercent        int
	// Daemon runs one task on each ACTIVE instance its placement constraints
	// allow, stopped last on a DRAINING one. A daemon's percents default to
	// 0 and 100, as DescribeServices shows them.
	Daemon     bool
	StartDelay time.Duration // PENDING -> RUNNING
	StopDelay  time.Duration // desired STOPPED -> last STOPPED
	// PlacementConstraints bind where the service's tasks go: memberOf with a
	// cluster query language expression, distinctInstance with none
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html).
	PlacementConstraints []PlacementConstraint
}

// PlacementConstraint is a task placement constraint of a service.
type PlacementConstraint struct {
	Type       string // ConstraintMemberOf or ConstraintDistinctInstance
	Expression string // memberOf only
}

// Placement constraint types (PlacementConstraint.type in the API model).
const (
	ConstraintMemberOf         = "memberOf"
	ConstraintDistinctInstance = "distinctInstance"
)

// TaskSpec describes a standalone task: draining leaves it alone. Its ports
// are as in ServiceSpec.
type TaskSpec struct {
	Family string
	// Group is RunTask's group parameter; "" is its default, the family.
	// Nothing stops a scheduler of a team's own from naming a group
	// "service:NAME" with no such service.
	Group         string
	CPU, Memory   int
	HostPort      int
	ContainerPort int
	NetworkMode   string
	RunFor        time.Duration // it exits on its own after this long RUNNING; 0 runs until stopped
	StopDelay     time.Duration // desired STOPPED -> last STOPPED after StopTask
}

// TaskView is a task as tests assert on it.
type TaskView struct {
	ARN                  string
	ContainerInstanceARN string
	EC2InstanceID        string
	Group                string // "service:<name>" or "family:<family>"
	LastStatus           string
	DesiredStatus        string
	StopCode             string
	StoppedReason        string
	CreatedAt            time.Time
	StartedAt            time.Time
	StoppingAt           time.Time
	StoppedAt            time.Time
	Version              int64
}

// InstanceView is a container instance as tests assert on it.
type InstanceView struct {
	ARN               string
	Cluster           string
	EC2InstanceID     string
	Status            string
	AgentConnected    bool
	RunningTasksCount int
	PendingTasksCount int
	RemainingCPU      int
	RemainingMemory   int
	Version           int64
}

// CreateCluster creates a cluster, or finds the existing one, and returns its ARN.
func (s *Server) CreateCluster(name string) (arn string) {
	s.do(func(time.Time) {
		if _, ok := s.clusters[name]; !ok {
			s.clusters[name] = &cluster{name: name}
			s.order = append(s.order, name)
		}
		arn = s.clusterARN(s.clusters[name])
	})
	return arn
}

// RegisterContainerInstance registers an EC2 instance's agent with a cluster:
// the instance is ACTIVE with its agent connected, and services may place
// tasks on it at once.
func (s *Server) RegisterContainerInstance(clusterName, ec2InstanceID string, r Resources) (arn string, err error) {
	s.do(func(now time.Time) {
		c, ok := s.clusters[clusterName]
		if !ok {
			err = fmt.Errorf("registering %s: cluster %q not found", ec2InstanceID, clusterName)
			return
		}
		if i := s.instanceByEC2(ec2InstanceID); i != nil && i.status != statusInactive {
			err = fmt.Errorf("registering %s: already registered as %s", ec2InstanceID, s.instanceARN(i.cluster, i.id))
			return
		}
		i := &instance{
			cluster: c, ec2ID: ec2InstanceID, status: statusActive, agentConnected: true, connectedAt: now,
			registeredAt: now, cpu: cmp.Or(r.CPU, 2048), memory: cmp.Or(r.Memory, 4096),
		}
		i.seq, i.id = s.newID("container-instance")
		c.instances = append(c.instances, i)
		s.instanceChanged(i, now)
		arn = s.instanceARN(c, i.id)
	})
	return arn, err
}

// CreateService creates a service; its scheduler places tasks right away.
func (s *Server) CreateService(clusterName string, spec ServiceSpec) (err error) {
	if spec.Daemon {
		// Through the API a daemon's minimumHealthyPercent defaults to 0 and
		// its maximumPercent stays at 100
		// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html;
		// the 0 observed in hashicorp/terraform-provider-aws#5236); the
		// daemon scheduler does not read them.
		spec.MaximumPercent = cmp.Or(spec.MaximumPercent, 100)
	} else {
		spec.MinimumHealthyPercent = cmp.Or(spec.MinimumHealthyPercent, 100)
		spec.MaximumPercent = cmp.Or(spec.MaximumPercent, 200)
	}
	mode, host, container, ok := portShape(spec.NetworkMode, spec.HostPort, spec.ContainerPort)
	if !ok {
		return fmt.Errorf("creating service %s: ports %d:%d invalid in network mode %q", spec.Name, spec.HostPort, spec.ContainerPort, spec.NetworkMode)
	}
	spec.NetworkMode, spec.HostPort, spec.ContainerPort = mode, host, container
	var constraints []predicate
	for _, pc := range spec.PlacementConstraints {
		switch {
		case pc.Type == ConstraintMemberOf:
			pred, perr := parseFilter(pc.Expression)
			if perr != nil {
				return fmt.Errorf("creating service %s: memberOf %q: %w", spec.Name, pc.Expression, perr)
			}
			constraints = append(constraints, pred)
		case pc.Type == ConstraintDistinctInstance && pc.Expression == "":
		default:
			return fmt.Errorf("creating service %s: invalid placement constraint %+v", spec.Name, pc)
		}
	}
	switch {
	case spec.Name == "":
		return errors.New("creating service: empty name")
	case spec.MinimumHealthyPercent < 0 || spec.MinimumHealthyPercent > 100:
		return fmt.Errorf("creating service %s: MinimumHealthyPercent %d outside 0..100", spec.Name, spec.MinimumHealthyPercent)
	case spec.MaximumPercent < 100:
		// Below 100 % the scheduler could never run DesiredCount tasks.
		return fmt.Errorf("creating service %s: MaximumPercent %d below 100", spec.Name, spec.MaximumPercent)
	}
	s.do(func(now time.Time) {
		c, ok := s.clusters[clusterName]
		switch {
		case !ok:
			err = fmt.Errorf("creating service %s: cluster %q not found", spec.Name, clusterName)
		case c.serviceByName(spec.Name) != nil:
			err = fmt.Errorf("creating service %s: already exists", spec.Name)
		default:
			c.services = append(c.services, &service{
				cluster: c, spec: spec, deploymentID: deploymentID(c.name + "/" + spec.Name), memberOf: constraints, createdAt: now,
				def: s.registerTaskDef(now, taskDef{family: spec.Name, cpu: spec.CPU, memory: spec.Memory,
					networkMode: mode, hostPort: host, container: container}),
			})
			s.dirty = true
		}
	})
	return err
}

// RunTask starts a standalone task on a container instance, named by id, ARN
// or EC2 instance id. The instance must be ACTIVE, have its agent connected
// and have room.
func (s *Server) RunTask(clusterName, containerInstance string, spec TaskSpec) (taskARN string, err error) {
	mode, host, container, ok := portShape(spec.NetworkMode, spec.HostPort, spec.ContainerPort)
	if !ok {
		return "", fmt.Errorf("running task %s: ports %d:%d invalid in network mode %q", spec.Family, spec.HostPort, spec.ContainerPort, spec.NetworkMode)
	}
	s.do(func(now time.Time) {
		c, ok := s.clusters[clusterName]
		if !ok {
			err = fmt.Errorf("running task %s: cluster %q not found", spec.Family, clusterName)
			return
		}
		i := c.instanceByID(lastSegment(containerInstance))
		if i == nil {
			i = s.instanceByEC2(containerInstance)
		}
		switch {
		case i == nil || i.cluster != c:
			err = fmt.Errorf("running task %s: container instance %q not found in %s", spec.Family, containerInstance, clusterName)
		case i.status != statusActive:
			err = fmt.Errorf("running task %s: container instance %s is %s", spec.Family, i.ec2ID, i.status)
		case !i.agentConnected:
			// "Only instances connected to an agent can accept task placement
			// requests." (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html)
			err = fmt.Errorf("running task %s: the agent on %s is disconnected", spec.Family, i.ec2ID)
		case !i.fits(spec.CPU, spec.Memory, host):
			err = fmt.Errorf("running task %s: no room on %s", spec.Family, i.ec2ID)
		default:
			k := s.place(i, now, &task{
				family: spec.Family, runGroup: spec.Group, cpu: spec.CPU, memory: spec.Memory, hostPort: host,
				runFor: spec.RunFor, stopDelay: spec.StopDelay,
				def: s.registerTaskDef(now, taskDef{family: spec.Family, cpu: spec.CPU, memory: spec.Memory,
					networkMode: mode, hostPort: host, container: container}),
			})
			taskARN = s.taskARN(c, k.id)
		}
	})
	return taskARN, err
}

// DeregisterEC2Instance plays EC2 terminating the instance: ECS deregisters
// a running container instance whose EC2 instance is terminated (the
// DeregisterContainerInstance API reference). Its tasks stop at once, with no graceful stop since the host is gone,
// and the instance becomes INACTIVE: gone from ListContainerInstances, still
// describable. An unknown or already INACTIVE instance is left alone, so
// callers that cannot tell whether an instance ever joined ECS need not check.
//
// An instance whose agent is disconnected is not deregistered: "stopped
// container instances or instances with disconnected agents aren't
// automatically deregistered when terminated" (API_DeregisterContainerInstance).
// It stays in the cluster, its status and tasks as the agent last reported
// them, and its agent can never reconnect. UNVERIFIED: whether ECS cleans
// such an instance up later on its own; here it stays until the end.
func (s *Server) DeregisterEC2Instance(ec2InstanceID string) {
	s.do(func(now time.Time) {
		s.cancelBoot(ec2InstanceID) // an agent that never registered never will
		i := s.instanceByEC2(ec2InstanceID)
		if i == nil || i.status == statusInactive {
			return
		}
		i.connectDue = time.Time{}
		if !i.agentConnected {
			i.hostGone = true
			return
		}
		for _, k := range i.tasks {
			if k.lastStatus == taskStopped {
				continue
			}
			// UNVERIFIED: the stop code; the reason is the text AWS is widely
			// reported to use.
			s.stop(k, now, "TerminationNotice", fmt.Sprintf("Host EC2 (instance %s) terminated.", ec2InstanceID))
			k.stopDue = now
			s.advance(k, now)
		}
		i.status, i.activeDue = statusInactive, time.Time{}
		i.statusReason = "Instance deregistered because its EC2 instance was terminated." // UNVERIFIED text
		i.agentConnected = false
		s.instanceChanged(i, now)
	})
}

// DisconnectAgent plays the ECS agent on an EC2 instance losing its
// connection to ECS, as it does several times an hour in normal operation
// and for good when the agent or its host fails
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html).
// agentConnected turns false with an "ECS Container Instance State Change"
// event. Until ReconnectAgent, ECS places nothing on the instance
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html:
// "Only instances connected to an agent can accept task placement requests")
// and learns nothing from it: its tasks keep the last status the agent
// reported. ECS still decides: draining the instance gives its service tasks
// desiredStatus STOPPED, but their lastStatus stays RUNNING, since no agent
// is there to stop the containers and report them STOPPED. Disconnecting a
// disconnected agent does nothing.
func (s *Server) DisconnectAgent(ec2InstanceID string) (err error) {
	s.do(func(now time.Time) {
		i, e := s.agentHost(ec2InstanceID)
		if err = e; err != nil || !i.agentConnected {
			return
		}
		i.agentConnected = false
		s.dueKnown = false
		s.instanceChanged(i, now)
	})
	if err != nil {
		return fmt.Errorf("disconnecting the agent: %w", err)
	}
	return nil
}

// ReconnectAgent plays the agent connecting again: agentConnected turns true
// with a state change event, the agent receives the stops ECS decided while it
// was away and begins them now (each task reaches STOPPED after its stop
// delay), and what happened on the host meanwhile (a task that started, a
// stop that completed, a container that exited) is reported now, stamped with
// this time (UNVERIFIED: AWS does not say whether stoppedAt then carries the
// host's time or the report's). The instance takes new tasks again if it is
// ACTIVE. An agent
// whose EC2 instance was terminated cannot reconnect. Reconnecting a
// connected agent does nothing.
func (s *Server) ReconnectAgent(ec2InstanceID string) (err error) {
	s.do(func(now time.Time) {
		i, e := s.agentHost(ec2InstanceID)
		switch {
		case e != nil:
			err = e
		case i.hostGone:
			err = fmt.Errorf("EC2 instance %s was terminated", ec2InstanceID)
		case !i.agentConnected:
			s.connect(i, now)
		}
	})
	if err != nil {
		return fmt.Errorf("reconnecting the agent: %w", err)
	}
	return nil
}

// agentHost finds the registered (not INACTIVE) container instance of an EC2
// instance.
func (s *Server) agentHost(ec2InstanceID string) (*instance, error) {
	i := s.instanceByEC2(ec2InstanceID)
	if i == nil || i.status == statusInactive {
		return nil, fmt.Errorf("no registered container instance on %s", ec2InstanceID)
	}
	return i, nil
}

// SetAttributes gives a container instance custom attributes, as
// ECS_INSTANCE_ATTRIBUTES in the agent's configuration does at registration
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-agent-config.html)
// or PutAttributes does later: a name already set takes the new value; an
// empty value is an attribute with no value. Names and values are checked as
// PutAttributes checks them, and the instance may hold at most 10 custom
// attributes (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html).
// Built-in attributes (ecs.*, com.amazonaws.ecs.*) are not custom and cannot
// be set here. No event is sent, as for PutAttributes.
func (s *Server) SetAttributes(ec2InstanceID string, attrs map[string]string) (err error) {
	s.do(func(time.Time) {
		i, e := s.agentHost(ec2InstanceID)
		if err = e; err != nil {
			return
		}
		names := slices.Sorted(maps.Keys(attrs))
		for _, name := range names {
			if reserved(name) {
				err = fmt.Errorf("%s is a built-in attribute name, not a custom one", name)
				return
			}
			var value *string
			if v := attrs[name]; v != "" {
				value = &v
			}
			if e := validAttribute(name, value); e != nil {
				err = errors.New(e.Message)
				return
			}
		}
		if n := i.customAfter(names); n > maxCustomAttributes {
			err = fmt.Errorf("%d custom attributes, more than the %d allowed per resource", n, maxCustomAttributes)
			return
		}
		for _, name := range names {
			i.setAttribute(name, attrs[name])
		}
		s.dirty = true // memberOf constraints read attributes
	})
	if err != nil {
		return fmt.Errorf("setting attributes on %s: %w", ec2InstanceID, err)
	}
	return nil
}

// SetInstanceStatus forces a container instance into a status, including the
// ones the API cannot set (REGISTERING, DEREGISTERING, REGISTRATION_FAILED),
// so tests can see how clients treat them. Use DeregisterEC2Instance for
// INACTIVE.
func (s *Server) SetInstanceStatus(ec2InstanceID, status string) (err error) {
	if !slices.Contains(listableStatuses, status) {
		return fmt.Errorf("setting %s to %s: not one of %v", ec2InstanceID, status, listableStatuses)
	}
	s.do(func(now time.Time) {
		i := s.instanceByEC2(ec2InstanceID)
		if i == nil || i.status == statusInactive {
			err = fmt.Errorf("setting %s to %s: no registered container instance", ec2InstanceID, status)
			return
		}
		if i.status != status {
			i.status = status
			s.instanceChanged(i, now)
		}
	})
	return err
}

// DrainWaitForProtection sets Options.DrainWaitsForProtection on a running
// server, for a test of the drains that honour it.
func (s *Server) DrainWaitForProtection(on bool) {
	s.do(func(time.Time) { s.opts.DrainWaitsForProtection, s.dirty = on, true })
}

// SetTaskProtection sets a service task's scale-in protection until the given
// time (the zero time removes it), as UpdateTaskProtection would.
func (s *Server) SetTaskProtection(clusterName, taskARN string, until time.Time) (err error) {
	s.do(func(time.Time) {
		c, ok := s.clusters[clusterName]
		if !ok {
			err = fmt.Errorf("protecting %s: cluster %q not found", taskARN, clusterName)
			return
		}
		k := c.taskByID(lastSegment(taskARN))
		switch {
		case k == nil:
			err = fmt.Errorf("protecting %s: task not found", taskARN)
		case k.svc == nil:
			err = fmt.Errorf("protecting %s: only service tasks can be protected", taskARN)
		default:
			k.protectedUntil = until
			s.dirty, s.dueKnown = true, false
		}
	})
	return err
}

// Tasks returns the cluster's tasks, stopped ones included until they are
// forgotten, in creation order.
func (s *Server) Tasks(clusterName string) []TaskView {
	var out []TaskView
	s.do(func(time.Time) {
		c, ok := s.clusters[clusterName]
		if !ok {
			return
		}
		for _, k := range c.tasks {
			out = append(out, TaskView{
				ARN:                  s.taskARN(c, k.id),
				ContainerInstanceARN: s.instanceARN(c, k.inst.id),
				EC2InstanceID:        k.inst.ec2ID,
				Group:                k.group(),
				LastStatus:           k.lastStatus,
				DesiredStatus:        k.desiredStatus,
				StopCode:             k.stopCode,
				StoppedReason:        k.stoppedReason,
				CreatedAt:            k.createdAt,
				StartedAt:            k.startedAt,
				StoppingAt:           k.stoppingAt,
				StoppedAt:            k.stoppedAt,
				Version:              k.version,
			})
		}
	})
	return out
}

// Instance returns the latest registration of an EC2 instance.
func (s *Server) Instance(ec2InstanceID string) (view InstanceView, ok bool) {
	s.do(func(time.Time) {
		i := s.instanceByEC2(ec2InstanceID)
		if i == nil {
			return
		}
		running, pending := i.counts()
		cpu, memory, _ := i.remaining()
		view = InstanceView{
			ARN: s.instanceARN(i.cluster, i.id), Cluster: i.cluster.name, EC2InstanceID: i.ec2ID,
			Status: i.status, AgentConnected: i.agentConnected,
			RunningTasksCount: running, PendingTasksCount: pending,
			RemainingCPU: cpu, RemainingMemory: memory, Version: i.version,
		}
		ok = true
	})
	return view, ok
}
