package ecs

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Agent is how the ECS agent on one EC2 instance joins its cluster, as
// StartAgent plays it. The zero value registers at once, ACTIVE and
// connected, as RegisterContainerInstance does.
//
// On AWS the agent calls RegisterContainerInstance some seconds after the
// instance boots and then opens its connection to ECS; only a connected
// agent's ACTIVE instance takes tasks
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html:
// "Only instances connected to an agent can accept task placement
// requests"). With the awsvpcTrunking account setting a new container
// instance is REGISTERING while its trunk network interface is attached,
// then ACTIVE or, if that fails, REGISTRATION_FAILED with the reason in
// statusReason (the same page, status).
type Agent struct {
	Resources Resources
	// Attributes are custom attributes the agent registers with, as
	// ECS_INSTANCE_ATTRIBUTES sets them
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-agent-config.html);
	// checked as SetAttributes checks them.
	Attributes map[string]string
	// RegisterAfter is how long after StartAgent the agent registers; until
	// then the cluster has no container instance for the EC2 instance.
	RegisterAfter time.Duration
	// RegisteringFor is how long a new container instance stays
	// REGISTERING before it is ACTIVE (or REGISTRATION_FAILED); zero skips
	// REGISTERING.
	RegisteringFor time.Duration
	// FailReason, when set, makes the registration fail: the instance ends
	// REGISTRATION_FAILED with this statusReason. DefaultFailReason is a
	// reason AWS gives.
	FailReason string
	// ConnectAfter is how long after registering the agent's connection is
	// up; until then agentConnected is false. Zero connects as it registers.
	ConnectAfter time.Duration
}

// DefaultFailReason is a statusReason ECS gave a container instance whose
// trunk network interface could not be created (OBSERVED in
// aws/amazon-ecs-agent#2236).
const DefaultFailReason = "Unexpected EC2 error while attempting to Create Network Interface in subnet 'subnet-00112233445566': InvalidParameterValue"

// boot is an agent that has not registered yet.
type boot struct {
	cluster *cluster
	ec2ID   string
	agent   Agent
	due     time.Time
}

// StartAgent plays the ECS agent starting on an EC2 instance that is up:
// after a.RegisterAfter it registers with the cluster.
//
// An EC2 instance that is registered already (its agent restarted, or the
// instance came back out of a warm pool) re-registers with the container
// instance ARN it checkpointed, keeping its status (a DRAINING instance
// stays DRAINING) and its attributes, and connects again; the agent
// restores its ARN from its checkpoint and registers with it
// (aws/amazon-ecs-agent agent/app/agent.go), and DRAINING lasts "until it
// is activated again or deleted"
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html).
// A start replaces a registration still pending for the same instance.
func (s *Server) StartAgent(clusterName, ec2InstanceID string, a Agent) (err error) {
	if err = a.Check(); err != nil {
		return fmt.Errorf("starting the agent on %s: %w", ec2InstanceID, err)
	}
	s.do(func(now time.Time) {
		c, ok := s.clusters[clusterName]
		if !ok {
			err = fmt.Errorf("starting the agent on %s: cluster %q not found", ec2InstanceID, clusterName)
			return
		}
		if i := s.instanceByEC2(ec2InstanceID); i != nil && i.status != statusInactive && i.cluster != c {
			err = fmt.Errorf("starting the agent on %s: registered in cluster %s", ec2InstanceID, i.cluster.name)
			return
		}
		s.cancelBoot(ec2InstanceID)
		b := &boot{cluster: c, ec2ID: ec2InstanceID, agent: a, due: now.Add(a.RegisterAfter)}
		if a.RegisterAfter == 0 {
			s.register(b, now)
			return
		}
		s.boots = append(s.boots, b)
		s.dueKnown = false
	})
	return err
}

// FailRegistration makes the registration of an agent that has not
// registered yet, or whose container instance is still REGISTERING, end
// REGISTRATION_FAILED with reason (DefaultFailReason when empty).
func (s *Server) FailRegistration(ec2InstanceID, reason string) (err error) {
	reason = cmp.Or(reason, DefaultFailReason)
	s.do(func(time.Time) {
		for _, b := range s.boots {
			if b.ec2ID == ec2InstanceID {
				b.agent.FailReason = reason
				return
			}
		}
		i := s.instanceByEC2(ec2InstanceID)
		if i == nil || i.status != statusRegistering {
			err = fmt.Errorf("failing the registration of %s: no agent is registering it", ec2InstanceID)
			return
		}
		i.failReason = reason
	})
	return err
}

// StopEC2Instance plays EC2 stopping (or hibernating) an instance, as a warm
// pool does: an agent not yet registered never registers, and a connected
// agent goes away. "When you stop a container instance, the tasks that are
// running on it are transitioned to the STOPPED status"
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html),
// and agentConnected turns false with a state change event; the container
// instance keeps its ARN, status and attributes, since stopped instances are
// not deregistered (API_DeregisterContainerInstance). An unknown instance,
// or one whose agent is disconnected already, is left alone. StartAgent on
// the instance brings its agent back.
func (s *Server) StopEC2Instance(ec2InstanceID string) {
	s.do(func(now time.Time) {
		s.cancelBoot(ec2InstanceID)
		i := s.instanceByEC2(ec2InstanceID)
		if i == nil || i.status == statusInactive {
			return
		}
		i.connectDue = time.Time{}
		if !i.agentConnected {
			return
		}
		for _, k := range i.tasks {
			if k.lastStatus == taskStopped {
				continue
			}
			// UNVERIFIED: the stop code and reason; the reason follows the
			// one widely reported for a terminated host.
			s.stop(k, now, "TerminationNotice", fmt.Sprintf("Host EC2 (instance %s) stopped.", ec2InstanceID))
			k.stopDue = now
			s.advance(k, now)
		}
		i.agentConnected = false
		s.dueKnown = false
		s.instanceChanged(i, now)
	})
}

func (s *Server) cancelBoot(ec2ID string) {
	n := len(s.boots)
	s.boots = slices.DeleteFunc(s.boots, func(b *boot) bool { return b.ec2ID == ec2ID })
	if len(s.boots) != n {
		s.dueKnown = false
	}
}

// register is the agent's RegisterContainerInstance call at at.
func (s *Server) register(b *boot, at time.Time) {
	a := b.agent
	if i := s.instanceByEC2(b.ec2ID); i != nil && i.status != statusInactive {
		if i.cluster != b.cluster || i.hostGone {
			return // UNVERIFIED: an agent whose checkpoint names another cluster fails to start
		}
		s.reregister(i, a, at)
		return
	}
	i := &instance{
		cluster: b.cluster, ec2ID: b.ec2ID, status: statusActive, registeredAt: at,
		cpu: cmp.Or(a.Resources.CPU, 2048), memory: cmp.Or(a.Resources.Memory, 4096),
	}
	i.seq, i.id = s.newID("container-instance")
	for name, v := range a.Attributes {
		i.setAttribute(name, v)
	}
	switch {
	case a.RegisteringFor > 0:
		i.status, i.activeDue, i.failReason = statusRegistering, at.Add(a.RegisteringFor), a.FailReason
	case a.FailReason != "":
		i.status, i.statusReason = statusRegistrationFailed, a.FailReason
	}
	if a.ConnectAfter > 0 {
		i.connectDue = at.Add(a.ConnectAfter)
	} else {
		i.agentConnected, i.connectedAt = true, at
	}
	b.cluster.instances = append(b.cluster.instances, i)
	s.dueKnown = false
	s.instanceChanged(i, at)
}

// reregister is a restarted agent registering with its checkpointed ARN.
// UNVERIFIED: that ECS sends an event for the registration itself when the
// agent connects later; here only the connection (or an attribute change
// with it) is an event.
func (s *Server) reregister(i *instance, a Agent, at time.Time) {
	changed := false
	for _, name := range slices.Sorted(maps.Keys(a.Attributes)) {
		if old, has := i.attributes[name]; (!has || old != a.Attributes[name]) && i.customAfter([]string{name}) <= maxCustomAttributes {
			i.setAttribute(name, a.Attributes[name])
			s.dirty = true
			changed = true
		}
	}
	switch {
	case a.ConnectAfter > 0 && !i.agentConnected:
		i.connectDue = at.Add(a.ConnectAfter)
		s.dueKnown = false
	case !i.agentConnected:
		s.connect(i, at)
		return
	}
	if changed {
		s.instanceChanged(i, at)
	}
}

// connect is the agent's connection coming up: it receives the stops ECS
// decided meanwhile, and the instance takes tasks again if it is ACTIVE.
func (s *Server) connect(i *instance, at time.Time) {
	i.agentConnected, i.connectedAt, i.connectDue = true, at, time.Time{}
	i.sendStops(at)
	s.dueKnown = false
	s.instanceChanged(i, at)
}

// agentDue is the earliest moment an agent registers, a REGISTERING
// instance settles or an agent connects.
func (s *Server) agentDue() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, b := range s.boots {
		consider(b.due)
	}
	for _, name := range s.order {
		for _, i := range s.clusters[name].instances {
			if i.status != statusInactive {
				consider(i.activeDue)
				consider(i.connectDue)
			}
		}
	}
	return next, !next.IsZero()
}

// fireAgents applies the agents' steps due at or before at.
func (s *Server) fireAgents(at time.Time) {
	var due []*boot
	s.boots = slices.DeleteFunc(s.boots, func(b *boot) bool {
		if !b.due.After(at) {
			due = append(due, b)
			return true
		}
		return false
	})
	for _, b := range due {
		s.register(b, at)
	}
	for _, name := range s.order {
		for _, i := range s.clusters[name].instances {
			if i.status == statusInactive {
				continue
			}
			if !i.activeDue.IsZero() && !i.activeDue.After(at) {
				// UNVERIFIED: that leaving REGISTERING sends a state change
				// event; the safer reading for a consumer that waits for
				// ACTIVE is that it may, and polling must work without it.
				i.status, i.statusReason, i.activeDue = statusActive, "", time.Time{}
				if i.failReason != "" {
					i.status, i.statusReason = statusRegistrationFailed, i.failReason
				}
				s.instanceChanged(i, at)
			}
			if !i.connectDue.IsZero() && !i.connectDue.After(at) {
				s.connect(i, at)
			}
		}
	}
	s.dueKnown = false
}

// Check reports what StartAgent would refuse in a: a negative delay, or
// custom attributes SetAttributes would refuse.
func (a Agent) Check() error {
	if a.RegisterAfter < 0 || a.RegisteringFor < 0 || a.ConnectAfter < 0 {
		return fmt.Errorf("negative delay in %+v", a)
	}
	return checkCustomAttributes(a.Attributes)
}

// checkCustomAttributes checks attributes an agent registers with, as
// SetAttributes does.
func checkCustomAttributes(attrs map[string]string) error {
	if len(attrs) > maxCustomAttributes {
		return fmt.Errorf("%d custom attributes, more than the %d allowed per resource", len(attrs), maxCustomAttributes)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		if reserved(name) {
			return fmt.Errorf("%s is a built-in attribute name, not a custom one", name)
		}
		var value *string
		if v := attrs[name]; v != "" {
			value = &v
		}
		if e := validAttribute(name, value); e != nil {
			return errors.New(e.Message)
		}
	}
	return nil
}
