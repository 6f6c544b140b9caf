package contract

// The function's CloudWatch metrics, written in Embedded Metric Format on its
// decision log lines
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
// and read by the construct's dashboard and alarms.
const (
	MetricNamespace = "ECSDrainer"

	// Dimensions. Their values are closed sets or names an operator chose
	// (a cluster, a group); never an instance or a task.
	DimCluster = "Cluster"
	DimGroup   = "AutoScalingGroup"
	DimOutcome = "Outcome"
	DimReason  = "Reason"
	DimService = "Service"

	// Per drain, on the lines of its hops.
	MetricDrainsStarted       = "DrainsStarted"       // Count: a new drain's first hop
	MetricDrainsEnded         = "DrainsEnded"         // Count, by Outcome: the drainer completed the lifecycle action
	MetricDrainDuration       = "DrainDuration"       // Seconds: from the drain's start to its completion
	MetricCompletionLag       = "CompletionLag"       // Seconds: from the last task's stop to the completion, when an ECS event tells it
	MetricTasksLeftAtDeadline = "TasksLeftAtDeadline" // Count, by Outcome: tasks on the instance when the timeout policy applied
	MetricHeartbeats          = "Heartbeats"          // Count: RecordLifecycleActionHeartbeat calls made
	MetricLaunchesEnded       = "LaunchesEnded"       // Count, by Outcome: the launch gate completed a launch action
	MetricLaunchGateWait      = "LaunchGateWait"      // Seconds: from the launch action to its completion

	// Gauges, on the reconciler sweep's line, per group every sweep.
	MetricDrainsInFlight = "DrainsInFlight" // Count: instances waiting on the drainer's terminate hook
	MetricOldestDrain    = "OldestDrainAge" // Seconds: how long the oldest of them has waited
	MetricStuckDrains    = "StuckDrains"    // Count, by Reason: drains whose tasks all have a blocking reason

	// Per invocation, by Service: answers AWS throttled (each attempt).
	MetricThrottles = "ThrottledCalls"
)

// MetricUnits are the EMF units of the metrics.
func MetricUnits() map[string]string {
	return map[string]string{
		MetricDrainsStarted: "Count", MetricDrainsEnded: "Count", MetricDrainDuration: "Seconds",
		MetricCompletionLag: "Seconds", MetricTasksLeftAtDeadline: "Count", MetricHeartbeats: "Count",
		MetricLaunchesEnded: "Count", MetricLaunchGateWait: "Seconds",
		MetricDrainsInFlight: "Count", MetricOldestDrain: "Seconds", MetricStuckDrains: "Count",
		MetricThrottles: "Count",
	}
}

// Drain state change events, which the function puts on the account's
// default event bus for teams to route with rules of their own.
const (
	SourceDrainer        = "ecs-drainer"
	DetailTypeDrainState = "ECS Drain State Change"

	// The states an event announces.
	DrainStarted   = "STARTED"
	DrainDiagnosed = "DIAGNOSED"
	DrainCompleted = "COMPLETED"
	DrainTimedOut  = "TIMED_OUT"
)

// DrainStates lists the states, in the order a drain may pass them.
func DrainStates() []string {
	return []string{DrainStarted, DrainDiagnosed, DrainCompleted, DrainTimedOut}
}

// DrainStateDetail is the detail of a drain state change event.
type DrainStateDetail struct {
	State                string `json:"state"`
	InstanceID           string `json:"instanceId"`
	ContainerInstanceARN string `json:"containerInstanceArn,omitempty"`
	AutoScalingGroupName string `json:"autoScalingGroupName"`
	Cluster              string `json:"cluster"`
	LifecycleHookName    string `json:"lifecycleHookName"`
	// Outcome and Result (CONTINUE or ABANDON) of a COMPLETED or TIMED_OUT
	// drain.
	Outcome string `json:"outcome,omitempty"`
	Result  string `json:"result,omitempty"`
	// Reason is the blocking reason of a DIAGNOSED drain (the first, if
	// several), else its most common reason; Reasons counts the tasks left
	// by reason, and Unblock says in words what would let them go.
	Reason          string         `json:"reason,omitempty"`
	Reasons         map[string]int `json:"reasons,omitempty"`
	Unblock         []string       `json:"unblock,omitempty"`
	DurationSeconds float64        `json:"durationSeconds"`
	TasksLeft       int            `json:"tasksLeft"`
}
