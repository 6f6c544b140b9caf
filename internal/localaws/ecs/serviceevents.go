package ecs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Service events are the service scheduler's log, which DescribeServices
// returns as Service.events, and the "ECS Service Action" events it sends
// to EventBridge. The texts are those of
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html
// in the form the API returns them: the page shows the console's rendering,
// "service (web) ..." and "container-instance 0123...", while DescribeServices
// answers "(service web) ..." and "(container-instance 0123...)" and ends a
// placement failure with "For more information, see the Troubleshooting
// section of the Amazon ECS Developer Guide." (the DescribeServices example
// in AWS's own API model, botocore's examples-1.json, and every answer
// quoted in the field: aws CLI output, spinnaker/clouddriver's tests,
// boltops-tools/ufo). A client should match the part they share.

// maxServiceEvents: Service.events holds "A maximum of 100 of the latest
// events" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html).
const maxServiceEvents = 100

// repeatAfter: "duplicate event messages are omitted until either the cause
// is resolved or six hours passes. If the cause is not resolved within six
// hours, you will receive another service event message for that cause"
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html). The steady state message repeats on the
// same clock ("The service scheduler reports the status periodically").
const repeatAfter = 6 * time.Hour

// DetailTypeServiceAction is the detail type of the service action events
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html).
const DetailTypeServiceAction = "ECS Service Action"

// Service action event names the emulator sends, with their event types
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html).
const (
	EventSteadyState      = "SERVICE_STEADY_STATE"           // INFO
	EventPlacementFailure = "SERVICE_TASK_PLACEMENT_FAILURE" // ERROR
)

// Placement failure reasons, the detail's reason of a
// SERVICE_TASK_PLACEMENT_FAILURE. RESOURCE:CPU is in the page's EC2 example;
// RESOURCE:MEMORY and AGENT are documented as RunTask failure reasons
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html)
// and RESOURCE:PORTS is the RunTask failure reason seen in the field for a
// host port in use; UNVERIFIED that the event carries those three, and
// ATTRIBUTE (the brief's name for an unmet placement constraint) is
// UNVERIFIED altogether.
const (
	ReasonCPU       = "RESOURCE:CPU"
	ReasonMemory    = "RESOURCE:MEMORY"
	ReasonPorts     = "RESOURCE:PORTS"
	ReasonAgent     = "AGENT"
	ReasonAttribute = "ATTRIBUTE"
)

// ServiceEvent is one entry of a service's event log.
type ServiceEvent struct {
	ID        string
	CreatedAt time.Time
	Message   string
}

// condition is a cause the scheduler reports and then keeps quiet about
// until it is resolved or repeatAfter has passed.
type condition int

const (
	condSteady     condition = iota // the service is at its desired count, all RUNNING
	condPlacement                   // a task could not be placed
	condDeployment                  // the percents let no task start or stop
	conditions
)

// logged is the message last written for an open condition, and when.
type logged struct {
	message string
	at      time.Time
}

func steadyMessage(service string) string {
	return "(service " + service + ") has reached a steady state."
}

// deploymentMessage: the percents leave no room to start a replacement or
// to stop an old task first, "during a deployment or when a container
// instance is draining" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html).
func deploymentMessage(service string) string {
	return "(service " + service + ") was unable to stop or start tasks during a deployment because of the service " +
		"deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
}

// taskList renders tasks as the started and stopped messages list them:
// "(task a) (task b)".
func taskList(ks []*task) string {
	parts := make([]string, len(ks))
	for n, k := range ks {
		parts[n] = "(task " + k.id + ")"
	}
	return strings.Join(parts, " ")
}

// placementMessage is the "unable to place a task" message for the closest
// matching instance and why it failed. The CPU, port and AGENT variants are
// on the page; the memory and attribute ones are the texts seen in the
// field ("has insufficient memory available", "is missing an attribute
// required by your task"); "Reason: No Container Instances were found in
// your cluster." is the text seen when there is no candidate at all.
func placementMessage(service, instanceID, reason string) string {
	var why string
	switch reason {
	case "":
		why = "Reason: No Container Instances were found in your cluster."
	case ReasonPorts:
		why = "The closest matching (container-instance " + instanceID + ") is already using a port required by your task."
	case ReasonCPU:
		why = "The closest matching (container-instance " + instanceID + ") has insufficient CPU units available."
	case ReasonMemory:
		why = "The closest matching (container-instance " + instanceID + ") has insufficient memory available."
	case ReasonAgent:
		why = "The closest matching (container-instance " + instanceID + `) encountered error "AGENT".`
	case ReasonAttribute:
		why = "The closest matching (container-instance " + instanceID + ") is missing an attribute required by your task."
	}
	return "(service " + service + ") was unable to place a task because no container instance met all of its requirements. " +
		why + " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
}

// serviceActionDetail is the detail of an "ECS Service Action" event: no
// version, unlike the state change events (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html).
type serviceActionDetail struct {
	EventType             string   `json:"eventType"`
	EventName             string   `json:"eventName"`
	ClusterArn            string   `json:"clusterArn"`
	ContainerInstanceArns []string `json:"containerInstanceArns,omitempty"`
	Reason                string   `json:"reason,omitempty"`
	CreatedAt             string   `json:"createdAt"`
}

// action is a service action event to send with a message.
type action struct {
	eventType, eventName, reason string
	instance                     *instance
}

func (s *Server) serviceActionEvent(v *service, at time.Time, a action) awswire.Event {
	d := serviceActionDetail{
		EventType: a.eventType, EventName: a.eventName, ClusterArn: s.clusterARN(v.cluster),
		Reason: a.reason, CreatedAt: isoTime(at),
	}
	if a.instance != nil {
		d.ContainerInstanceArns = []string{s.instanceARN(v.cluster, a.instance.id)}
	}
	return awswire.Event{Source: "aws.ecs", DetailType: DetailTypeServiceAction, Resources: []string{s.serviceARN(v)}, Detail: d}
}

// logServiceEvent appends a message to v's log, keeping the latest 100.
func (s *Server) logServiceEvent(v *service, at time.Time, message string) {
	s.eventSeq++
	sum := sha256.Sum256(fmt.Appendf(nil, "service-event/%d", s.eventSeq))
	h := hex.EncodeToString(sum[:16])
	id := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	v.events = append(v.events, ServiceEvent{ID: id, CreatedAt: at, Message: message})
	if over := len(v.events) - maxServiceEvents; over > 0 {
		v.events = append(v.events[:0], v.events[over:]...)
	}
}

// report writes message for condition c, with its service action event if
// any, unless c is open with the same message written less than
// repeatAfter ago. UNVERIFIED: that the service action events follow the
// console's duplicate rule; AWS documents none for them, and sending one
// with each message written is the reading that neither floods a consumer
// nor hides a cause that persists.
func (s *Server) report(v *service, c condition, at time.Time, message string, a *action) {
	open := &v.open[c]
	if open.message == message && at.Before(open.at.Add(repeatAfter)) {
		return
	}
	*open = logged{message: message, at: at}
	s.dueKnown = false // the repeat is a due time
	s.logServiceEvent(v, at, message)
	if a != nil {
		s.outbox = append(s.outbox, s.serviceActionEvent(v, at, *a))
	}
}

// resolve ends condition c: the next time it arises it is reported at once.
func (v *service) resolve(c condition) { v.open[c] = logged{} }

// tasksPerMessage bounds the tasks one started or stopped message lists.
// UNVERIFIED: ten is what one RunTask call starts at most
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html,
// count); AWS does not say how its scheduler batches the messages.
const tasksPerMessage = 10

// logTasks writes the started and stopped messages of one scheduler pass
// (OBSERVED texts: "(service web) has started 2 tasks: (task a) (task b).",
// "(service web) has stopped 1 running tasks: (task a)."). UNVERIFIED:
// whether a PENDING task the scheduler stops counts among the "running
// tasks"; here every task it stops does.
func (s *Server) logTasks(v *service, at time.Time, started, stopped []*task) {
	for batch := range slices.Chunk(stopped, tasksPerMessage) {
		s.logServiceEvent(v, at, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", v.spec.Name, len(batch), taskList(batch)))
	}
	for batch := range slices.Chunk(started, tasksPerMessage) {
		s.logServiceEvent(v, at, fmt.Sprintf("(service %s) has started %d tasks: %s.", v.spec.Name, len(batch), taskList(batch)))
	}
}

// checkSteady reports the steady state while v is in it: "healthy and at
// the desired number of tasks", here its desired count of tasks RUNNING,
// none on an instance that is not ACTIVE and none of its tasks still
// stopping.
func (s *Server) checkSteady(v *service, at time.Time, steady bool) {
	if !steady {
		v.resolve(condSteady)
		return
	}
	if v.steadyAt.IsZero() {
		v.steadyAt = at
	}
	s.report(v, condSteady, at, steadyMessage(v.spec.Name), &action{eventType: "INFO", eventName: EventSteadyState})
}

// placementFailed reports that a task of v could not be placed, naming the
// closest matching instance and what it lacks.
func (s *Server) placementFailed(v *service, at time.Time) {
	i, reason := s.closest(v)
	a := &action{eventType: "ERROR", eventName: EventPlacementFailure, reason: reason, instance: i}
	id := ""
	if i != nil {
		id = i.id
	}
	s.report(v, condPlacement, at, placementMessage(v.spec.Name, id, reason), a)
}

// closest finds the ACTIVE instance that comes nearest to taking a task of
// v, and the first requirement it fails, checking in this order: the
// placement constraints (ATTRIBUTE), CPU, memory, the host port, a
// connected agent. The instance that passes the most checks is the closest;
// the first registered wins a tie. UNVERIFIED: the order, which AWS does
// not document; this one names a disconnected agent only on an instance
// that would otherwise take the task, so reconnecting it is the remedy.
// With no ACTIVE instance, it returns nil and no reason.
func (s *Server) closest(v *service) (*instance, string) {
	var best *instance
	bestStage, reason := -1, ""
	for _, i := range v.cluster.instances {
		if i.status != statusActive {
			continue
		}
		stage, why := 0, ReasonAttribute
		if v.allows(i, nil) {
			stage, why = 1, i.lacks(v.spec.CPU, v.spec.Memory, v.spec.HostPort)
			switch why {
			case ReasonMemory:
				stage = 2
			case ReasonPorts:
				stage = 3
			case "":
				stage, why = 4, ReasonAgent
			}
		}
		if stage > bestStage {
			best, bestStage, reason = i, stage, why
		}
	}
	return best, reason
}

// repeatDue is the earliest moment an open condition of a service may be
// reported again.
func (s *Server) repeatDue() (time.Time, bool) {
	var next time.Time
	for _, name := range s.order {
		for _, v := range s.clusters[name].services {
			for _, o := range v.open {
				if t := o.at.Add(repeatAfter); o.message != "" && (next.IsZero() || t.Before(next)) {
					next = t
				}
			}
		}
	}
	return next, !next.IsZero()
}

// fireRepeats closes the conditions whose six hours are up and lets the
// scheduler look again: a cause that persists is reported anew.
func (s *Server) fireRepeats(at time.Time) {
	for _, name := range s.order {
		for _, v := range s.clusters[name].services {
			for c := range v.open {
				if o := v.open[c]; o.message != "" && !o.at.Add(repeatAfter).After(at) {
					v.resolve(condition(c))
					s.dirty = true
				}
			}
		}
	}
}

// ServiceEvents returns a service's event log as DescribeServices does:
// newest first, at most the latest 100.
func (s *Server) ServiceEvents(clusterName, serviceName string) []ServiceEvent {
	var out []ServiceEvent
	s.do(func(time.Time) {
		c, ok := s.clusters[clusterName]
		if !ok {
			return
		}
		if v := c.serviceByName(serviceName); v != nil {
			for n := len(v.events) - 1; n >= 0; n-- {
				out = append(out, v.events[n])
			}
		}
	})
	return out
}
