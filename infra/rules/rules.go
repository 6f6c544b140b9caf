// Package rules holds the EventBridge event patterns the drainer's rule uses.
// It has no CDK dependency, so the construct that deploys the rule and the
// local EventBridge that routes events in tests and the demo share this one
// definition: the rule we deploy is the rule we test.
package rules

import "encoding/json"

// TerminateLifecycle is the pattern of the rule that starts drains: terminate
// lifecycle actions of the given Auto Scaling groups.
func TerminateLifecycle(groups []string) []byte {
	pattern := map[string]any{
		"source":      []string{"aws.autoscaling"},
		"detail-type": []string{"EC2 Instance-terminate Lifecycle Action"},
		"detail":      map[string]any{"AutoScalingGroupName": groups},
	}
	b, err := json.Marshal(pattern)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return b
}
