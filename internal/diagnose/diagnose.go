// Package diagnose says why each task left on a draining container instance
// is still there, from what the drain observed: the task, its service (its
// deployment configuration, counts and events since the drain started), the
// placement failures ECS announced, and whether another instance has room
// for a replacement or capacity is on its way. Every function here is pure;
// the drain gathers the facts.
package diagnose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Task is a task left on the draining instance.
type Task struct {
	ARN string
	// Service is the service's name for a service task ("service:NAME"
	// group), "" for a standalone task.
	Service        string
	DesiredStatus  string
	ProtectedUntil time.Time
}

// Service is what the drain knows of a service with tasks on the instance.
type Service struct {
	Name                      string
	Daemon                    bool
	MinHealthyPercent         int
	MaxPercent                int
	Desired, Running, Pending int
	// Events are the service's event messages since the drain started,
	// newest first.
	Events []string
	// Placement is the reason of the latest placement failure ECS
	// announced for it (an ECS Service Action event), "" if none.
	Placement string
	// Room: another ACTIVE, connected instance could take a replacement
	// (checked at the drain's first hop). Short says what none has when
	// Room is false ("host port 80", "CPU", "memory"); Checked is false
	// when the check was not made.
	Checked bool
	Room    bool
	Short   string
}

// Facts are what one look at a draining instance observed.
type Facts struct {
	Now time.Time
	// Disconnected: the instance's ECS agent is not connected.
	Disconnected bool
	// Launching: instances of the group are on their way (Pending).
	Launching int
	Tasks     []Task
	Services  map[string]Service
}

// Finding is one task's reason; Resource names what ECS lacks for a
// no_capacity reason ("host port 80", "CPU", "memory", "ENI", "attribute").
type Finding struct {
	Task     string
	Service  string
	Reason   string
	Resource string
}

// Diagnose gives each task its reason.
func Diagnose(f Facts) []Finding {
	out := make([]Finding, len(f.Tasks))
	for i, t := range f.Tasks {
		reason, resource := classify(t, f)
		out[i] = Finding{Task: t.ARN, Service: t.Service, Reason: reason, Resource: resource}
	}
	return out
}

// classify is one task's reason, the first that applies in the order a task
// leaves a draining instance.
func classify(t Task, f Facts) (reason, resource string) {
	svc, isService := f.Services[t.Service]
	switch {
	case f.Disconnected:
		// Nothing on the host stops while its agent is away, not even a
		// task already told to.
		return contract.ReasonAgentDisconnected, ""
	case t.DesiredStatus == "STOPPED":
		return contract.ReasonStopping, ""
	case !t.ProtectedUntil.IsZero() && f.Now.Before(t.ProtectedUntil):
		return contract.ReasonProtected, ""
	case t.Service == "":
		return contract.ReasonStandalone, ""
	case !isService:
		return contract.ReasonUnknown, ""
	case svc.Daemon:
		return contract.ReasonDaemon, ""
	case svc.MinHealthyPercent >= 100 && svc.MaxPercent <= 100:
		return contract.ReasonDeploymentConfig, ""
	}
	if r := fromEvents(svc); r != "" {
		if svc.Checked && !svc.Room && strings.HasPrefix(svc.Short, r) {
			r = svc.Short // the check names the port
		}
		return contract.ReasonNoCapacity, r
	}
	switch {
	case hasDeploymentMessage(svc.Events):
		return contract.ReasonDeploymentConfig, ""
	case svc.Pending > 0:
		return contract.ReasonPlacing, ""
	case svc.Checked && !svc.Room && f.Launching == 0:
		return contract.ReasonNoCapacity, svc.Short
	}
	return contract.ReasonUnknown, ""
}

// fromEvents is the resource the latest placement failure names: the
// Service Action event's reason, else the latest unable-to-place message.
func fromEvents(svc Service) string {
	if r := ResourceOfReason(svc.Placement); r != "" {
		return r
	}
	for _, m := range svc.Events {
		if strings.Contains(m, "was unable to place a task") {
			return resourceOfMessage(m)
		}
		if strings.Contains(m, "has reached a steady state") || strings.Contains(m, "has started") {
			return "" // placed since
		}
	}
	return ""
}

// ResourceOfReason reads an ECS Service Action placement failure's reason
// ("RESOURCE:PORTS", "RESOURCE:CPU", "AGENT", "ATTRIBUTE").
func ResourceOfReason(reason string) string {
	switch r := strings.ToUpper(reason); {
	case r == "":
		return ""
	case strings.HasPrefix(r, "RESOURCE:PORTS"):
		return "host port"
	case r == "RESOURCE:CPU":
		return "CPU"
	case r == "RESOURCE:MEMORY":
		return "memory"
	case r == "RESOURCE:ENI":
		return "ENI"
	case r == "AGENT":
		return "a connected agent"
	case strings.HasPrefix(r, "ATTRIBUTE"):
		return "attribute"
	}
	return strings.ToLower(reason)
}

// resourceOfMessage reads an "unable to place a task" service event message
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html).
func resourceOfMessage(m string) string {
	switch {
	case strings.Contains(m, "already using a port"):
		return "host port"
	case strings.Contains(m, "insufficient CPU"):
		return "CPU"
	case strings.Contains(m, "insufficient memory"):
		return "memory"
	case strings.Contains(m, "ENI"):
		return "ENI"
	case strings.Contains(m, "attribute"):
		return "attribute"
	case strings.Contains(m, `"AGENT"`):
		return "a connected agent"
	}
	return "capacity"
}

func hasDeploymentMessage(events []string) bool {
	return slices.ContainsFunc(events, func(m string) bool {
		return strings.Contains(m, "because of the service deployment configuration")
	})
}

// Key is a stable summary of findings, to tell when a diagnosis changed:
// the reasons by service, counted.
func Key(fs []Finding) string {
	counts := map[string]int{}
	for _, f := range fs {
		counts[group(f)+"="+f.Reason+resourceSuffix(f)]++
	}
	keys := make([]string, 0, len(counts))
	for k, n := range counts {
		keys = append(keys, fmt.Sprintf("%s:%d", k, n))
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// Blocked reports whether every task left has a blocking reason.
func Blocked(fs []Finding) bool {
	return len(fs) > 0 && !slices.ContainsFunc(fs, func(f Finding) bool { return !contract.Blocking(f.Reason) })
}

// BlockedReason is the reason a blocked drain (see Blocked) is stuck on: the
// blocking reason most of its tasks have, the first in contract.Reasons()
// order on a tie; "" when the drain is not blocked.
func BlockedReason(fs []Finding) string {
	if !Blocked(fs) {
		return ""
	}
	counts := map[string]int{}
	for _, f := range fs {
		counts[f.Reason]++
	}
	best := ""
	for _, r := range contract.Reasons() {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

func group(f Finding) string {
	if f.Service == "" {
		return "standalone"
	}
	return f.Service
}

func resourceSuffix(f Finding) string {
	if f.Resource == "" {
		return ""
	}
	return "(" + f.Resource + ")"
}

// Explain says, in words an operator can act on, why the tasks are left
// and what would unblock them: one sentence per service and reason.
func Explain(fs []Finding, launching int) []string {
	type k struct{ service, reason, resource string }
	counts := map[k]int{}
	var order []k
	for _, f := range fs {
		key := k{group(f), f.Reason, f.Resource}
		if counts[key] == 0 {
			order = append(order, key)
		}
		counts[key]++
	}
	out := make([]string, 0, len(order))
	for _, key := range order {
		out = append(out, sentence(key.service, key.reason, key.resource, counts[key], launching))
	}
	return out
}

func sentence(service, reason, resource string, n, launching int) string {
	tasks := fmt.Sprintf("%d task", n)
	if n != 1 {
		tasks += "s"
	}
	what := "service " + service
	if service == "standalone" {
		what = "standalone"
	}
	coming := "none is launching"
	if launching > 0 {
		coming = fmt.Sprintf("%d instance(s) launching", launching)
	}
	switch reason {
	case contract.ReasonStopping:
		return fmt.Sprintf("%s: %s stopping (within the container stop timeout); nothing to do", what, tasks)
	case contract.ReasonProtected:
		return fmt.Sprintf("%s: %s scale-in protected; the drain waits until the protection expires or is removed", what, tasks)
	case contract.ReasonStandalone:
		return fmt.Sprintf("%s: %s not started by a service; draining waits for them to exit, or stop them", what, tasks)
	case contract.ReasonDaemon:
		return fmt.Sprintf("%s: %s of a daemon, which stop after the other tasks", what, tasks)
	case contract.ReasonNoCapacity:
		return fmt.Sprintf("%s needs %s for %s: no other instance has it and %s; add capacity or lower its minimum healthy percent", what, orCapacity(resource), tasks, coming)
	case contract.ReasonDeploymentConfig:
		return fmt.Sprintf("%s: %s cannot move: its minimum healthy and maximum percent let no replacement start before the old task stops; lower minimumHealthyPercent or raise maximumPercent", what, tasks)
	case contract.ReasonAgentDisconnected:
		return fmt.Sprintf("%s: %s on an instance whose ECS agent is disconnected; nothing on it can stop until the agent is back", what, tasks)
	case contract.ReasonPlacing:
		return fmt.Sprintf("%s: %s waiting for a replacement that is PENDING elsewhere", what, tasks)
	}
	return fmt.Sprintf("%s: %s left for a reason ECS did not say", what, tasks)
}

func orCapacity(resource string) string {
	if resource == "" {
		return "capacity"
	}
	return resource
}
