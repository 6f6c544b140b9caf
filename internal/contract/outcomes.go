package contract

// LogKeyOutcome is the key of the function's JSON log lines that names how
// a drain's invocation ended; the deadline alarm's metric filter matches on
// $.outcome.
const LogKeyOutcome = "outcome"

// The outcomes the deadline alarm counts: a drain that ended with tasks
// still on the instance, which was released or abandoned anyway.
const (
	// OutcomeDeadlineReached: DRAINER_MAX_DRAIN passed, the action was
	// completed with CONTINUE (policy continue, or stop-tasks after its
	// grace).
	OutcomeDeadlineReached = "deadline_reached"
	// OutcomeDeadlineAbandoned: DRAINER_MAX_DRAIN passed, the action was
	// completed with ABANDON (policy abandon).
	OutcomeDeadlineAbandoned = "deadline_abandoned"
	// OutcomeAgentDisconnected: the instance's ECS agent stayed
	// disconnected for DRAINER_DISCONNECTED_AFTER, and the timeout policy
	// applied early.
	OutcomeAgentDisconnected = "agent_disconnected"
)

// DeadlineOutcomes lists the outcomes the deadline alarm counts.
func DeadlineOutcomes() []string {
	return []string{OutcomeDeadlineReached, OutcomeDeadlineAbandoned, OutcomeAgentDisconnected, OutcomeStuck}
}

// The outcomes of a launch gate that gave up: the launch action was
// completed with ABANDON, so Auto Scaling terminates the instance and
// launches another. The construct's launch alarm counts them.
const (
	// OutcomeLaunchFailed: ECS reports the container instance
	// REGISTRATION_FAILED.
	OutcomeLaunchFailed = "launch_failed"
	// OutcomeLaunchDeadline: DRAINER_MAX_LAUNCH passed before the instance
	// was ACTIVE with its agent connected (and, when asked, its daemons
	// running).
	OutcomeLaunchDeadline = "launch_deadline"
)

// LaunchFailureOutcomes lists the outcomes the launch alarm counts.
func LaunchFailureOutcomes() []string {
	return []string{OutcomeLaunchFailed, OutcomeLaunchDeadline}
}
