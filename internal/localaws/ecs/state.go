package ecs

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Container-instance statuses (ContainerInstance.status in the API model).
const (
	statusActive             = "ACTIVE"
	statusDraining           = "DRAINING"
	statusInactive           = "INACTIVE"
	statusRegistering        = "REGISTERING"
	statusDeregistering      = "DEREGISTERING"
	statusRegistrationFailed = "REGISTRATION_FAILED"
)

// Task statuses used for both desiredStatus and lastStatus.
const (
	taskPending = "PENDING"
	taskRunning = "RUNNING"
	taskStopped = "STOPPED"
)

// stoppedTaskRetention is how long a STOPPED task stays listable and
// describable: DescribeTasks says stopped tasks "appear in the returned results
// for at least one hour"; we forget them right at the hour so tests can pin it.
const stoppedTaskRetention = time.Hour

type cluster struct {
	name      string
	instances []*instance // registration order, INACTIVE ones included
	services  []*service
	tasks     []*task // creation order, until a stopped task is forgotten
}

type instance struct {
	seq            int // creation order across the server; pagination keys on it
	id             string
	cluster        *cluster
	ec2ID          string
	status         string
	statusReason   string
	agentConnected bool
	connectedAt    time.Time // when the agent last connected: registration or reconnection
	hostGone       bool      // its EC2 instance was terminated while the agent was disconnected
	registeredAt   time.Time
	cpu, memory    int
	version        int64
	tasks          []*task           // tasks placed here, until forgotten
	attributes     map[string]string // custom attributes (PutAttributes, SetAttributes)
	// The agent's steps still to come (agent.go): REGISTERING ends at
	// activeDue, as REGISTRATION_FAILED when failReason is set; the agent
	// connects at connectDue. Zero when none is pending.
	activeDue  time.Time
	failReason string
	connectDue time.Time
}

type service struct {
	cluster      *cluster
	spec         ServiceSpec
	deploymentID string      // digits of startedBy "ecs-svc/<id>"
	memberOf     []predicate // the memberOf constraints, compiled
	createdAt    time.Time
	def          *taskDef
	events       []ServiceEvent     // its event log, oldest first (serviceevents.go)
	open         [conditions]logged // what it reported and keeps quiet about
	steadyAt     time.Time          // when it first reached a steady state
}

// allows reports whether the service's placement constraints let a task of
// it run on i: every memberOf expression matches, and with distinctInstance
// no other task of the service is there.
func (v *service) allows(i *instance, moving *task) bool {
	if len(v.memberOf) > 0 {
		t := i.filterTarget(true) // built only when asked: placement runs often
		for _, m := range v.memberOf {
			if !m(t) {
				return false
			}
		}
	}
	for _, pc := range v.spec.PlacementConstraints {
		if pc.Type != ConstraintDistinctInstance {
			continue
		}
		for _, k := range i.tasks {
			if k.svc == v && k != moving && k.desiredStatus == taskRunning {
				return false
			}
		}
	}
	return true
}

type task struct {
	seq            int
	id             string
	cluster        *cluster
	inst           *instance
	svc            *service // nil for a standalone task
	family         string
	runGroup       string // RunTask's group parameter, "" for its default
	def            *taskDef
	startedBy      string
	cpu, memory    int
	hostPort       int
	lastStatus     string
	desiredStatus  string
	createdAt      time.Time
	startedAt      time.Time
	stoppingAt     time.Time
	stoppedAt      time.Time
	stopCode       string
	stoppedReason  string
	version        int64
	startDelay     time.Duration
	stopDelay      time.Duration
	runFor         time.Duration // standalone only; 0 runs until stopped
	stopDue        time.Time     // when lastStatus reaches STOPPED, once told to stop
	stopUnsent     bool          // told to stop while the agent was disconnected: stopDue waits for it
	protectedUntil time.Time     // task scale-in protection; zero when off
}

// newID returns a deterministic 32-hex id, the shape of current ECS ids, so
// runs are reproducible.
func (s *Server) newID(kind string) (int, string) {
	s.seq++
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", kind, s.seq))
	return s.seq, hex.EncodeToString(sum[:16])
}

func (s *Server) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", s.opts.Region, s.opts.AccountID, resource)
}

func (s *Server) clusterARN(c *cluster) string { return s.arn("cluster/" + c.name) }

func (s *Server) instanceARN(c *cluster, id string) string {
	return s.arn("container-instance/" + c.name + "/" + id)
}

func (s *Server) taskARN(c *cluster, id string) string { return s.arn("task/" + c.name + "/" + id) }

// lastSegment turns an ARN or a short id into the short id: ECS accepts both
// for clusters, container instances, services and tasks
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html).
func lastSegment(v string) string { return v[strings.LastIndex(v, "/")+1:] }

func (c *cluster) instanceByID(id string) *instance {
	for _, i := range c.instances {
		if i.id == id {
			return i
		}
	}
	return nil
}

func (c *cluster) taskByID(id string) *task {
	for _, k := range c.tasks {
		if k.id == id {
			return k
		}
	}
	return nil
}

func (c *cluster) serviceByName(name string) *service {
	for _, v := range c.services {
		if v.spec.Name == name {
			return v
		}
	}
	return nil
}

// instanceByEC2 finds the registration of an EC2 instance: the one that is
// not INACTIVE (there is at most one), else the latest INACTIVE one.
func (s *Server) instanceByEC2(ec2ID string) *instance {
	var found *instance
	for _, name := range s.order {
		for _, i := range s.clusters[name].instances {
			if i.ec2ID != ec2ID {
				continue
			}
			if found == nil || found.status == statusInactive && (i.status != statusInactive || i.seq > found.seq) {
				found = i
			}
		}
	}
	return found
}

// counts returns runningTasksCount and pendingTasksCount as the API model
// defines them: running counts tasks whose *desired* status is RUNNING (so a
// task told to stop leaves it at once), pending counts lastStatus PENDING.
func (i *instance) counts() (running, pending int) {
	for _, k := range i.tasks {
		if k.desiredStatus == taskRunning {
			running++
		}
		if k.lastStatus == taskPending {
			pending++
		}
	}
	return running, pending
}

// holding reports whether a task still occupies its instance's resources: ECS
// frees CPU, memory and ports only when the task reaches lastStatus STOPPED,
// which is why a fixed host port can block a replacement on the same host.
func (k *task) holding() bool { return k.lastStatus != taskStopped }

func (i *instance) remaining() (cpu, memory int, ports []int) {
	cpu, memory = i.cpu, i.memory
	for _, k := range i.tasks {
		if k.holding() {
			cpu -= k.cpu
			memory -= k.memory
			if k.hostPort != 0 {
				ports = append(ports, k.hostPort)
			}
		}
	}
	return cpu, memory, ports
}

// reservedPorts are the ports the ECS agent registers as taken on every EC2
// container instance (SSH, Docker, the agent's own ports).
var reservedPorts = []int{22, 2375, 2376, 51678, 51679}

func (i *instance) fits(cpu, memory, hostPort int) bool { return i.lacks(cpu, memory, hostPort) == "" }

// lacks names the first resource i has too little of for a task, as a
// placement failure reason, or "" when the task fits.
func (i *instance) lacks(cpu, memory, hostPort int) string {
	freeCPU, freeMem, used := i.remaining()
	switch {
	case cpu > freeCPU:
		return ReasonCPU
	case memory > freeMem:
		return ReasonMemory
	case hostPort != 0 && (slices.Contains(used, hostPort) || slices.Contains(reservedPorts, hostPort)):
		return ReasonPorts
	}
	return ""
}

// due is the next moment the task changes on its own, if any.
//
// Everything but protection expiry and forgetting a stopped task is the
// agent's doing: it starts and stops the containers and reports each change
// (SubmitTaskStateChange,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html).
// While it is disconnected nothing it would report happens in ECS; what
// came due meanwhile is reported the moment it reconnects.
func (k *task) due() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if !k.protectedUntil.IsZero() {
		consider(k.protectedUntil)
	}
	var agent time.Time
	switch {
	case k.lastStatus == taskStopped:
		consider(k.stoppedAt.Add(stoppedTaskRetention))
	case k.desiredStatus == taskStopped:
		if !k.stopUnsent {
			agent = k.stopDue
		}
	case k.lastStatus == taskPending:
		agent = k.createdAt.Add(k.startDelay)
	case k.runFor > 0:
		agent = k.startedAt.Add(k.runFor)
	}
	if !agent.IsZero() && k.inst.agentConnected {
		consider(later(agent, k.inst.connectedAt))
	}
	return next, !next.IsZero()
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// settle applies every transition due up to now, in time order, letting the
// scheduler react after each instant so chained effects (a task stops, its
// replacement is placed, starts, and unblocks the next stop) carry the
// timestamps they would have had on AWS even when the clock jumps far ahead.
func (s *Server) settle(now time.Time) {
	for {
		at, due := s.nextDue(now)
		if due {
			s.fire(at)
		} else {
			at = now
		}
		if !s.schedule(at) && !due {
			return
		}
	}
}

// nextDue is the earliest time at or before now at which a task or an agent
// changes on its own, if any.
func (s *Server) nextDue(now time.Time) (time.Time, bool) {
	if !s.dueKnown {
		s.earliest, _ = s.agentDue()
		if t, ok := s.repeatDue(); ok && (s.earliest.IsZero() || t.Before(s.earliest)) {
			s.earliest = t
		}
		for _, name := range s.order {
			for _, k := range s.clusters[name].tasks {
				if t, ok := k.due(); ok && (s.earliest.IsZero() || t.Before(s.earliest)) {
					s.earliest = t
				}
			}
		}
		s.dueKnown = true
	}
	if s.earliest.IsZero() || s.earliest.After(now) {
		return time.Time{}, false
	}
	return s.earliest, true
}

// fire applies the transitions due at or before at. at is the earliest due
// time, so every task found due is due exactly at at.
func (s *Server) fire(at time.Time) {
	s.fireAgents(at)
	s.fireRepeats(at)
	for _, name := range s.order {
		c := s.clusters[name]
		for _, k := range c.tasks {
			if t, ok := k.due(); ok && !t.After(at) {
				s.advance(k, at)
			}
		}
		c.tasks = keep(c.tasks, func(k *task) bool { return !k.expired(at) })
		s.dueKnown = false // an expired task's due time was its expiry
		for _, i := range c.instances {
			i.tasks = keep(i.tasks, func(k *task) bool { return !k.expired(at) })
		}
	}
}

func (k *task) expired(at time.Time) bool {
	return k.lastStatus == taskStopped && !at.Before(k.stoppedAt.Add(stoppedTaskRetention))
}

func keep[T any](xs []T, ok func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	clear(xs[len(out):])
	return out
}

// advance applies the one transition of k that is due at at.
func (s *Server) advance(k *task, at time.Time) {
	if !k.protectedUntil.IsZero() && !k.protectedUntil.After(at) {
		k.protectedUntil = time.Time{}
		s.dirty, s.dueKnown = true, false
	}
	if !k.inst.agentConnected {
		return // nothing is reported without the agent (due)
	}
	switch {
	case k.desiredStatus == taskStopped && k.lastStatus != taskStopped && !k.stopUnsent && !k.stopDue.After(at):
		k.lastStatus = taskStopped
		k.stoppedAt = at
		s.taskChanged(k, at)
		s.instanceChanged(k.inst, at) // resources freed
	case k.desiredStatus == taskRunning && k.lastStatus == taskPending && !k.createdAt.Add(k.startDelay).After(at):
		k.lastStatus = taskRunning
		k.startedAt = at
		s.taskChanged(k, at)
	case k.desiredStatus == taskRunning && k.lastStatus == taskRunning && k.runFor > 0 && !k.startedAt.Add(k.runFor).After(at):
		// The essential container exited: there is nothing left to stop, so
		// the task is STOPPED at the same instant.
		s.stop(k, at, "EssentialContainerExited", "Essential container in task exited")
		k.stopDue = at
	}
}

// stop gives k desiredStatus STOPPED now; lastStatus follows after its stop
// delay (StopTask: SIGTERM, then SIGKILL after the stop timeout). A task that
// never reached RUNNING has no process to signal and stops at once. An agent
// that is disconnected hears of the stop only when it reconnects (sendStops).
func (s *Server) stop(k *task, at time.Time, code, reason string) {
	if k.desiredStatus == taskStopped {
		return
	}
	k.desiredStatus = taskStopped
	k.stoppingAt = at
	k.stopCode = code
	k.stoppedReason = reason
	k.stopUnsent = !k.inst.agentConnected
	k.stopDue = k.stopDueFrom(at)
	s.taskChanged(k, at)
}

// stopDueFrom is when k reaches STOPPED if its agent is told to stop it at at.
func (k *task) stopDueFrom(at time.Time) time.Time {
	if k.lastStatus == taskPending {
		return at
	}
	return at.Add(k.stopDelay)
}

// sendStops hands a reconnected agent the stops ECS decided while it was
// away: only now does it signal those containers.
func (i *instance) sendStops(at time.Time) {
	for _, k := range i.tasks {
		if k.stopUnsent {
			k.stopUnsent = false
			k.stopDue = k.stopDueFrom(at)
		}
	}
}

// place creates a task on i at at.
func (s *Server) place(i *instance, at time.Time, k *task) *task {
	k.seq, k.id = s.newID("task")
	k.cluster, k.inst = i.cluster, i
	k.lastStatus, k.desiredStatus = taskPending, taskRunning
	k.createdAt = at
	i.cluster.tasks = append(i.cluster.tasks, k)
	i.tasks = append(i.tasks, k)
	s.taskChanged(k, at)
	s.instanceChanged(i, at)
	return k
}

func (s *Server) taskChanged(k *task, at time.Time) {
	s.dirty, s.dueKnown = true, false
	k.version++
	s.outbox = append(s.outbox, s.taskEvent(k, at))
}

func (s *Server) instanceChanged(i *instance, at time.Time) {
	s.dirty = true
	i.version++
	s.outbox = append(s.outbox, s.instanceEvent(i, at))
}

// deploymentID derives the 19 digits ECS puts after "ecs-svc/" in a service
// task's startedBy.
func deploymentID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return fmt.Sprintf("%019d", binary.BigEndian.Uint64(sum[:8])%1e19)
}
