package handler

import "github.com/ecs-drainer/ecs-drainer/internal/contract"

// Log keys: one fixed set, so every line of every drain can be queried the
// same way in CloudWatch Logs Insights. The outcome's is the contract's: the
// construct's deadline alarm filters on it.
const (
	keyCluster           = "cluster"
	keyASG               = "asg"
	keyHook              = "hook"
	keyInstanceID        = "instance_id"
	keyContainerInstance = "container_instance"
	keyAttempt           = "attempt"
	keyOutcome           = contract.LogKeyOutcome
	keyRunningTasks      = "running_tasks"
	keyPendingTasks      = "pending_tasks"
	keyStoppingTasks     = "stopping_tasks"
	keyTasks             = "tasks"
	keyDelay             = "delay_s"
	keyHeartbeat         = "heartbeat"
	keyRequestID         = "request_id"
	keyMessageID         = "message_id"
	keyEventID           = "event_id"
	keyReason            = "reason"
	keyErrorClass        = "error_class"
	keyError             = "error"
	keyDrainSeconds      = "drain_s"
	keyNotes             = "notes"
	keyLost              = "lost"
	keyDetailType        = "detail_type"
	keyLag               = "lag_s"
	keyOtherHooks        = "other_hooks"
	keyResult            = "result"
	keyLaunchSeconds     = "launch_s"
	keyWaitingFor        = "waiting_for"
	keyStatusReason      = "status_reason"
	keyReasons           = "reasons"
	keyUnblock           = "unblock"
	keyDiagnosis         = "diagnosis"
	keyService           = "service"
	keyFailed            = "failed"
	keyEvents            = "events"
	keyThrottled         = "throttled"
)
