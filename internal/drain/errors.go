package drain

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Class says what a failed AWS call means for the drain.
type Class int

// Classes of errors.
const (
	// Retryable: throttling, server faults, network and timeouts. The SDK
	// already retried; the record is reported failed and SQS redelivers it
	// after the visibility timeout.
	Retryable Class = iota
	// Terminal: the request can never succeed as sent (bad configuration,
	// missing permissions, a cluster that does not exist). The record is
	// reported failed and, after the redrive policy's receives, lands in the
	// DLQ where an alarm shows it.
	Terminal
	// AlreadyDone: Auto Scaling has no active lifecycle action for this
	// token or instance: someone completed it, or it timed out. The drain is
	// over; retrying would loop forever (spacelift PR #197).
	AlreadyDone
)

func (c Class) String() string {
	return [...]string{"retryable", "terminal", "already_done"}[c]
}

// Classify puts every error the drain can see into one Class.
func Classify(err error) Class {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		switch {
		// Auto Scaling answers ValidationError for a completed or expired
		// action, with the message "No active Lifecycle Action found with
		// token ..." or "... with instance ID ...". Other ValidationErrors
		// (a bad hook name) are real errors.
		case code == "ValidationError" && strings.HasPrefix(apiErr.ErrorMessage(), "No active Lifecycle Action found"):
			return AlreadyDone
		case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool():
			return Retryable
		case apiErr.ErrorFault() == smithy.FaultServer:
			return Retryable
		}
		var respErr interface{ HTTPStatusCode() int }
		if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
			return Retryable
		}
		return Terminal
	}
	// No API error: the request never got an answer (timeout, connection
	// refused or reset). Whatever happened may succeed next time.
	return Retryable
}

// Denied reports whether AWS refused err's call for want of a permission,
// and names the IAM action it needed ("ecs:ListTasks"), read from the SDK's
// operation error: the service's IAM prefix and the operation's name.
func Denied(err error) (action string, ok bool) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || !deniedCodes[apiErr.ErrorCode()] {
		return "", false
	}
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return "", true
	}
	prefix, known := iamPrefixes[op.Service()]
	if !known {
		prefix = strings.ToLower(strings.ReplaceAll(op.Service(), " ", ""))
	}
	return prefix + ":" + op.Operation(), true
}

// deniedCodes are the error codes of a call IAM refused: JSON protocols
// (ECS, SQS, Lambda) answer AccessDeniedException, the query protocol
// (Auto Scaling) AccessDenied.
var deniedCodes = map[string]bool{"AccessDeniedException": true, "AccessDenied": true, "UnauthorizedOperation": true}

// iamPrefixes maps the SDK's service ids to their IAM action prefixes
// where the two differ by more than case and spaces.
// https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
var iamPrefixes = map[string]string{"Auto Scaling": "autoscaling", "EventBridge": "events", "CloudWatch Logs": "logs"}
