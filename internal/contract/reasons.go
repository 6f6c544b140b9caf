package contract

// Reasons say why a task is still on a draining instance: a closed set, so
// that log queries, metric dimensions and alarms can name each. The
// function's diagnosis gives every task left one of them; the construct's
// metrics and alarms filter on them.
const (
	// ReasonStopping: told to stop, its containers still shutting down
	// (its stop timeout).
	ReasonStopping = "stopping"
	// ReasonProtected: scale-in protection, until it expires.
	ReasonProtected = "protected"
	// ReasonStandalone: not a service task; draining waits for it to exit.
	ReasonStandalone = "standalone"
	// ReasonDaemon: a daemon service's task, which stops after the others.
	ReasonDaemon = "daemon"
	// ReasonNoCapacity: ECS cannot place the replacement anywhere (host
	// ports, CPU, memory, ENIs, an attribute the placement needs) and no
	// capacity is on its way.
	ReasonNoCapacity = "no_capacity"
	// ReasonDeploymentConfig: the service's minimum healthy and maximum
	// percent let no replacement start before the old task stops, nor the
	// old task stop first.
	ReasonDeploymentConfig = "deployment_config"
	// ReasonAgentDisconnected: the instance's ECS agent is disconnected, so
	// nothing on it can stop.
	ReasonAgentDisconnected = "agent_disconnected"
	// ReasonPlacing: a replacement is PENDING or PROVISIONING, on its way.
	ReasonPlacing = "placing"
	// ReasonUnknown: none of the above could be told.
	ReasonUnknown = "unknown"
)

// Reasons lists every reason, in the order the README documents them.
func Reasons() []string {
	return []string{ReasonStopping, ReasonProtected, ReasonStandalone, ReasonDaemon, ReasonNoCapacity,
		ReasonDeploymentConfig, ReasonAgentDisconnected, ReasonPlacing, ReasonUnknown}
}

// Blocking reports whether a reason blocks a drain until someone acts: only
// these count towards DRAINER_STUCK_AFTER.
func Blocking(reason string) bool {
	return reason == ReasonNoCapacity || reason == ReasonDeploymentConfig || reason == ReasonAgentDisconnected
}

// OutcomeStuck: every task left had a blocking reason for
// DRAINER_STUCK_AFTER, and the timeout policy applied early. The deadline
// alarm counts it.
const OutcomeStuck = "stuck"

// StuckAfter is how long every task left on a draining instance may have a
// blocking reason before the timeout policy applies early; 0, the default,
// turns it off. A hook's metadata may set it per group ("stuck_after").
var StuckAfter = DurationVar{Env: "DRAINER_STUCK_AFTER", Default: 0,
	Off: true, Max: MaxGlobalTimeout, Why: "no drain outlasts the hook's global timeout"}

// The ECS Service Action event the diagnosis listens to
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html):
// a service task ECS could not place, with its reason.
const (
	DetailTypeServiceAction          = "ECS Service Action"
	EventServiceTaskPlacementFailure = "SERVICE_TASK_PLACEMENT_FAILURE"
)
